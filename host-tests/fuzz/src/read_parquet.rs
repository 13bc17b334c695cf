//! Parquet reader: `parquet_records::read_records` (through `io::read_records`, which picks it by the
//! extension), then a training dataset whose target is the last column.
//!
//! The `parquet` crate panics on some corrupt pages; `read_records` catches those panics and returns an error.
//! libFuzzer's panic hook aborts on every panic, caught or not, so this target lets panics raised inside the
//! `parquet` crate's own sources unwind to that `catch_unwind` (any other panic still aborts).

use emkern_host::io;
use emkern_host::train::dataset::{Dataset, DatasetSpec};

use super::read_csv::check_dataset;
use super::util::scratch_file;

/// Runs one input.
pub fn run(bytes: &[u8]) {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_parquet = info
                .location()
                .is_some_and(|l| l.file().contains("/parquet-"));
            if !in_parquet {
                previous(info);
            }
        }));
    });
    let path = scratch_file("parquet");
    std::fs::write(&path, bytes).expect("write the scratch file");
    let Ok(records) = io::read_records(&path) else {
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
