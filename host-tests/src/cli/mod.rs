//! The `emkern` command line: one module per command, each with its arguments (a `clap` struct) and its `run`.
//! This is the top layer: it reads arguments, calls the layers below (I/O, the model pipeline, training,
//! benchmarks) and prints. Nothing below it imports it, and `clap` belongs to it and `main.rs` (see
//! `docs/architecture.md`).

pub mod attention;
pub mod bench;
pub mod codegen;
pub mod demo;
pub mod eval;
pub mod import;
pub mod inspect;
pub mod levels;
pub mod medusa;
pub mod predict;
pub mod profile;
pub mod rope;
pub mod train;

use std::path::Path;
use std::process::ExitCode;

use emkern::forest::Forest;

use crate::model;
use crate::profile::Target;

/// What a command returns: an error is printed as `error: …` and fails the command.
pub type CliResult = Result<(), Box<dyn std::error::Error>>;

/// The exit code of a command that returned `result`, after printing its error; a line that could not be
/// printed fails the command, though the command went on.
pub fn exit(result: CliResult) -> ExitCode {
    match result.and_then(|()| crate::output::stdout_error().map_or(Ok(()), |e| Err(e.into()))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Loads a model (any supported format, or `.emk`); with `force_f32`, re-exports it with f32 leaves and sums.
pub(crate) fn load(
    path: &Path,
    force_f32: bool,
) -> Result<model::Loaded, Box<dyn std::error::Error>> {
    let mut loaded = model::load(path)?;
    if let (true, Some(e)) = (force_f32, loaded.ensemble.as_mut()) {
        e.precision = crate::ir::Precision::F32;
        loaded.blob = crate::export::blob::write(e)?;
    }
    Ok(loaded)
}

/// The core's view of a loaded blob, or an error naming `path`.
pub(crate) fn forest<'a>(path: &Path, blob: &'a [u8]) -> Result<Forest<'a>, String> {
    crate::describe::open_blob(path, blob)
}

/// The board `--target NAME` names, or an error listing the boards.
pub(crate) fn target(name: &str) -> Result<Target, String> {
    Target::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
        format!(
            "--target {name}: unknown target (one of {})",
            names.join(", ")
        )
    })
}
