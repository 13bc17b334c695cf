//! `emkern codegen`: a model (anything `emkern import` reads, or an `.emk` blob) as C or Rust source with the
//! trees as code ([`crate::export::codegen`]).

use std::path::PathBuf;

use crate::export::codegen::{self, IntCompare, Lang};
use crate::model;
use crate::output::Outputs;

/// Arguments of `emkern codegen`.
#[derive(Clone, Debug, clap::Args)]
pub struct Request {
    /// The model (XGBoost JSON/UBJSON, LightGBM text, emkern-sklearn JSON, CatBoost JSON, ONNX-ML, or an `.emk` blob).
    pub model: PathBuf,
    /// The language: `c` (one C99 header) or `rust` (one `no_std` module).
    #[arg(long, value_enum)]
    pub lang: LangArg,
    /// Prefix of the C functions and macros (`NAME_predict`, `NAME_N_FEATURES`); names the Rust module in its
    /// documentation. A C/Rust identifier.
    #[arg(long, default_value = "model")]
    pub name: String,
    /// Where to write the source.
    #[arg(short, long)]
    pub output: PathBuf,
    /// How the trees compare: `auto` writes float tests and integer tests (the same decisions, less code):
    /// C picks ranks when compiling for size (`-Os`), integer keys for soft-float (`-mfloat-abi=soft`, RISC-V
    /// without F), floats otherwise; Rust picks keys for soft-float targets. `always` writes the integer forms
    /// alone (C: ranks for size, else keys; Rust: ranks); `never` writes float tests only.
    #[arg(long, value_enum, default_value = "auto")]
    pub int_compare: IntCompareArg,
}

/// `--int-compare`: the comparison form of the generated trees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum IntCompareArg {
    /// Every form, chosen by the compiler's target and flags.
    Auto,
    /// Integer tests only (the size form).
    Always,
    /// Float tests only.
    Never,
}

impl From<IntCompareArg> for IntCompare {
    fn from(c: IntCompareArg) -> IntCompare {
        match c {
            IntCompareArg::Auto => IntCompare::Auto,
            IntCompareArg::Always => IntCompare::Always,
            IntCompareArg::Never => IntCompare::Never,
        }
    }
}

/// `--lang`: the language of the generated source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LangArg {
    /// A `no_std` Rust module.
    Rust,
    /// A C99 header (`static inline` functions, `extern "C"` guards for C++).
    C,
}

impl From<LangArg> for Lang {
    fn from(lang: LangArg) -> Lang {
        match lang {
            LangArg::Rust => Lang::Rust,
            LangArg::C => Lang::C,
        }
    }
}

/// Runs `emkern codegen`.
pub fn run(req: &Request) -> Result<(), Box<dyn std::error::Error>> {
    codegen::check_name(&req.name).map_err(|e| format!("--name: {e}"))?;
    let out = Outputs::plan(
        &[("--output", req.output.as_path())],
        &[("the model", req.model.as_path())],
    )?;
    let loaded = model::load(&req.model)?;
    let mut origin = crate::io::file_name(&req.model);
    if let Some(e) = &loaded.ensemble {
        origin = format!("{origin} ({})", e.source);
    }
    let text = codegen::generate_with(
        &loaded.blob,
        req.lang.into(),
        &req.name,
        &origin,
        req.int_compare.into(),
    )
    .map_err(|e| format!("{}: {e}", req.model.display()))?;
    out.write(&req.output, text.as_bytes())?;
    crate::say!(
        "{} ({}) -> {}: {} source, {} lines",
        req.model.display(),
        loaded.format.name(),
        req.output.display(),
        match req.lang {
            LangArg::C => "C",
            LangArg::Rust => "Rust",
        },
        text.lines().count()
    );
    if let Some(e) = crate::output::stdout_error() {
        return Err(e.into());
    }
    out.commit()?;
    Ok(())
}
