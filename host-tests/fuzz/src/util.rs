//! Helpers shared by the targets: exercising a loaded forest through every prediction API, row values, and a
//! per-thread scratch file for the readers that take a path.

use std::path::{Path, PathBuf};

use emkern::forest::Forest;

/// Models declaring more features or outputs than this are validated but not predicted (the row and output
/// buffers are allocated here, and a fuzzed header may declare 2³² − 1).
pub const MAX_WIDTH: usize = 1 << 14;

/// Row values every prediction sees besides the fuzzed ones: zero, both signs, NaN (missing), LightGBM's zero
/// threshold, category-like integers, values past 2²⁴ and infinities.
pub const SPECIAL_VALUES: [f32; 12] = [
    0.0,
    f32::NAN,
    -0.5,
    1.0,
    1.0e-36,
    -0.0,
    3.0,
    31.0,
    70.0,
    16_777_216.0,
    f32::INFINITY,
    f32::NEG_INFINITY,
];

/// Rows to predict: a batch of 5 (one group of four interleaved rows and one single row in the batch path).
const ROWS: usize = 5;

/// f32 values from little-endian byte quadruples (empty input gives none).
pub fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Whether two predictions agree exactly (any NaN equals any NaN).
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Runs every prediction API of `forest` on rows built from `values` (cycled, then the special values), checks
/// that batch prediction equals row-by-row prediction bit for bit, and that short buffers give errors.
pub fn predict_everything(forest: &Forest<'_>, values: &[f32]) {
    let summary = forest.summary();
    std::hint::black_box((summary, forest.worst_case_visits(), forest.transform()));
    let names = forest.class_names();
    let count = names.len();
    assert_eq!(names.count(), count, "class names: iterator length");
    let (nf, no, ol) = (forest.n_features(), forest.n_outputs(), forest.output_len());
    if nf > MAX_WIDTH || no > MAX_WIDTH {
        return;
    }
    let stride = nf + values.len() % 2; // sometimes a gap between rows
    let pool: Vec<f32> = values.iter().copied().chain(SPECIAL_VALUES).collect();
    let rows: Vec<f32> = (0..ROWS * stride.max(1))
        .map(|i| pool[(i * 7 + i / pool.len()) % pool.len()])
        .collect();

    let mut single = vec![0.0f32; ROWS * ol];
    let mut single_margin = vec![0.0f32; ROWS * no];
    for r in 0..ROWS {
        let row = &rows[r * stride..r * stride + nf];
        forest
            .predict(row, &mut single[r * ol..(r + 1) * ol])
            .expect("predict with exact buffers");
        forest
            .predict_margin(row, &mut single_margin[r * no..(r + 1) * no])
            .expect("predict_margin with exact buffers");
    }
    let mut batch = vec![0.0f32; ROWS * ol];
    forest
        .predict_batch(&rows, stride, ROWS, &mut batch, false)
        .expect("predict_batch with exact buffers");
    let mut batch_margin = vec![0.0f32; ROWS * no];
    forest
        .predict_batch(&rows, stride, ROWS, &mut batch_margin, true)
        .expect("predict_batch (margins) with exact buffers");
    for (i, (a, b)) in single.iter().zip(&batch).enumerate() {
        assert!(same(*a, *b), "prediction {i}: row by row {a}, batch {b}");
    }
    for (i, (a, b)) in single_margin.iter().zip(&batch_margin).enumerate() {
        assert!(same(*a, *b), "margin {i}: row by row {a}, batch {b}");
    }

    // Short buffers are errors, and so is a stride below the row length.
    let row = &rows[..nf];
    if nf > 0 {
        assert!(forest.predict(&row[..nf - 1], &mut single).is_err());
        let needed = (ROWS - 1) * stride + nf;
        assert!(
            forest
                .predict_batch(&rows[..needed - 1], stride, ROWS, &mut batch, false)
                .is_err()
        );
        assert!(
            forest
                .predict_batch(&rows, nf - 1, 2, &mut batch, false)
                .is_err()
        );
    }
    if ol > 0 {
        assert!(forest.predict(row, &mut single[..ol - 1]).is_err());
        assert!(
            forest
                .predict_batch(&rows, stride, ROWS, &mut batch[..ROWS * ol - 1], false)
                .is_err()
        );
    }
    forest
        .predict_batch(&rows, stride, 0, &mut [], false)
        .expect("zero rows");
}

/// Loads `blob` (the exporter's output) and predicts with it: the exporter must write blobs the core accepts.
pub fn load_exported(blob: &[u8], values: &[f32]) {
    let forest = match Forest::new(blob) {
        Ok(f) => f,
        Err(e) => panic!("the exporter wrote a blob the core rejects: {e}"),
    };
    predict_everything(&forest, values);
}

/// A scratch file for this process and thread with the given extension (on tmpfs when there is one), removed
/// when dropped unless the thread is panicking (the input that failed stays for a look).
pub fn scratch_file(extension: &str) -> ScratchFile {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    ScratchFile(dir.join(format!(
        "emkern-fuzz-{}-{:?}.{extension}",
        std::process::id(),
        std::thread::current().id()
    )))
}

/// The path [`scratch_file`] gives; reads as a [`Path`].
pub struct ScratchFile(PathBuf);

impl std::ops::Deref for ScratchFile {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for ScratchFile {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}
