//! A string column held as Arrow dictionaries, written as its parquet column chunk straight
//! from the dictionaries' keys.
//!
//! Buffered batches hold an object's constant columns (`source_key`, `account_id`, `region`)
//! as one-value dictionaries (`columns.rs`). Parquet's Arrow writer takes a dictionary array
//! value by value: for each row it looks the string up, compares it with the chunk's minimum
//! and maximum and hashes it into the chunk's dictionary, ~130 bytes of `source_key` touched
//! four times a row. Those three columns cost a tenth of a flows-only replay's CPU (measured
//! by dropping them from the files: 16.2 → 14.3 user CPU-s on the 20.2M-record set). The
//! chunk they make is simple, and made here from the keys alone: the distinct values the rows
//! use (a few per row group) in a PLAIN dictionary page, one RLE_DICTIONARY data page of the
//! row's value numbers (runs and bit-packed groups), statistics and page index over the
//! values used. The strings are touched once per value, not per row.
//!
//! Pages of more than [`COMPRESS_OVER`] bytes (a dictionary of object keys, which share long
//! prefixes) are compressed with zstd through one context per thread: parquet's own codec
//! makes a compression and a decompression context for every column chunk, which costs more
//! than compressing a few kilobytes. Smaller chunks (one account, one region) stay plain.
//!
//! Only columns whose every row holds a value are taken here; the file, its readers and its
//! statistics see the same values as from the Arrow writer (`columns_held_as_keys_read_back`).

use std::cell::RefCell;
use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, AsArray, Int32Array, StringArray};
use arrow::datatypes::Int32Type;
use bytes::Bytes;
use parquet::basic::{BoundaryOrder, Compression, Encoding, Type as PhysicalType, ZstdLevel};
use parquet::column::page::{CompressedPage, Page, PageWriteSpec, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ColumnChunkMetaData, ColumnIndexBuilder, OffsetIndexBuilder};
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// An encoded column chunk: its bytes (offsets in `close` are relative to them) and what the
/// row group writer needs to append it.
pub struct KeyedChunk {
    pub bytes: Bytes,
    pub close: ColumnCloseResult,
}

/// A chunk whose pages hold more bytes than this is compressed.
pub const COMPRESS_OVER: usize = 512;

thread_local! {
    /// This thread's zstd compression context and its level.
    static ZSTD: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { RefCell::new(None) };
}

/// `data` compressed at zstd `level` with this thread's context.
fn zstd_compress(data: &[u8], level: i32) -> Result<Vec<u8>, ParquetError> {
    let err = |e: std::io::Error| ParquetError::External(Box::new(e));
    ZSTD.with(|slot| {
        let mut slot = slot.borrow_mut();
        match slot.as_mut() {
            Some((l, c)) if *l == level => c.compress(data).map_err(err),
            _ => {
                let mut c = zstd::bulk::Compressor::new(level).map_err(err)?;
                let out = c.compress(data).map_err(err);
                *slot = Some((level, c));
                out
            }
        }
    })
}

/// The keys and values of `a` when it is a dictionary of strings with a value on every row.
fn keyed(a: &ArrayRef) -> Option<(&Int32Array, &StringArray)> {
    let d = a.as_dictionary_opt::<Int32Type>()?;
    let values = d.values().as_string_opt::<i32>()?;
    (d.keys().null_count() == 0 && values.null_count() == 0).then(|| (d.keys(), values))
}

/// Whether [`encode`] takes a column held as `arrays`.
pub fn takes(arrays: &[ArrayRef]) -> bool {
    !arrays.is_empty() && arrays.iter().all(|a| keyed(a).is_some())
}

/// The column chunk of `arrays` (one leaf, rows in order), or `None` when a part is not a
/// dictionary of strings with a value on every row.
pub fn encode(
    descr: &ColumnDescPtr,
    arrays: &[ArrayRef],
    zstd_level: i32,
) -> Result<Option<KeyedChunk>, ParquetError> {
    if !takes(arrays)
        || descr.max_rep_level() > 0
        || descr.physical_type() != PhysicalType::BYTE_ARRAY
    {
        return Ok(None);
    }
    let mut dict = ChunkDictionary::default();
    let mut ids: Vec<u32> = Vec::with_capacity(arrays.iter().map(|a| a.len()).sum());
    for a in arrays {
        if let Some((keys, values)) = keyed(a) {
            dict.number(keys, values, &mut ids)?;
        }
    }
    write_chunk(descr, &dict, &ids, zstd_level).map(Some)
}

/// The distinct values of a chunk in first-use order, and each part's key → value number.
#[derive(Default)]
struct ChunkDictionary<'a> {
    values: Vec<&'a [u8]>,
    index: HashMap<&'a [u8], u32>,
}

impl<'a> ChunkDictionary<'a> {
    /// Append the value number of every row of one part to `ids`.
    fn number(
        &mut self,
        keys: &Int32Array,
        values: &'a StringArray,
        ids: &mut Vec<u32>,
    ) -> Result<(), ParquetError> {
        let mut map = vec![u32::MAX; values.len()];
        for &k in keys.values() {
            let slot = usize::try_from(k)
                .ok()
                .and_then(|k| map.get_mut(k))
                .ok_or_else(|| ParquetError::General(format!("dictionary key {k} out of range")))?;
            if *slot == u32::MAX {
                let v = values.value(k as usize).as_bytes();
                let next = self.values.len() as u32;
                *slot = *self.index.entry(v).or_insert(next);
                if *slot == next {
                    self.values.push(v);
                }
            }
            ids.push(*slot);
        }
        Ok(())
    }

    fn min_max(&self) -> Option<(&'a [u8], &'a [u8])> {
        let min = self.values.iter().min()?;
        let max = self.values.iter().max()?;
        Some((min, max))
    }
}

/// Bits a value number takes: enough for `count - 1`.
fn bit_width(count: usize) -> u8 {
    (usize::BITS - count.saturating_sub(1).leading_zeros()) as u8
}

fn out_of_range(v: usize) -> ParquetError {
    ParquetError::General(format!("{v} out of range"))
}

fn i64_of(v: usize) -> Result<i64, ParquetError> {
    i64::try_from(v).map_err(|_| out_of_range(v))
}

/// The chunk of `ids` (each row's value number in `dict`): its pages, then its metadata.
fn write_chunk(
    descr: &ColumnDescPtr,
    dict: &ChunkDictionary<'_>,
    ids: &[u32],
    zstd_level: i32,
) -> Result<KeyedChunk, ParquetError> {
    let (dict_page, data_page) = (dictionary_page(dict)?, data_page(descr, dict, ids));
    let codec = if dict_page.len() + data_page.len() > COMPRESS_OVER {
        Compression::ZSTD(ZstdLevel::try_new(zstd_level).unwrap_or_default())
    } else {
        Compression::UNCOMPRESSED
    };
    let pack = |buf: Vec<u8>| -> Result<Bytes, ParquetError> {
        match codec {
            Compression::UNCOMPRESSED => Ok(Bytes::from(buf)),
            _ => zstd_compress(&buf, zstd_level).map(Bytes::from),
        }
    };
    let (dict_len, data_len) = (dict_page.len(), data_page.len());
    let mut sink = TrackedWrite::new(Vec::new());
    let mut pages = SerializedPageWriter::new(&mut sink);
    let dict_spec = pages.write_page(CompressedPage::new(
        Page::DictionaryPage {
            buf: pack(dict_page)?,
            num_values: u32::try_from(dict.values.len()).map_err(|_| out_of_range(dict_len))?,
            encoding: Encoding::PLAIN,
            is_sorted: false,
        },
        dict_len,
    ))?;
    let data_spec = pages.write_page(CompressedPage::new(
        Page::DataPage {
            buf: pack(data_page)?,
            num_values: u32::try_from(ids.len()).map_err(|_| out_of_range(ids.len()))?,
            encoding: Encoding::RLE_DICTIONARY,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        },
        data_len,
    ))?;
    pages.close()?;
    let bytes = Bytes::from(sink.into_inner()?);
    let close = close_result(descr, dict, ids.len(), codec, [&dict_spec, &data_spec])?;
    Ok(KeyedChunk { bytes, close })
}

/// The dictionary page's body: each value PLAIN (its length, then its bytes).
fn dictionary_page(dict: &ChunkDictionary<'_>) -> Result<Vec<u8>, ParquetError> {
    let mut buf = Vec::new();
    for v in &dict.values {
        let len = u32::try_from(v.len()).map_err(|_| out_of_range(v.len()))?;
        buf.extend_from_slice(&len.to_le_bytes());
        buf.extend_from_slice(v);
    }
    Ok(buf)
}

/// The data page's body (format v1): definition levels when the column is nullable (every row
/// holds a value: one run of the top level), then the bit width and the value numbers.
fn data_page(descr: &ColumnDescPtr, dict: &ChunkDictionary<'_>, ids: &[u32]) -> Vec<u8> {
    let rows = ids.len();
    let mut data = Vec::new();
    if descr.max_def_level() > 0 {
        let top = descr.max_def_level() as u32;
        let mut levels = Vec::new();
        rle_hybrid(
            std::iter::repeat_n(top, rows),
            rows,
            bit_width(top as usize + 1),
            &mut levels,
        );
        data.extend_from_slice(&(levels.len() as u32).to_le_bytes());
        data.extend_from_slice(&levels);
    }
    let width = bit_width(dict.values.len());
    data.push(width);
    rle_hybrid(ids.iter().copied(), rows, width, &mut data);
    data
}

/// What the row group writer needs to append the chunk: its metadata with statistics over
/// the values used, and the page index of its one data page.
fn close_result(
    descr: &ColumnDescPtr,
    dict: &ChunkDictionary<'_>,
    rows: usize,
    codec: Compression,
    [dict_spec, data_spec]: [&PageWriteSpec; 2],
) -> Result<ColumnCloseResult, ParquetError> {
    let written = dict_spec.bytes_written + data_spec.bytes_written;
    let (min, max) = dict.min_max().unwrap_or((&[], &[]));
    let stats = Statistics::ByteArray(ValueStatistics::new(
        Some(ByteArray::from(min.to_vec())),
        Some(ByteArray::from(max.to_vec())),
        None,
        Some(0),
        false,
    ));
    let metadata = ColumnChunkMetaData::builder(descr.clone())
        .set_compression(codec)
        .set_encodings(vec![
            Encoding::PLAIN,
            Encoding::RLE,
            Encoding::RLE_DICTIONARY,
        ])
        .set_num_values(i64_of(rows)?)
        .set_total_compressed_size(i64_of(written as usize)?)
        .set_total_uncompressed_size(i64_of(
            dict_spec.uncompressed_size + data_spec.uncompressed_size,
        )?)
        .set_dictionary_page_offset(Some(i64_of(dict_spec.offset as usize)?))
        .set_data_page_offset(i64_of(data_spec.offset as usize)?)
        .set_statistics(stats)
        .build()?;
    let mut column_index = ColumnIndexBuilder::new(PhysicalType::BYTE_ARRAY);
    column_index.append(false, min.to_vec(), max.to_vec(), 0);
    column_index.set_boundary_order(BoundaryOrder::UNORDERED);
    let mut offset_index = OffsetIndexBuilder::new();
    let page_size = i32::try_from(data_spec.compressed_size)
        .map_err(|_| out_of_range(data_spec.compressed_size))?;
    offset_index.append_offset_and_size(i64_of(data_spec.offset as usize)?, page_size);
    offset_index.append_row_count(i64_of(rows)?);
    Ok(ColumnCloseResult {
        bytes_written: written,
        rows_written: rows as u64,
        metadata,
        bloom_filter: None,
        column_index: Some(column_index.build()?),
        offset_index: Some(offset_index.build()),
    })
}

/// Bit-packed groups per run at most (what other writers emit; any reader takes it).
const MAX_GROUPS: usize = 63;

/// `count` values of `width` bits in parquet's RLE / bit-packing hybrid: a run of 8 or more
/// equal values as one repeated run, the rest bit-packed 8 at a time.
fn rle_hybrid(values: impl Iterator<Item = u32>, count: usize, width: u8, out: &mut Vec<u8>) {
    let mut packed: Vec<u32> = Vec::with_capacity(8 * MAX_GROUPS);
    let mut values = values.peekable();
    let mut done = 0;
    while let Some(v) = values.next() {
        let mut run = 1;
        while packed.len().is_multiple_of(8) && values.peek() == Some(&v) {
            values.next();
            run += 1;
        }
        done += run;
        if run >= 8 {
            flush_packed(&mut packed, width, out);
            varint((run as u64) << 1, out);
            let bytes = (width as usize).div_ceil(8);
            out.extend_from_slice(&v.to_le_bytes()[..bytes]);
            continue;
        }
        packed.extend(std::iter::repeat_n(v, run));
        if packed.len() >= 8 * MAX_GROUPS {
            let rest = packed.split_off(8 * MAX_GROUPS);
            flush_packed(&mut packed, width, out);
            packed = rest;
        }
    }
    debug_assert_eq!(done, count);
    flush_packed(&mut packed, width, out);
}

/// Write `packed` (padded with zeros to a multiple of 8) as one bit-packed run, and empty it.
fn flush_packed(packed: &mut Vec<u32>, width: u8, out: &mut Vec<u8>) {
    if packed.is_empty() {
        return;
    }
    let groups = packed.len().div_ceil(8);
    packed.resize(groups * 8, 0);
    varint(((groups as u64) << 1) | 1, out);
    let (mut acc, mut bits) = (0u64, 0u32);
    for &v in packed.iter() {
        acc |= u64::from(v) << bits;
        bits += u32::from(width);
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    // 8 values of `width` bits are `width` whole bytes: nothing is left over.
    packed.clear();
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests;
