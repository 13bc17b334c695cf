//! Where the CLI's results go, through one path for every command.
//!
//! Files: a command first plans its outputs with [`Outputs::plan`], which refuses an output path equal to an
//! input or to another output (paths compared after resolving links and `..`) and checks that each output's
//! directory exists and is writable by creating the temporary file the output will be written to, beside it.
//! The command then writes each output into its temporary file ([`Outputs::write`], [`Outputs::writer`]), which
//! is flushed and synced to disk; only [`Outputs::commit`], called when everything succeeded, renames the
//! temporary files over the targets. A command that fails (bad data, a full disk, a file size limit) leaves every
//! existing output as it was and no partial file: dropping [`Outputs`] removes the temporary files. Every error
//! names the output file. An output that exists and is not a regular file (a pipe, a terminal), or a device path
//! (`/dev/stdout`), is written in place, as a stream.
//!
//! Terminal: text for standard output goes through [`stdout`] or [`print()`], whose errors (a closed pipe, a full
//! disk behind a redirection) are reported as `writing to standard output: …` instead of panicking.

use std::cell::RefCell;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// One planned output file.
#[derive(Debug)]
struct Planned {
    /// The flag that named it, for messages (`--output`).
    flag: String,
    /// The path as given.
    target: PathBuf,
    /// Where the content goes: the target with its links resolved (so that a link to a file keeps pointing at
    /// the file, which is replaced).
    dest: PathBuf,
    /// The temporary file beside `dest` and its handle; `None` for a target that is not a regular file (a
    /// terminal, a pipe such as `/dev/stdout`), which is written in place.
    temp: Option<(PathBuf, File)>,
    /// Whether its content was written.
    written: bool,
}

/// The output files of one command (see the module documentation). Shared by reference: writing needs no
/// `&mut`, so the parts of a command that write can all hold it.
#[derive(Debug)]
pub struct Outputs {
    files: RefCell<Vec<Planned>>,
}

/// `path` resolved: the file itself if it exists (links followed), else its directory resolved joined with its
/// name. Errors name the path and the flag.
fn resolve(flag: &str, path: &Path) -> Result<PathBuf, String> {
    if let Ok(p) = fs::canonicalize(path) {
        return Ok(p);
    }
    let name = path
        .file_name()
        .ok_or_else(|| format!("{flag} {}: not a file name", path.display()))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let dir = fs::canonicalize(dir).map_err(|e| {
        format!(
            "{flag} {}: the directory {} cannot be used: {e}",
            path.display(),
            dir.display()
        )
    })?;
    Ok(dir.join(name))
}

/// Creates a new temporary file beside `dest` (same directory, so that renaming it over `dest` is atomic).
fn create_temp(flag: &str, target: &Path, dest: &Path) -> Result<(PathBuf, File), String> {
    let name = dest
        .file_name()
        .ok_or_else(|| format!("{flag} {}: not a file name", target.display()))?
        .to_string_lossy()
        .into_owned();
    let dir = dest.parent().unwrap_or(Path::new("."));
    let mut last = None;
    for attempt in 0..100u32 {
        let temp = dir.join(format!(
            ".{name}.emkern-{}-{attempt}.tmp",
            std::process::id()
        ));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
        {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => {
                return Err(format!(
                    "{flag} {}: cannot write in {}: {e}",
                    target.display(),
                    dir.display()
                ));
            }
        }
    }
    Err(format!(
        "{flag} {}: cannot create a temporary file in {}: {}",
        target.display(),
        dir.display(),
        last.map_or_else(String::new, |e| e.to_string())
    ))
}

impl Outputs {
    /// Plans `outputs` (flag, path) of a command that reads `inputs` (flag, path): refuses an output that is an
    /// input, another output or a directory, and creates each output's temporary file (which shows that its
    /// directory exists and is writable).
    pub fn plan(outputs: &[(&str, &Path)], inputs: &[(&str, &Path)]) -> Result<Outputs, String> {
        // (flag, path as given, resolved path, what the command does with it)
        let mut seen: Vec<(&str, &Path, PathBuf, &str)> = Vec::new();
        for &(flag, path) in inputs {
            if let Ok(p) = fs::canonicalize(path) {
                seen.push((flag, path, p, "reads"));
            }
        }
        let planned = Outputs {
            files: RefCell::new(Vec::new()),
        };
        for &(flag, path) in outputs {
            let dest = resolve(flag, path)?;
            if let Some((other, other_path, _, role)) = seen.iter().find(|s| s.2 == dest) {
                return Err(format!(
                    "{flag} {} is the file that {other} {} {role}: choose another output path",
                    path.display(),
                    other_path.display()
                ));
            }
            // Device paths (`/dev/stdout`, `/proc/self/fd/1`) name a stream that may be a redirected file: it is
            // written in place, never replaced.
            let device = path.starts_with("/dev") || path.starts_with("/proc");
            let temp = match fs::metadata(path) {
                Ok(m) if m.is_dir() => {
                    return Err(format!("{flag} {}: is a directory", path.display()));
                }
                Ok(m) if !m.is_file() || device => None,
                _ => Some(create_temp(flag, path, &dest)?),
            };
            planned.files.borrow_mut().push(Planned {
                flag: flag.to_string(),
                target: path.to_path_buf(),
                dest: dest.clone(),
                temp,
                written: false,
            });
            seen.push((flag, path, dest, "writes"));
        }
        Ok(planned)
    }

    /// Writes `bytes` as the whole content of the planned output `target` (into its temporary file, synced).
    pub fn write(&self, target: &Path, bytes: &[u8]) -> Result<(), String> {
        let mut w = self.writer(target)?;
        w.write_all(bytes)
            .and_then(|()| w.finish())
            .map_err(|e| e.to_string())
    }

    /// A buffered writer into the planned output `target` whose errors name it; call [`NamedWriter::finish`]
    /// when done (it flushes and syncs). The output counts as written once the writer exists: a command that
    /// fails while writing returns its error, and the temporary file is then dropped with the [`Outputs`].
    pub fn writer(&self, target: &Path) -> Result<NamedWriter<File>, String> {
        let mut files = self.files.borrow_mut();
        let p = files
            .iter_mut()
            .find(|p| p.target == target)
            .ok_or_else(|| format!("{}: not a planned output", target.display()))?;
        let cannot = |e: io::Error| format!("{}: cannot write: {e}", p.target.display());
        let (file, sync) = match &p.temp {
            Some((_, f)) => (
                f.try_clone().map_err(cannot)?,
                Some(f.try_clone().map_err(cannot)?),
            ),
            // A stream is appended to: `>>` keeps what it had, `>` started it empty.
            None => (
                fs::OpenOptions::new()
                    .append(true)
                    .open(&p.target)
                    .map_err(cannot)?,
                None,
            ),
        };
        p.written = true;
        Ok(NamedWriter {
            inner: BufWriter::with_capacity(1 << 16, file),
            what: format!("{}: cannot write", p.target.display()),
            sync,
        })
    }

    /// Renames every temporary file over its target. Outputs that were planned but not written are an error (a
    /// command must write each output it planned); nothing is renamed then.
    pub fn commit(&self) -> Result<(), String> {
        if let Some(p) = self.files.borrow().iter().find(|p| !p.written) {
            return Err(format!(
                "{} {}: nothing was written",
                p.flag,
                p.target.display()
            ));
        }
        self.commit_written()
    }

    /// Renames the temporary files that were written over their targets, and drops the others (a command that
    /// fails but still writes some outputs, e.g. a report that says why there is no model).
    pub fn commit_written(&self) -> Result<(), String> {
        let files = std::mem::take(&mut *self.files.borrow_mut());
        let mut error = None;
        for p in files {
            let Some((temp, file)) = p.temp else {
                continue;
            };
            if !p.written || error.is_some() {
                let _ = fs::remove_file(&temp);
                continue;
            }
            // An existing target keeps its permissions.
            if let Ok(m) = fs::metadata(&p.dest) {
                let _ = file.set_permissions(m.permissions());
            }
            drop(file);
            if let Err(e) = fs::rename(&temp, &p.dest) {
                let _ = fs::remove_file(&temp);
                error = Some(format!("{}: cannot write: {e}", p.target.display()));
            }
        }
        error.map_or(Ok(()), Err)
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        for p in self.files.get_mut().drain(..) {
            if let Some((temp, _)) = p.temp {
                let _ = fs::remove_file(temp);
            }
        }
    }
}

/// Writes `bytes` to `path` through the one output path (temporary file, sync, rename), for a command with this
/// single output.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let out = Outputs::plan(&[("output", path)], &[])?;
    out.write(path, bytes)?;
    out.commit()
}

/// A buffered writer whose I/O errors say where the bytes were going (`m.csv: cannot write: …`, `writing to
/// standard output: …`).
pub struct NamedWriter<W: Write> {
    inner: BufWriter<W>,
    what: String,
    sync: Option<File>,
}

impl<W: Write> NamedWriter<W> {
    fn name(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("{}: {e}", self.what))
    }

    /// Flushes the buffer and, for a file, syncs it to disk.
    pub fn finish(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.name(e))?;
        if let Some(f) = &self.sync {
            f.sync_all().map_err(|e| self.name(e))?;
        }
        Ok(())
    }
}

impl<W: Write> Write for NamedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.name(e))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf).map_err(|e| self.name(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.name(e))
    }
}

/// A buffered writer to standard output whose errors read `writing to standard output: …`; call
/// [`NamedWriter::finish`] at the end.
pub fn stdout() -> NamedWriter<io::StdoutLock<'static>> {
    NamedWriter {
        inner: BufWriter::new(io::stdout().lock()),
        what: "writing to standard output".into(),
        sync: None,
    }
}

/// Prints `text` to standard output, reporting a failure instead of panicking.
pub fn print(text: &str) -> io::Result<()> {
    let mut out = stdout();
    out.write_all(text.as_bytes())?;
    out.finish()
}

/// Whether [`say`] prints nothing (set by [`set_quiet`]).
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Silences (or restores) the progress lines of [`say`] for the whole process: for a program that calls the
/// commands' library functions (the Python package) and has no terminal to print them on.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// The first error met by [`say`], if any.
static STDOUT_ERROR: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Prints one line of a command's progress to standard output. A failure to write does not stop the command:
/// it is kept, later lines are dropped, and [`stdout_error`] reports it so that the command can fail (before it
/// commits its outputs) instead of panicking as `println!` does. Used through [`say!`](crate::say).
pub fn say(line: std::fmt::Arguments) {
    if QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let mut error = STDOUT_ERROR.lock().unwrap_or_else(|e| e.into_inner());
    if error.is_some() {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out
        .write_fmt(line)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
    {
        *error = Some(format!("writing to standard output: {e}"));
    }
}

/// The error of the first line [`say`] could not print, if any.
pub fn stdout_error() -> Option<String> {
    STDOUT_ERROR
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

/// `println!` that does not panic when standard output fails: see [`output::say`](crate::output::say).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::say(format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;

    /// `emkern-output-<name>-<pid>`, removed when the test passes.
    fn scratch(name: &str) -> Scratch {
        Scratch::new(&format!("output-{name}"))
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn outputs_replace_targets_only_on_commit() {
        let dir = scratch("commit");
        let (a, b) = (dir.join("a.txt"), dir.join("b.txt"));
        fs::write(&a, "old a").unwrap();
        {
            let out = Outputs::plan(&[("-a", &a), ("-b", &b)], &[]).unwrap();
            out.write(&a, b"new a").unwrap();
            // Dropped without commit: the old file stays, no temporary file is left.
        }
        assert_eq!(fs::read_to_string(&a).unwrap(), "old a");
        assert_eq!(names(&dir), ["a.txt"]);
        let out = Outputs::plan(&[("-a", &a), ("-b", &b)], &[]).unwrap();
        out.write(&a, b"new a").unwrap();
        assert!(
            out.commit().unwrap_err().contains("-b"),
            "b was not written"
        );
        drop(out);
        assert_eq!(fs::read_to_string(&a).unwrap(), "old a");
        assert_eq!(names(&dir), ["a.txt"]);
        let out = Outputs::plan(&[("-a", &a), ("-b", &b)], &[]).unwrap();
        out.write(&a, b"new a").unwrap();
        out.write(&b, b"new b").unwrap();
        out.commit().unwrap();
        drop(out);
        assert_eq!(names(&dir), ["a.txt", "b.txt"]);
        assert_eq!(fs::read_to_string(&b).unwrap(), "new b");
    }

    #[test]
    fn outputs_equal_to_inputs_or_each_other_are_refused() {
        let dir = scratch("same");
        let input = dir.join("in.csv");
        fs::write(&input, "1\n").unwrap();
        let via_dots = dir.join("sub/../in.csv");
        fs::create_dir_all(dir.join("sub")).unwrap();
        let e = Outputs::plan(&[("--output", &via_dots)], &[("--input", &input)]).unwrap_err();
        assert!(e.contains("--input"), "{e}");
        let o = dir.join("o.bin");
        let e = Outputs::plan(&[("-o", &o), ("--rust", &o)], &[]).unwrap_err();
        assert!(e.contains("--rust") && e.contains("-o"), "{e}");
        let e = Outputs::plan(&[("-o", &dir.join("missing/o.bin"))], &[]).unwrap_err();
        assert!(e.contains("missing"), "{e}");
        assert!(Outputs::plan(&[("-o", &dir)], &[]).is_err());
        assert_eq!(fs::read_to_string(&input).unwrap(), "1\n");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_keeps_pointing_at_the_replaced_file() {
        let dir = scratch("link");
        let (file, link) = (dir.join("model.emk"), dir.join("link.emk"));
        fs::write(&file, "old").unwrap();
        std::os::unix::fs::symlink(&file, &link).unwrap();
        write_file(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&file).unwrap(), "new");
    }
}
