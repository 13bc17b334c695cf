//! Numeric CSV rows read in chunks, for commands that stream large inputs (`emkern predict`): memory is bounded
//! by the chunk, not by the file.
//!
//! The text is read as [`read_csv`](super::read_csv) reads it, line for line and cell for cell: a leading UTF-8
//! byte-order mark is dropped; lines end with `\n`, `\r\n` or a lone `\r`; blank lines are skipped; the first
//! row is a header when one of its cells is neither a number nor a missing value; an empty cell or `nan`/`NA`
//! is NaN; every row has the first row's number of cells. Errors name the file, the 1-based line and the column.
//! Values are kept as f64 (the caller rounds them to f32 or maps them, as the model needs).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::csv::{push_numbers, split_record};
use super::table::{DataError, is_missing};

/// A numeric CSV file read a chunk of rows at a time.
pub struct CsvRowStream<R> {
    reader: R,
    path: PathBuf,
    /// Lines of the last segment not yet returned (a segment can hold several lines ended by lone `\r`).
    pending: VecDeque<(usize, String)>,
    /// The number of the last line split off.
    line: usize,
    /// The first data row, already parsed while the header was detected.
    first_row: Option<Vec<f64>>,
    columns: Vec<String>,
    bytes: u64,
    at_start: bool,
    at_end: bool,
}

impl CsvRowStream<BufReader<File>> {
    /// Opens `path` and reads up to its first row (the header, or the first data row).
    pub fn open(path: &Path) -> Result<Self, DataError> {
        let file = File::open(path).map_err(|e| DataError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("cannot read: {e}"),
        })?;
        CsvRowStream::new(BufReader::with_capacity(1 << 16, file), path)
    }
}

impl<R: BufRead> CsvRowStream<R> {
    /// Reads CSV text from `reader` (`path` names it in errors) up to its first row.
    pub fn new(reader: R, path: &Path) -> Result<Self, DataError> {
        let mut s = CsvRowStream {
            reader,
            path: path.to_path_buf(),
            pending: VecDeque::new(),
            line: 0,
            first_row: None,
            columns: Vec::new(),
            bytes: 0,
            at_start: true,
            at_end: false,
        };
        if let Some((line, text)) = s.next_line()? {
            let cells = split_record(&text).map_err(|m| s.error(line, 0, m))?;
            let header = cells
                .iter()
                .any(|c| !is_missing(c) && c.parse::<f64>().is_err());
            if header {
                s.columns = cells;
            } else {
                s.columns = (0..cells.len()).map(|i| format!("f{i}")).collect();
                let mut row = Vec::with_capacity(cells.len());
                s.parse_cells(line, &cells, &mut row)?;
                s.first_row = Some(row);
            }
        }
        Ok(s)
    }

    /// The column names (from the header, or `f0, f1, …`); empty for a file without rows.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Bytes of the file read so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Appends up to `max_rows` rows (row-major, `columns().len()` values each) to `out`; returns how many were
    /// read, 0 at the end of the file.
    pub fn next_chunk(&mut self, max_rows: usize, out: &mut Vec<f64>) -> Result<usize, DataError> {
        let mut rows = 0;
        if rows < max_rows
            && let Some(first) = self.first_row.take()
        {
            out.extend_from_slice(&first);
            rows += 1;
        }
        let mut cells_buf;
        while rows < max_rows {
            let Some((line, text)) = self.next_line()? else {
                break;
            };
            cells_buf = split_record(&text).map_err(|m| self.error(line, 0, m))?;
            self.parse_cells(line, &cells_buf, out)?;
            rows += 1;
        }
        Ok(rows)
    }

    fn error(&self, line: usize, column: usize, message: String) -> DataError {
        DataError {
            file: self.path.clone(),
            line,
            column,
            message,
        }
    }

    /// Parses one row's cells into `out`, checking its width.
    fn parse_cells(
        &self,
        line: usize,
        cells: &[String],
        out: &mut Vec<f64>,
    ) -> Result<(), DataError> {
        push_numbers(line, cells, self.columns.len(), out).map_err(|(l, c, m)| self.error(l, c, m))
    }

    /// The next non-blank line and its number.
    fn next_line(&mut self) -> Result<Option<(usize, String)>, DataError> {
        loop {
            if let Some(l) = self.pending.pop_front() {
                if l.1.trim().is_empty() {
                    continue;
                }
                return Ok(Some(l));
            }
            if self.at_end {
                return Ok(None);
            }
            let mut segment = Vec::new();
            let n = self
                .reader
                .read_until(b'\n', &mut segment)
                .map_err(|e| self.error(self.line + 1, 0, format!("cannot read: {e}")))?;
            self.bytes += n as u64;
            if n == 0 {
                self.at_end = true;
                continue;
            }
            let mut body: &[u8] = &segment;
            if self.at_start {
                self.at_start = false;
                body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
            }
            let ended = body.ends_with(b"\n");
            if ended {
                body = &body[..body.len() - 1];
                body = body.strip_suffix(b"\r").unwrap_or(body);
            }
            // Lone `\r`s end lines too (old Mac files); a trailing `\r` without `\n` is the end of the file.
            let mut parts: Vec<&[u8]> = body.split(|&b| b == b'\r').collect();
            if !ended && parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
                parts.pop();
            }
            for part in parts {
                self.line += 1;
                let text = std::str::from_utf8(part)
                    .map_err(|_| self.error(self.line, 0, "not UTF-8 text".into()))?;
                self.pending.push_back((self.line, text.to_string()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::parse_csv;

    fn stream_all(text: &str, chunk: usize) -> Result<(Vec<String>, Vec<f64>), DataError> {
        let mut s = CsvRowStream::new(std::io::Cursor::new(text.as_bytes()), Path::new("t.csv"))?;
        let mut out = Vec::new();
        while s.next_chunk(chunk, &mut out)? > 0 {}
        Ok((s.columns().to_vec(), out))
    }

    /// Every chunk size gives the rows, columns and errors of the whole-file reader.
    #[test]
    fn streams_as_the_whole_file_reader_reads() {
        let cases = [
            "a,b,c\n1,,nan\n2.5,3,4\n",
            "1,2\r\n3,4\r\n\r\n5,6",
            "1,2\r3,4\r5,6\r",
            "\u{feff}x,y\n\n1,2\n",
            "\"q,1\",b\n1,2\n",
            "1,2\n3\n",
            "a,b\n1,zz\n",
            "",
            "  \n\n",
        ];
        for text in cases {
            let whole = parse_csv(text);
            for chunk in [1, 2, 100] {
                let streamed = stream_all(text, chunk);
                match (&whole, &streamed) {
                    (Ok(t), Ok((columns, values))) => {
                        assert_eq!(&t.columns, columns, "{text:?}");
                        let values: Vec<f32> = values.iter().map(|&v| v as f32).collect();
                        assert_eq!(t.values.len(), values.len(), "{text:?}");
                        for (a, b) in t.values.iter().zip(&values) {
                            assert!(
                                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                                "{text:?}"
                            );
                        }
                    }
                    (Err((line, column, message)), Err(e)) => {
                        assert_eq!(
                            (*line, *column, message),
                            (e.line, e.column, &e.message),
                            "{text:?}"
                        );
                    }
                    _ => panic!("{text:?}: whole {whole:?}, streamed {streamed:?}"),
                }
            }
        }
    }

    #[test]
    fn bad_utf8_names_its_line() {
        let mut s = CsvRowStream::new(
            std::io::Cursor::new(b"1,2\n3,\xff\n".to_vec()),
            Path::new("t.csv"),
        )
        .unwrap();
        let mut out = Vec::new();
        let e = s.next_chunk(10, &mut out).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (2, "not UTF-8 text"));
    }
}
