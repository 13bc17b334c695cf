//! Reading a Parquet file as text cells ([`Records`]), so training and evaluation read Parquet exactly as they
//! read the same table written as CSV: one schema inference, one set of rules for labels, categories and missing
//! values.
//!
//! Every top-level column of the file is a column of the table, in file order. Each value becomes the cell a
//! CSV file of the same table would hold:
//! - null → an empty cell (a missing value), and so does a floating-point NaN;
//! - booleans → `1` / `0`;
//! - signed and unsigned integers (8 to 64 bits) → their decimal digits (exact);
//! - `FLOAT` and 16-bit floats → the shortest decimal that reads back as the same f32, `DOUBLE` → the shortest
//!   that reads back as the same f64 (so values, labels and category names equal the CSV ones);
//! - UTF-8 strings, plain or dictionary-encoded (and un-annotated byte arrays that are valid UTF-8) → the string.
//!
//! An all-null column (logical type `Unknown`) is a column of missing values. Decimals, dates, times, timestamps, `INT96`, fixed-length byte arrays other than 16-bit floats, and nested
//! (struct, list, map) or repeated columns are rejected with an error naming the file, the column and its type:
//! cast them to a number or a string first.
//!
//! The file is read one row group at a time; large files show a progress bar. A row is numbered from 0 across the
//! whole file (as pandas and pyarrow number them); it is stored in [`Record::line`](super::Record) as
//! `row + 1` so that 0 still means "the whole file", and errors name the row and its row group.

use std::fs::File;
use std::path::Path;

use parquet::basic::{ConvertedType, LogicalType, Repetition, Type as PhysicalType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use parquet::schema::types::Type;

use super::table::{DataError, Record, Records, is_missing};

/// Files with at least this many rows show a progress bar while they are read.
pub const PROGRESS_ROWS: u64 = 1_000_000;

/// Reads a Parquet file into [`Records`] (see the module documentation).
///
/// A malformed file is an error naming the file. The `parquet` crate panics on some corrupt pages instead of
/// returning an error (e.g. a PLAIN byte array whose length prefix is cut off); such a panic is caught here and
/// reported as an error too (the panic message is still printed by the panic hook).
pub fn read_records(path: &Path) -> Result<Records, DataError> {
    caught(path, || read(path))
}

/// Opens `path` and checks what can be checked before reading rows: the column chunks' offsets and sizes, and
/// that every top-level column is one a table can hold. Returns the reader and the header (the column names).
fn open_checked(path: &Path) -> Result<(SerializedFileReader<File>, Vec<String>), DataError> {
    let err = |line: usize, column: usize, message: String| DataError {
        file: path.to_path_buf(),
        line,
        column,
        message,
    };
    let file = File::open(path).map_err(|e| err(0, 0, format!("cannot read: {e}")))?;
    let reader = SerializedFileReader::new(file)
        .map_err(|e| err(0, 0, format!("not a readable Parquet file: {e}")))?;
    let meta = reader.metadata();
    // The reader asserts that every column chunk's offset and size are non-negative when it reads the chunk
    // (`ColumnChunkMetaData::byte_range`): check them here, so that a corrupt file is an error, not a panic.
    for (g, group) in meta.row_groups().iter().enumerate() {
        for (c, column) in group.columns().iter().enumerate() {
            let start = column
                .dictionary_page_offset()
                .unwrap_or(column.data_page_offset());
            if start < 0 || column.compressed_size() < 0 {
                return Err(err(
                    0,
                    c + 1,
                    format!(
                        "row group {g}: the metadata gives the column chunk a negative offset or size (corrupt file)"
                    ),
                ));
            }
        }
    }
    let root = meta.file_metadata().schema();
    let header: Vec<String> = root
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    for (c, field) in root.get_fields().iter().enumerate() {
        if let Some(why) = unsupported(field) {
            return Err(err(
                0,
                c + 1,
                format!(
                    "the column `{}` has the type {why}, which training data cannot hold (cast it to a number \
                     or a string)",
                    field.name()
                ),
            ));
        }
    }
    Ok((reader, header))
}

fn read(path: &Path) -> Result<Records, DataError> {
    let err = |line: usize, column: usize, message: String| DataError {
        file: path.to_path_buf(),
        line,
        column,
        message,
    };
    let (reader, header) = open_checked(path)?;
    let meta = reader.metadata();
    let total = meta.file_metadata().num_rows().max(0) as u64;
    let bar = crate::progress::bar(
        total < PROGRESS_ROWS,
        total,
        "  reading {msg} {bar:30} {pos}/{len} rows [{elapsed_precise}, eta {eta}]",
    );
    bar.set_message(
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
    );
    let mut rows = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    let mut row_groups = Vec::with_capacity(reader.num_row_groups());
    for g in 0..reader.num_row_groups() {
        let group = reader
            .get_row_group(g)
            .map_err(|e| err(0, 0, format!("row group {g}: {e}")))?;
        let first = rows.len();
        let iter = group
            .get_row_iter(None)
            .map_err(|e| err(0, 0, format!("row group {g}: {e}")))?;
        for row in iter {
            let line = rows.len() + 1;
            let row = row.map_err(|e| err(line, 0, format!("(row group {g}) {e}")))?;
            let mut cells = Vec::with_capacity(header.len());
            for (c, (name, field)) in row.get_column_iter().enumerate() {
                let cell = cell(field).map_err(|why| {
                    err(
                        line,
                        c + 1,
                        format!("the column `{name}`: {why} (row group {g})"),
                    )
                })?;
                cells.push(cell);
            }
            rows.push(Record { line, cells });
        }
        row_groups.push(rows.len() - first);
        bar.set_position(rows.len() as u64);
    }
    bar.finish_and_clear();
    Ok(Records {
        header,
        rows,
        row_groups,
    })
}

/// A Parquet file's rows as numbers, read a chunk at a time: memory is bounded by the chunk (and the pages being
/// decoded), not by the file. Each value is the number its CSV cell (see the module documentation) reads as, NaN
/// for a missing one, so `emkern predict` gives the same output for a Parquet file as for the same table written
/// as CSV. Errors name the file, the row (from 1, as [`read_records`] numbers them), the column and the row group.
pub struct ParquetRowStream {
    path: std::path::PathBuf,
    header: Vec<String>,
    rows: parquet::record::reader::RowIter<'static>,
    /// Rows read so far.
    read: usize,
    /// Rows in the file (from its metadata).
    total: u64,
    /// The first row after each row group.
    group_ends: Vec<usize>,
    /// The row group of the next row (advanced as rows are read).
    group: usize,
}

impl ParquetRowStream {
    /// Opens `path` with the checks [`read_records`] makes before reading rows.
    pub fn open(path: &Path) -> Result<ParquetRowStream, DataError> {
        caught(path, || {
            let (reader, header) = open_checked(path)?;
            let mut end = 0;
            let group_ends = reader
                .metadata()
                .row_groups()
                .iter()
                .map(|g| {
                    end += g.num_rows().max(0) as usize;
                    end
                })
                .collect();
            let total = reader.metadata().file_metadata().num_rows().max(0) as u64;
            let rows = parquet::record::reader::RowIter::from_file_into(Box::new(reader));
            Ok(ParquetRowStream {
                path: path.to_path_buf(),
                header,
                rows,
                read: 0,
                total,
                group_ends,
                group: 0,
            })
        })
    }

    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.header
    }

    /// Rows read so far.
    pub fn rows_read(&self) -> u64 {
        self.read as u64
    }

    /// Rows in the file, as its metadata says.
    pub fn total_rows(&self) -> u64 {
        self.total
    }

    /// Appends the next up to `max_rows` rows (each `columns().len()` values) to `out`; returns how many were read
    /// (0 at the end of the file).
    pub fn next_chunk(&mut self, max_rows: usize, out: &mut Vec<f64>) -> Result<usize, DataError> {
        let path = self.path.clone();
        caught(&path, || {
            let mut n = 0;
            while n < max_rows {
                let Some(row) = self.rows.next() else {
                    break;
                };
                let line = self.read + 1;
                while self
                    .group_ends
                    .get(self.group)
                    .is_some_and(|&e| self.read >= e)
                {
                    self.group += 1;
                }
                let group = self.group;
                let err = |column: usize, message: String| DataError {
                    file: path.clone(),
                    line,
                    column,
                    message: format!("{message} (row group {group})"),
                };
                let row = row.map_err(|e| err(0, e.to_string()))?;
                for (c, (name, field)) in row.get_column_iter().enumerate() {
                    // Numbers directly (each is the value its CSV cell parses to: a double's shortest decimal
                    // reads back as the same double, an integer's digits round as `as f64` does); floats, text
                    // and the rest through their CSV cell, so the values equal a CSV twin's.
                    let direct = match field {
                        Field::Null => Some(f64::NAN),
                        Field::Double(v) => Some(if v.is_nan() { f64::NAN } else { *v }),
                        Field::Int(v) => Some(f64::from(*v)),
                        Field::Long(v) => Some(*v as f64),
                        _ => None,
                    };
                    if let Some(v) = direct {
                        out.push(v);
                        continue;
                    }
                    let cell = cell(field)
                        .map_err(|why| err(c + 1, format!("the column `{name}`: {why}")))?;
                    out.push(if is_missing(&cell) {
                        f64::NAN
                    } else {
                        cell.parse::<f64>()
                            .map_err(|_| err(c + 1, format!("`{cell}` is not a number")))?
                    });
                }
                self.read += 1;
                n += 1;
            }
            Ok(n)
        })
    }
}

/// Runs `read` and turns a panic of the `parquet` crate on malformed data into an error naming the file (see
/// [`read_records`]).
fn caught<T>(path: &Path, read: impl FnOnce() -> Result<T, DataError>) -> Result<T, DataError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|payload| {
        let why = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(DataError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("the Parquet reader failed on malformed data ({why})"),
        })
    })
}

/// Why a top-level column cannot be read as a table column, or `None` when it can.
fn unsupported(field: &Type) -> Option<String> {
    if field.is_group() {
        return Some("group (a struct, list or map column)".into());
    }
    let info = field.get_basic_info();
    if info.has_repetition() && info.repetition() == Repetition::REPEATED {
        return Some("repeated (a list of values per row)".into());
    }
    let physical = field.get_physical_type();
    if let Some(logical) = info.logical_type_ref() {
        return match logical {
            // `Unknown` is the type of an all-null column (pyarrow's `null`): every cell is missing.
            LogicalType::String
            | LogicalType::Enum
            | LogicalType::Integer(_)
            | LogicalType::Unknown => None,
            LogicalType::Float16 if physical == PhysicalType::FIXED_LEN_BYTE_ARRAY => None,
            LogicalType::Decimal(d) => Some(format!("DECIMAL({}, {})", d.precision, d.scale)),
            LogicalType::Date => Some("DATE".into()),
            LogicalType::Time(_) => Some("TIME".into()),
            LogicalType::Timestamp(_) => Some("TIMESTAMP".into()),
            other => Some(format!("{other:?}")),
        };
    }
    match info.converted_type() {
        ConvertedType::NONE
        | ConvertedType::UTF8
        | ConvertedType::ENUM
        | ConvertedType::INT_8
        | ConvertedType::INT_16
        | ConvertedType::INT_32
        | ConvertedType::INT_64
        | ConvertedType::UINT_8
        | ConvertedType::UINT_16
        | ConvertedType::UINT_32
        | ConvertedType::UINT_64 => {}
        ConvertedType::DECIMAL => {
            return Some(format!(
                "DECIMAL({}, {})",
                field.get_precision(),
                field.get_scale()
            ));
        }
        other => return Some(format!("{other:?}")),
    }
    match physical {
        PhysicalType::INT96 => Some("INT96 (a legacy timestamp)".into()),
        PhysicalType::FIXED_LEN_BYTE_ARRAY => Some("FIXED_LEN_BYTE_ARRAY".into()),
        _ => None,
    }
}

/// The CSV cell of one value (see the module documentation), or why the value cannot be one.
fn cell(field: &Field) -> Result<String, String> {
    Ok(match field {
        Field::Null => String::new(),
        Field::Bool(b) => if *b { "1" } else { "0" }.into(),
        Field::Byte(v) => v.to_string(),
        Field::Short(v) => v.to_string(),
        Field::Int(v) => v.to_string(),
        Field::Long(v) => v.to_string(),
        Field::UByte(v) => v.to_string(),
        Field::UShort(v) => v.to_string(),
        Field::UInt(v) => v.to_string(),
        Field::ULong(v) => v.to_string(),
        Field::Float16(v) => float32(v.to_f32()),
        Field::Float(v) => float32(*v),
        Field::Double(v) if v.is_nan() => String::new(),
        Field::Double(v) => format!("{v}"),
        Field::Str(s) => s.clone(),
        Field::Bytes(b) => match std::str::from_utf8(b.data()) {
            Ok(s) => s.to_string(),
            Err(e) => return Err(format!("a byte string is not UTF-8 text ({e})")),
        },
        other => {
            return Err(format!(
                "the value `{other}` has a type training data cannot hold"
            ));
        }
    })
}

fn float32(v: f32) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}
