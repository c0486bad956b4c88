//! Streaming an S3 flow-log object: read the decompressed bytes in fixed chunks, cut them into
//! physical lines with `memchr`, detect the header on the first non-blank line and feed the
//! rest to the [`RowDecoder`]. Memory is one chunk plus one batch, whatever the object size;
//! the chunk buffer starts small and grows to [`CHUNK`] only for objects that need it, and the
//! builders are sized from the lines of the first chunk. The buffer is kept by the decoding
//! thread for its next object ([`ChunkBuf`]): made anew, it was zeroed for every object (1.7%
//! of a replay's instructions on 1,000-record objects).

use std::cell::RefCell;
use std::io::{self, Read};

use memchr::{memchr, memchr_iter, memrchr};

use super::format::{FlowFormat, looks_like_header};
use super::line::{split_fields, strip_cr};
use super::row::{RowDecoder, is_wrapped, unwrap_message};
use super::{DEFAULT_ROWS_HINT, FlowDecodeOptions, FlowStats};
use crate::IngestError;
use crate::compress::ObjectReader;
use crate::sink::DecodeSink;
use flowtrail_lake::quarantine::QuarantineRecord;

/// Bytes read per chunk; also the longest line kept (longer ones are quarantined).
pub(crate) const CHUNK: usize = 1 << 20;

/// First size of the chunk buffer: a small object fits whole; a larger one grows it to
/// [`CHUNK`].
const FIRST_CHUNK: usize = 64 << 10;

thread_local! {
    /// The chunk buffer this thread's last object used.
    static SPARE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// This thread's chunk buffer for one object, handed back when dropped (on every return).
struct ChunkBuf(Vec<u8>);

impl ChunkBuf {
    fn take() -> Self {
        let mut buf = SPARE.with(|s| std::mem::take(&mut *s.borrow_mut()));
        if buf.len() < FIRST_CHUNK {
            buf.resize(FIRST_CHUNK, 0);
        }
        ChunkBuf(buf)
    }
}

impl Drop for ChunkBuf {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.0);
        SPARE.with(|s| *s.borrow_mut() = buf);
    }
}

/// The UTF-8 byte order mark some tools write before the first line.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Per-object state while lines stream past.
struct TextState<'a> {
    key: &'a str,
    opts: &'a FlowDecodeOptions,
    /// Set once the first non-blank line fixed the format.
    dec: Option<RowDecoder<'a>>,
    /// Last physical line number seen (1-based).
    line_no: u64,
    /// Inside the tail of an over-long line that was already quarantined.
    skipping: bool,
    spans: Vec<(u32, u32)>,
    /// Rows to size the builders for when the format becomes known.
    rows_hint: usize,
}

impl<'a> TextState<'a> {
    /// Decode the complete lines in `region` (every line ends with `\n`, except the last one
    /// at the end of the object).
    fn lines(&mut self, region: &[u8], sink: &mut dyn DecodeSink) -> Result<(), IngestError> {
        let mut pos = 0;
        if self.skipping {
            match memchr(b'\n', region) {
                Some(nl) => pos = nl + 1,
                None => return Ok(()),
            }
            self.skipping = false;
        }
        if let Some(dec) = self.dec.as_mut() {
            dec.check_utf8 = !region[pos..].is_ascii();
        }
        let base = pos;
        for nl in memchr_iter(b'\n', &region[base..]) {
            let end = base + nl;
            let line = &region[pos..end];
            pos = end + 1;
            self.line_no += 1;
            self.one(line, region, sink)?;
        }
        if pos < region.len() {
            self.line_no += 1;
            self.one(&region[pos..], region, sink)?;
        }
        Ok(())
    }

    #[inline]
    fn one(
        &mut self,
        line: &[u8],
        region: &[u8],
        sink: &mut dyn DecodeSink,
    ) -> Result<(), IngestError> {
        match self.dec.as_mut() {
            Some(dec) => dec.line(self.line_no, line, sink),
            None => self.first(line, region, sink),
        }
    }

    /// A line before the format is known: a header, or the first record of header-less input.
    fn first(
        &mut self,
        line: &[u8],
        region: &[u8],
        sink: &mut dyn DecodeSink,
    ) -> Result<(), IngestError> {
        let mut line = strip_cr(line);
        if self.line_no == 1 {
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        // A CloudWatch Logs export line: detect the format on the record inside it.
        let unwrapped = if is_wrapped(line) {
            unwrap_message(line).ok()
        } else {
            None
        };
        let inner = unwrapped.as_deref().map_or(line, str::as_bytes);
        split_fields(inner, &mut self.spans);
        if self.spans.is_empty() {
            return Ok(());
        }
        let toks: Vec<&[u8]> = self
            .spans
            .iter()
            .map(|&(s, e)| &inner[s as usize..e as usize])
            .collect();
        let format_err = |reason: String| IngestError::Format {
            key: self.key.to_string(),
            reason,
        };
        let (format, is_header) = if looks_like_header(&toks) {
            (FlowFormat::from_header(&toks).map_err(format_err)?, true)
        } else {
            match &self.opts.format {
                Some(f) => (f.clone(), false),
                None if toks.len() == 14 => (FlowFormat::default_v2(), false),
                None => {
                    return Err(format_err(format!(
                        "no header line and no configured format: line {} has {} fields, the default v2 format has 14",
                        self.line_no,
                        toks.len()
                    )));
                }
            }
        };
        tracing::debug!(key = self.key, header = is_header, format = %format, "flow-log format");
        let mut dec = RowDecoder::new(self.key, format, self.opts, self.rows_hint);
        dec.check_utf8 = !region.is_ascii();
        if !is_header {
            dec.line(self.line_no, line, sink)?;
        }
        self.dec = Some(dec);
        Ok(())
    }

    fn finish(self, sink: &mut dyn DecodeSink) -> Result<FlowStats, IngestError> {
        let mut stats = match self.dec {
            Some(dec) => dec.finish(sink)?,
            None => FlowStats::default(),
        };
        stats.lines = self.line_no;
        Ok(stats)
    }
}

/// See [`super::decode_flow_text`].
pub(crate) fn decode(
    key: &str,
    reader: &mut ObjectReader<'_>,
    opts: &FlowDecodeOptions,
    sink: &mut dyn DecodeSink,
) -> Result<FlowStats, IngestError> {
    let mut st = TextState {
        key,
        opts,
        dec: None,
        line_no: 0,
        skipping: false,
        spans: Vec::new(),
        rows_hint: DEFAULT_ROWS_HINT,
    };
    let mut chunk = ChunkBuf::take();
    let buf = &mut chunk.0;
    let mut filled = 0;
    let mut first_chunk = true;
    loop {
        let mut eof = false;
        let mut read_err = None;
        while filled < buf.len() {
            match reader.read(&mut buf[filled..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    read_err = Some(e);
                    break;
                }
            }
        }
        if filled == buf.len() && buf.len() < CHUNK && !eof && read_err.is_none() {
            // More than the buffer holds: grow it and read on.
            buf.resize((buf.len() * 4).min(CHUNK), 0);
            continue;
        }
        let data = &buf[..filled];
        // Complete lines end at the last newline; at the end of the object, the rest is a line.
        let end = if eof {
            filled
        } else {
            memrchr(b'\n', data).map_or(0, |i| i + 1)
        };
        if std::mem::take(&mut first_chunk) {
            // The whole object's lines when it ended within the chunk, else a lower bound
            // for a batch (the builders grow past it).
            st.rows_hint = memchr_iter(b'\n', &data[..end]).count() + 1;
        }
        st.lines(&data[..end], sink)?;
        if let Some(e) = read_err {
            // Keep what the complete lines gave, then report the object as broken.
            if let Some(dec) = st.dec.as_mut() {
                dec.flush(sink)?;
            }
            let err = reader.error(e);
            tracing::debug!(key, line = st.line_no, error = %err, "flow-log object unreadable past this line");
            return Err(err);
        }
        if eof {
            break;
        }
        if end == 0 && filled == buf.len() {
            // One line fills the whole chunk: quarantine it and skip to its end.
            if !st.skipping {
                st.line_no += 1;
                let reason = format!("line longer than {CHUNK} bytes");
                tracing::debug!(key, line = st.line_no, "flow-log line too long");
                if st.dec.is_none() {
                    return Err(IngestError::Format {
                        key: key.to_string(),
                        reason: format!("first {reason}"),
                    });
                }
                if let Some(dec) = st.dec.as_mut() {
                    dec.stats.quarantined += 1;
                }
                sink.quarantine(QuarantineRecord::line(key, st.line_no, reason, data));
                st.skipping = true;
            }
            filled = 0;
            continue;
        }
        buf.copy_within(end..filled, 0);
        filled -= end;
    }
    let stats = st.finish(sink)?;
    tracing::debug!(
        key,
        lines = stats.lines,
        records = stats.records,
        quarantined = stats.quarantined,
        "decoded flow-log object"
    );
    Ok(stats)
}
