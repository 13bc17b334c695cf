//! `emkern import`: a model (XGBoost JSON/UBJSON, LightGBM text, emkern-sklearn JSON, CatBoost JSON, ONNX-ML) to an `.emk` blob, and
//! optionally to a Rust source or C header that embeds it.

use std::path::PathBuf;

use super::{CliResult, forest, load};
use crate::export::{compact, int, source};
use crate::output::Outputs;

/// Arguments of `emkern import`.
#[derive(Clone, Debug, clap::Args)]
pub struct Request {
    /// The model file (format detected from its content).
    pub model: PathBuf,
    /// Where to write the blob.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write a Rust source with the blob as an aligned `static`.
    #[arg(long)]
    pub rust: Option<PathBuf>,
    /// Also write a C header with the blob as a byte array: with `--c-source`, a header of declarations and
    /// size macros (`NAME_LEN`, `NAME_N_FEATURES`, `NAME_OUTPUT_LEN`, …) that any number of C files include;
    /// alone, a self-contained header with a `static const` copy of the blob.
    #[arg(long)]
    pub c_header: Option<PathBuf>,
    /// Also write the C source that defines the blob (aligned, read-only) and its class names once, for the
    /// `--c-header` it includes.
    #[arg(long, requires = "c_header")]
    pub c_source: Option<PathBuf>,
    /// Identifier for the generated sources: a C identifier (letters, digits, `_`; not a keyword).
    #[arg(long, default_value = "model")]
    pub name: String,
    /// Store leaves and sums in f32 even when the source computes in f64 (smaller, faster on an FPU
    /// without double precision; results may differ in the last bits).
    #[arg(long)]
    pub f32: bool,
    /// The blob's layout: `general` (every model), `compact` (smaller and faster on Cortex-M; numeric
    /// splits, f32 values, scalar or vector leaves: an error says what does not fit), or `auto` (compact
    /// when the model fits; `emkern inspect` says which). A compact blob loads with
    /// `emkern::forest::CompactForest`. `int`: the integer layout for cores without an FPU
    /// (`emkern::forest::IntForest`; numeric splits, scalar or vector leaves, identity, sigmoid, softmax or
    /// argmax: an error says what does not fit).
    #[arg(long, default_value = "general", value_parser = int::LAYOUT_NAMES)]
    pub layout: String,
}

/// Runs `emkern import`.
pub fn run(req: &Request) -> CliResult {
    let Request {
        model,
        output,
        rust,
        c_header,
        c_source,
        name,
        f32,
        layout,
    } = req;
    let int_layout = layout == "int";
    let layout = compact::Layout::parse(if int_layout { "general" } else { layout })
        .ok_or_else(|| format!("--layout {layout}: expected general, compact, auto or int"))?;
    if rust.is_some() || c_header.is_some() {
        source::check_c_name(name).map_err(|e| format!("--name: {e}"))?;
    }
    let mut targets = vec![("--output", output.as_path())];
    targets.extend(rust.as_deref().map(|p| ("--rust", p)));
    targets.extend(c_header.as_deref().map(|p| ("--c-header", p)));
    targets.extend(c_source.as_deref().map(|p| ("--c-source", p)));
    let out = Outputs::plan(&targets, &[("the model", model.as_path())])?;
    let loaded = load(model, *f32)?;
    let f = forest(model, &loaded.blob)?;
    let (blob, compact) = layout
        .bytes(loaded.ensemble.as_ref(), &loaded.blob)
        .map_err(|e| format!("{}: {e}", model.display()))?;
    let (blob, note) = if int_layout {
        let e = loaded.ensemble.as_ref().ok_or_else(|| {
            format!(
                "{}: --layout int needs the model file (XGBoost, LightGBM, scikit-learn), not an .emk blob",
                model.display()
            )
        })?;
        let bytes = int::write(e).map_err(|why| {
            format!(
                "{}: the model does not fit the integer layout: {why}",
                model.display()
            )
        })?;
        (bytes, " (integer layout)")
    } else {
        (blob, if compact { " (compact layout)" } else { "" })
    };
    let origin = crate::io::file_name(model);
    out.write(output, &blob)?;
    if let Some(p) = rust {
        out.write(p, source::rust_source(name, &blob, &origin).as_bytes())?;
    }
    for (p, text) in source::c_files(
        name,
        c_header.as_deref(),
        c_source.as_deref(),
        &blob,
        &origin,
    )? {
        out.write(&p, text.as_bytes())?;
    }
    let s = f.summary();
    crate::output::print(&format!(
        "{} ({}) -> {}: {} trees, {} nodes, {} bytes{}\n",
        model.display(),
        loaded.format.name(),
        output.display(),
        s.trees,
        s.nodes,
        blob.len(),
        note
    ))?;
    out.commit()?;
    Ok(())
}
