//! Opening an object's bytes: gzip (single or multi-member, as S3 delivery may concatenate
//! members) or plain, detected by the gzip magic bytes rather than trusted from the key or a
//! `Content-Encoding` header. Every reader is bounded: past `limit` decompressed bytes it fails
//! with [`IngestError::TooLarge`], so a gzip bomb costs a bounded amount of time and no memory.

use std::io::{self, Read};

use flate2::read::MultiGzDecoder;

use crate::IngestError;

/// Default bound on one object's decompressed size (16 GiB; streamed, so this bounds time,
/// not memory).
pub const DEFAULT_MAX_DECOMPRESSED: u64 = 16 << 30;

/// Default bound on the decompressed size of an object that is decoded whole in memory
/// (CloudTrail documents): a gzip bomb is quarantined after at most this much memory per decode
/// worker. Real CloudTrail files are a few MB.
pub const DEFAULT_MAX_DOCUMENT: u64 = 256 << 20;

/// Whether `bytes` start with the gzip magic.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
}

/// A reader over an object's decompressed bytes that counts them and enforces a limit.
pub struct ObjectReader<'a> {
    inner: Box<dyn Read + Send + 'a>,
    key: String,
    read: u64,
    limit: u64,
    gzip: bool,
}

impl std::fmt::Debug for ObjectReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectReader")
            .field("key", &self.key)
            .field("read", &self.read)
            .finish()
    }
}

/// Marker in the io::Error raised when the limit is hit.
const TOO_LARGE: &str = "flowtrail: decompressed size limit";

impl<'a> ObjectReader<'a> {
    /// Open `bytes` (the whole object as stored) for reading.
    pub fn new(key: &str, bytes: &'a [u8], limit: u64) -> Self {
        let gzip = is_gzip(bytes);
        let inner: Box<dyn Read + Send + 'a> = if gzip {
            Box::new(MultiGzDecoder::new(bytes))
        } else {
            Box::new(bytes)
        };
        Self {
            inner,
            key: key.to_string(),
            read: 0,
            limit,
            gzip,
        }
    }

    /// Open a stream (a file, a network body) for reading; gzip is detected from its first
    /// bytes.
    pub fn from_reader<R: Read + Send + 'a>(key: &str, mut r: R, limit: u64) -> io::Result<Self> {
        let mut head = [0u8; 2];
        let mut n = 0;
        while n < 2 {
            match r.read(&mut head[n..])? {
                0 => break,
                k => n += k,
            }
        }
        let chained = io::Cursor::new(head[..n].to_vec()).chain(r);
        let gzip = is_gzip(&head[..n]);
        let inner: Box<dyn Read + Send + 'a> = if gzip {
            Box::new(MultiGzDecoder::new(chained))
        } else {
            Box::new(chained)
        };
        Ok(Self {
            inner,
            key: key.to_string(),
            read: 0,
            limit,
            gzip,
        })
    }

    /// Whether the object is gzip.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Decompressed bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// Turn an error from [`Read::read`] on this reader into an [`IngestError`] naming the
    /// object.
    pub fn error(&self, e: io::Error) -> IngestError {
        if e.to_string() == TOO_LARGE {
            IngestError::TooLarge {
                key: self.key.clone(),
                limit: self.limit,
            }
        } else if self.gzip
            || e.kind() == io::ErrorKind::InvalidData
            || e.kind() == io::ErrorKind::UnexpectedEof
        {
            IngestError::Decompress {
                key: self.key.clone(),
                decompressed: self.read,
                reason: e.to_string(),
            }
        } else {
            IngestError::Read {
                key: self.key.clone(),
                source: e,
            }
        }
    }

    /// Read the whole object into memory (CloudTrail documents); bounded by the limit.
    pub fn read_all(mut self) -> Result<Vec<u8>, IngestError> {
        let mut out = Vec::new();
        match self.read_to_end(&mut out) {
            Ok(_) => Ok(out),
            Err(e) => Err(self.error(e)),
        }
    }
}

impl Read for ObjectReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.read >= self.limit {
            // Probe for one more byte: exactly `limit` bytes is allowed.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(TOO_LARGE)),
            };
        }
        let room = (self.limit - self.read).min(buf.len() as u64) as usize;
        let n = self.inner.read(&mut buf[..room])?;
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        let _ = e.write_all(data);
        e.finish().unwrap_or_default()
    }

    #[test]
    fn reads_plain_gzip_and_multi_member() -> Result<(), IngestError> {
        assert_eq!(ObjectReader::new("k", b"abc", 100).read_all()?, b"abc");
        assert_eq!(ObjectReader::new("k", &gz(b"abc"), 100).read_all()?, b"abc");
        let mut two = gz(b"abc\n");
        two.extend(gz(b"def\n"));
        assert_eq!(ObjectReader::new("k", &two, 100).read_all()?, b"abc\ndef\n");
        Ok(())
    }

    #[test]
    fn truncated_gzip_is_a_decompress_error_naming_the_object() {
        let data = gz(&vec![b'x'; 100_000]);
        let cut = &data[..data.len() / 2];
        let err = ObjectReader::new("AWSLogs/a.gz", cut, 1 << 20).read_all();
        match err {
            Err(IngestError::Decompress { key, .. }) => assert_eq!(key, "AWSLogs/a.gz"),
            other => panic!("expected decompress error, got {other:?}"),
        }
    }

    #[test]
    fn bombs_stop_at_the_limit() {
        let data = gz(&vec![0u8; 1 << 20]);
        assert!(matches!(
            ObjectReader::new("k", &data, 1000).read_all(),
            Err(IngestError::TooLarge { limit: 1000, .. })
        ));
        assert!(ObjectReader::new("k", b"12345", 5).read_all().is_ok());
    }

    #[test]
    fn from_reader_detects_gzip_from_the_stream() -> Result<(), Box<dyn std::error::Error>> {
        let data = gz(b"hello");
        let r = ObjectReader::from_reader("k", &data[..], 100)?;
        assert!(r.is_gzip());
        assert_eq!(r.read_all()?, b"hello");
        Ok(())
    }
}
