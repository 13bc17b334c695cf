//! Building the profiling firmware (`boards/profile`): its input directory, the C engine's object, and the
//! cargo build.
//!
//! Every image is built in one cargo target directory (`target/emkern-profile` in the source tree), so the
//! dependencies are compiled once per target. An image's inputs go to a directory named after a hash of their
//! content (`inputs/<engine>-<hash>`): the same inputs find the same directory, whose files are not rewritten,
//! so a second profile of the same model and rows rebuilds nothing. Cargo replaces the one output file per
//! target at each build, so a build and the copy of its image into the input directory happen under a lock
//! (`build.lock`), which serialises concurrent `emkern profile` runs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::target::Target;

/// The files of one image's input directory, by name.
#[derive(Clone, Debug, Default)]
pub struct InputFiles {
    files: Vec<(&'static str, Vec<u8>)>,
}

impl InputFiles {
    /// Adds a file.
    pub fn add(&mut self, name: &'static str, content: impl Into<Vec<u8>>) {
        self.files.push((name, content.into()));
    }

    /// FNV-1a (64-bit) of the names, contents and `salt`: the directory's name (not a security measure, a cache
    /// key).
    fn hash(&self, salt: &str) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for &b in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
                h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        eat(salt.as_bytes());
        for (name, content) in &self.files {
            eat(name.as_bytes());
            eat(content);
        }
        h
    }

    /// Writes the files into `<base>/<label>-<hash>` (only those missing or different) and returns the
    /// directory.
    pub fn write(&self, base: &Path, label: &str, salt: &str) -> Result<PathBuf, String> {
        let dir = base.join(format!("{label}-{:016x}", self.hash(salt)));
        fs::create_dir_all(&dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
        for (name, content) in &self.files {
            write_if_changed(&dir.join(name), content)?;
        }
        Ok(dir)
    }
}

/// Writes `content` to `path` unless the file already holds it (so its modification time, which cargo
/// watches, only changes with the content); through a temporary file and a rename, so a reader never sees half
/// a file.
pub fn write_if_changed(path: &Path, content: &[u8]) -> Result<(), String> {
    if fs::read(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, content).map_err(|e| format!("{}: cannot write: {e}", tmp.display()))?;
    fs::rename(&tmp, path).map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

/// Compiles the generated C (`model.h` and `engine.c` in `dir`) with `gcc` for `target` into `dir/engine.o`.
pub fn compile_c(gcc: &Path, target: Target, dir: &Path) -> Result<PathBuf, String> {
    let object = dir.join("engine.o");
    let tmp = dir.join(format!("engine.o.tmp{}", std::process::id()));
    let out = Command::new(gcc)
        .args(target.cflags())
        .args(["-std=c99", "-O2", "-ffunction-sections", "-fdata-sections"])
        .args(["-Wall", "-Wextra", "-c"])
        .arg(dir.join("engine.c"))
        .arg("-o")
        .arg(&tmp)
        .output()
        .map_err(|e| format!("{}: cannot run: {e}", gcc.display()))?;
    if !out.status.success() {
        let _ = fs::remove_file(&tmp);
        return Err(format!(
            "{} failed on the generated C:\n{}",
            gcc.display(),
            String::from_utf8_lossy(&out.stderr).trim_end()
        ));
    }
    let bytes = fs::read(&tmp).map_err(|e| format!("{}: cannot read: {e}", tmp.display()));
    let _ = fs::remove_file(&tmp);
    write_if_changed(&object, &bytes?)?;
    Ok(object)
}

/// One firmware build.
pub struct Build<'a> {
    /// The source tree (holds `boards/`).
    pub root: &'a Path,
    /// Cargo's target directory for the firmware.
    pub target_dir: &'a Path,
    /// The board.
    pub target: Target,
    /// Cargo features (the engine's, `weighted-median`, the target's).
    pub features: Vec<&'static str>,
    /// The input directory (`EMKERN_PROFILE_DIR`); the image is copied there as `firmware.elf`.
    pub inputs: &'a Path,
}

impl Build<'_> {
    /// Builds the image (release profile of the boards' workspace) and returns its copy in the input directory.
    pub fn run(&self) -> Result<PathBuf, String> {
        fs::create_dir_all(self.target_dir)
            .map_err(|e| format!("{}: cannot create: {e}", self.target_dir.display()))?;
        let lock_path = self.target_dir.join("build.lock");
        let lock = fs::File::create(&lock_path)
            .map_err(|e| format!("{}: cannot create: {e}", lock_path.display()))?;
        lock.lock()
            .map_err(|e| format!("{}: cannot lock: {e}", lock_path.display()))?;

        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let triple = self.target.triple();
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(self.root.join("boards"))
            .args([
                "build",
                "--release",
                // The boards' Cargo.lock is part of the source tree: never rewritten by a profile.
                "--locked",
                "-p",
                "emkern-profile",
                "--target",
                triple,
            ])
            .env("CARGO_TARGET_DIR", self.target_dir)
            .env("EMKERN_PROFILE_DIR", self.inputs)
            // The boards' `.cargo/config.toml` sets the per-target flags; flags meant for the host must not
            // reach the firmware.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET");
        if !self.features.is_empty() {
            cmd.arg("--features").arg(self.features.join(","));
        }
        let out = cmd
            .output()
            .map_err(|e| format!("{}: cannot run: {e}", PathBuf::from(&cargo).display()))?;
        if !out.status.success() {
            let log = String::from_utf8_lossy(&out.stderr);
            if log.contains("will not fit in region") || log.contains("overflowed by") {
                return Err(format!(
                    "the firmware does not fit the memory of {} ({}): use fewer rows or a smaller model\n{}",
                    self.target.machine(),
                    self.target.name(),
                    tail(&log, 8)
                ));
            }
            return Err(format!(
                "building the firmware for {} failed (cargo build in {}):\n{}",
                self.target.name(),
                self.root.join("boards").display(),
                tail(&log, 40)
            ));
        }
        let built = self
            .target_dir
            .join(triple)
            .join("release")
            .join("emkern-profile");
        let copy = self.inputs.join("firmware.elf");
        let bytes =
            fs::read(&built).map_err(|e| format!("{}: cannot read: {e}", built.display()))?;
        write_if_changed(&copy, &bytes)?;
        drop(lock);
        Ok(copy)
    }
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
