//! The firmware sources the exporter writes compile and carry the blob byte for byte: the C header with the
//! system C compiler, the Rust source with rustc; each built program prints the length and a checksum of the
//! embedded bytes, which must equal the blob's.

use std::path::{Path, PathBuf};
use std::process::Command;

use emkern_host::export::source;
use emkern_host::model;

fn blob() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    model::load(&root.join("data/breast_cancer_xgboost.json"))
        .unwrap()
        .blob
}

fn checksum(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .enumerate()
        .map(|(i, &b)| (i as u64 + 1) * b as u64)
        .sum()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn c_header_compiles_and_holds_the_blob() {
    let blob = blob();
    let dir = scratch("c_header");
    std::fs::write(
        dir.join("demo_model.h"),
        source::c_header("demo model", &blob, "breast_cancer_xgboost.json"),
    )
    .unwrap();
    std::fs::write(
        dir.join("main.c"),
        "#include <stdio.h>\n#include \"demo_model.h\"\nint main(void) {\n  unsigned long long s = 0;\n  \
         for (unsigned long i = 0; i < DEMO_MODEL_SIZE; i++) s += (i + 1) * (unsigned long long)demo_model[i];\n  \
         if (((unsigned long)demo_model & 7) != 0) return 2;\n  printf(\"%u %llu\\n\", DEMO_MODEL_SIZE, s);\n  return 0;\n}\n",
    )
    .unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let exe = dir.join("main");
    run(Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Werror", "-O1", "-o"])
        .arg(&exe)
        .arg(dir.join("main.c")));
    assert_eq!(
        run(&mut Command::new(&exe)),
        format!("{} {}", blob.len(), checksum(&blob))
    );
}

#[test]
fn rust_source_compiles_and_holds_the_blob() {
    let blob = blob();
    let dir = scratch("rust_source");
    let src = source::rust_source("demo model", &blob, "breast_cancer_xgboost.json");
    std::fs::write(
        dir.join("main.rs"),
        format!(
            "{src}\nfn main() {{\n    let b = DEMO_MODEL_BYTES;\n    assert_eq!(b.as_ptr() as usize % 8, 0);\n    \
             let s: u64 = b.iter().enumerate().map(|(i, &x)| (i as u64 + 1) * x as u64).sum();\n    \
             println!(\"{{}} {{}}\", b.len(), s);\n}}\n"
        ),
    )
    .unwrap();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let exe = dir.join("main");
    run(Command::new(&rustc)
        .args(["--edition", "2024", "-D", "warnings", "-o"])
        .arg(&exe)
        .arg(dir.join("main.rs")));
    assert_eq!(
        run(&mut Command::new(&exe)),
        format!("{} {}", blob.len(), checksum(&blob))
    );
}
