//! `emkern codegen` against the blob interpreter. Every fixture model (XGBoost JSON and UBJSON, LightGBM,
//! scikit-learn, the training fixtures' XGBoost models, the demo model) and a set of hand-built models (see
//! `codegen/models.rs`) is generated as C and as Rust, compiled and run on the fixture's rows plus probe rows
//! (every split threshold and its two f32 neighbours, NaN, LightGBM's zero band, categories in, next to and
//! outside each set, infinities, random rows). The margins must equal the core's `predict_margin` bit for bit;
//! the predictions must equal the core's `predict` bit for bit, except where generated C calls the platform's
//! `exp`, which must stay within the bound `c_predict_bound_ulps` states (and the header repeats).
//!
//! C: `gcc -std=c99 -Wall -Wextra -Werror` at `-O2` (float tests), at `-Os` (rank tests wherever the model's
//! tests allow them: `NAME_INT_COMPARE` defaults to 2 under `__OPTIMIZE_SIZE__`), at `-O2` with
//! `-DNAME_INT_COMPARE=1` (integer-key tests, the default for software floating point) (and, for models with linear leaves on a CPU
//! with FMA, `-std=gnu99 -O2 -mfma -ffp-contract=fast`, where GCC would fuse the linear leaves' multiply-adds
//! unless the header forbids it); the hand-built models' headers also through `g++ -std=c++17`. SKIPPED loudly
//! without a C compiler. Rust: all models as modules of one
//! `#![no_std]`, `#![deny(warnings)]` library built by cargo (offline, `libm` from the workspace's own
//! resolution), run through a small runner; the same library is built for `thumbv7em-none-eabihf`.

#[path = "codegen/cases.rs"]
mod cases;
#[path = "codegen/compile.rs"]
mod compile;
#[path = "codegen/models.rs"]
mod models;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use cases::Case;
use std::collections::BTreeMap;

use emkern_host::export::codegen::{self, IntCompare, Lang, c_predict_bound_ulps, model::Model};

fn cases() -> &'static (Vec<Case>, usize) {
    static CASES: OnceLock<(Vec<Case>, usize)> = OnceLock::new();
    CASES.get_or_init(cases::all)
}

/// Distance in f32 steps between `a` and `b` (0 for equal bits; `u64::MAX` when one is NaN and the other not
/// the same NaN).
fn ulps(a: f32, b: f32) -> u64 {
    if a.to_bits() == b.to_bits() {
        return 0;
    }
    if a.is_nan() || b.is_nan() {
        return u64::MAX;
    }
    let ordered = |x: f32| {
        let i = x.to_bits() as i32 as i64;
        if i < 0 { i32::MIN as i64 - i } else { i }
    };
    (ordered(a) - ordered(b)).unsigned_abs()
}

/// Compares a runner's output for `c` with the core's: margins bit for bit, predictions within `pred_ulps`.
/// Returns the largest prediction distance seen and how many predictions were not bit-identical.
fn check(c: &Case, got: &[f32], pred_ulps: u64) -> Result<(u64, usize), String> {
    if got.len() != c.expected.len() {
        return Err(format!(
            "{}: {} output values, expected {}",
            c.name,
            got.len(),
            c.expected.len()
        ));
    }
    let width = c.n_outputs + c.output_len;
    let (mut worst, mut inexact) = (0u64, 0usize);
    for (r, (g, e)) in got
        .chunks_exact(width)
        .zip(c.expected.chunks_exact(width))
        .enumerate()
    {
        let row = &c.rows[r * c.n_features..(r + 1) * c.n_features];
        for k in 0..width {
            let d = ulps(g[k], e[k]);
            let margin = k < c.n_outputs;
            if !margin && d > 0 {
                inexact += 1;
                worst = worst.max(d);
            }
            if d > if margin { 0 } else { pred_ulps } {
                let what = if margin {
                    format!("margin[{k}]")
                } else {
                    format!("prediction[{}]", k - c.n_outputs)
                };
                return Err(format!(
                    "{}: row {r} {row:?}: {what} = {} ({:#010x}), the core gives {} ({:#010x})",
                    c.name,
                    g[k],
                    g[k].to_bits(),
                    e[k],
                    e[k].to_bits()
                ));
            }
        }
    }
    Ok((worst, inexact))
}

/// A C build configuration: its tag, compiler flags and batches of case indices.
type Config<'a> = (&'a str, Vec<&'a str>, Vec<Vec<usize>>);
/// A change to a generated module's text before it is built.
type Edit = fn(String) -> String;
/// A built C runner and the case indices it runs, or the compiler's complaint.
type Built = Result<(String, Vec<usize>), String>;

fn skipped(test: &str, why: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("\n*** SKIPPED {test}: {why} ***\n\n").as_bytes());
}

#[test]
fn generated_c_matches_the_core() {
    // The generated `*_predict_checked` returns the C API's status codes by number (it includes no emkern
    // header): they must stay the C API's.
    use emkern_ffi::EmkStatus;
    assert_eq!(
        [
            EmkStatus::EMK_OK as i32,
            EmkStatus::EMK_ROW_TOO_SHORT as i32,
            EmkStatus::EMK_OUTPUT_TOO_SHORT as i32,
            EmkStatus::EMK_NULL_POINTER as i32
        ],
        [0, 12, 13, 15]
    );
    let Some(cc) = compile::c_compiler() else {
        skipped(
            "generated_c_matches_the_core",
            "no C compiler (set CC, or install gcc)",
        );
        return;
    };
    let (cases, n_files) = cases();
    let dir = compile::scratch("codegen_c");
    compile::write_rows(cases, &dir);
    compile::write_c_headers(cases, &dir);
    let t0 = std::time::Instant::now();
    // Batches of headers, one translation unit each, compiled at every level on all cores.
    let batch = 12;
    let batches: Vec<Vec<usize>> = (0..cases.len())
        .collect::<Vec<_>>()
        .chunks(batch)
        .map(|c| c.to_vec())
        .collect();
    let fma = cfg!(target_arch = "x86_64") && std::arch::is_x86_feature_detected!("fma");
    let mut configs: Vec<Config> = vec![
        ("O2", vec!["-std=c99", "-O2"], batches.clone()),
        ("Os", vec!["-std=c99", "-Os"], batches.clone()),
        // The integer-key form (the default for software floating point), chosen by its macro.
        ("keys", vec!["-std=c99", "-O2"], batches),
    ];
    let linear: Vec<usize> = (0..cases.len())
        .filter(|&i| {
            Model::from_blob(&cases[i].blob)
                .unwrap()
                .trees
                .iter()
                .any(|t| t.leaves.iter().any(|l| l.linear.is_some()))
        })
        .collect();
    assert!(
        linear.len() >= 3,
        "expected the linear-leaf fixtures and hand-built models"
    );
    // The -Os build (rank tests) and the keys build must exercise the integer forms on most models (all but
    // categorical, zero-band, f64 and linear-leaf ones).
    let int_compare = (0..cases.len())
        .filter(|i| {
            std::fs::read_to_string(dir.join(format!("m{i}.h")))
                .unwrap()
                .contains("_INT_COMPARE 2")
        })
        .count();
    assert!(
        int_compare * 2 > cases.len(),
        "only {int_compare} of {} headers have integer-key tests",
        cases.len()
    );
    if fma {
        configs.push((
            "fma",
            vec!["-std=gnu99", "-O2", "-mfma", "-ffp-contract=fast"],
            vec![linear],
        ));
    } else {
        skipped(
            "generated_c_matches_the_core (fused multiply-add variant only)",
            "this CPU has no FMA",
        );
    }
    let mut jobs: Vec<compile::Job<Built>> = Vec::new();
    for (tag, flags, batches) in &configs {
        for (b, indices) in batches.iter().enumerate() {
            let (cc, dir) = (cc.clone(), dir.clone());
            let (tag, flags, indices) = (*tag, flags.clone(), indices.clone());
            let defines: Vec<String> = if tag == "keys" {
                indices
                    .iter()
                    .map(|i| format!("-DM{i}_INT_COMPARE=1"))
                    .collect()
            } else {
                Vec::new()
            };
            jobs.push(Box::new(move || {
                let src = dir.join(format!("driver_{tag}_{b}.c"));
                std::fs::write(&src, compile::c_driver(&indices)).unwrap();
                let exe = dir.join(format!("driver_{tag}_{b}"));
                compile::run(
                    Command::new(&cc)
                        .current_dir(&dir)
                        .args(&flags)
                        .args(&defines)
                        .args(["-Wall", "-Wextra", "-Werror", "-o"])
                        .arg(&exe)
                        .arg(&src)
                        .arg("-lm"),
                )?;
                Ok((exe.to_string_lossy().into_owned(), indices))
            }));
        }
    }
    // The headers also compile as C++17 (hexadecimal floats), inside `extern "C"`: the hand-built models, which
    // reach every form the generator writes.
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "g++".into());
    let hand_built: Vec<usize> = (0..cases.len())
        .filter(|&i| cases[i].name.starts_with("hand-built/"))
        .collect();
    if Command::new(&cxx)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let dir = dir.clone();
        jobs.push(Box::new(move || {
            let mut src = String::new();
            for i in &hand_built {
                src.push_str(&format!("#include \"m{i}.h\"\n"));
            }
            src.push_str("void all(const float *row, float *out);\nvoid all(const float *row, float *out) {\n");
            for i in &hand_built {
                src.push_str(&format!("    m{i}_predict(row, out);\n    m{i}_predict_margin(row, out);\n"));
            }
            src.push_str("}\n");
            let path = dir.join("all.cpp");
            std::fs::write(&path, src).unwrap();
            compile::run(
                Command::new(&cxx)
                    .current_dir(&dir)
                    .args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"])
                    .arg(&path),
            )?;
            Ok((String::new(), Vec::new()))
        }));
    } else {
        skipped(
            "generated_c_matches_the_core (C++17 check only)",
            "no C++ compiler (set CXX, or install g++)",
        );
    }
    let built = compile::parallel(jobs);
    let compile_secs = t0.elapsed().as_secs_f64();
    let mut failures = Vec::new();
    let (mut runs, mut rows) = (0usize, 0usize);
    // Per (transform, precision): bound, worst distance seen, predictions not bit-identical.
    let mut seen: BTreeMap<String, (u64, u64, usize)> = BTreeMap::new();
    for b in built {
        let (exe, indices) = match b {
            Ok((exe, _)) if exe.is_empty() => continue, // the C++ check: compiled is all it proves
            Ok(v) => v,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let tag = Path::new(&exe)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let outs = compile::run_cases(Path::new(&exe), &dir, &indices, &tag)
            .unwrap_or_else(|e| panic!("{e}"));
        for (&i, got) in indices.iter().zip(outs) {
            let c = &cases[i];
            let m = Model::from_blob(&c.blob).unwrap();
            let bound = c_predict_bound_ulps(&m).unwrap();
            match check(c, &got, bound) {
                Ok((w, n)) if bound > 0 => {
                    let key = format!(
                        "{:?} {}{}",
                        m.transform,
                        if m.wide { "f64" } else { "f32" },
                        if m.n_outputs > 32 { " >32 columns" } else { "" }
                    );
                    let e = seen.entry(key).or_insert((bound, 0, 0));
                    e.1 = e.1.max(w);
                    e.2 += n;
                }
                Ok(_) => {}
                Err(e) => failures.push(format!("[{tag}] {e}")),
            }
            runs += 1;
            rows += c.n_rows();
        }
    }
    println!(
        "C: {} models ({n_files} fixture files + hand-built), {runs} model builds, {rows} rows; compiled in \
         {compile_secs:.1} s; margins bit-identical, predictions bit-identical except through exp:",
        cases.len()
    );
    for (key, (bound, worst, n)) in &seen {
        println!(
            "   {key:<28} {n:>6} predictions not bit-identical, worst {worst} ulp (bound {bound})"
        );
    }
    for f in failures.iter().take(10) {
        println!("FAIL {f}");
    }
    assert!(failures.is_empty(), "{} failures", failures.len());
}

#[test]
fn generated_rust_matches_the_core() {
    let (cases, n_files) = cases();
    let dir = compile::scratch("codegen_rust");
    compile::write_rows(cases, &dir);
    let indices: Vec<usize> = (0..cases.len()).collect();
    compile::write_rust_crate(
        cases,
        &indices,
        &dir,
        IntCompare::Auto,
        std::convert::identity,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let t0 = std::time::Instant::now();
    compile::cargo_build(&dir, &[]).unwrap_or_else(|e| panic!("{e}"));
    let host_secs = t0.elapsed().as_secs_f64();
    let exe = dir.join("target/release/codegen_check");
    let outs = compile::run_cases(&exe, &dir, &indices, "rust").unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    let mut rows = 0;
    for (c, got) in cases.iter().zip(outs) {
        if let Err(e) = check(c, &got, 0) {
            failures.push(e);
        }
        rows += c.n_rows();
    }
    println!(
        "Rust: {} models ({n_files} fixture files + hand-built), {rows} rows, bit-identical margins and \
         predictions required; built in {host_secs:.1} s",
        cases.len()
    );
    for f in failures.iter().take(10) {
        println!("FAIL {f}");
    }
    assert!(failures.is_empty(), "{} failures", failures.len());

    // The size form (`--int-compare always`: the trees test ranks or integer keys of the row) on every model
    // whose tests allow it, bit for bit as well; the others must be refused with a reason.
    let keyed: Vec<usize> = (0..cases.len())
        .filter(|&i| {
            let c = &cases[i];
            match codegen::generate_with(&c.blob, Lang::Rust, "m", &c.name, IntCompare::Always) {
                Ok(_) => true,
                Err(e) => {
                    assert!(
                        e.to_string().contains("--int-compare always"),
                        "{}: {e}",
                        c.name
                    );
                    false
                }
            }
        })
        .collect();
    assert!(
        keyed.len() * 2 > cases.len(),
        "only {} of {} models take the key form",
        keyed.len(),
        cases.len()
    );
    // Ranks (the form `always` selects), then the integer keys it also holds (`RANK_COMPARE` set to false: the
    // default of `auto` on targets without hardware floating point, which this host does not run).
    let variants: [(&str, &str, Edit); 2] = [
        ("codegen_rust_ranks", "rank", std::convert::identity),
        ("codegen_rust_keys", "key", |s: String| {
            assert!(s.contains("const RANK_COMPARE: bool = true;"));
            s.replace(
                "const RANK_COMPARE: bool = true;",
                "const RANK_COMPARE: bool = false;",
            )
        }),
    ];
    for (scratch, form, edit) in variants {
        let dir = compile::scratch(scratch);
        compile::write_rows(cases, &dir);
        compile::write_rust_crate(cases, &keyed, &dir, IntCompare::Always, edit)
            .unwrap_or_else(|e| panic!("{e}"));
        let t0 = std::time::Instant::now();
        compile::cargo_build(&dir, &[]).unwrap_or_else(|e| panic!("{e}"));
        let secs = t0.elapsed().as_secs_f64();
        let exe = dir.join("target/release/codegen_check");
        let outs = compile::run_cases(&exe, &dir, &keyed, &format!("rust-{form}"))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut form_rows = 0;
        for (&i, got) in keyed.iter().zip(outs) {
            if let Err(e) = check(&cases[i], &got, 0) {
                failures.push(format!("{form} form: {e}"));
            }
            form_rows += cases[i].n_rows();
        }
        println!(
            "Rust, {form} form (--int-compare always): {} models, {form_rows} rows, bit-identical; built in {secs:.1} s",
            keyed.len()
        );
    }
    for f in failures.iter().take(10) {
        println!("FAIL {f}");
    }
    assert!(failures.is_empty(), "{} failures", failures.len());

    // no_std: every hand-built model (together they reach every code path of the generator) and every tenth
    // fixture model, as a library for a Cortex-M4F.
    let target = "thumbv7em-none-eabihf";
    if compile::target_installed(target) {
        let dir = compile::scratch("codegen_rust_thumb");
        let subset: Vec<usize> = (0..cases.len())
            .filter(|&i| cases[i].name.starts_with("hand-built/") || i % 10 == 0)
            .collect();
        compile::write_rust_crate(
            cases,
            &subset,
            &dir,
            IntCompare::Auto,
            std::convert::identity,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let t0 = std::time::Instant::now();
        compile::cargo_build(&dir, &["--lib", "--target", target])
            .unwrap_or_else(|e| panic!("{e}"));
        println!(
            "Rust: {} of the modules build as a #![no_std] library for {target} in {:.1} s",
            subset.len(),
            t0.elapsed().as_secs_f64()
        );
    } else {
        skipped(
            "generated_rust_matches_the_core (no_std build)",
            &format!(
                "the Rust standard library for {target} is not installed (rustup target add {target})"
            ),
        );
    }
}

fn emkern(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_emkern"))
        .args(args)
        .output()
        .expect("run emkern")
}

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
        .display()
        .to_string()
}

/// A generated file without its first line (which names the model file it came from).
fn body(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.split_once('\n')
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

#[test]
fn cli_codegen_reads_every_model_format_and_the_blob_alike() {
    let dir = compile::scratch("codegen_cli");
    let model = repo("data/breast_cancer_xgboost.json");
    let blob = dir.join("bc.emk");
    let out = emkern(&["import", &model, "-o", blob.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (lang, ext) in [("c", "h"), ("rust", "rs")] {
        let from_json = dir.join(format!("from_json.{ext}"));
        let from_blob = dir.join(format!("from_blob.{ext}"));
        for (input, file) in [
            (&model, &from_json),
            (&blob.display().to_string(), &from_blob),
        ] {
            let out = emkern(&[
                "codegen",
                input,
                "--lang",
                lang,
                "--name",
                "bc",
                "-o",
                file.to_str().unwrap(),
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            body(&from_json) == body(&from_blob),
            "{lang}: the blob's code differs from the model file's"
        );
        // The C names carry the prefix.
        let text = std::fs::read_to_string(&from_json).unwrap();
        if lang == "c" {
            for name in [
                "bc_predict(",
                "bc_predict_margin(",
                "BC_N_FEATURES 30",
                "BC_N_OUTPUTS 1",
            ] {
                assert!(text.contains(name), "{name} missing");
            }
        } else {
            assert!(text.contains("pub const N_FEATURES: usize = 30;"));
        }
        // --int-compare: `auto` has both forms chosen by the target, `always` the keys, `never` the floats.
        let forms: Vec<String> = ["auto", "always", "never"]
            .iter()
            .map(|form| {
                let file = dir.join(format!("{form}.{ext}"));
                let out = emkern(&[
                    "codegen",
                    &model,
                    "--lang",
                    lang,
                    "--name",
                    "bc",
                    "--int-compare",
                    form,
                    "-o",
                    file.to_str().unwrap(),
                ]);
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                std::fs::read_to_string(&file).unwrap()
            })
            .collect();
        if lang == "c" {
            assert!(forms[0].contains("#if defined(__OPTIMIZE_SIZE__)"));
            assert!(forms[1].contains(
                "#ifndef BC_INT_COMPARE\n#if defined(__OPTIMIZE_SIZE__)\n#define BC_INT_COMPARE 2\n#else\n\
                 #define BC_INT_COMPARE 1\n#endif\n#endif"
            ));
            assert!(forms[0].contains("bc_ranks(") && forms[0].contains("bc_keys("));
            assert!(!forms[2].contains("INT_COMPARE") && !forms[2].contains("kr["));
        } else {
            assert!(
                forms[0].contains("const INT_COMPARE: bool = cfg!(")
                    && forms[0].contains("fn tree_0(")
            );
            assert!(
                forms[1].contains("const INT_COMPARE: bool = true;")
                    && !forms[1].contains("fn tree_0(")
            );
            assert!(forms[1].contains("fn ktree_0(kr: &[i32; N_FEATURES])"));
            assert!(
                forms[1].contains("const RANK_COMPARE: bool = true;")
                    && forms[1].contains("fn rtree_0(br: &[")
            );
            assert!(!forms[0].contains("rtree_") && !forms[2].contains("rtree_"));
            assert!(!forms[2].contains("INT_COMPARE") && !forms[2].contains("ktree_"));
        }
    }
    // A model whose tests cannot be keys (f64 values) is refused `always` with the reason.
    let wide = repo("host-tests/fixtures/sklearn/v1.9.1-random-forest-classifier/model.json");
    let out = emkern(&[
        "codegen",
        &wide,
        "--lang",
        "rust",
        "--int-compare",
        "always",
        "-o",
        dir.join("wide.rs").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--int-compare always") && err.contains("f64"),
        "{err}"
    );
    assert!(!dir.join("wide.rs").exists());
}

#[test]
fn cli_codegen_rejects_names_that_are_not_identifiers() {
    let dir = compile::scratch("codegen_cli_names");
    let model = repo("data/breast_cancer_xgboost.json");
    for (name, why) in [
        ("9lives", "starts with a digit"),
        ("my-model", "has `-`"),
        ("int", "is a C or Rust keyword"),
        ("fn", "is a C or Rust keyword"),
        ("_model", "starts with `_`"),
        ("", "is empty"),
    ] {
        let file = dir.join("out.h");
        let _ = std::fs::remove_file(&file);
        let out = emkern(&[
            "codegen",
            &model,
            "--lang",
            "c",
            "--name",
            name,
            "-o",
            file.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "--name {name:?} accepted");
        assert!(
            err.contains(&format!("--name: name `{name}` {why}")),
            "--name {name:?}: {err}"
        );
        assert!(!file.exists(), "--name {name:?} wrote a file");
    }
}

#[test]
fn train_codegen_writes_the_trained_blob_as_code() {
    let dir = compile::scratch("codegen_train");
    let blob = dir.join("iris.emk");
    let (h, rs) = (dir.join("iris.h"), dir.join("iris.rs"));
    let data = repo("data/iris_train.csv");
    let base = [
        "train",
        "--algo",
        "rf",
        "--n-estimators",
        "3",
        "--max-depth",
        "3",
        "--quiet",
        "--data",
        &data,
        "--target",
        "label",
        "-o",
        blob.to_str().unwrap(),
    ];
    let bad = emkern(&[&base[..], &["--codegen", "cobol", h.to_str().unwrap()]].concat());
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--codegen cobol"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let out = emkern(
        &[
            &base[..],
            &[
                "--codegen",
                "c",
                h.to_str().unwrap(),
                "--codegen",
                "rust",
                rs.to_str().unwrap(),
            ],
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The sources are the code of the blob train wrote (named after its stem).
    for (lang, file) in [("c", &h), ("rust", &rs)] {
        let again = dir.join(format!("again.{lang}"));
        let out = emkern(&[
            "codegen",
            blob.to_str().unwrap(),
            "--lang",
            lang,
            "--name",
            "iris",
            "-o",
            again.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            body(file) == body(&again),
            "{lang}: train --codegen differs from codegen of its blob"
        );
    }
    assert!(
        std::fs::read_to_string(&h)
            .unwrap()
            .contains("iris_predict(")
    );
}
