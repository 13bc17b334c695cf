//! The C toolchain side of the tests that compile C against the C API (`core/ffi/tests/c_api.rs` and
//! `host-tests/tests/c_model_sources.rs`): the static library cargo built for the test and the system libraries
//! a Rust static library needs on this host.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The static library cargo built for this test: `target/<profile>/deps/libemkern_ffi-<hash>.a`, beside the rlib
/// the test links (one rustc run writes both crate types). Of several (other profiles' hashes), the newest; it
/// must be newer than every source file of the library, so a stale one fails rather than tests old code.
pub fn static_library(repo: &Path) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("target/<profile>/deps");
    let newest = std::fs::read_dir(deps)
        .expect("read the deps directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libemkern_ffi-") && n.ends_with(".a"))
        })
        .max_by_key(|p| modified(p))
        .unwrap_or_else(|| panic!("no libemkern_ffi-*.a in {}", deps.display()));
    let sources = newest_source(&repo.join("core/ffi/src"))
        .max(newest_source(&repo.join("core/src")))
        .max(newest_source(&repo.join("simd/src")));
    assert!(
        modified(&newest) >= sources,
        "{} is older than the library's sources",
        newest.display()
    );
    newest
}

fn modified(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .expect("file modification time")
}

/// The latest modification time of the `.rs` files under `dir`.
fn newest_source(dir: &Path) -> std::time::SystemTime {
    let mut newest = std::time::SystemTime::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir)
        .expect("read a source directory")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            newest = newest.max(newest_source(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            newest = newest.max(modified(&path));
        }
    }
    newest
}

/// The system libraries a Rust static library needs on this host (`--print native-static-libs`).
pub fn native_libs() -> Option<&'static [&'static str]> {
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        Some(&[
            "-lgcc_s",
            "-lutil",
            "-lrt",
            "-lpthread",
            "-lm",
            "-ldl",
            "-lc",
        ])
    } else if cfg!(target_os = "macos") {
        Some(&["-lSystem", "-lc", "-lm"])
    } else {
        None
    }
}
