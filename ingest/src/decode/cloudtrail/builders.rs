//! Arrow builders for the `cloudtrail` table: one builder per column of
//! [`CT_COLUMNS`], typed from the schema, filled row by row from [`Row`]s and finished into
//! batches of exactly [`cloudtrail_schema`]. Column positions are resolved at compile time, so a
//! renamed column in `core` is a build error here, not a silent null.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, StringArray, StringBuilder, TimestampMillisecondBuilder,
};
use arrow::record_batch::RecordBatch;
use flowtrail_core::schema::cloudtrail::{CT_COLUMNS, CtType, cloudtrail_schema, col};

use super::CloudTrailOptions;
use crate::IngestError;

/// Number of [`CT_COLUMNS`].
pub(crate) const NCOLS: usize = CT_COLUMNS.len();

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Position of a column in [`CT_COLUMNS`]; evaluated at compile time.
pub(crate) const fn col_index(name: &str) -> usize {
    let mut i = 0;
    while i < CT_COLUMNS.len() {
        if same(CT_COLUMNS[i].column, name) {
            return i;
        }
        i += 1;
    }
    panic!("column missing from CT_COLUMNS")
}

pub(crate) const C_EVENT_TIME: usize = col_index(col::EVENT_TIME);
pub(crate) const C_AWS_REGION: usize = col_index(col::AWS_REGION);
pub(crate) const C_RECIPIENT_ACCOUNT_ID: usize = col_index(col::RECIPIENT_ACCOUNT_ID);
pub(crate) const C_UI_TYPE: usize = col_index(col::USER_IDENTITY_TYPE);
pub(crate) const C_UI_PRINCIPAL_ID: usize = col_index(col::USER_IDENTITY_PRINCIPAL_ID);
pub(crate) const C_UI_ARN: usize = col_index(col::USER_IDENTITY_ARN);
pub(crate) const C_UI_ACCOUNT_ID: usize = col_index(col::USER_IDENTITY_ACCOUNT_ID);
pub(crate) const C_UI_ACCESS_KEY_ID: usize = col_index(col::USER_IDENTITY_ACCESS_KEY_ID);
pub(crate) const C_UI_USER_NAME: usize = col_index(col::USER_IDENTITY_USER_NAME);
pub(crate) const C_UI_INVOKED_BY: usize = col_index(col::USER_IDENTITY_INVOKED_BY);
pub(crate) const C_SESSION_ISSUER_ARN: usize = col_index(col::SESSION_ISSUER_ARN);
pub(crate) const C_MFA_AUTHENTICATED: usize = col_index(col::MFA_AUTHENTICATED);
pub(crate) const C_EXTRA_FIELDS: usize = col_index(col::EXTRA_FIELDS);

/// One cell of a row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell<'a> {
    /// SQL null.
    Null,
    /// A string or JSON text.
    Str(Cow<'a, str>),
    /// A boolean.
    Bool(bool),
    /// UTC milliseconds.
    Time(i64),
}

impl Cell<'_> {
    /// The cell's text, when it is a non-empty string.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Cell::Str(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }
}

/// One event as cells, in [`CT_COLUMNS`] order.
#[derive(Debug)]
pub(crate) struct Row<'a> {
    pub(crate) cells: [Cell<'a>; NCOLS],
}

enum ColBuilder {
    Str(StringBuilder),
    Bool(BooleanBuilder),
    Time(TimestampMillisecondBuilder),
}

/// First-batch guess of bytes per row: free-form JSON members are long, the rest short.
fn guess_bytes_per_row(ty: CtType) -> usize {
    match ty {
        CtType::Json => 128,
        _ => 24,
    }
}

fn builder(ty: CtType, rows: usize, bytes: usize) -> ColBuilder {
    match ty {
        CtType::Str | CtType::Json => ColBuilder::Str(StringBuilder::with_capacity(rows, bytes)),
        CtType::Bool => ColBuilder::Bool(BooleanBuilder::with_capacity(rows)),
        CtType::Time => {
            ColBuilder::Time(TimestampMillisecondBuilder::with_capacity(rows).with_timezone("UTC"))
        }
    }
}

/// Builders for one batch at a time.
///
/// Builders are sized up front (rows, and string bytes per column from the previous batch, or a
/// guess for the first) so that appending never regrows and copies the buffers.
pub(crate) struct CtBuilders {
    cols: Vec<ColBuilder>,
    account: StringBuilder,
    region: StringBuilder,
    rows: usize,
    /// Rows to size the next batch for.
    cap_rows: usize,
    /// String bytes seen per column in the last batch, scaled to `cap_rows`; `None` while the
    /// builders are already sized for the next batch.
    next_bytes: Option<Vec<usize>>,
}

impl CtBuilders {
    /// Builders sized for `rows` rows (they grow past it).
    pub(crate) fn new(rows: usize) -> Self {
        let cols = CT_COLUMNS
            .iter()
            .map(|c| builder(c.ty, rows, rows * guess_bytes_per_row(c.ty)))
            .collect();
        Self {
            cols,
            account: StringBuilder::with_capacity(rows, rows * 12),
            region: StringBuilder::with_capacity(rows, rows * 12),
            rows: 0,
            cap_rows: rows,
            next_bytes: None,
        }
    }

    /// Re-create the builders finished by the last batch, sized from what it held.
    fn resize(&mut self, bytes: &[usize]) {
        for ((b, c), bytes) in self.cols.iter_mut().zip(CT_COLUMNS).zip(bytes) {
            *b = builder(c.ty, self.cap_rows, *bytes);
        }
        self.account = StringBuilder::with_capacity(self.cap_rows, self.cap_rows * 12);
        self.region = StringBuilder::with_capacity(self.cap_rows, self.cap_rows * 12);
    }

    /// Rows appended since the last [`CtBuilders::finish`].
    pub(crate) fn len(&self) -> usize {
        self.rows
    }

    /// Append one row. `account_id` = `recipientAccountId`, else the fallback, else
    /// `userIdentity.accountId`, else `unknown`; `region` = `awsRegion`, else the fallback, else
    /// `unknown`.
    pub(crate) fn append(&mut self, row: &Row<'_>, opts: &CloudTrailOptions) {
        if let Some(bytes) = self.next_bytes.take() {
            self.resize(&bytes);
        }
        for (b, cell) in self.cols.iter_mut().zip(row.cells.iter()) {
            match (b, cell) {
                (ColBuilder::Str(b), Cell::Str(s)) => b.append_value(s),
                (ColBuilder::Str(b), _) => b.append_null(),
                (ColBuilder::Bool(b), Cell::Bool(v)) => b.append_value(*v),
                (ColBuilder::Bool(b), _) => b.append_null(),
                (ColBuilder::Time(b), Cell::Time(t)) => b.append_value(*t),
                (ColBuilder::Time(b), _) => b.append_null(),
            }
        }
        let account = row.cells[C_RECIPIENT_ACCOUNT_ID]
            .text()
            .or(opts
                .fallback_account_id
                .as_deref()
                .filter(|s| !s.is_empty()))
            .or(row.cells[C_UI_ACCOUNT_ID].text())
            .unwrap_or("unknown");
        self.account.append_value(account);
        let region = row.cells[C_AWS_REGION]
            .text()
            .or(opts.fallback_region.as_deref().filter(|s| !s.is_empty()))
            .unwrap_or("unknown");
        self.region.append_value(region);
        self.rows += 1;
    }

    /// The rows so far as one batch (`None` when there are none); the builders start over.
    pub(crate) fn finish(&mut self, key: &str) -> Result<Option<RecordBatch>, IngestError> {
        if self.rows == 0 {
            return Ok(None);
        }
        let rows = self.rows;
        let cap_rows = self.cap_rows.max(rows);
        self.cap_rows = cap_rows;
        let mut next_bytes = Vec::with_capacity(NCOLS);
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(NCOLS + 3);
        for b in &mut self.cols {
            let (array, bytes): (ArrayRef, usize) = match b {
                ColBuilder::Str(b) => {
                    let bytes = b.values_slice().len();
                    (Arc::new(b.finish()), bytes)
                }
                ColBuilder::Bool(b) => (Arc::new(b.finish()), 0),
                ColBuilder::Time(b) => (Arc::new(b.finish()), 0),
            };
            // A little headroom over the last batch's share per row.
            next_bytes.push((bytes / rows.max(1) + 1).saturating_mul(cap_rows) / 8 * 9);
            arrays.push(array);
        }
        self.next_bytes = Some(next_bytes);
        arrays.push(Arc::new(self.account.finish()));
        arrays.push(Arc::new(self.region.finish()));
        // One value repeated: the bytes and offsets are laid out in one pass each.
        arrays.push(Arc::new(StringArray::new_repeated(key, self.rows)));
        self.rows = 0;
        RecordBatch::try_new(cloudtrail_schema(), arrays)
            .map(Some)
            .map_err(|source| IngestError::Arrow {
                context: format!("{key}: building a cloudtrail batch"),
                source,
            })
    }
}
