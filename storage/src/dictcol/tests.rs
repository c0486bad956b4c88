use std::fs;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, DictionaryArray, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, TimestampMillisecondType};
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::statistics::Statistics;

use super::*;
use crate::encode::{EncodeOptions, FileJob, write_all};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// Minimum and maximum, as bytes.
type MinMax = (Vec<u8>, Vec<u8>);

#[test]
fn bit_widths_hold_the_largest_number() {
    assert_eq!(
        [0, 1, 2, 3, 4, 5, 256, 257].map(bit_width),
        [0, 0, 1, 2, 2, 3, 8, 9]
    );
}

#[test]
fn runs_and_packed_groups_are_laid_out_as_parquet_says() {
    let enc = |v: &[u32], w: u8| {
        let mut out = Vec::new();
        rle_hybrid(v.iter().copied(), v.len(), w, &mut out);
        out
    };
    // Ten equal values: one repeated run (header 10 << 1, then the value in one byte).
    assert_eq!(enc(&[1; 10], 1), [20, 1]);
    // Width 0 (a one-value dictionary): the header alone.
    assert_eq!(enc(&[0; 300], 0), [0xd8, 0x04]);
    // Four alternating values: one bit-packed group, padded to 8, least significant bit first.
    assert_eq!(enc(&[1, 0, 1, 0], 1), [3, 0b0000_0101]);
    // Three bits each: 8 values in 3 bytes.
    assert_eq!(
        enc(&[0, 1, 2, 3, 4, 5, 6, 7], 3),
        [3, 0b1000_1000, 0b1100_0110, 0b1111_1010]
    );
}

fn dict(values: &[&str], keys: Vec<i32>) -> Result<ArrayRef, arrow::error::ArrowError> {
    let keys = Int32Array::from(keys);
    let values: ArrayRef = Arc::new(StringArray::from(values.to_vec()));
    Ok(Arc::new(DictionaryArray::<Int32Type>::try_new(
        keys, values,
    )?))
}

/// A batch of `keys.len()` rows from time `from`: `source_key` and `account_id` held as
/// dictionaries (`key_values`/`keys`, one account), and a plain counter.
fn batch(from: i64, key_values: &[&str], keys: Vec<i32>) -> TestResult<RecordBatch> {
    let n = keys.len();
    let dt = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            flowtrail_core::schema::EVENT_TIME,
            flowtrail_core::schema::timestamp_type(),
            true,
        ),
        Field::new("account_id", dt.clone(), true),
        Field::new("bytes", DataType::Int64, true),
        Field::new("source_key", dt, false),
    ]));
    let b = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(
                TimestampMillisecondArray::from_iter_values(from..from + n as i64)
                    .with_timezone("UTC"),
            ),
            dict(&["111122223333"], vec![0; n])?,
            Arc::new(Int64Array::from_iter_values((0..n as i64).map(|i| i * 7))),
            dict(key_values, keys)?,
        ],
    )?;
    Ok(b)
}

fn write(path: &Path, batches: Vec<RecordBatch>, threads: usize) -> TestResult {
    let opts = EncodeOptions {
        zstd_level: 1,
        row_group_rows: 10_000,
        threads,
    };
    let job = FileJob {
        path: path.to_path_buf(),
        batches,
    };
    write_all(vec![job], &opts)?;
    Ok(())
}

/// Column `name` of the file at `path` as strings, in file order.
fn read_strings(path: &Path, name: &str) -> TestResult<Vec<Option<String>>> {
    let r = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path)?)?.build()?;
    let mut out = Vec::new();
    for b in r {
        let b = b?;
        let c = b.column_by_name(name).ok_or("no such column")?;
        assert_eq!(
            c.data_type(),
            &DataType::Utf8,
            "{name} reads back as plain strings"
        );
        out.extend(c.as_string::<i32>().iter().map(|v| v.map(str::to_string)));
    }
    Ok(out)
}

/// What `batches` hold in column `name`, rows in time order.
fn want(batches: &[RecordBatch], name: &str) -> TestResult<Vec<Option<String>>> {
    let mut rows: Vec<(i64, Option<String>)> = Vec::new();
    for b in batches {
        let t = b.column(0).as_primitive::<TimestampMillisecondType>();
        let c = b.column_by_name(name).ok_or("no such column")?;
        let c = arrow::compute::cast(c, &DataType::Utf8)?;
        let c = c.as_string::<i32>();
        for i in 0..b.num_rows() {
            rows.push((t.value(i), c.is_valid(i).then(|| c.value(i).to_string())));
        }
    }
    rows.sort_by_key(|r| r.0);
    Ok(rows.into_iter().map(|r| r.1).collect())
}

/// Every row group's chunk statistics and first page's column index for column `name`.
fn stats(path: &Path, name: &str) -> TestResult<Vec<(MinMax, MinMax)>> {
    let opts = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
    let b = ParquetRecordBatchReaderBuilder::try_new_with_options(fs::File::open(path)?, opts)?;
    let meta = b.metadata();
    let leaf = meta
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.name() == name)
        .ok_or("no such leaf")?;
    let index = meta.column_index().ok_or("no page index")?;
    let mut out = Vec::new();
    for (g, rg) in meta.row_groups().iter().enumerate() {
        let Some(Statistics::ByteArray(s)) = rg.column(leaf).statistics() else {
            return Err(format!("{name}: no byte-array statistics").into());
        };
        assert_eq!(s.null_count_opt(), Some(0));
        let (min, max) = (s.min_opt().ok_or("min")?, s.max_opt().ok_or("max")?);
        let ColumnIndexMetaData::BYTE_ARRAY(ci) = &index[g][leaf] else {
            return Err(format!("{name}: no byte-array column index").into());
        };
        let (pmin, pmax) = (ci.min_value(0).ok_or("min")?, ci.max_value(0).ok_or("max")?);
        out.push((
            (min.data().to_vec(), max.data().to_vec()),
            (pmin.to_vec(), pmax.to_vec()),
        ));
    }
    Ok(out)
}

/// Each row group's column codecs.
fn codecs(path: &Path) -> TestResult<Vec<Vec<Compression>>> {
    let r = SerializedFileReader::new(fs::File::open(path)?)?;
    Ok(r.metadata()
        .row_groups()
        .iter()
        .map(|g| g.columns().iter().map(|c| c.compression()).collect())
        .collect())
}

#[test]
fn columns_held_as_keys_read_back() -> TestResult {
    let dir = tempfile::tempdir()?;
    // Out of time order, so the rows are gathered; dictionaries that differ per batch, one
    // with a value no row uses ("zz"), and 300 values in the last (9-bit numbers).
    let many: Vec<String> = (0..300).map(|i| format!("k{i:03}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let batches = vec![
        batch(
            8_000,
            &["k1", "k2", "k3"],
            (0..7_000).map(|i| i % 3).collect(),
        )?,
        batch(
            0,
            &["zz", "k3", "k0"],
            (0..8_000).map(|i| 1 + (i / 7) % 2).collect(),
        )?,
        batch(15_000, &many, (0..9_000).map(|i| (i * 37) % 300).collect())?,
    ];
    let mm = |a: &str, b: &str| (a.as_bytes().to_vec(), b.as_bytes().to_vec());
    for threads in [1, 2] {
        let path = dir.path().join(format!("t{threads}.parquet"));
        write(&path, batches.clone(), threads)?;
        for name in ["source_key", "account_id"] {
            assert_eq!(read_strings(&path, name)?, want(&batches, name)?, "{name}");
        }
        let s = stats(&path, "source_key")?;
        // Row groups of 10,000 rows: 0..8,000 and 8,000..10,000; 10,000..20,000; the rest.
        assert_eq!(
            s[0],
            (mm("k0", "k3"), mm("k0", "k3")),
            "no 'zz': no row holds it"
        );
        assert_eq!(s[1].0, mm("k000", "k3"));
        assert_eq!(s[2].0, mm("k000", "k299"));
        let a = stats(&path, "account_id")?;
        assert!(a.iter().all(|g| g.0 == mm("111122223333", "111122223333")));
        // 300 values make a dictionary page worth compressing; one account does not.
        let codecs = codecs(&path)?;
        assert!(matches!(codecs[2][3], Compression::ZSTD(_)), "{codecs:?}");
        assert_eq!(codecs[2][1], Compression::UNCOMPRESSED);
    }
    Ok(())
}

#[test]
fn a_column_with_a_null_goes_through_the_arrow_writer() -> TestResult {
    let with_null: ArrayRef = Arc::new(DictionaryArray::<Int32Type>::try_new(
        Int32Array::from(vec![Some(0), None]),
        Arc::new(StringArray::from(vec!["a"])),
    )?);
    assert!(!takes(std::slice::from_ref(&with_null)));
    let plain: ArrayRef = Arc::new(StringArray::from(vec!["a", "b"]));
    assert!(!takes(&[plain]));
    assert!(!takes(&[]));
    assert!(takes(&[dict(&["a", "b"], vec![1, 0])?]));
    Ok(())
}
