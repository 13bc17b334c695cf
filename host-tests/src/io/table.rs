//! The table types every reader produces ([`Table`], [`Records`]) and the error that names a file's line and
//! column ([`DataError`]). Shared by the CSV and Parquet readers, which import nothing from each other.

use std::path::{Path, PathBuf};

/// A dense, row-major table of f32 values.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Column names (from the header, or `f0, f1, …`).
    pub columns: Vec<String>,
    /// Row-major values, `rows × columns.len()`.
    pub values: Vec<f32>,
    /// Number of rows.
    pub rows: usize,
}

impl Table {
    /// Row `r`.
    pub fn row(&self, r: usize) -> &[f32] {
        let w = self.columns.len();
        &self.values[r * w..(r + 1) * w]
    }
}

/// A problem in a data file, with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (0 when the whole file is concerned); for a Parquet file, the 0-based row + 1.
    pub line: usize,
    /// 1-based column (0 when the whole line is concerned).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            if is_parquet(&self.file) {
                // Parquet rows are numbered from 0 (see `io::parquet`); `line` is that number + 1.
                write!(f, ": row {}", self.line - 1)?;
            } else {
                write!(f, ":{}", self.line)?;
            }
        }
        if self.column > 0 {
            write!(f, ": column {}", self.column)?;
        }
        // Messages quote cells from the file: control characters in them must not reach a terminal raw.
        write!(f, ": {}", printable(&self.message))
    }
}

impl std::error::Error for DataError {}

/// Whether a (trimmed) cell spells a missing value: empty, `nan`/`NaN`/`NAN`, `NA`/`na` or `null`.
pub fn is_missing(cell: &str) -> bool {
    matches!(cell, "" | "nan" | "NaN" | "NAN" | "NA" | "na" | "null")
}

/// A parse error: 1-based line, 1-based column (0 for the whole line), message.
pub type ParseError = (usize, usize, String);

/// `s` with control characters escaped (`\u{1b}`, `\n`, …), for printing text read from a file to a terminal.
pub fn printable(s: &str) -> String {
    if !s.chars().any(|c| c.is_control() || c == '\u{feff}') {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() || c == '\u{feff}' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A CSV (or Parquet) file read as text cells: a header row and the data rows, each with its 1-based line number,
/// for readers that decide per column how to interpret the cells (training data with string labels and
/// categories).
#[derive(Clone, Debug, PartialEq)]
pub struct Records {
    /// The header cells (trimmed, quotes removed).
    pub header: Vec<String>,
    /// Data rows, each as many cells as the header.
    pub rows: Vec<Record>,
    /// Rows in each row group of a Parquet file, in file order (empty for CSV).
    pub row_groups: Vec<usize>,
}

impl Records {
    /// An error about `file` (the file these records were read from) at `line` (a [`Record::line`], or 0) and
    /// 1-based `column` (or 0); for a Parquet row, the message also names the row group.
    pub fn error(&self, file: &Path, line: usize, column: usize, message: String) -> DataError {
        let mut message = message;
        if line > 0 && !self.row_groups.is_empty() {
            let mut end = 0;
            if let Some(g) = self.row_groups.iter().position(|&n| {
                end += n;
                line <= end
            }) {
                message += &format!(" (row group {g})");
            }
        }
        DataError {
            file: file.to_path_buf(),
            line,
            column,
            message,
        }
    }
}

/// One data row of [`Records`].
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// 1-based line number in the file (for a Parquet file: the 0-based row + 1).
    pub line: usize,
    /// The cells, trimmed and unquoted.
    pub cells: Vec<String>,
}

/// A table of f64 values, for expected outputs that must keep their full precision.
#[derive(Clone, Debug, PartialEq)]
pub struct TableF64 {
    /// Column names (from the header, or `f0, f1, …`).
    pub columns: Vec<String>,
    /// Rows of values.
    pub rows: Vec<Vec<f64>>,
}

/// Whether `path` names a Parquet file (extension `.parquet` or `.parq`, any case).
pub fn is_parquet(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("parq"))
}
