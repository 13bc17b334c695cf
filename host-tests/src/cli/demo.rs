//! `emkern demo`: the end-to-end demo: import the bundled XGBoost model, run the bundled test split through the
//! no_std core, and report accuracy, agreement with XGBoost, bytes and time per row.

use std::path::PathBuf;

use super::{CliResult, forest, load};
use crate::bench::{self, Timing};
use crate::{io, say};

/// Arguments of `emkern demo`.
#[derive(Clone, Debug, clap::Args)]
pub struct Request {
    /// Folder with the bundled data (`breast_cancer_*`).
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
}

/// Runs `emkern demo`.
pub fn run(req: &Request) -> CliResult {
    let dir = &req.data;
    let model_path = dir.join("breast_cancer_xgboost.json");
    let test_path = dir.join("breast_cancer_test.csv");
    let proba_path = dir.join("breast_cancer_xgboost_test_proba.csv");
    say!("emkern demo: XGBoost model -> .emk blob -> no_std core");
    let loaded = load(&model_path, false)?;
    let f = forest(&model_path, &loaded.blob)?;
    let s = f.summary();
    say!(
        "  model     {} ({}), {} trees, {} nodes, depth <= {}",
        model_path.display(),
        loaded.format.name(),
        s.trees,
        s.nodes,
        s.max_depth
    );
    say!(
        "  blob      {} bytes ({} bytes/node), worst case {} node visits per row",
        s.blob_bytes,
        s.node_bytes,
        crate::describe::Cost::of(&f).node_visits
    );
    let table = io::read_csv(&test_path)?;
    let label = table
        .columns
        .iter()
        .position(|c| c == "label")
        .ok_or_else(|| format!("{}: no `label` column", test_path.display()))?;
    let reference = io::read_csv(&proba_path)?;
    let nf = f.n_features();
    let mut rows = Vec::with_capacity(table.rows * nf);
    let (mut correct, mut max_diff) = (0usize, 0.0f32);
    let mut p = [0.0f32; 1];
    for r in 0..table.rows {
        let row = table.row(r);
        rows.extend_from_slice(&row[..nf]);
        f.predict(&row[..nf], &mut p)
            .map_err(|e| format!("{}: row {}: {e}", test_path.display(), r + 1))?;
        let predicted = if p[0] > 0.5 { 1.0 } else { 0.0 };
        if predicted == row[label] {
            correct += 1;
        }
        if let Some(&q) = reference.values.get(r) {
            max_diff = max_diff.max((p[0] - q).abs());
        }
    }
    say!(
        "  accuracy  {:.4} on {} test rows ({} correct)",
        correct as f64 / table.rows as f64,
        table.rows,
        correct
    );
    say!(
        "  vs XGBoost max |p_emkern - p_xgboost| = {max_diff:.2e} over {} rows",
        reference.rows
    );
    let (single, batch) = bench::forest_ns_per_row(&f, &rows, table.rows, Timing::DEFAULT);
    say!(
        "  speed     {single:.0} ns/row single-row ({:.1} ns/row·tree), {batch:.0} ns/row batched, one core, {} level",
        single / s.trees.max(1) as f64,
        emkern_simd::Simd::best().level()
    );
    Ok(())
}
