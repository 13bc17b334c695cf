//! `emkern predict`: every row of a CSV file through the no_std core.

use std::io::Write;
use std::path::{Path, PathBuf};

use emkern_simd::Simd;

use super::{CliResult, forest, load};
use crate::output::Outputs;
use crate::{f64_inputs, io};

/// Arguments of `emkern predict`.
#[derive(Clone, Debug, clap::Args)]
pub struct Request {
    /// The model (any supported format, or `.emk`).
    #[arg(long)]
    pub model: PathBuf,
    /// Input rows.
    #[arg(long)]
    pub input: PathBuf,
    /// Write raw margins instead of transformed predictions.
    #[arg(long)]
    pub margin: bool,
    /// Output CSV (default: standard output).
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// Runs `emkern predict`.
pub fn run(req: &Request) -> CliResult {
    let Request {
        model,
        input,
        margin,
        output,
    } = req;
    let margin = *margin;
    let targets: Vec<(&str, &Path)> = output
        .as_deref()
        .map(|p| ("--output", p))
        .into_iter()
        .collect();
    let out = Outputs::plan(
        &targets,
        &[("--model", model.as_path()), ("--input", input.as_path())],
    )?;
    let loaded = load(model, false)?;
    let f = forest(model, &loaded.blob)?;
    // LightGBM compares in f64: its rows are read as f64 and mapped to f32 values with the same decisions.
    let rows = f64_inputs::read_csv(input, &loaded)?;
    if let Some(w) = rows.warning(input) {
        eprintln!("{w}");
    }
    let table = rows.table;
    if table.rows == 0 {
        return Err(format!("{}: no data rows", input.display()).into());
    }
    io::check_columns(input, table.columns.len(), f.n_features())?;
    let width = if margin {
        f.n_outputs()
    } else {
        f.output_len()
    };
    // One batch over all rows: on the SIMD lockstep walker when the model has a plan, else the scalar batch
    // path (the same predictions bit for bit either way).
    let mut plan_words = f.simd_plan_len().map(|n| vec![0u32; n]).unwrap_or_default();
    let plan = f.simd_plan(&mut plan_words).ok();
    let mut values = vec![0.0f32; table.rows * width];
    f.predict_batch_simd(
        Simd::best(),
        plan.as_ref(),
        &table.values,
        table.columns.len(),
        table.rows,
        &mut values,
        margin,
    )
    .map_err(|e| format!("{}: {e}", input.display()))?;
    let write_rows = |w: &mut dyn Write| -> CliResult {
        for row in values.chunks_exact(width.max(1)) {
            writeln!(w, "{}", io::csv_line(row))?;
        }
        Ok(())
    };
    match output {
        Some(p) => {
            let mut w = out.writer(p)?;
            write_rows(&mut w)?;
            w.finish()?;
        }
        None => {
            let mut w = crate::output::stdout();
            write_rows(&mut w)?;
            w.finish()?;
        }
    }
    out.commit()?;
    Ok(())
}
