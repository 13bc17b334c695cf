//! What the fixture tests that go through the command line share: a scratch directory, the `emkern` binary run
//! with arguments, the fixture folders holding a given model file, and a fixture's `meta.json`.
// Each test crate that includes `common` uses part of this.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::scratch::Scratch;

/// An empty directory `emkern-<prefix>-<name>-<pid>` under the system's temporary directory, removed when the
/// test passes.
pub fn scratch(prefix: &str, name: &str) -> Scratch {
    Scratch::new(&format!("{prefix}-{name}"))
}

/// Runs the `emkern` binary: its standard output, or an error with its arguments and standard error.
pub fn emkern(args: &[&OsStr]) -> Result<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_emkern"))
        .args(args)
        .output()
        .map_err(|e| format!("cannot run emkern: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "emkern {:?} failed: {}",
            args,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The fixture's `meta.json`.
pub fn meta(dir: &Path) -> Result<serde_json::Value, String> {
    let path = dir.join("meta.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The folders under `root` that hold `model_file`, sorted; panics (naming `what` and `root`) when there are none.
pub fn fixture_dirs(root: &Path, model_file: &str, what: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(model_file).is_file())
        .collect();
    dirs.sort();
    assert!(
        !dirs.is_empty(),
        "no {what} fixtures under {}",
        root.display()
    );
    dirs
}
