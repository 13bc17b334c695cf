//! `emkern profile` on the four emulated boards: the demo XGBoost model through `--json` on every target
//! (all three engines on the Cortex-M4F), an AdaBoost.R2 model (weighted median, which codegen refuses) on the
//! Cortex-M0, the integer engine on the Cortex-M0, and the errors people get for a bad target or engine, a
//! missing tool or too many rows.
//!
//! What is checked: the JSON keys (exactly the documented ones, in order), the row count, predictions equal to
//! the host's bit for bit (`max_abs_diff == 0`; for generated C, whose transform calls newlib's `expf`, within
//! the bound the generated header states), instruction counts above zero and identical on a second run, the
//! blob engine's model bytes equal to the exported blob, flash = model + runtime, and the ELF sizes the command
//! reads equal to what binutils' `arm-none-eabi-size` reports for the same images.
//!
//! Needs `qemu-system-arm` and the rustup target of each board (and `arm-none-eabi-gcc` with newlib for the C
//! engine): without them a test prints SKIPPED and returns. `scripts/setup.sh` installs them.

#[path = "common/scratch.rs"]
mod scratch;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use emkern_host::export::codegen::{c_predict_bound_ulps, model::Model};
use emkern_host::profile::report::JSON_KEYS;
use scratch::Scratch;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn data(name: &str) -> PathBuf {
    root().join("data").join(name)
}

/// `emkern-profile-<name>-<pid>`, removed when the test passes.
fn scratch(name: &str) -> Scratch {
    Scratch::new(&format!("profile-{name}"))
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Why `triple`'s profile cannot run here (a missing tool), or `None`.
fn missing(triple: &str, c: bool) -> Option<String> {
    if !on_path("qemu-system-arm") {
        return Some("qemu-system-arm not found".into());
    }
    if c && !on_path("arm-none-eabi-gcc") {
        return Some("arm-none-eabi-gcc not found".into());
    }
    let Ok(sysroot) = Command::new("rustc").args(["--print", "sysroot"]).output() else {
        return Some("rustc not found".into());
    };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if !sysroot
        .join("lib/rustlib")
        .join(triple)
        .join("lib")
        .is_dir()
    {
        return Some(format!(
            "rustup target {triple} not installed (rustup target add {triple})"
        ));
    }
    None
}

/// A loud `SKIPPED` line, written past the test harness's capture so that it is seen.
fn skipped(test: &str, why: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("\n*** SKIPPED {test}: {why} ***\n\n").as_bytes());
}

fn skip_unless_ready(test: &str, triple: &str, c: bool) -> bool {
    match missing(triple, c) {
        Some(why) => {
            skipped(test, &why);
            false
        }
        None => true,
    }
}

fn emkern(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emkern"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs `emkern profile --json`, which must succeed; returns the parsed array and the raw text.
fn profile_json(model: &Path, input: &Path, target: &str, engines: &str) -> (Vec<Value>, String) {
    let out = emkern(&[
        "profile",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--target",
        target,
        "--engine",
        engines,
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "emkern profile failed:\n{stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}\nstderr:\n{stderr}"));
    (v.as_array().expect("a JSON array").clone(), text)
}

/// Every object has exactly the documented keys, in the documented order.
fn check_keys(text: &str, items: &[Value]) {
    for item in items {
        let keys: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut want = JSON_KEYS.to_vec();
        want.sort_unstable();
        assert_eq!(keys, want, "keys of {item}");
    }
    let order: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix('"')?
                .split_once("\":")
                .map(|(k, _)| k)
        })
        .take(JSON_KEYS.len())
        .collect();
    assert_eq!(order, JSON_KEYS, "key order");
}

fn engine<'a>(items: &'a [Value], name: &str) -> &'a Value {
    items
        .iter()
        .find(|v| v["engine"] == name)
        .unwrap_or_else(|| panic!("no engine {name}"))
}

/// The figures of an engine that ran: rows, instructions, and flash = model + runtime.
fn check_ran(v: &Value, target: &str, rows: u64) {
    assert_eq!(v["target"], target, "{v}");
    assert_eq!(v["rows"].as_u64(), Some(rows), "{v}");
    let mean = v["instructions_mean"].as_f64().unwrap();
    let max = v["instructions_max"].as_u64().unwrap();
    assert!(mean > 0.0 && mean <= max as f64, "{v}");
    let flash = v["flash_bytes"].as_u64().unwrap();
    let model = v["model_bytes"].as_u64().unwrap();
    let runtime = v["runtime_bytes"].as_u64().unwrap();
    assert!(model > 0 && flash == model + runtime, "{v}");
    assert!(v["ram_bytes"].as_u64().is_some(), "{v}");
    assert!(v["stack_bytes"].as_u64().unwrap() > 0, "{v}");
}

/// The number of data rows of a CSV file with a header.
fn csv_rows(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count() as u64
}

/// `arm-none-eabi-size` (Berkeley format) agrees with the sizes the command reads, for every image it built
/// for `target`.
fn check_sizes_against_binutils(target: &str) {
    if !on_path("arm-none-eabi-size") {
        skipped("the ELF size cross-check", "arm-none-eabi-size not found");
        return;
    }
    let inputs = root().join("target/emkern-profile/inputs");
    let mut checked = 0;
    for entry in std::fs::read_dir(&inputs).unwrap() {
        let dir = entry.unwrap().path();
        let elf = dir.join("firmware.elf");
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with(&format!("{target}-")) || !elf.is_file() {
            continue;
        }
        let ours = emkern_host::profile::elf::read(&elf).unwrap();
        let out = Command::new("arm-none-eabi-size")
            .arg(&elf)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let fields: Vec<u64> = text
            .lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .take(3)
            .map(|f| f.parse().unwrap())
            .collect();
        assert_eq!(
            [ours.text, ours.data, ours.bss],
            fields[..],
            "{}",
            elf.display()
        );
        checked += 1;
    }
    assert!(checked >= 2, "no images of {target} found to check");
}

#[test]
fn cortex_m4f_every_engine_agrees_with_the_host_and_repeats() {
    if !skip_unless_ready("profile on cortex-m4f", "thumbv7em-none-eabihf", true) {
        return;
    }
    let model = data("breast_cancer_xgboost.json");
    let input = data("breast_cancer_test.csv");
    let (items, text) = profile_json(&model, &input, "cortex-m4f", "blob,rust,c");
    check_keys(&text, &items);
    assert_eq!(items.len(), 3);
    let rows = csv_rows(&input);
    let blob = emkern_host::model::load(&model).unwrap().blob;
    for name in ["blob", "rust", "c"] {
        check_ran(engine(&items, name), "cortex-m4f", rows);
    }
    // The blob engine's model part is the blob itself.
    assert_eq!(
        engine(&items, "blob")["model_bytes"].as_u64(),
        Some(blob.len() as u64)
    );
    // Blob and generated Rust: the core's arithmetic on another instruction set, bit for bit.
    assert_eq!(engine(&items, "blob")["max_abs_diff"].as_f64(), Some(0.0));
    assert_eq!(engine(&items, "rust")["max_abs_diff"].as_f64(), Some(0.0));
    // Generated C: its sigmoid calls newlib's expf; the header's bound in ulps, for probabilities (ulp <= 2^-24).
    let ulps = c_predict_bound_ulps(&Model::from_blob(&blob).unwrap()).unwrap();
    let c_diff = engine(&items, "c")["max_abs_diff"].as_f64().unwrap();
    assert!(c_diff <= ulps as f64 * 2f64.powi(-24), "c: {c_diff}");

    // A second run measures the same images again: every figure repeats.
    let (again, _) = profile_json(&model, &input, "cortex-m4f", "blob,rust,c");
    assert_eq!(items, again);

    check_sizes_against_binutils("cortex-m4f");
}

#[test]
fn cortex_m55_runs_the_demo_model_and_the_compact_engines() {
    if !skip_unless_ready("profile on cortex-m55", "thumbv8m.main-none-eabihf", false) {
        return;
    }
    let input = data("breast_cancer_test.csv");
    let (items, text) = profile_json(
        &data("breast_cancer_xgboost.json"),
        &input,
        "cortex-m55",
        "blob,rust,compact,compact-prevalidated",
    );
    check_keys(&text, &items);
    for name in ["blob", "rust", "compact", "compact-prevalidated"] {
        let v = engine(&items, name);
        check_ran(v, "cortex-m55", csv_rows(&input));
        assert_eq!(v["max_abs_diff"].as_f64(), Some(0.0), "{v}");
    }
    // The same compact blob, validated when the firmware is built instead of at start-up: the same model bytes
    // and instructions, less library code (no validation).
    let (full, pre) = (
        engine(&items, "compact"),
        engine(&items, "compact-prevalidated"),
    );
    assert_eq!(full["model_bytes"], pre["model_bytes"]);
    assert_eq!(full["instructions_max"], pre["instructions_max"]);
    let runtime = |v: &Value| v["runtime_bytes"].as_u64().unwrap();
    assert!(
        runtime(pre) + 512 < runtime(full),
        "prevalidated {} vs {}",
        runtime(pre),
        runtime(full)
    );
}

#[test]
fn cortex_m3_runs_rows_without_a_header() {
    if !skip_unless_ready("profile on cortex-m3", "thumbv7m-none-eabi", false) {
        return;
    }
    let input = data("breast_cancer_test.csv");
    let dir = scratch("m3");
    let headerless = dir.join("rows.csv");
    let text = std::fs::read_to_string(&input).unwrap();
    let body: Vec<&str> = text.lines().skip(1).collect();
    std::fs::write(&headerless, body.join("\n")).unwrap();
    let (items, text) = profile_json(
        &data("breast_cancer_xgboost.json"),
        &headerless,
        "cortex-m3",
        "blob",
    );
    check_keys(&text, &items);
    let v = engine(&items, "blob");
    check_ran(v, "cortex-m3", csv_rows(&input));
    assert_eq!(v["max_abs_diff"].as_f64(), Some(0.0), "{v}");
}

#[test]
fn cortex_m0_runs_the_blob_and_reports_what_codegen_refuses() {
    if !skip_unless_ready("profile on cortex-m0plus", "thumbv6m-none-eabi", false) {
        return;
    }
    let input = data("breast_cancer_test.csv");
    let (items, text) = profile_json(
        &data("breast_cancer_xgboost.json"),
        &input,
        "cortex-m0plus",
        "blob",
    );
    check_keys(&text, &items);
    let v = engine(&items, "blob");
    check_ran(v, "cortex-m0plus", csv_rows(&input));
    assert_eq!(v["max_abs_diff"].as_f64(), Some(0.0), "{v}");

    // AdaBoost.R2 (weighted median): the blob engine runs it (the firmware gets the `weighted-median`
    // feature), codegen refuses it, and that engine's figures are null with the reason on stderr.
    let dir = scratch("m0");
    let ada = dir.join("ada.emk");
    let out = emkern(&[
        "train",
        "--algo",
        "adaboost",
        "--task",
        "regression",
        "--n-estimators",
        "10",
        "--data",
        data("diabetes_train.csv").to_str().unwrap(),
        "--target",
        "target",
        "--output",
        ada.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = dir.join("rows.csv");
    let test = std::fs::read_to_string(data("diabetes_test.csv")).unwrap();
    let features: Vec<String> = test
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect();
    std::fs::write(&rows, features.join("\n")).unwrap();
    let out = emkern(&[
        "profile",
        ada.to_str().unwrap(),
        "--input",
        rows.to_str().unwrap(),
        "--target",
        "cortex-m0plus",
        "--engine",
        "rust,blob",
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let items: Vec<Value> = serde_json::from_str(&text).unwrap();
    check_keys(&text, &items);
    assert_eq!(items[0]["engine"], "blob", "report order is blob, rust, c");
    let blob = engine(&items, "blob");
    check_ran(blob, "cortex-m0plus", csv_rows(&data("diabetes_test.csv")));
    assert_eq!(blob["max_abs_diff"].as_f64(), Some(0.0), "{blob}");
    let rust = engine(&items, "rust");
    assert!(
        rust["instructions_mean"].is_null() && rust["flash_bytes"].is_null(),
        "{rust}"
    );
    assert!(
        stderr.contains("engine rust: not run") && stderr.contains("not supported by codegen"),
        "{stderr}"
    );
}

/// The integer engine's predictions of `model` on the Cortex-M0 (no FPU): the firmware's are the host's
/// `IntForest` predictions bit for bit (integer arithmetic on either instruction set), so the reported difference
/// from the host's f32 general layout is exactly the host-side one; the model part is the integer blob. Returns
/// that difference.
fn int_engine_is_the_host_integer_reader(model: &Path, input: &Path) -> f64 {
    let (items, text) = profile_json(model, input, "cortex-m0plus", "int");
    check_keys(&text, &items);
    let v = engine(&items, "int");
    check_ran(v, "cortex-m0plus", csv_rows(input));

    let inputs = emkern_host::profile::inputs::load(model, input).unwrap();
    let bytes = inputs.int_blob.clone().unwrap();
    assert_eq!(v["model_bytes"].as_u64(), Some(bytes.len() as u64), "{v}");
    let words: Vec<u32> = bytes
        .chunks(4)
        .map(|c| c.iter().rev().fold(0u32, |a, b| (a << 8) | u32::from(*b)))
        .collect();
    // SAFETY: the words hold the blob's bytes in order (little-endian host, as every supported test host).
    let aligned = unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), bytes.len()) };
    let forest = emkern::forest::IntForest::new(aligned).unwrap();
    let nf = inputs.n_features;
    let mut host_int = vec![0.0f32; inputs.host.len()];
    let mut bins = vec![0u16; forest.bins_len()];
    for (row, out) in inputs
        .values
        .chunks_exact(nf)
        .zip(host_int.chunks_exact_mut(inputs.output_len))
    {
        forest.predict(row, &mut bins, out).unwrap();
    }
    let want = emkern_host::profile::report::max_abs_diff(&host_int, &inputs.host);
    let got = v["max_abs_diff"].as_f64().unwrap();
    assert_eq!(got, want, "{v}");
    got
}

/// The integer engine on the Cortex-M0 with a sigmoid model: probabilities within the sigmoid's stated error
/// plus a quarter of the margins' difference (small) of the host's general layout.
#[test]
fn cortex_m0plus_int_engine_is_the_host_integer_reader() {
    if !skip_unless_ready(
        "profile --engine int on cortex-m0plus",
        "thumbv6m-none-eabi",
        false,
    ) {
        return;
    }
    let got = int_engine_is_the_host_integer_reader(
        &data("breast_cancer_xgboost.json"),
        &data("breast_cancer_test.csv"),
    );
    assert!(
        got > 0.0 && got <= f64::from(emkern::forest::int::SIGMOID_MAX_ERROR) + 1e-5,
        "{got}"
    );
}

/// The integer engine on the Cortex-M0 with vector leaves and softmax (XGBoost `multi:softprob` with
/// multi-output trees, a version-2 blob, the firmware built with `int-softmax`): probabilities within the
/// softmax's stated error plus half the margins' difference (small) of the host's general layout.
#[test]
fn cortex_m0plus_int_engine_runs_vector_leaves_and_softmax() {
    if !skip_unless_ready(
        "profile --engine int (softmax) on cortex-m0plus",
        "thumbv6m-none-eabi",
        false,
    ) {
        return;
    }
    let dir = root().join("host-tests/fixtures/xgboost/v3.4.1-multi-softprob-vector-leaf");
    let got =
        int_engine_is_the_host_integer_reader(&dir.join("model.json"), &dir.join("input.csv"));
    assert!(
        got <= f64::from(emkern::forest::int::SOFTMAX_MAX_ERROR) + 1e-5,
        "{got}"
    );
}

fn error_of(args: &[&str], envs: &[(&str, &Path)]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_emkern"));
    cmd.args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr
}

#[test]
fn errors_name_the_fix() {
    let model = data("breast_cancer_xgboost.json");
    let input = data("breast_cancer_test.csv");
    let (model, input) = (model.to_str().unwrap(), input.to_str().unwrap());
    let args = |target: &'static str, engines: &'static str| {
        vec![
            "profile", model, "--input", input, "--target", target, "--engine", engines,
        ]
    };
    let e = error_of(&args("cortex-m7", "blob"), &[]);
    assert!(
        e.contains("--target cortex-m7: unknown target")
            && e.contains("cortex-m4f, cortex-m55, cortex-m3, cortex-m0plus"),
        "{e}"
    );
    let e = error_of(&args("cortex-m3", "blob,fast"), &[]);
    assert!(
        e.contains("--engine fast: unknown engine")
            && e.contains("blob, compact, compact-prevalidated, int, rust, c"),
        "{e}"
    );

    // Missing tools, simulated with PATH: an empty directory, then one with QEMU only.
    let dir = scratch("errors");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let e = error_of(&args("cortex-m4f", "blob"), &[("PATH", &bin)]);
    assert!(
        e.contains("qemu-system-arm not found") && e.contains("apt-get install qemu-system-arm"),
        "{e}"
    );
    let e = error_of(
        &args("cortex-m4f", "blob"),
        &[("EMKERN_ROOT", &dir.join("nowhere"))],
    );
    assert!(
        e.contains("needs the emkern source tree") && e.contains("EMKERN_ROOT"),
        "{e}"
    );

    let Some(qemu) = std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join("qemu-system-arm"))
        .find(|p| p.is_file())
    else {
        skipped(
            "the missing-compiler and missing-target errors",
            "qemu-system-arm not found",
        );
        return;
    };
    #[cfg(unix)]
    std::os::unix::fs::symlink(&qemu, bin.join("qemu-system-arm")).unwrap();
    let e = error_of(&args("cortex-m4f", "blob,c"), &[("PATH", &bin)]);
    assert!(
        e.contains("arm-none-eabi-gcc not found")
            && e.contains("apt-get install gcc-arm-none-eabi"),
        "{e}"
    );
    // A Rust without the board's target: a `rustc` whose sysroot has no `thumbv6m-none-eabi`.
    let fake = dir.join("rustc");
    std::fs::write(&fake, format!("#!/bin/sh\necho {}\n", dir.display())).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let e = error_of(&args("cortex-m0plus", "blob"), &[("RUSTC", &fake)]);
    assert!(
        e.contains("thumbv6m-none-eabi is not installed")
            && e.contains("rustup target add thumbv6m-none-eabi"),
        "{e}"
    );

    // More rows than the firmware embeds (checked after the tools).
    if let Some(why) = missing("thumbv7em-none-eabihf", false) {
        skipped("the too-many-rows error", &why);
    } else {
        let many = dir.join("many.csv");
        let text = std::fs::read_to_string(data("breast_cancer_test.csv")).unwrap();
        let mut lines = text.lines();
        let mut out = vec![lines.next().unwrap().to_string()];
        let body: Vec<&str> = lines.collect();
        out.extend(body.iter().cycle().take(1001).map(|l| l.to_string()));
        std::fs::write(&many, out.join("\n")).unwrap();
        let e = error_of(
            &[
                "profile",
                model,
                "--input",
                many.to_str().unwrap(),
                "--target",
                "cortex-m4f",
                "--engine",
                "blob",
            ],
            &[],
        );
        assert!(e.contains("1001 rows") && e.contains("at most 1000"), "{e}");
    }
}

/// The compact engine on the Cortex-M4F: a scikit-learn random-forest classifier (per-class probability
/// leaves: the compact layout's vector leaves), imported with `--f32` as an `.emk`, predicts every row as the
/// host's general reader does, bit for bit, and its model part is the compact blob; the same model in f64 does
/// not fit the compact layout, and the engine says why while the blob engine runs.
#[test]
fn cortex_m4f_compact_engine_agrees_with_the_host() {
    if !skip_unless_ready(
        "compact profile on cortex-m4f",
        "thumbv7em-none-eabihf",
        false,
    ) {
        return;
    }
    let fixture =
        root().join("host-tests/fixtures/sklearn/v1.9.1-random-forest-classifier-multiclass");
    let dir = scratch("compact");
    let blob = dir.join("rf.emk");
    let out = emkern(&[
        "import",
        fixture.join("model.json").to_str().unwrap(),
        "--f32",
        "-o",
        blob.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let input = fixture.join("input.csv");
    let (items, text) = profile_json(&blob, &input, "cortex-m4f", "compact,blob");
    check_keys(&text, &items);
    assert_eq!(
        items[0]["engine"], "blob",
        "report order is blob, compact, rust, c"
    );
    let rows = csv_rows(&input);
    for name in ["blob", "compact"] {
        let v = engine(&items, name);
        check_ran(v, "cortex-m4f", rows);
        assert_eq!(v["max_abs_diff"].as_f64(), Some(0.0), "{v}");
    }
    let general = std::fs::read(&blob).unwrap();
    let compact = emkern_host::export::compact::write_from_blob(&general).unwrap();
    assert_eq!(
        engine(&items, "compact")["model_bytes"].as_u64(),
        Some(compact.len() as u64)
    );

    let out = emkern(&[
        "profile",
        fixture.join("model.json").to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--target",
        "cortex-m4f",
        "--engine",
        "blob,compact",
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let items: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    check_ran(engine(&items, "blob"), "cortex-m4f", rows);
    assert!(engine(&items, "compact")["flash_bytes"].is_null());
    assert!(
        stderr.contains("engine compact: not run")
            && stderr.contains("does not fit the compact layout")
            && stderr.contains("f64"),
        "{stderr}"
    );
}

#[test]
fn inspect_target_measures_the_footprint_of_every_layout() {
    if !skip_unless_ready(
        "inspect --target cortex-m4f",
        "thumbv7em-none-eabihf",
        false,
    ) {
        return;
    }
    let model = root().join("data/breast_cancer_xgboost.json");
    let out = emkern(&["inspect", model.to_str().unwrap(), "--target", "cortex-m4f"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("footprint on cortex-m4f"), "{text}");
    // One measured line per layout the model fits: layout, flash = model + library, RAM, stack, instructions.
    for layout in ["blob", "compact", "int"] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{layout} ")))
            .unwrap_or_else(|| panic!("no {layout} line in:\n{text}"));
        let n: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap_or_else(|_| panic!("{line}")))
            .collect();
        assert_eq!(n.len(), 6, "{line}");
        assert_eq!(n[0], n[1] + n[2], "flash is model + library: {line}");
        assert!(n[1] > 1000 && n[2] > 500, "{line}");
        assert!(n[4] > 0 && n[4] < 4096, "stack measured: {line}");
        assert!(n[5] > 0, "instructions measured: {line}");
    }
    // The general blob's size is the .emk file's.
    let dir = scratch("inspect-footprint");
    let emk = dir.join("model.emk");
    let out = emkern(&[
        "import",
        model.to_str().unwrap(),
        "-o",
        emk.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let blob_len = std::fs::metadata(&emk).unwrap().len();
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("blob ")
            && l.split_whitespace().nth(2) == Some(&blob_len.to_string())),
        "{text}"
    );
    assert!(text.contains("node visits per prediction"), "{text}");
    // The choice is the measured line with the fewest instructions at most (then the least flash).
    let instr_max = |layout: &str| -> u64 {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{layout} ")))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    let fewest = ["blob", "compact", "int"]
        .into_iter()
        .min_by_key(|l| instr_max(l))
        .unwrap();
    assert!(
        text.contains(&format!("choice: {fewest}: the fewest instructions")),
        "{text}"
    );
}
