//! Reading CSV: numeric feature tables for prediction, evaluation and benchmarks, and text records for training.
//!
//! One CSV reader serves every command ([`csv_lines`] and [`split_record`]): the text is UTF-8, a leading
//! byte-order mark is dropped, lines end with `\n`, `\r\n` or a lone `\r`, blank lines are skipped, cells are
//! comma-separated and may be quoted (`"a,b"`, `""` for a quote).
//!
//! Numeric tables ([`read_csv`]): an optional header row (detected when a cell of the first row is neither a
//! number, empty, nor `nan`); an empty cell or `nan`/`NaN`/`NA` is a missing value (NaN); every row has the same
//! number of cells. Values are parsed as f64 and stored as f32, the precision the firmware sees.

use std::path::Path;

use super::table::{DataError, ParseError, Record, Records, Table, TableF64, is_missing};

/// Reads a CSV file into a [`Table`].
pub fn read_csv(path: &Path) -> Result<Table, DataError> {
    let err = |line, column, message: String| DataError {
        file: path.to_path_buf(),
        line,
        column,
        message,
    };
    let text = read_text(path)?;
    parse_csv(&text).map_err(|(line, column, message)| err(line, column, message))
}

/// Reads a text file for [`csv_lines`]: errors name the file (and, for bytes that are not UTF-8, the line).
pub fn read_text(path: &Path) -> Result<String, DataError> {
    let err = |line, message: String| DataError {
        file: path.to_path_buf(),
        line,
        column: 0,
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| err(0, format!("cannot read: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + valid
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && valid.get(i + 1) != Some(&b'\n')))
            .count();
        err(line, "not UTF-8 text".into())
    })
}

/// The non-blank lines of CSV text with their 1-based line numbers: a leading UTF-8 byte-order mark is dropped,
/// and a line ends at `\n`, `\r\n` or a lone `\r` (old Mac files), so every file gives the same rows whatever
/// its line endings.
pub fn csv_lines(text: &str) -> Vec<(usize, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Vec::new();
    let mut number = 0;
    let mut rest = text;
    while !rest.is_empty() {
        number += 1;
        let (line, next) = match rest.find(['\n', '\r']) {
            None => (rest, ""),
            Some(i) => {
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                (&rest[..i], &rest[i + skip..])
            }
        };
        if !line.trim().is_empty() {
            lines.push((number, line));
        }
        rest = next;
    }
    lines
}

/// Parses CSV text.
pub fn parse_csv(text: &str) -> Result<Table, ParseError> {
    let (columns, values) = parse_cells(text)?;
    let rows = if columns.is_empty() {
        0
    } else {
        values.len() / columns.len()
    };
    Ok(Table {
        columns,
        values: values.into_iter().map(|v| v as f32).collect(),
        rows,
    })
}

/// The column names and the row-major f64 cells of CSV text.
fn parse_cells(text: &str) -> Result<(Vec<String>, Vec<f64>), ParseError> {
    let mut lines = csv_lines(text).into_iter().peekable();
    let Some(&(first_line, first)) = lines.peek() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let first = split_record(first).map_err(|m| (first_line, 0, m))?;
    let header = first
        .iter()
        .any(|c| !is_missing(c) && c.parse::<f64>().is_err());
    let width = first.len();
    let columns = if header {
        lines.next();
        first
    } else {
        (0..width).map(|i| format!("f{i}")).collect()
    };
    let mut values = Vec::new();
    for (line, text) in lines {
        let cells = split_record(text).map_err(|m| (line, 0, m))?;
        push_numbers(line, &cells, width, &mut values)?;
    }
    Ok((columns, values))
}

/// Appends the cells of data row `line` to `out` as numbers (NaN for a missing cell), after checking that it has
/// `width` cells (the first row's count).
pub(super) fn push_numbers(
    line: usize,
    cells: &[String],
    width: usize,
    out: &mut Vec<f64>,
) -> Result<(), ParseError> {
    if cells.len() != width {
        return Err((
            line,
            0,
            format!(
                "{} cells, expected {width} (as in the first row)",
                cells.len()
            ),
        ));
    }
    for (c, cell) in cells.iter().enumerate() {
        let v = if is_missing(cell) {
            f64::NAN
        } else {
            cell.parse::<f64>().map_err(|_| {
                (
                    line,
                    c + 1,
                    format!("`{cell}` is not a number (use an empty cell or nan for missing)"),
                )
            })?
        };
        out.push(v);
    }
    Ok(())
}

/// Splits one CSV line into trimmed cells. A cell may be quoted with `"` (a comma inside quotes belongs to the
/// cell, `""` is a literal quote); quotes are removed. Errors on an unterminated quote or text after a closing
/// quote.
pub fn split_record(line: &str) -> Result<Vec<String>, String> {
    let mut cells = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        let mut cell = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(format!("cell {}: unterminated quote", cells.len() + 1)),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        cell.push('"');
                    }
                    Some('"') => break,
                    Some(c) => cell.push(c),
                }
            }
            while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                chars.next();
            }
            match chars.peek() {
                None | Some(',') => {}
                Some(_) => {
                    return Err(format!(
                        "cell {}: text after the closing quote",
                        cells.len() + 1
                    ));
                }
            }
            cells.push(cell);
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                cell.push(c);
                chars.next();
            }
            cells.push(cell.trim().to_string());
        }
        match chars.next() {
            Some(',') => continue,
            _ => return Ok(cells),
        }
    }
}

/// Parses CSV text with a header row into [`Records`] (see [`crate::io::read_records`]).
pub fn parse_records(text: &str) -> Result<Records, ParseError> {
    let mut lines = csv_lines(text).into_iter();
    let Some((first_line, first)) = lines.next() else {
        return Err((0, 0, "the file is empty (expected a header row)".into()));
    };
    let header = split_record(first).map_err(|m| (first_line, 0, m))?;
    let mut rows = Vec::new();
    for (line, text) in lines {
        let cells = split_record(text).map_err(|m| (line, 0, m))?;
        if cells.len() != header.len() {
            return Err((
                line,
                0,
                format!(
                    "{} cells, expected {} (as in the header)",
                    cells.len(),
                    header.len()
                ),
            ));
        }
        rows.push(Record { line, cells });
    }
    Ok(Records {
        header,
        rows,
        row_groups: Vec::new(),
    })
}

/// Reads a CSV file like [`read_csv`], keeping the values as f64.
pub fn read_csv_f64(path: &Path) -> Result<TableF64, DataError> {
    let err = |line, column, message: String| DataError {
        file: path.to_path_buf(),
        line,
        column,
        message,
    };
    let text = read_text(path)?;
    let (columns, values) =
        parse_cells(&text).map_err(|(line, column, message)| err(line, column, message))?;
    let width = columns.len().max(1);
    Ok(TableF64 {
        columns,
        rows: values.chunks(width).map(<[f64]>::to_vec).collect(),
    })
}

/// Formats values as one CSV line with full f32 precision (shortest representation that reads back exactly).
pub fn csv_line(values: &[f32]) -> String {
    values
        .iter()
        .map(|v| {
            if v.is_nan() {
                "nan".to_string()
            } else {
                format!("{v}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::printable;

    #[test]
    fn header_missing_values_and_errors() {
        let t = parse_csv("a,b,c\n1,,nan\n2.5,3,4\n").unwrap();
        assert_eq!(t.columns, ["a", "b", "c"]);
        assert_eq!(t.rows, 2);
        assert!(t.row(0)[1].is_nan() && t.row(0)[2].is_nan());
        assert_eq!(t.row(1), &[2.5, 3.0, 4.0]);
        let t = parse_csv("1,2\n3,4\n").unwrap();
        assert_eq!(t.columns, ["f0", "f1"]);
        assert_eq!(parse_csv("a,b\n1,x\n").unwrap_err().0, 2);
        assert_eq!(parse_csv("a,b\n1,x\n").unwrap_err().1, 2);
        assert_eq!(parse_csv("1,2\n3\n").unwrap_err().0, 2);
    }

    #[test]
    fn records_quotes_and_errors() {
        let r = parse_records("a, \"b,c\" ,d\n\n1, \"x \"\"y\"\"\",\n").unwrap();
        assert_eq!(r.header, ["a", "b,c", "d"]);
        assert_eq!(r.rows.len(), 1);
        assert_eq!(r.rows[0].line, 3);
        assert_eq!(r.rows[0].cells, ["1", "x \"y\"", ""]);
        assert_eq!(parse_records("a,b\n1\n").unwrap_err().0, 2);
        assert!(
            parse_records("a,b\n\"1,2\n")
                .unwrap_err()
                .2
                .contains("unterminated")
        );
        assert!(
            parse_records("a,b\n\"1\"x,2\n")
                .unwrap_err()
                .2
                .contains("after the closing")
        );
        assert_eq!(parse_records("\n").unwrap_err().0, 0);
    }

    #[test]
    fn byte_order_mark_and_line_endings() {
        // A byte-order mark is not part of the first cell: a headerless file keeps its first row, and a header
        // keeps its first name.
        let t = parse_csv("\u{feff}1,2\n3,4\n").unwrap();
        assert_eq!(
            (t.columns.clone(), t.rows),
            (vec!["f0".into(), "f1".into()], 2)
        );
        assert_eq!(
            parse_records("\u{feff}label,x\n1,2\n").unwrap().header,
            ["label", "x"]
        );
        // \n, \r\n and a lone \r all end a line, and line numbers count each of them.
        for text in [
            "a,b\n1,2\n3,4\n",
            "a,b\r\n1,2\r\n3,4\r\n",
            "a,b\r1,2\r3,4\r",
            "a,b\r1,2\n3,4",
        ] {
            let t = parse_csv(text).unwrap();
            assert_eq!(
                (t.rows, t.values.clone()),
                (2, vec![1.0, 2.0, 3.0, 4.0]),
                "{text:?}"
            );
        }
        assert_eq!(parse_csv("a,b\r1,2\r\r3,x\r").unwrap_err().0, 4);
        assert_eq!(csv_lines("a\r\n\r\nb"), [(1, "a"), (3, "b")]);
    }

    #[test]
    fn control_characters_are_escaped_in_messages() {
        assert_eq!(printable("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(printable("plain é"), "plain é");
    }
}
