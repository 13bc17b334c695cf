//! CSV readers: `io::parse_csv`, `parse_records`, `split_record`, and the files behind them (`read_csv`,
//! `read_csv_f64`, `read_records`), then a training dataset (`Dataset::from_csv`, `from_csv_like`) with a spec
//! chosen from the input: the target is the last column, every other column is categorical when the input's
//! length is odd, a column named `w` is the weight, and the task is inferred, or forced by the length mod 3.

use emkern_host::io;
use emkern_host::train::dataset::{Dataset, DatasetSpec, Task};

use super::util::scratch_file;

/// Runs one input.
pub fn run(bytes: &[u8]) {
    let path = scratch_file("csv");
    std::fs::write(&path, bytes).expect("write the scratch file");
    let _ = io::read_csv(&path);
    let _ = io::read_csv_f64(&path);
    let from_file = io::read_records(&path);
    let Ok(text) = std::str::from_utf8(bytes) else {
        assert!(from_file.is_err(), "records from a file that is not UTF-8");
        return;
    };
    if let Ok(table) = io::parse_csv(text) {
        assert_eq!(table.values.len(), table.rows * table.columns.len());
        for r in 0..table.rows {
            assert_eq!(table.row(r).len(), table.columns.len());
        }
    }
    for line in text.lines().take(16) {
        let _ = io::split_record(line);
    }
    let Ok(records) = io::parse_records(text) else {
        return;
    };
    assert!(
        records
            .rows
            .iter()
            .all(|r| r.cells.len() == records.header.len())
    );
    let Some(target) = records.header.last().cloned() else {
        return;
    };
    let n = records.header.len();
    let spec = DatasetSpec {
        target,
        categorical: if bytes.len() % 2 == 1 {
            records
                .header
                .iter()
                .take(n - 1)
                .step_by(2)
                .cloned()
                .collect()
        } else {
            Vec::new()
        },
        weight: records.header.iter().find(|h| *h == "w").cloned(),
        task: match bytes.len() % 3 {
            0 => None,
            1 => Some(Task::Classification),
            _ => Some(Task::Regression),
        },
    };
    if let Ok(dataset) = Dataset::from_csv(&path, &spec) {
        check_dataset(&dataset);
        if let Ok(again) = Dataset::from_csv_like(&path, &dataset.schema) {
            check_dataset(&again);
        }
    }
}

/// Reads every accessor of a dataset.
pub fn check_dataset(d: &Dataset) {
    let nf = d.n_features();
    let all = d.rows_row_major();
    assert_eq!(all.len(), d.n_rows * nf);
    for r in 0..d.n_rows.min(64) {
        let row = d.row(r);
        assert_eq!(row.len(), nf);
    }
    for f in 0..nf {
        assert_eq!(d.column(f).len(), d.n_rows);
    }
    let classes = d.class_indices();
    if d.n_classes() > 0 {
        assert!(classes.iter().all(|&c| c < d.n_classes()));
    }
    std::hint::black_box((d.task(), &d.weights));
}
