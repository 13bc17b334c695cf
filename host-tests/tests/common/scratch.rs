//! A scratch directory under the system's temporary directory that a passing test removes and a failing one
//! keeps, for a look at what it wrote. Included with `#[path]` by the test crates and by the library's unit
//! tests, so that each gets just this.

use std::path::{Path, PathBuf};

/// The empty directory `emkern-<name>-<pid>` under [`std::env::temp_dir`], removed with its contents on drop
/// unless the thread is panicking (a failed assertion). Reads as a [`Path`]. Tests running at the same time in
/// one process need different names.
pub struct Scratch(PathBuf);

impl Scratch {
    /// Creates the directory, emptying what an earlier run of the same process id left there.
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("emkern-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        Scratch(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
