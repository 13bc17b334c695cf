//! The tree-ensemble core on the device: the bundled demo model (an XGBoost classifier of 100 trees on the
//! breast-cancer data, exported to an `.emk` blob in `data/`, kept current by the host test `board_data`) is
//! validated in place from flash and evaluated on the 171 held-out rows, each prediction compared with XGBoost's
//! own probability. Corrupted and truncated copies of the blob must be rejected with the right error.

use emkern::forest::{BlobError, Forest};

/// The model blob (read in place; the format needs no alignment).
pub static MODEL: &[u8] = include_bytes!("../data/model.emk");
/// Test rows: little-endian f32, row-major.
static ROWS: &[u8] = include_bytes!("../data/rows.bin");
/// Per row: XGBoost's probability and the label, little-endian f32.
static EXPECTED: &[u8] = include_bytes!("../data/expected.bin");

/// Largest feature count this firmware's row buffer holds.
pub const MAX_FEATURES: usize = 64;

fn f32_at(bytes: &[u8], index: usize) -> Option<f32> {
    let b = bytes.get(index * 4..index * 4 + 4)?;
    Some(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Copies row `r` of the bundled rows into `row[..n_features]`; `false` past the end.
pub fn load_row(r: usize, n_features: usize, row: &mut [f32; MAX_FEATURES]) -> bool {
    for (i, v) in row.iter_mut().enumerate().take(n_features) {
        match f32_at(ROWS, r * n_features + i) {
            Some(x) => *v = x,
            None => return false,
        }
    }
    true
}

/// Number of bundled rows for a model reading `n_features` values.
pub fn row_count(n_features: usize) -> usize {
    ROWS.len() / (4 * n_features.max(1))
}

/// Runs the checks; returns (passed, failed).
pub fn run() -> (u32, u32) {
    let (mut passed, mut failed) = (0u32, 0u32);
    let forest = match Forest::new(MODEL) {
        Ok(f) => f,
        Err(e) => {
            defmt::println!("FAIL forest: the bundled blob was rejected: {}", e);
            return (0, 1);
        }
    };
    let s = forest.summary();
    let nf = forest.n_features();
    if nf > MAX_FEATURES || forest.output_len() != 1 {
        defmt::println!("FAIL forest: model shape not supported by this test");
        return (0, 1);
    }
    let mut row = [0.0f32; MAX_FEATURES];
    let mut correct = 0u32;
    let rows = row_count(nf);
    let mut worst = 0.0f32;
    for r in 0..rows {
        let (Some(want), Some(label)) = (f32_at(EXPECTED, 2 * r), f32_at(EXPECTED, 2 * r + 1))
        else {
            failed += 1;
            continue;
        };
        let mut p = [0.0f32; 1];
        if !load_row(r, nf, &mut row) || forest.predict(&row[..nf], &mut p).is_err() {
            failed += 1;
            continue;
        }
        let diff = (p[0] - want).abs();
        worst = if diff > worst { diff } else { worst };
        if diff <= 1.0e-6 + 1.0e-5 * want.abs() {
            passed += 1;
        } else {
            failed += 1;
            defmt::println!(
                "FAIL forest row {=usize}: {=f32} vs XGBoost {=f32}",
                r,
                p[0],
                want
            );
        }
        if (p[0] > 0.5) == (label > 0.5) {
            correct += 1;
        }
    }

    // A copy with one flipped byte must fail the checksum; a truncated one must be reported as truncated.
    let mut copy = [0u8; 16384];
    if let Some(dst) = copy.get_mut(..MODEL.len()) {
        dst.copy_from_slice(MODEL);
        dst[MODEL.len() / 2] ^= 0x40;
        match Forest::new(dst) {
            Err(BlobError::ChecksumMismatch { .. }) => passed += 1,
            _ => {
                failed += 1;
                defmt::println!("FAIL forest: a corrupted blob was not rejected by its checksum");
            }
        }
    }
    match Forest::new(MODEL.get(..MODEL.len() - 1).unwrap_or(&[])) {
        Err(BlobError::Truncated { .. }) => passed += 1,
        _ => {
            failed += 1;
            defmt::println!("FAIL forest: a truncated blob was not rejected");
        }
    }

    defmt::println!(
        "forest: {=usize} trees, {=usize} nodes, {=usize}-byte blob ({=usize} B/node), worst case {=u64} node visits/row",
        s.trees,
        s.nodes,
        s.blob_bytes,
        s.node_bytes,
        s.worst_case_visits
    );
    defmt::println!(
        "forest: {=usize} rows, max |p - p_xgboost| = {=f32}, accuracy {=u32}/{=usize}; {=u32} passed, {=u32} failed",
        rows,
        worst,
        correct,
        rows,
        passed,
        failed
    );
    (passed, failed)
}

/// One timed prediction: the forest, a row, the output.
pub struct RowJob<'a> {
    /// The model.
    pub forest: Forest<'a>,
    /// The row.
    pub row: [f32; MAX_FEATURES],
    /// The prediction.
    pub out: [f32; 1],
}

/// Predicts `job.row` (called through `Ticks::time`).
pub extern "C" fn predict_job(job: *mut RowJob<'_>) {
    // SAFETY: `Ticks::time` passes the pointer it was given, derived from a live, exclusive `&mut RowJob`.
    if let Some(job) = unsafe { job.as_mut() } {
        let nf = job.forest.n_features().min(MAX_FEATURES);
        let _ = job.forest.predict(&job.row[..nf], &mut job.out);
    }
}
