//! `emkern rope` end to end: `.npy` rows and int64 positions in, rotated rows, inverse frequencies and
//! Hugging Face-shaped cos/sin tables out, checked against the formulas computed here in f64; and the error
//! messages for bad `--config` JSON name the field.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use emkern_host::io::npy;

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rope_cli");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// An int64 `.npy` file, as `np.save(path, np.array(values))` writes it.
fn write_i64(path: &Path, values: &[i64]) {
    let mut header = format!(
        "{{'descr': '<i8', 'fortran_order': False, 'shape': ({},), }}",
        values.len()
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    for v in values {
        bytes.extend(v.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

fn emkern(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emkern"))
        .arg("rope")
        .args(args)
        .output()
        .unwrap()
}

/// Deterministic inputs in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// YaRN inverse frequencies and attention factor from the paper's definitions (truncated range).
fn yarn(base: f64, dim: usize, factor: f64, orig: f64) -> (Vec<f64>, f64) {
    let corr =
        |r: f64| dim as f64 * (orig / (2.0 * std::f64::consts::PI * r)).ln() / (2.0 * base.ln());
    let low = corr(32.0).floor().max(0.0);
    let mut high = corr(1.0).ceil().min(dim as f64 - 1.0);
    if low == high {
        high += 0.001;
    }
    let w = (0..dim / 2)
        .map(|i| {
            let w = base.powf(-(2.0 * i as f64) / dim as f64);
            let ramp = ((i as f64 - low) / (high - low)).clamp(0.0, 1.0);
            w / factor * ramp + w * (1.0 - ramp)
        })
        .collect();
    (w, 0.1 * factor.ln() + 1.0)
}

#[test]
fn yarn_partial_half_split_with_dumps() {
    let (heads, rows, head_dim) = (2usize, 5usize, 12usize);
    let x = values(heads * rows * head_dim, 42);
    let positions = [0i64, 3, 100, 7, 100_000];
    let (xp, pp, out) = (tmp("x.npy"), tmp("p.npy"), tmp("out.npy"));
    npy::write_f32(&xp, &[heads, rows, head_dim], &x).unwrap();
    write_i64(&pp, &positions);
    let (inv, prefix) = (tmp("inv.npy"), tmp("t_").display().to_string());
    let o = emkern(&[
        "--x",
        xp.to_str().unwrap(),
        "--positions",
        pp.to_str().unwrap(),
        "--layout",
        "half-split",
        "--head-dim",
        "12",
        "--partial",
        "0.6666666666666667",
        "--config",
        r#"{"rope_type":"yarn","rope_theta":10000,"factor":4,"original_max_position_embeddings":64}"#,
        "--out",
        out.to_str().unwrap(),
        "--dump-inv-freq",
        inv.to_str().unwrap(),
        "--dump-tables",
        &prefix,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // D = int(12 · 2/3) = 8 rotated, 4 passed through.
    let (w, attention) = yarn(10_000.0, 8, 4.0, 64.0);
    let got_inv = npy::read(&inv).unwrap();
    assert_eq!(got_inv.shape, [4]);
    assert_eq!(got_inv.dtype, npy::Dtype::F64);
    for (g, want) in got_inv.values.iter().zip(&w) {
        assert!((f64::from(*g) - want).abs() <= 1e-7 * want, "{g} vs {want}");
    }
    let (cos, sin) = (
        npy::read(Path::new(&format!("{prefix}cos.npy"))).unwrap(),
        npy::read(Path::new(&format!("{prefix}sin.npy"))).unwrap(),
    );
    assert_eq!(cos.shape, [5, 8]);
    for (r, &p) in positions.iter().enumerate() {
        for j in 0..8 {
            let theta = p as f64 * w[j % 4];
            assert!((f64::from(cos.values[r * 8 + j]) - theta.cos() * attention).abs() <= 2e-7);
            assert!((f64::from(sin.values[r * 8 + j]) - theta.sin() * attention).abs() <= 2e-7);
        }
    }

    let got = npy::read(&out).unwrap();
    assert_eq!(got.shape, [heads, rows, head_dim]);
    for h in 0..heads {
        for (r, &p) in positions.iter().enumerate() {
            let o = (h * rows + r) * head_dim;
            for i in 0..4 {
                let theta = p as f64 * w[i];
                let (c, s) = (theta.cos() * attention, theta.sin() * attention);
                let (a, b) = (f64::from(x[o + i]), f64::from(x[o + 4 + i]));
                assert!((f64::from(got.values[o + i]) - (a * c - b * s)).abs() <= 1e-6);
                assert!((f64::from(got.values[o + 4 + i]) - (a * s + b * c)).abs() <= 1e-6);
            }
            assert_eq!(&got.values[o + 8..o + 12], &x[o + 8..o + 12]);
        }
    }
    assert!(String::from_utf8_lossy(&o.stdout).contains("rotary dim 8 of 12"));
}

#[test]
fn interleaved_f16_and_inverse() {
    let (rows, head_dim) = (4usize, 8usize);
    let x = values(rows * head_dim, 7);
    let positions = [5i64, 1, 9, 1];
    let (xp, pp, out, back) = (
        tmp("x2.npy"),
        tmp("p2.npy"),
        tmp("out2.npy"),
        tmp("back2.npy"),
    );
    npy::write_f32(&xp, &[rows, head_dim], &x).unwrap();
    write_i64(&pp, &positions);
    let config = r#"{"rope_type":"linear","rope_theta":500000,"factor":2.0}"#;
    let o = emkern(&[
        "--x",
        xp.to_str().unwrap(),
        "--positions",
        pp.to_str().unwrap(),
        "--layout",
        "interleaved",
        "--head-dim",
        "8",
        "--config",
        config,
        "--dtype",
        "f16",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = npy::read(&out).unwrap();
    assert_eq!(got.shape, [1, rows, head_dim]);
    let rounded: Vec<f64> = x
        .iter()
        .map(|&v| f64::from(emkern_simd::f16::from_f32(v).to_f32()))
        .collect();
    for (r, &p) in positions.iter().enumerate() {
        for i in 0..4 {
            let w = 500_000f64.powf(-(2.0 * i as f64) / 8.0) / 2.0;
            let (s, c) = (p as f64 * w).sin_cos();
            let o = r * head_dim;
            let (a, b) = (rounded[o + 2 * i], rounded[o + 2 * i + 1]);
            // f16 output: half an f16 ulp (2^-11 relative) plus the f32 work.
            let tol = 1e-3 * (a.abs() + b.abs()) + 1e-6;
            assert!((f64::from(got.values[o + 2 * i]) - (a * c - b * s)).abs() <= tol);
            assert!((f64::from(got.values[o + 2 * i + 1]) - (a * s + b * c)).abs() <= tol);
        }
    }
    // --inverse undoes the rotation (f32 storage).
    let o = emkern(&[
        "--x",
        out.to_str().unwrap(),
        "--positions",
        pp.to_str().unwrap(),
        "--layout",
        "interleaved",
        "--head-dim",
        "8",
        "--config",
        config,
        "--inverse",
        "--out",
        back.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let back = npy::read(&back).unwrap();
    for (g, want) in back.values.iter().zip(&rounded) {
        assert!((f64::from(*g) - want).abs() <= 2e-3 * want.abs().max(0.01));
    }
}

#[test]
fn hf_f32_mode_reproduces_pytorch_tables() {
    let positions = [0i64, 1, 70_000, 131_072];
    let (xp, pp, out, inv, prefix) = (
        tmp("x3.npy"),
        tmp("p3.npy"),
        tmp("out3.npy"),
        tmp("inv3.npy"),
        tmp("t3_").display().to_string(),
    );
    npy::write_f32(&xp, &[4, 4], &values(16, 3)).unwrap();
    write_i64(&pp, &positions);
    let o = emkern(&[
        "--x",
        xp.to_str().unwrap(),
        "--positions",
        pp.to_str().unwrap(),
        "--head-dim",
        "4",
        "--hf-f32",
        "--out",
        out.to_str().unwrap(),
        "--dump-inv-freq",
        inv.to_str().unwrap(),
        "--dump-tables",
        &prefix,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // torch: inv_freq = 1 / 10000 ** (arange(0, 4, 2).float() / 4) = [1, 0.01] in f32; freqs = p.float() * w.
    let inv = npy::read(&inv).unwrap();
    assert_eq!(inv.dtype, npy::Dtype::F32);
    assert_eq!(inv.values, [1.0, 0.01f32]);
    let cos = npy::read(Path::new(&format!("{prefix}cos.npy"))).unwrap();
    for (r, &p) in positions.iter().enumerate() {
        for (j, w) in [1.0f32, 0.01, 1.0, 0.01].iter().enumerate() {
            let theta = p as f32 * w;
            assert_eq!(cos.values[r * 4 + j], f64::from(theta).cos() as f32);
        }
    }
    // At 131072 the f32 angle (exact product of 2^17 and fl32(0.01)) is off from 1310.72 by 2.9e-5.
    let exact = (131_072.0 * 0.01f64).cos();
    let off = (f64::from(cos.values[3 * 4 + 1]) - exact).abs();
    assert!((1e-5..3e-5).contains(&off), "{off:e}");
}

#[test]
fn bad_config_errors_name_the_field() {
    let (xp, pp) = (tmp("x4.npy"), tmp("p4.npy"));
    npy::write_f32(&xp, &[2, 4], &values(8, 5)).unwrap();
    write_i64(&pp, &[0, 1]);
    let out = tmp("out4.npy");
    let run = |config: &str, extra: &[&str]| {
        let mut args = vec![
            "--x",
            xp.to_str().unwrap(),
            "--positions",
            pp.to_str().unwrap(),
            "--head-dim",
            "4",
            "--out",
            out.to_str().unwrap(),
            "--config",
            config,
        ];
        args.extend_from_slice(extra);
        let o = emkern(&args);
        assert!(!o.status.success(), "{config} should fail");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    assert!(
        run(
            r#"{"rope_type":"yarn","factor":"four","original_max_position_embeddings":64}"#,
            &[]
        )
        .contains("`factor`: expected a number, got \"four\"")
    );
    assert!(
        run(r#"{"rope_type":"yarn","factor":4}"#, &[])
            .contains("`original_max_position_embeddings` is required")
    );
    assert!(run(r#"{"rope_type":"linear","factr":4}"#, &[]).contains("unknown field `factr`"));
    assert!(run(r#"{"rope_type":"linear"}"#, &[]).contains("`factor` is required"));
    assert!(run(r#"{"rope_type":"linear","factor":-2}"#, &[]).contains("`factor` is out of range"));
    assert!(
        run(r#"{"rope_type":"dynamic","factor":2}"#, &[])
            .contains("`max_position_embeddings` is required")
    );
    assert!(run(r#"{"rope_type":"wavy"}"#, &[]).contains("unknown \"wavy\""));
    assert!(
        run(
            r#"{"rope_type":"longrope","short_factor":[1,1],"long_factor":[1],"original_max_position_embeddings":2}"#,
            &[]
        )
        .contains("`long_factor` has 1 entries, expected 2")
    );
    assert!(run("{", &[]).contains("not valid JSON"));
    let msg = run("{}", &["--partial", "0.75"]);
    assert!(msg.contains("rotary dimension 3 is odd"), "{msg}");
}
