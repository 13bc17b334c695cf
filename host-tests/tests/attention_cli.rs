//! `emkern attention` on the NumPy golden cases in `fixtures/attention/` (made by `generate.py` there): each case's
//! flags are passed to the CLI, and its output and log-sum-exp are held against NumPy's float64 reference
//! (max-abs error ≤ 1e-5, normalized mean squared error ≤ 1e-7; for f16/bf16 storage the reference uses the same
//! rounded inputs, so the bounds are the same). Fails if no case is found.

use std::path::{Path, PathBuf};
use std::process::Command;

use emkern_host::io::npy;

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/attention");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|it| {
            it.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("args.txt").exists())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn golden_cases_match_numpy() {
    let cases = cases();
    assert!(!cases.is_empty(), "no golden cases found");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("attention_cli");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let flags: Vec<String> = std::fs::read_to_string(case.join("args.txt"))
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                if l.ends_with(".npy") {
                    case.join(l).display().to_string()
                } else {
                    l.to_string()
                }
            })
            .collect();
        let (out, lse) = (
            tmp.join(format!("{name}-out.npy")),
            tmp.join(format!("{name}-lse.npy")),
        );
        let status = Command::new(env!("CARGO_BIN_EXE_emkern"))
            .arg("attention")
            .args(
                ["--q", "--k", "--v"]
                    .iter()
                    .zip(["q.npy", "k.npy", "v.npy"])
                    .flat_map(|(f, file)| [f.to_string(), case.join(file).display().to_string()]),
            )
            .args(&flags)
            .arg("--out")
            .arg(&out)
            .arg("--lse")
            .arg(&lse)
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let got = npy::read(&out).unwrap();
        let want = npy::read(&case.join("out.npy")).unwrap();
        assert_eq!(got.shape, want.shape, "{name}: output shape");
        let (mut max_abs, mut err2, mut ref2) = (0.0f64, 0.0f64, 0.0f64);
        for (g, w) in got.values.iter().zip(&want.values) {
            let d = (*g as f64 - *w as f64).abs();
            max_abs = max_abs.max(if d.is_nan() { f64::INFINITY } else { d });
            err2 += d * d;
            ref2 += (*w as f64) * (*w as f64);
        }
        let nmse = if ref2 > 0.0 { err2 / ref2 } else { err2 };
        let got_lse = npy::read(&lse).unwrap();
        let want_lse = npy::read(&case.join("lse.npy")).unwrap();
        let lse_ok = got_lse.values.iter().zip(&want_lse.values).all(|(g, w)| {
            (g.is_infinite() && g == w)
                || (*g as f64 - *w as f64).abs() <= 1e-5 * (1.0 + w.abs() as f64)
        });
        let ok = max_abs <= 1e-5 && nmse <= 1e-7 && lse_ok;
        println!(
            "{name:<28} max-abs {max_abs:.2e}  nmse {nmse:.2e}  lse {}  {}",
            if lse_ok { "ok" } else { "MISMATCH" },
            if ok { "ok" } else { "FAIL" }
        );
        if !ok {
            failures.push(name);
        }
    }
    assert!(failures.is_empty(), "mismatching cases: {failures:?}");
}

#[test]
fn bad_inputs_are_reported_with_the_file() {
    let case = &cases()[0];
    let out = Command::new(env!("CARGO_BIN_EXE_emkern"))
        .arg("attention")
        .arg("--q")
        .arg(case.join("q.npy"))
        .arg("--k")
        .arg(case.join("v.npy"))
        .arg("--v")
        .arg(case.join("args.txt"))
        .arg("--out")
        .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("never.npy"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("args.txt"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--out-dtype f16` and `bf16`: the kernel narrows each output once (round to nearest even), so the files hold
/// exactly the f32 output rounded to the narrow type (f16 as `<f2`, bf16 widened back to `<f4`).
#[test]
fn narrow_outputs_are_the_rounded_f32_output() {
    let case = cases().into_iter().next().expect("no golden cases found");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("attention_cli_narrow");
    std::fs::create_dir_all(&tmp).unwrap();
    let run = |dtype: &str| {
        let out = tmp.join(format!("out-{dtype}.npy"));
        let status = Command::new(env!("CARGO_BIN_EXE_emkern"))
            .arg("attention")
            .args(
                ["--q", "--k", "--v"]
                    .iter()
                    .zip(["q.npy", "k.npy", "v.npy"])
                    .flat_map(|(f, file)| [f.to_string(), case.join(file).display().to_string()]),
            )
            .args(["--out-dtype", dtype, "--out"])
            .arg(&out)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "emkern attention --out-dtype {dtype} failed"
        );
        npy::read(&out).unwrap()
    };
    let wide = run("f32");
    let half = run("f16");
    let brain = run("bf16");
    assert_eq!(half.dtype, npy::Dtype::F16);
    assert_eq!(half.shape, wide.shape);
    assert_eq!(brain.shape, wide.shape);
    assert!(!wide.values.is_empty());
    for ((&w, &h), &b) in wide.values.iter().zip(&half.values).zip(&brain.values) {
        assert_eq!(
            h.to_bits(),
            emkern_simd::f16::from_f32(w).to_f32().to_bits(),
            "f16 of {w}"
        );
        assert_eq!(
            b.to_bits(),
            emkern_simd::bf16::from_f32(w).to_f32().to_bits(),
            "bf16 of {w}"
        );
    }
}
