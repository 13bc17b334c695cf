//! Replays the fuzz targets' committed inputs on stable Rust: every seed (`host-tests/fuzz/seeds/<target>/`) and
//! every input a fuzzer ever crashed on (`host-tests/fuzz/regressions/<target>/`, kept after the fix), through the
//! same code the libFuzzer targets run (`host-tests/fuzz/src`, included here). A panic fails the test and names
//! the file. The fuzzing itself runs on nightly (`bash scripts/fuzz.sh`).

#[path = "../fuzz/src/lib.rs"]
mod fuzz;

use std::path::Path;

/// Runs every file of `host-tests/fuzz/<kind>/<target>/` through the target; returns how many ran.
fn replay(kind: &str, name: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(name);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut files: Vec<_> = entries
        .map(|e| e.expect("directory entry").path())
        .collect();
    files.sort();
    for file in &files {
        let bytes = std::fs::read(file).expect("read the input");
        let outcome = std::panic::catch_unwind(|| run(&bytes));
        assert!(outcome.is_ok(), "{name}: {} panicked", file.display());
    }
    files.len()
}

#[test]
fn crash_inputs_stay_fixed() {
    let mut total = 0;
    for (name, run) in fuzz::TARGETS {
        total += replay("regressions", name, run);
    }
    // At least the inputs committed with the fixes (attention: an empty P·V product with a huge V stride;
    // read_parquet: a column chunk with a negative offset).
    assert!(total >= 2, "only {total} regression inputs found");
}

#[test]
fn seeds_run_clean() {
    let mut total = 0;
    for (name, run) in fuzz::TARGETS {
        total += replay("seeds", name, run);
    }
    assert!(total > 0, "no seeds found");
}
