//! The command line of `emkern profile`: arguments into a [`crate::profile::Config`], progress on standard error, the report
//! on standard output.

use std::path::PathBuf;

use crate::profile::{self, Config, Engine, report};

/// Arguments of `emkern profile`.
#[derive(Clone, Debug, clap::Args)]
pub struct Request {
    /// The model (XGBoost JSON/UBJSON, LightGBM text, emkern-sklearn JSON, CatBoost JSON, ONNX-ML, or an `.emk` blob).
    pub model: PathBuf,
    /// The rows to predict (CSV, header optional; empty or `nan` = missing), at most 1000.
    #[arg(long)]
    pub input: PathBuf,
    /// The board: cortex-m4f (mps2-an386), cortex-m55 (mps3-an547, Helium), cortex-m3 (mps2-an385, no FPU) or
    /// cortex-m0plus (QEMU's micro:bit, whose nRF51 is a Cortex-M0: the nearest core QEMU emulates).
    #[arg(long)]
    pub target: String,
    /// Engines to measure, comma-separated: blob, compact, compact-prevalidated (the compact layout validated
    /// here, when the firmware is built, as `emkern-build` does), int, rust, c (compact and int report why when
    /// the model does not fit their layout).
    #[arg(long, value_delimiter = ',', default_value = "blob,compact,rust,c")]
    pub engine: Vec<String>,
    /// Print one JSON array (one object per engine) instead of the table.
    #[arg(long)]
    pub json: bool,
}

impl Request {
    /// The configuration, or an error for people (unknown target or engine, no source tree).
    pub fn config(&self) -> Result<Config, String> {
        let target = super::target(&self.target)?;
        let mut engines = Vec::new();
        for name in &self.engine {
            let engine = Engine::from_name(name.trim())?;
            if !engines.contains(&engine) {
                engines.push(engine);
            }
        }
        if engines.is_empty() {
            return Err("--engine: name at least one engine (blob, compact, compact-prevalidated, int, rust, c)".into());
        }
        engines.sort_by_key(|e| Engine::ALL.iter().position(|a| a == e));
        Ok(Config {
            model: self.model.clone(),
            input: self.input.clone(),
            target,
            engines,
            root: profile::source_root()?,
        })
    }
}

/// Runs `emkern profile`.
pub fn run(req: &Request) -> Result<(), Box<dyn std::error::Error>> {
    let config = req.config()?;
    let reports = profile::run(&config, &mut |line| eprintln!("profile: {line}"))?;
    let text = if req.json {
        report::json(&reports)
    } else {
        let rows = reports.first().map_or(0, |r| r.rows);
        report::text(
            &config.model.display().to_string(),
            config.target,
            rows,
            &reports,
        )
    };
    crate::output::print(&text)?;
    if reports.iter().all(|r| r.outcome.is_err()) {
        return Err("no engine could run on this model".into());
    }
    Ok(())
}
