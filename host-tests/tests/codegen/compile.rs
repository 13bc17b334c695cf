//! Compiling the generated sources and running them on the cases' rows: C with gcc (batches of headers per
//! translation unit, batches in parallel), Rust in one scratch crate built by cargo (the generated modules in a
//! `#![no_std]` library, a small `std` runner binary), and the library alone for `thumbv7em-none-eabihf`.
//!
//! Both runners read lines `index rows-file output-file` on standard input; a rows file holds a case's rows as
//! little-endian f32, an output file gets, per row, the margins then the predictions as f32 bits.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use emkern_host::export::codegen::{self, IntCompare, Lang};

use super::cases::Case;

/// Writes `text` to `path` unless it already holds it (so that cargo's fingerprints keep a rebuild away).
fn write_if_changed(path: &Path, text: &[u8]) {
    if std::fs::read(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `cmd`, returning its standard output or a message with its standard error.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Writes every case's rows to `dir/rows_<i>.bin`.
pub fn write_rows(cases: &[Case], dir: &Path) {
    for (i, c) in cases.iter().enumerate() {
        let bytes: Vec<u8> = c.rows.iter().flat_map(|v| v.to_le_bytes()).collect();
        write_if_changed(&dir.join(format!("rows_{i}.bin")), &bytes);
    }
}

/// Runs `exe` (a runner) on the cases `indices` (runner index `k` is case `indices[k]`), in `dir`, and returns
/// each case's output values.
pub fn run_cases(
    exe: &Path,
    dir: &Path,
    indices: &[usize],
    tag: &str,
) -> Result<Vec<Vec<f32>>, String> {
    let mut input = String::new();
    for (k, &i) in indices.iter().enumerate() {
        input.push_str(&format!("{k} rows_{i}.bin out_{tag}_{i}.bin\n"));
    }
    let mut child = Command::new(exe)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            exe.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    indices
        .iter()
        .map(|&i| {
            let p = dir.join(format!("out_{tag}_{i}.bin"));
            let b = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            Ok(b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect())
        })
        .collect()
}

/// A job for [`parallel`].
pub type Job<'a, T> = Box<dyn FnOnce() -> T + Send + 'a>;

/// Runs `jobs` on the machine's cores; returns their results in order.
pub fn parallel<T: Send>(jobs: Vec<Job<'_, T>>) -> Vec<T> {
    let n = jobs.len();
    let next = AtomicUsize::new(0);
    let jobs: Vec<Mutex<Option<Job<'_, T>>>> =
        jobs.into_iter().map(|j| Mutex::new(Some(j))).collect();
    let results: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let threads = std::thread::available_parallelism().map_or(2, |p| p.get());
    std::thread::scope(|s| {
        for _ in 0..threads.min(n) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let job = jobs[i].lock().unwrap().take().unwrap();
                    let r = job();
                    *results[i].lock().unwrap() = Some(r);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|r| r.into_inner().unwrap().unwrap())
        .collect()
}

/// The C compiler (`$CC`, else `gcc`), or `None` when it does not run.
pub fn c_compiler() -> Option<String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "gcc".into());
    Command::new(&cc)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        .then_some(cc)
}

/// Writes `m<i>.h` for every case into `dir`.
pub fn write_c_headers(cases: &[Case], dir: &Path) {
    for (i, c) in cases.iter().enumerate() {
        let src = codegen::generate(&c.blob, Lang::C, &format!("m{i}"), &c.name)
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        write_if_changed(&dir.join(format!("m{i}.h")), src.as_bytes());
    }
}

/// The C runner for the cases `indices`.
pub fn c_driver(indices: &[usize]) -> String {
    let mut s = String::from("#include <stdio.h>\n#include <stdlib.h>\n");
    for i in indices {
        s.push_str(&format!("#include \"m{i}.h\"\n"));
    }
    s.push_str(
        "\ntypedef void (*predict_fn)(const float *, float *);\n\
         typedef int (*checked_fn)(const float *, size_t, float *, size_t);\n\
         static const struct { predict_fn margin; checked_fn predict; int nf, no, np; } models[] = {\n",
    );
    for i in indices {
        let up = format!("M{i}");
        s.push_str(&format!(
            "    {{m{i}_predict_margin, m{i}_predict_checked, {up}_N_FEATURES, {up}_N_OUTPUTS, {up}_OUTPUT_LEN}},\n"
        ));
    }
    s.push_str(
        "};\n\n\
         int main(void) {\n\
         \x20   int k;\n\
         \x20   char rows_path[256], out_path[256];\n\
         \x20   while (scanf(\"%d %255s %255s\", &k, rows_path, out_path) == 3) {\n\
         \x20       FILE *in = fopen(rows_path, \"rb\"), *out = fopen(out_path, \"wb\");\n\
         \x20       float *row = malloc(sizeof(float) * (size_t)models[k].nf);\n\
         \x20       float *m = malloc(sizeof(float) * (size_t)models[k].no);\n\
         \x20       float *p = malloc(sizeof(float) * (size_t)models[k].np);\n\
         \x20       size_t nf = (size_t)models[k].nf, np = (size_t)models[k].np;\n\
         \x20       if (!in || !out || !row || !m || !p) return 1;\n\
         \x20       /* The checked entry point's statuses (the C API's codes). */\n\
         \x20       if (models[k].predict(row, nf - 1, p, np) != 12 || models[k].predict(row, nf, p, np - 1) != 13\n\
         \x20           || models[k].predict(NULL, nf, p, np) != 15 || models[k].predict(row, nf, NULL, np) != 15) return 2;\n\
         \x20       while (fread(row, sizeof(float), (size_t)models[k].nf, in) == (size_t)models[k].nf) {\n\
         \x20           models[k].margin(row, m);\n\
         \x20           if (models[k].predict(row, nf, p, np) != 0) return 3;\n\
         \x20           fwrite(m, sizeof(float), (size_t)models[k].no, out);\n\
         \x20           fwrite(p, sizeof(float), (size_t)models[k].np, out);\n\
         \x20       }\n\
         \x20       fclose(in);\n\
         \x20       fclose(out);\n\
         \x20       free(row);\n\
         \x20       free(m);\n\
         \x20       free(p);\n\
         \x20   }\n\
         \x20   return 0;\n\
         }\n",
    );
    s
}

/// The `libm` crate's source directory, as the workspace resolves it (`cargo metadata`, offline).
fn libm_dir() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = run(Command::new(rustc).arg("-vV"))?;
    let host = version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .ok_or("rustc -vV names no host")?;
    // Only the host's packages: the others' sources need not be on this machine.
    let json = run(Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            host,
        ])
        .arg("--manifest-path")
        .arg(&manifest))?;
    let v: serde_json::Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
    let path = v["packages"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "libm"))
        .and_then(|p| p["manifest_path"].as_str())
        .ok_or("cargo metadata lists no libm")?;
    Ok(Path::new(path).parent().unwrap().to_path_buf())
}

/// Writes a scratch crate: `src/lib.rs` (`#![no_std]`, `#![deny(warnings)]`, module `m<i>` for each case `i` of
/// `indices`) and `src/main.rs` (the runner).
pub fn write_rust_crate(
    cases: &[Case],
    indices: &[usize],
    dir: &Path,
    compare: IntCompare,
    edit: fn(String) -> String,
) -> Result<(), String> {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let libm = libm_dir()?;
    write_if_changed(
        &dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"codegen_check\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\nlibm = {{ path = {:?} }}\n\n[profile.release]\ndebug = false\nincremental = false\n\n\
             [workspace]\n",
            libm.display().to_string()
        )
        .as_bytes(),
    );
    let mut lib = String::from("#![no_std]\n#![deny(warnings)]\n\n");
    let mut main = String::from(
        "#![deny(warnings)]\n\nuse std::io::{BufRead, Read, Write};\n\n\
         fn run_model<const NF: usize, const NO: usize, const NP: usize>(\n\
         \x20   rows: &[f32],\n\
         \x20   margin: fn(&[f32; NF], &mut [f32; NO]),\n\
         \x20   predict: fn(&[f32; NF], &mut [f32; NP]),\n\
         ) -> Vec<f32> {\n\
         \x20   let mut out = Vec::new();\n\
         \x20   for r in rows.chunks_exact(NF) {\n\
         \x20       let row: &[f32; NF] = r.try_into().unwrap();\n\
         \x20       let mut m = [0f32; NO];\n\
         \x20       margin(row, &mut m);\n\
         \x20       out.extend_from_slice(&m);\n\
         \x20       let mut p = [0f32; NP];\n\
         \x20       predict(row, &mut p);\n\
         \x20       out.extend_from_slice(&p);\n\
         \x20   }\n\
         \x20   out\n\
         }\n\n\
         fn main() {\n\
         \x20   for line in std::io::stdin().lock().lines() {\n\
         \x20       let line = line.unwrap();\n\
         \x20       let parts: Vec<&str> = line.split_whitespace().collect();\n\
         \x20       let mut bytes = Vec::new();\n\
         \x20       std::fs::File::open(parts[1]).unwrap().read_to_end(&mut bytes).unwrap();\n\
         \x20       let rows: Vec<f32> = bytes\n\
         \x20           .chunks_exact(4)\n\
         \x20           .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))\n\
         \x20           .collect();\n\
         \x20       let out = match parts[0].parse::<usize>().unwrap() {\n",
    );
    for (k, &i) in indices.iter().enumerate() {
        let c = &cases[i];
        let text = codegen::generate_with(&c.blob, Lang::Rust, &format!("m{i}"), &c.name, compare)
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        write_if_changed(&src.join(format!("m{i}.rs")), edit(text).as_bytes());
        lib.push_str(&format!("pub mod m{i};\n"));
        main.push_str(&format!(
            "            {k} => run_model(&rows, codegen_check::m{i}::predict_margin, codegen_check::m{i}::predict),\n"
        ));
    }
    main.push_str(
        "            k => panic!(\"no model {k}\"),\n\
         \x20       };\n\
         \x20       let bytes: Vec<u8> = out.iter().flat_map(|v| v.to_le_bytes()).collect();\n\
         \x20       std::fs::File::create(parts[2]).unwrap().write_all(&bytes).unwrap();\n\
         \x20   }\n\
         }\n",
    );
    write_if_changed(&src.join("lib.rs"), lib.as_bytes());
    write_if_changed(&src.join("main.rs"), main.as_bytes());
    Ok(())
}

/// `cargo build --release --offline` of the scratch crate in `dir`, with `extra` arguments.
pub fn cargo_build(dir: &Path, extra: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo)
        .current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .args(["build", "--release", "--offline", "--quiet", "--target-dir"])
        .arg(dir.join("target"))
        .args(extra))
    .map(|_| ())
}

/// The sysroot has the standard library for `target`.
pub fn target_installed(target: &str) -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .is_some_and(|root| {
            Path::new(&root)
                .join("lib/rustlib")
                .join(target)
                .join("lib")
                .is_dir()
        })
}
