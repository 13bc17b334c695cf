//! `emkern inspect`: a model's trees, nodes, depth, bytes per node, flash and RAM needs, worst-case node visits,
//! the layout `import --layout auto` picks and the engine host batches take; with `--target`, what it costs a
//! firmware on that board.

use std::path::PathBuf;

use super::{CliResult, forest, load};
use crate::describe;
use crate::profile::{footprint, source_root};

/// Arguments of `emkern inspect`.
#[derive(Clone, Debug, clap::Args)]
pub struct Request {
    /// The model (any supported format, or `.emk`).
    pub model: PathBuf,
    /// Also measure what the model costs a firmware on this board (cortex-m4f, cortex-m55, cortex-m3,
    /// cortex-m0plus): flash and RAM per layout from a link, the stack of a prediction and instructions
    /// from a run under QEMU (as `emkern profile`, on synthetic rows).
    #[arg(long)]
    pub target: Option<String>,
}

/// Runs `emkern inspect`.
pub fn run(req: &Request) -> CliResult {
    let model = &req.model;
    let loaded = load(model, false)?;
    let f = forest(model, &loaded.blob)?;
    let mut text = describe::model(model, loaded.format, loaded.ensemble.as_ref(), &f);
    text.push_str(&describe::layout_choice(
        loaded.ensemble.as_ref(),
        &loaded.blob,
    ));
    text.push_str(&describe::batch_engine(&f));
    if let Some(name) = &req.target {
        let target = super::target(name)?;
        text.push_str(&footprint::report(
            model,
            f.n_features(),
            f.worst_case_visits(),
            target,
            &source_root()?,
            &mut |line| eprintln!("inspect: {line}"),
        )?);
    }
    crate::output::print(&text)?;
    Ok(())
}
