//! `emkern codegen`: a model (anything `emkern import` reads, or an `.emk` blob) as C or Rust source with the
//! trees as code ([`crate::export::codegen`]).

use std::path::{Path, PathBuf};

use crate::export::codegen::{self, Lang};
use crate::model;
use crate::output::Outputs;

/// Arguments of `emkern codegen`.
#[derive(Clone, Debug, clap::Args)]
pub struct Request {
    /// The model (XGBoost JSON/UBJSON, LightGBM text, emkern-sklearn JSON, or an `.emk` blob).
    pub model: PathBuf,
    /// The language: `c` (one C99 header) or `rust` (one `no_std` module).
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// Prefix of the C functions and macros (`NAME_predict`, `NAME_N_FEATURES`); names the Rust module in its
    /// documentation. A C/Rust identifier.
    #[arg(long, default_value = "model")]
    pub name: String,
    /// Where to write the source.
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Runs `emkern codegen`.
pub fn run(req: &Request) -> Result<(), Box<dyn std::error::Error>> {
    codegen::check_name(&req.name).map_err(|e| format!("--name: {e}"))?;
    let out = Outputs::plan(
        &[("--output", req.output.as_path())],
        &[("the model", req.model.as_path())],
    )?;
    let loaded = model::load(&req.model)?;
    let mut origin = file_name(&req.model);
    if let Some(e) = &loaded.ensemble {
        origin = format!("{origin} ({})", e.source);
    }
    let text = codegen::generate(&loaded.blob, req.lang, &req.name, &origin)
        .map_err(|e| format!("{}: {e}", req.model.display()))?;
    out.write(&req.output, text.as_bytes())?;
    crate::say!(
        "{} ({}) -> {}: {} source, {} lines",
        req.model.display(),
        loaded.format.name(),
        req.output.display(),
        match req.lang {
            Lang::C => "C",
            Lang::Rust => "Rust",
        },
        text.lines().count()
    );
    if let Some(e) = crate::output::stdout_error() {
        return Err(e.into());
    }
    out.commit()?;
    Ok(())
}

/// The file name of `path`, for the generated header comment.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
