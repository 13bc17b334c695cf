//! `emkern medusa-tree` and `emkern medusa-accept` on the golden values of `fixtures/medusa/` (made by
//! `generate.py` there, a NumPy re-implementation of Medusa's `generate_medusa_buffers` and deterministic
//! `evaluate_posterior`): outputs compared exactly, and errors that name the flag or file at fault.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use emkern_host::io::npy;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/medusa")
}

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("speculative_cli");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn emkern(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emkern"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn medusa_tree_matches_the_golden_buffers() {
    let sets: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("trees.json")).unwrap())
            .unwrap();
    let sets = sets.as_array().unwrap();
    assert_eq!(sets.len(), 7);
    for set in sets {
        let name = set["name"].as_str().unwrap();
        let out = tmp(&format!("{name}.json"));
        let choices = set["choices"].to_string();
        let topk = set["topk"].to_string();
        let o = emkern(&[
            "medusa-tree",
            "--choices",
            &choices,
            "--topk",
            &topk,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let got: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        for key in [
            "attn_mask",
            "tree_indices",
            "position_ids",
            "retrieve_indices",
        ] {
            assert_eq!(got[key], set[key], "{name}: {key}");
        }
    }
    // The published set by name, to standard output.
    let o = emkern(&["medusa-tree", "--choices", "mc_sim_7b_63"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let got: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(got["retrieve_indices"], sets[0]["retrieve_indices"]);
    assert_eq!(sets[0]["name"], "mc_sim_7b_63");
}

#[test]
fn medusa_tree_errors_name_the_input() {
    let cases: [(&[&str], &str); 7] = [
        (
            &["--choices", "[[0],[0,0,1]]"],
            "--choices: element 1 [0, 0, 1]: its parent [0, 0] is not among",
        ),
        (
            &["--choices", "[[0],[0,10]]"],
            "--choices: element 1 [0, 10] holds 10, not below --topk 10",
        ),
        (
            &["--choices", "[[0],[0,3]]", "--topk", "3"],
            "holds 3, not below --topk 3",
        ),
        (
            &["--choices", "[[0],[1],[0]]"],
            "--choices: element 2 [0] repeats element 0",
        ),
        (
            &["--choices", "[[0],[0,0]]", "--max-depth", "1"],
            "more than --max-depth 1",
        ),
        (
            &["--choices", "[[0],[-1]]"],
            "--choices: element 1 ([-1]) must be a list of integers",
        ),
        (
            &["--choices", "{\"a\":1}"],
            "--choices: expected a JSON list of paths",
        ),
    ];
    for (args, want) in cases {
        let mut all = vec!["medusa-tree"];
        all.extend_from_slice(args);
        let o = emkern(&all);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    let many: Vec<String> = (0..64).map(|i| format!("[{i}]")).collect();
    let text = format!("[{}]", many.join(","));
    let o = emkern(&["medusa-tree", "--choices", &text, "--topk", "100"]);
    assert!(stderr(&o).contains("65 nodes"), "{}", stderr(&o));
}

fn case_json(case: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap()).unwrap()
}

fn accept_args(case: &Path, meta: &Value) -> Vec<String> {
    vec![
        "medusa-accept".into(),
        "--logits".into(),
        case.join("logits.npy").display().to_string(),
        "--candidates".into(),
        case.join("candidates.npy").display().to_string(),
        "--temperature".into(),
        meta["temperature"].to_string(),
        "--posterior-threshold".into(),
        meta["posterior_threshold"].to_string(),
        "--posterior-alpha".into(),
        meta["posterior_alpha"].to_string(),
    ]
}

#[test]
fn medusa_accept_matches_the_golden_decisions() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures().join("accept"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 5);
    let mut f64_seen = false;
    for case in &cases {
        let meta = case_json(case);
        let args = accept_args(case, &meta);
        let o = Command::new(env!("CARGO_BIN_EXE_emkern"))
            .args(&args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}: {}", case.display(), stderr(&o));
        let got: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            got["best_candidate"],
            meta["best_candidate"],
            "{}",
            case.display()
        );
        assert_eq!(
            got["accept_length"],
            meta["accept_length"],
            "{}",
            case.display()
        );
        f64_seen |= npy::read(&case.join("logits.npy")).unwrap().dtype == npy::Dtype::F64;
    }
    assert!(f64_seen, "no f64 logits case");
}

/// Writes `[c, l, vocab]` logits and `[c, l]` int64 candidates.
fn write_inputs(
    name: &str,
    logits: &[f32],
    shape: [usize; 3],
    tokens: &[i64],
) -> (PathBuf, PathBuf) {
    let (l, c) = (tmp(&format!("{name}-l.npy")), tmp(&format!("{name}-c.npy")));
    npy::write_f32(&l, &shape, logits).unwrap();
    // int64 .npy, as NumPy writes candidate tensors.
    let mut header = format!(
        "{{'descr': '<i8', 'fortran_order': False, 'shape': ({}, {}), }}",
        shape[0], shape[1]
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    for t in tokens {
        bytes.extend(t.to_le_bytes());
    }
    std::fs::write(&c, bytes).unwrap();
    (l, c)
}

#[test]
fn medusa_accept_options_and_errors() {
    // Two candidates of 3 tokens over a vocabulary of 4.
    let mut logits = vec![0.0f32; 2 * 3 * 4];
    logits[1] = 3.0; // candidate 0, position 0 favours token 1
    logits[4 + 2] = 3.0; // candidate 0, position 1 favours token 2
    logits[12 + 1] = 3.0; // candidate 1, position 0 favours token 1
    let (l, c) = write_inputs("ok", &logits, [2, 3, 4], &[9, 1, 2, 9, 1, 3]);
    let (ls, cs) = (l.to_str().unwrap(), c.to_str().unwrap());
    let run = |extra: &[&str]| {
        let mut args = vec!["medusa-accept", "--logits", ls, "--candidates", cs];
        args.extend_from_slice(extra);
        emkern(&args)
    };
    let o = run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "{\"best_candidate\": 0, \"accept_length\": 2}"
    );
    // Typical at T = 1: p(favoured) = e³/(e³ + 3) = 0.87; both entropies accept the same tokens here.
    for entropy in ["reference", "exact"] {
        let o = run(&["--temperature", "1", "--entropy", entropy]);
        let got: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            (
                got["best_candidate"].as_u64(),
                got["accept_length"].as_u64()
            ),
            (Some(0), Some(2))
        );
    }
    // A threshold above every probability rejects everything: the reference's fallback (0, 0).
    let o = run(&[
        "--temperature",
        "1",
        "--posterior-threshold",
        "0.95",
        "--posterior-alpha",
        "10",
    ]);
    let got: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (
            got["best_candidate"].as_u64(),
            got["accept_length"].as_u64()
        ),
        (Some(0), Some(0))
    );

    let o = run(&["--temperature=-1"]);
    assert!(
        stderr(&o).contains("--temperature -1: must be finite and non-negative"),
        "{}",
        stderr(&o)
    );
    let o = run(&["--temperature", "1", "--posterior-alpha=-0.5"]);
    assert!(
        stderr(&o).contains("--posterior-alpha -0.5"),
        "{}",
        stderr(&o)
    );

    // Token out of range: names the candidates file and the site.
    let (l2, c2) = write_inputs("range", &logits, [2, 3, 4], &[9, 1, 2, 9, 1, 4]);
    let o = emkern(&[
        "medusa-accept",
        "--logits",
        l2.to_str().unwrap(),
        "--candidates",
        c2.to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert!(
        e.contains(c2.to_str().unwrap()) && e.contains("candidate 1, position 2: token 4"),
        "{e}"
    );
    // Negative token.
    let (l3, c3) = write_inputs("neg", &logits, [2, 3, 4], &[9, 1, 2, 9, -1, 3]);
    let o = emkern(&[
        "medusa-accept",
        "--logits",
        l3.to_str().unwrap(),
        "--candidates",
        c3.to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert!(
        e.contains(c3.to_str().unwrap()) && e.contains("element 4"),
        "{e}"
    );
    // NaN logits: names the logits file and the site.
    let mut bad = logits.clone();
    bad[4 + 3] = f32::NAN;
    let (l4, c4) = write_inputs("nan", &bad, [2, 3, 4], &[9, 1, 2, 9, 1, 3]);
    let o = emkern(&[
        "medusa-accept",
        "--logits",
        l4.to_str().unwrap(),
        "--candidates",
        c4.to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert!(
        e.contains(l4.to_str().unwrap()) && e.contains("candidate 0, position 1"),
        "{e}"
    );
    // Shapes.
    let (l5, _) = write_inputs("shape", &logits, [2, 3, 4], &[0; 6]);
    let (_, c5) = write_inputs("shape2", &logits[..12], [2, 2, 3], &[0; 4]);
    let o = emkern(&[
        "medusa-accept",
        "--logits",
        l5.to_str().unwrap(),
        "--candidates",
        c5.to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert!(
        e.contains(c5.to_str().unwrap()) && e.contains("need [2, 3]"),
        "{e}"
    );
    let flat = tmp("flat-l.npy");
    npy::write_f32(&flat, &[24], &logits).unwrap();
    let o = emkern(&[
        "medusa-accept",
        "--logits",
        flat.to_str().unwrap(),
        "--candidates",
        cs,
    ]);
    let e = stderr(&o);
    assert!(
        e.contains(flat.to_str().unwrap()) && e.contains("[candidates, length, vocab]"),
        "{e}"
    );
}
