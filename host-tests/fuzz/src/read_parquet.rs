//! Parquet reader: `parquet_records::read_records` (through `data::read_records`, which picks it by the
//! extension), then a training dataset whose target is the last column.

use emkern_host::data;
use emkern_host::train::dataset::{Dataset, DatasetSpec};

use super::read_csv::check_dataset;
use super::util::scratch_file;

/// Runs one input.
pub fn run(bytes: &[u8]) {
    let path = scratch_file("parquet");
    std::fs::write(&path, bytes).expect("write the scratch file");
    let Ok(records) = data::read_records(&path) else {
        return;
    };
    assert!(
        records
            .rows
            .iter()
            .all(|r| r.cells.len() == records.header.len())
    );
    assert_eq!(records.row_groups.iter().sum::<usize>(), records.rows.len());
    let Some(target) = records.header.last().cloned() else {
        return;
    };
    let spec = DatasetSpec {
        target,
        ..DatasetSpec::default()
    };
    if let Ok(dataset) = Dataset::from_csv(&path, &spec) {
        check_dataset(&dataset);
    }
}
