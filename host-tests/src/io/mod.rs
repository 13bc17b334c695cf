//! Input and output of data files: CSV ([`csv`]), Parquet ([`parquet`]) and NumPy `.npy` ([`npy`]), read into the
//! table types of [`table`]. The readers import only [`table`]; choosing a reader by the file's name is done
//! here, above them.

pub mod csv;
pub mod csv_stream;
pub mod npy;
pub mod parquet;
pub mod table;

use std::path::Path;

pub use csv::{
    csv_line, csv_lines, parse_csv, parse_records, read_csv, read_csv_f64, read_text, split_record,
};
pub use table::{
    DataError, ParseError, Record, Records, Table, TableF64, is_missing, is_parquet, printable,
};

/// Reads a CSV file whose first non-empty line is a header into [`Records`]; blank lines are skipped and every
/// row must have as many cells as the header. Errors name the file, the line and (for a bad cell) the column.
/// A `.parquet`/`.parq` file is read by [`parquet::read_records`] into the cells the same table would have as
/// CSV.
pub fn read_records(path: &Path) -> Result<Records, DataError> {
    if is_parquet(path) {
        return parquet::read_records(path);
    }
    let err = |line, column, message: String| DataError {
        file: path.to_path_buf(),
        line,
        column,
        message,
    };
    let text = read_text(path)?;
    parse_records(&text).map_err(|(line, column, message)| err(line, column, message))
}

/// Reads a numeric table (all columns numbers, NaN for missing) from CSV, as [`read_csv`] does, or from Parquet
/// (`.parquet`, `.parq`: numeric columns, null for missing; a header from the schema), for the commands that read
/// rows to predict.
pub fn read_table(path: &Path) -> Result<Table, DataError> {
    if !is_parquet(path) {
        return read_csv(path);
    }
    let records = parquet::read_records(path)?;
    let mut values = Vec::with_capacity(records.rows.len() * records.header.len());
    for r in &records.rows {
        record_values(&records, path, r, &mut values)?;
    }
    Ok(Table {
        rows: records.rows.len(),
        columns: records.header,
        values: values.into_iter().map(|v| v as f32).collect(),
    })
}

/// Appends the cells of `r` (a row of `records`, read from `path`) to `out` as numbers: NaN for a missing cell,
/// an error naming the row and column for a cell that is not a number.
pub fn record_values(
    records: &Records,
    path: &Path,
    r: &Record,
    out: &mut Vec<f64>,
) -> Result<(), DataError> {
    for (c, cell) in r.cells.iter().enumerate() {
        out.push(if is_missing(cell) {
            f64::NAN
        } else {
            cell.parse::<f64>().map_err(|_| {
                records.error(path, r.line, c + 1, format!("`{cell}` is not a number"))
            })?
        });
    }
    Ok(())
}

/// The file name of `path` (empty when it has none), as generated sources name their origin.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Refuses rows narrower than the model: `columns` cells per row of `path` where the model reads `n_features`.
pub fn check_columns(path: &Path, columns: usize, n_features: usize) -> Result<(), String> {
    if columns < n_features {
        return Err(format!(
            "{}: rows have {columns} columns, the model reads {n_features} features",
            path.display()
        ));
    }
    Ok(())
}
