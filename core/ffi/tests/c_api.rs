//! The C API from C: compiles `examples/predict.c` (C99, `-Wall -Wextra -Werror -pedantic`) against
//! `include/emkern.h` and the static library cargo built alongside this test, runs it on the demo XGBoost model
//! and its held-out rows (`boards/selftest/data`: XGBoost's own probabilities), and checks its report. The same
//! calls from Rust, and the misuse C cannot express portably, are in `api.rs` (which also runs under Miri).

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/c_toolchain.rs"]
mod c_toolchain;
use c_toolchain::{native_libs, static_library};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn c_program_predicts_the_demo_model_and_gets_every_status() {
    let Some(exe) = compile_example("predict") else {
        return;
    };
    let data = repo().join("boards/selftest/data");
    let run = Command::new(&exe)
        .arg(data.join("model.emk"))
        .arg(data.join("rows.bin"))
        .arg(data.join("expected.bin"))
        .output()
        .expect("run the C program");
    let _ = std::fs::remove_file(&exe);
    let stdout = String::from_utf8_lossy(&run.stdout);
    eprintln!("{stdout}");
    assert!(run.status.success(), "predict.c failed:\n{stdout}");

    // Every held-out row was predicted within tolerance of XGBoost's probability, and every misuse got its status.
    let n_rows = std::fs::metadata(data.join("expected.bin"))
        .expect("expected.bin")
        .len()
        / 8;
    assert!(n_rows > 100, "{n_rows} rows");
    assert!(
        stdout.contains(&format!("rows: {n_rows}, within tolerance {n_rows},")),
        "not every row matched:\n{stdout}"
    );
    for line in [
        "ok null forest: null pointer argument",
        "ok row one value short: row shorter than the model's feature count",
        "ok no room for the output: output buffer too short",
        "ok zeroed forest: forest not initialized",
        "ok a flipped byte: blob checksum mismatch (corrupted)",
        "ok one byte short: blob truncated",
        "PASS: 0 failures",
    ] {
        assert!(stdout.contains(line), "missing `{line}` in:\n{stdout}");
    }
}

/// Compiles `examples/<name>.c` (C99, `-Wall -Wextra -Werror -pedantic`) against the header and the static
/// library into an executable; `None` (after a loud SKIPPED) when this host has no C compiler or no known list
/// of native libraries.
fn compile_example(name: &str) -> Option<PathBuf> {
    let Some(libs) = native_libs() else {
        eprintln!("SKIPPED c_api {name}: no known native-library list for this host");
        return None;
    };
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    if Command::new(&cc).arg("--version").output().is_err() {
        eprintln!("SKIPPED c_api {name}: no C compiler (`{cc}`) on this machine");
        return None;
    }
    let lib = static_library(&repo());
    let ffi = repo().join("core/ffi");
    let exe = std::env::temp_dir().join(format!("emkern-ffi-{name}-{}", std::process::id()));
    let out = Command::new(&cc)
        .args([
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-O1",
            "-I",
        ])
        .arg(ffi.join("include"))
        .arg(ffi.join(format!("examples/{name}.c")))
        .arg(&lib)
        .args(libs)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run the C compiler");
    assert!(
        out.status.success(),
        "compiling {name}.c failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(exe)
}

#[test]
fn c_program_checks_attention_rope_and_medusa_against_double_references() {
    let Some(exe) = compile_example("kernels") else {
        return;
    };
    let run = Command::new(&exe).output().expect("run the C program");
    let _ = std::fs::remove_file(&exe);
    let stdout = String::from_utf8_lossy(&run.stdout);
    eprintln!("{stdout}");
    assert!(run.status.success(), "kernels.c failed:\n{stdout}");
    // Every check ran (a check that silently stopped running would lower the count) and none failed.
    assert!(stdout.contains("28 checks, 0 failed"), "{stdout}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
}
