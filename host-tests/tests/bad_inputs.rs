//! Hostile input at the `emkern` command line, one table row per case and command: files written to make a
//! new user's mistakes (a byte-order mark, old Mac line endings, a header and no rows, a model declaring millions
//! of empty elements, arrays with a zero dimension, an output path that is an input), and runs whose output cannot
//! be written (a full disk behind standard output, a file size limit, a missing directory).
//!
//! Every run is checked for what a user relies on: no panic (`panicked` never appears on stderr), memory bounded
//! (each run has a 3 GB address-space limit and a time limit), a failing run exits non-zero with a message that
//! names the file (and the line, column or field where one applies), existing files are never replaced by a
//! failing run, and no partial or temporary file is left behind.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use emkern_host::io::npy;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Address-space limit of every run, in KiB (`ulimit -v`): far above what these inputs need, far below what the
/// hostile headers ask for.
const MEMORY_KIB: u64 = 3_000_000;

/// Where standard output goes.
#[derive(Clone, Copy, PartialEq)]
enum Stdout {
    Captured,
    /// `/dev/full`: every write fails with "No space left on device".
    Full,
}

/// What a case must do.
enum Expect {
    /// Exit 0 with stdout holding every string.
    Ok(&'static [&'static str]),
    /// Exit non-zero with stderr holding every string.
    Fail(&'static [&'static str]),
}

struct Case {
    /// `command: what is hostile`.
    name: &'static str,
    /// Files to create in the case's directory (name, bytes).
    files: Vec<(&'static str, Vec<u8>)>,
    args: Vec<&'static str>,
    stdout: Stdout,
    /// `ulimit -f`, if any: in 512-byte blocks (dash) or 1024-byte blocks (bash); every limit here is below the
    /// output in either unit.
    file_blocks: Option<u64>,
    expect: Expect,
    /// Files the run may create or replace; every other file must keep its bytes.
    outputs: &'static [&'static str],
    /// Further checks on the case's directory and the run's stdout.
    check: Option<fn(&Path, &str)>,
}

impl Case {
    fn new(name: &'static str, args: &[&'static str], expect: Expect) -> Case {
        Case {
            name,
            files: Vec::new(),
            args: args.to_vec(),
            stdout: Stdout::Captured,
            file_blocks: None,
            expect,
            outputs: &[],
            check: None,
        }
    }
    fn file(mut self, name: &'static str, bytes: impl Into<Vec<u8>>) -> Case {
        self.files.push((name, bytes.into()));
        self
    }
    fn outputs(mut self, outputs: &'static [&'static str]) -> Case {
        self.outputs = outputs;
        self
    }
    fn stdout_full(mut self) -> Case {
        self.stdout = Stdout::Full;
        self
    }
    fn file_blocks(mut self, blocks: u64) -> Case {
        self.file_blocks = Some(blocks);
        self
    }
    fn check(mut self, check: fn(&Path, &str)) -> Case {
        self.check = Some(check);
        self
    }
}

/// Shared inputs made once: an iris decision tree (`iris.emk`, 4 features, 3 classes) and the bundled files.
fn shared() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad_inputs_shared");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_emkern"))
            .args([
                "train", "--algo", "cart", "--target", "label", "--quiet", "--data",
            ])
            .arg(repo().join("data/iris_train.csv"))
            .arg("-o")
            .arg(dir.join("iris.emk"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        dir
    })
}

fn iris_blob() -> Vec<u8> {
    fs::read(shared().join("iris.emk")).unwrap()
}

fn bundled(name: &str) -> Vec<u8> {
    fs::read(repo().join("data").join(name)).unwrap()
}

/// A `.npy` header with `shape` and no data (every array here has a zero dimension).
fn empty_npy(shape: &[usize]) -> Vec<u8> {
    npy::to_bytes_f32(shape, &[])
}

fn npy_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    npy::to_bytes_f32(shape, values)
}

/// The bytes of a version-1 blob as `core/src/forest/format.rs` lays it out: `n_trees` single-leaf trees, tree
/// `t` adding `leaves[t]` to column `t % n_outputs`, f32 values, and an optional linear table (one entry per
/// leaf: constant 1, one term of `feature` with coefficient 1).
fn blob(
    n_features: u32,
    n_outputs: u32,
    base: &[f32],
    leaves: &[f32],
    linear_feature: Option<u32>,
) -> Vec<u8> {
    let n_trees = leaves.len() as u32;
    let pad = |b: &mut Vec<u8>| {
        while !b.len().is_multiple_of(8) {
            b.push(0);
        }
    };
    let mut b = vec![0u8; 64];
    b[..4].copy_from_slice(b"EMKF");
    b[4..6].copy_from_slice(&1u16.to_le_bytes());
    b[6..8].copy_from_slice(&64u16.to_le_bytes());
    for (at, v) in [
        (16, n_features),
        (20, n_outputs),
        (24, n_trees),
        (28, 0),
        (32, n_trees),
        (36, 1),
        (40, 0),
    ] {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    b[44] = 1; // feature_bytes
    b[45] = 1; // child_bytes
    b[49] = 4; // value_bytes
    b[56..64].copy_from_slice(&1.0f64.to_le_bytes());
    for v in base {
        b.extend(v.to_le_bytes());
    }
    pad(&mut b);
    for t in 0..n_trees {
        for v in [0, t, t % n_outputs] {
            b.extend(v.to_le_bytes());
        }
        b.extend(1.0f32.to_le_bytes());
    }
    pad(&mut b);
    for v in leaves {
        b.extend(v.to_le_bytes());
    }
    pad(&mut b);
    if let Some(feature) = linear_feature {
        for t in 0..n_trees {
            b.extend((32 * t).to_le_bytes());
        }
        pad(&mut b);
        let start = b.len();
        for _ in 0..n_trees {
            b.extend(1u32.to_le_bytes());
            b.extend(0u32.to_le_bytes());
            b.extend(1.0f64.to_le_bytes());
            b.extend(feature.to_le_bytes());
            b.extend(0u32.to_le_bytes());
            b.extend(1.0f64.to_le_bytes());
        }
        let linear_bytes = (b.len() - start) as u32;
        b[52..56].copy_from_slice(&linear_bytes.to_le_bytes());
    }
    let total = b.len() as u32;
    b[8..12].copy_from_slice(&total.to_le_bytes());
    let crc = emkern::forest::crc32(&b[16..]);
    b[12..16].copy_from_slice(&crc.to_le_bytes());
    b
}

/// A UBJSON object of `keys` arrays that each declare 2²⁴ nulls (`[$Z#L…`): under 200 bytes of input.
fn null_arrays(keys: u8) -> Vec<u8> {
    let mut doc = b"{".to_vec();
    for k in 0..keys {
        doc.extend([b'U', 2, b'k', b'a' + k]);
        doc.extend(b"[$Z#L");
        doc.extend((1i64 << 24).to_be_bytes());
    }
    doc.push(b'}');
    doc
}

/// A CSV of `rows` iris-like rows (no header, 4 features).
fn iris_rows(rows: usize) -> Vec<u8> {
    let mut s = String::new();
    for r in 0..rows {
        s += &format!("5.{},3.{},1.{},0.{}\n", r % 10, r % 7, r % 5, r % 3);
    }
    s.into_bytes()
}

fn line_count(stdout: &str) -> usize {
    stdout.lines().count()
}

fn cases() -> Vec<Case> {
    use Expect::{Fail, Ok};
    let xgb = String::from_utf8(bundled("breast_cancer_xgboost.json")).unwrap();
    let mut bom_json = b"\xef\xbb\xbf".to_vec();
    bom_json.extend(xgb.as_bytes());
    let num_class = xgb.replace("\"num_class\":\"0\"", "\"num_class\":\"65536\"");
    assert_ne!(
        num_class, xgb,
        "the bundled model spells num_class as expected"
    );
    let pos: Vec<f32> = (0..1000).map(|p| p as f32).collect();
    vec![
        // ---- import
        Case::new(
            "import: 2^24 nulls declared per array in a 200-byte UBJSON model",
            &["import", "nulls.ubj", "-o", "m.emk"],
            Fail(&["nulls.ubj", "byte 5", "payload-free"]),
        )
        .file("nulls.ubj", null_arrays(10)),
        Case::new(
            "import: XGBoost JSON after a byte-order mark",
            &["import", "bom.json", "-o", "m.emk"],
            Ok(&["XGBoost JSON", "100 trees"]),
        )
        .file("bom.json", bom_json.clone())
        .outputs(&["m.emk"]),
        Case::new(
            "import: binary:logistic with num_class 65536",
            &["import", "nc.json", "-o", "m.emk"],
            Fail(&["nc.json", "learner.learner_model_param.num_class", "65536"]),
        )
        .file("nc.json", num_class),
        Case::new(
            "import: --rust into a missing directory",
            &["import", "bc.json", "-o", "m.emk", "--rust", "missing/m.rs"],
            Fail(&["--rust missing/m.rs", "missing"]),
        )
        .file("bc.json", xgb.clone()),
        Case::new(
            "import: -o is the model",
            &["import", "bc.json", "-o", "./bc.json"],
            Fail(&["--output ./bc.json", "bc.json"]),
        )
        .file("bc.json", xgb.clone()),
        Case::new(
            "import: --c-header is -o",
            &["import", "bc.json", "-o", "m.emk", "--c-header", "m.emk"],
            Fail(&["--c-header m.emk", "--output"]),
        )
        .file("bc.json", xgb.clone())
        .file("m.emk", b"old".to_vec()),
        Case::new(
            "import: the blob hits a file size limit",
            &["import", "bc.json", "-o", "m.emk", "--c-header", "m.h"],
            Fail(&["m.h", "cannot write"]),
        )
        .file("bc.json", xgb.clone())
        .file("m.emk", b"old".to_vec())
        .file_blocks(20),
        // ---- inspect
        Case::new(
            "inspect: standard output is a full disk",
            &["inspect", "iris.emk"],
            Fail(&["writing to standard output", "No space left on device"]),
        )
        .file("iris.emk", iris_blob())
        .stdout_full(),
        Case::new(
            "inspect: a NaN leaf",
            &["inspect", "nan.emk"],
            Fail(&[
                "nan.emk",
                "tree 1, leaf 0",
                "is NaN",
                "leaf values must be finite",
            ]),
        )
        .file("nan.emk", blob(2, 1, &[0.0], &[1.0, f32::NAN], None)),
        Case::new(
            "inspect: an infinite base margin",
            &["inspect", "inf.emk"],
            Fail(&["inf.emk", "base margin of output column 1", "is inf"]),
        )
        .file("inf.emk", blob(2, 2, &[0.0, f32::INFINITY], &[1.0], None)),
        Case::new(
            "inspect: a linear term reading a feature the model does not have",
            &["inspect", "linear.emk"],
            Fail(&[
                "linear.emk",
                "tree 0, leaf 0",
                "linear term 0",
                "reads feature 5",
                "2 features",
            ]),
        )
        .file("linear.emk", blob(2, 1, &[0.0], &[1.0], Some(5))),
        Case::new(
            "inspect: 4096 outputs and 4096 single-leaf trees cost passes × trees",
            &["inspect", "wide.emk"],
            Ok(&[
                "128 passes over the 4096 trees",
                "524288 leaf reads per row",
            ]),
        )
        .file(
            "wide.emk",
            blob(1, 4096, &vec![0.0; 4096], &vec![0.5; 4096], None),
        ),
        Case::new(
            "inspect: class names with terminal escapes",
            &["inspect", "ctrl.emk"],
            Ok(&["classes          a\\u{1b}[31mred, b"]),
        )
        .check(|_, stdout| assert!(!stdout.contains('\u{1b}'), "{stdout}"))
        .file(
            "ctrl.csv",
            "x,label\n1,\"a\u{1b}[31mred\"\n2,b\n3,\"a\u{1b}[31mred\"\n4,b\n",
        )
        .file("ctrl.emk", Vec::new()), // replaced by `prepare`
        // ---- predict
        Case::new(
            "predict: headerless rows after a byte-order mark",
            &["predict", "--model", "iris.emk", "--input", "rows.csv"],
            Ok(&[]),
        )
        .file("iris.emk", iris_blob())
        .file(
            "rows.csv",
            [b"\xef\xbb\xbf".to_vec(), iris_rows(3)].concat(),
        )
        .check(|_, stdout| assert_eq!(line_count(stdout), 3, "{stdout}")),
        Case::new(
            "predict: CR-only line endings",
            &["predict", "--model", "iris.emk", "--input", "rows.csv"],
            Ok(&[]),
        )
        .file("iris.emk", iris_blob())
        .file(
            "rows.csv",
            String::from_utf8(iris_rows(3)).unwrap().replace('\n', "\r"),
        )
        .check(|_, stdout| assert_eq!(line_count(stdout), 3, "{stdout}")),
        Case::new(
            "predict: a header and no rows",
            &["predict", "--model", "iris.emk", "--input", "rows.csv"],
            Fail(&["rows.csv", "no data rows"]),
        )
        .file("iris.emk", iris_blob())
        .file("rows.csv", "a,b,c,d\n"),
        Case::new(
            "predict: a bad cell keeps the old --output",
            &[
                "predict", "--model", "iris.emk", "--input", "rows.csv", "--output", "p.csv",
            ],
            Fail(&["rows.csv:2: column 3", "`x`"]),
        )
        .file("iris.emk", iris_blob())
        .file("rows.csv", "1,2,3,4\n1,2,x,4\n")
        .file("p.csv", "old predictions\n"),
        Case::new(
            "predict: --output is --input",
            &[
                "predict", "--model", "iris.emk", "--input", "rows.csv", "--output", "rows.csv",
            ],
            Fail(&["--output rows.csv is the file that --input rows.csv reads"]),
        )
        .file("iris.emk", iris_blob())
        .file("rows.csv", iris_rows(3)),
        Case::new(
            "predict: --output is --model",
            &[
                "predict", "--model", "iris.emk", "--input", "rows.csv", "--output", "iris.emk",
            ],
            Fail(&["--output iris.emk is the file that --model iris.emk reads"]),
        )
        .file("iris.emk", iris_blob())
        .file("rows.csv", iris_rows(3)),
        Case::new(
            "predict: --output hits a file size limit",
            &[
                "predict", "--model", "iris.emk", "--input", "rows.csv", "--output", "p.csv",
            ],
            Fail(&["p.csv: cannot write", "too large"]),
        )
        .file("iris.emk", iris_blob())
        .file("rows.csv", iris_rows(10_000))
        .file("p.csv", "old predictions\n")
        .file_blocks(40),
        Case::new(
            "predict: --output /dev/stdout streams to the pipe (a device is not replaced)",
            &[
                "predict",
                "--model",
                "iris.emk",
                "--input",
                "rows.csv",
                "--output",
                "/dev/stdout",
            ],
            Ok(&[]),
        )
        .file("iris.emk", iris_blob())
        .file("rows.csv", iris_rows(3))
        .check(|_, stdout| assert_eq!(line_count(stdout), 3, "{stdout}")),
        Case::new(
            "predict: standard output is a full disk",
            &["predict", "--model", "iris.emk", "--input", "rows.csv"],
            Fail(&["writing to standard output"]),
        )
        .file("iris.emk", iris_blob())
        .file("rows.csv", iris_rows(100))
        .stdout_full(),
        // ---- eval
        Case::new(
            "eval: a header and no rows",
            &[
                "eval", "--model", "iris.emk", "--data", "d.csv", "--target", "label",
            ],
            Fail(&["d.csv", "no data rows"]),
        )
        .file("iris.emk", iris_blob())
        .file("d.csv", "a,b,c,d,label\n"),
        Case::new(
            "eval: a byte-order mark before the header",
            &[
                "eval", "--model", "iris.emk", "--data", "d.csv", "--target", "label",
            ],
            Ok(&["accuracy", "(2 rows)"]),
        )
        .file("iris.emk", iris_blob())
        .file(
            "d.csv",
            "\u{feff}label,a,b,c,d\nsetosa,5.1,3.5,1.4,0.2\nvirginica,6.3,3.3,6.0,2.5\n",
        ),
        // ---- train
        Case::new(
            "train: --n-estimators 2^64 - 1",
            &[
                "train",
                "--algo",
                "rf",
                "--data",
                "iris.csv",
                "--target",
                "label",
                "-o",
                "m.emk",
                "--n-estimators",
                "18446744073709551615",
            ],
            Fail(&["--n-estimators 18446744073709551615"]),
        )
        .file("iris.csv", bundled("iris_train.csv")),
        Case::new(
            "train: --threads 100000",
            &[
                "train",
                "--algo",
                "rf",
                "--data",
                "iris.csv",
                "--target",
                "label",
                "-o",
                "m.emk",
                "--threads",
                "100000",
            ],
            Fail(&["--threads 100000"]),
        )
        .file("iris.csv", bundled("iris_train.csv")),
        Case::new(
            "train: one class keeps the existing -o",
            &[
                "train", "--algo", "cart", "--data", "one.csv", "--target", "label", "-o", "m.emk",
            ],
            Fail(&["one.csv: column 2", "one class (`a`)"]),
        )
        .file("one.csv", "x,label\n1,a\n2,a\n3,a\n")
        .file("m.emk", iris_blob()),
        Case::new(
            "train: one row keeps the existing -o",
            &[
                "train",
                "--algo",
                "rf",
                "--data",
                "one.csv",
                "--target",
                "y",
                "--task",
                "regression",
                "-o",
                "m.emk",
            ],
            Fail(&["one.csv", "one data row"]),
        )
        .file("one.csv", "x,y\n1,2.5\n")
        .file("m.emk", iris_blob()),
        Case::new(
            "train: a byte-order mark before the header",
            &[
                "train", "--algo", "cart", "--data", "bom.csv", "--target", "label", "-o", "m.emk",
            ],
            Ok(&["2 classes (0, 1)"]),
        )
        .file("bom.csv", "\u{feff}label,x\n0,1\n1,2\n0,3\n1,4\n")
        .outputs(&["m.emk"]),
        Case::new(
            "train: CR-only line endings",
            &[
                "train", "--algo", "cart", "--data", "cr.csv", "--target", "label", "-o", "m.emk",
            ],
            Ok(&["(4 rows, 1 features)"]),
        )
        .file("cr.csv", "label,x\r0,1\r1,2\r0,3\r1,4\r")
        .outputs(&["m.emk"]),
        Case::new(
            "train: a class name with terminal escapes",
            &[
                "train", "--algo", "cart", "--data", "c.csv", "--target", "label", "-o", "m.emk",
            ],
            Ok(&["2 classes (a\\u{1b}[31mred, b)"]),
        )
        .file(
            "c.csv",
            "x,label\n1,\"a\u{1b}[31mred\"\n2,b\n3,\"a\u{1b}[31mred\"\n4,b\n",
        )
        .outputs(&["m.emk"])
        .check(|_, stdout| assert!(!stdout.contains('\u{1b}'), "{stdout}")),
        Case::new(
            "train: standard output is a full disk keeps the existing -o",
            &[
                "train", "--algo", "cart", "--data", "iris.csv", "--target", "label", "-o", "m.emk",
            ],
            Fail(&["writing to standard output", "No space left on device"]),
        )
        .file("iris.csv", bundled("iris_train.csv"))
        .file("m.emk", b"old".to_vec())
        .stdout_full(),
        Case::new(
            "train: -o is --data",
            &[
                "train", "--algo", "cart", "--data", "iris.csv", "--target", "label", "-o",
                "iris.csv",
            ],
            Fail(&["--output iris.csv is the file that --data iris.csv reads"]),
        )
        .file("iris.csv", bundled("iris_train.csv")),
        Case::new(
            "train: --report is -o",
            &[
                "train", "--algo", "cart", "--data", "iris.csv", "--target", "label", "-o",
                "r.html", "--report", "r.html",
            ],
            Fail(&["--report r.html is the file that --output r.html writes"]),
        )
        .file("iris.csv", bundled("iris_train.csv")),
        Case::new(
            "train: --report into a missing directory writes nothing",
            &[
                "train",
                "--algo",
                "cart",
                "--data",
                "iris.csv",
                "--target",
                "label",
                "-o",
                "m.emk",
                "--report",
                "missing/r.html",
            ],
            Fail(&["--report missing/r.html"]),
        )
        .file("iris.csv", bundled("iris_train.csv")),
        Case::new(
            "train: --xgboost-json into a missing directory writes nothing",
            &[
                "train",
                "--algo",
                "hist-gbdt",
                "--data",
                "iris.csv",
                "--target",
                "label",
                "-o",
                "m.emk",
                "--n-estimators",
                "2",
                "--xgboost-json",
                "missing/m.json",
            ],
            Fail(&["--xgboost-json missing/m.json"]),
        )
        .file("iris.csv", bundled("iris_train.csv")),
        Case::new(
            "train: the blob hits a file size limit",
            &[
                "train",
                "--algo",
                "rf",
                "--data",
                "iris.csv",
                "--target",
                "label",
                "-o",
                "m.emk",
                "--n-estimators",
                "200",
                "--quiet",
            ],
            Fail(&["m.emk: cannot write", "too large"]),
        )
        .file("iris.csv", bundled("iris_train.csv"))
        .file("m.emk", b"old".to_vec())
        .file_blocks(20),
        // ---- attention
        Case::new(
            "attention: Q shaped (1000000, 1000000, 0) with no data",
            &[
                "attention",
                "--q",
                "q.npy",
                "--k",
                "k.npy",
                "--v",
                "v.npy",
                "--out",
                "o.npy",
            ],
            Fail(&["q.npy", "[1000000, 1000000, 0]", "no values"]),
        )
        .file("q.npy", empty_npy(&[1_000_000, 1_000_000, 0]))
        .file("k.npy", empty_npy(&[1_000_000, 1_000_000, 0]))
        .file("v.npy", empty_npy(&[1_000_000, 1_000_000, 0])),
        Case::new(
            "attention: --lse into a missing directory writes no --out",
            &[
                "attention",
                "--q",
                "q.npy",
                "--k",
                "k.npy",
                "--v",
                "v.npy",
                "--out",
                "o.npy",
                "--lse",
                "missing/l.npy",
            ],
            Fail(&["--lse missing/l.npy"]),
        )
        .file("q.npy", npy_f32(&[1, 2, 4], &[0.5; 8]))
        .file("k.npy", npy_f32(&[1, 3, 4], &[0.25; 12]))
        .file("v.npy", npy_f32(&[1, 3, 4], &[1.0; 12])),
        Case::new(
            "attention: --out hits a file size limit and keeps the old file",
            &[
                "attention",
                "--q",
                "q.npy",
                "--k",
                "k.npy",
                "--v",
                "v.npy",
                "--out",
                "o.npy",
            ],
            Fail(&["o.npy: cannot write", "too large"]),
        )
        .file("q.npy", npy_f32(&[2, 64, 64], &[0.5; 8192]))
        .file("k.npy", npy_f32(&[2, 64, 64], &[0.25; 8192]))
        .file("v.npy", npy_f32(&[2, 64, 64], &[1.0; 8192]))
        .file("o.npy", b"old".to_vec())
        .file_blocks(20),
        Case::new(
            "attention: --out is --k",
            &[
                "attention",
                "--q",
                "q.npy",
                "--k",
                "k.npy",
                "--v",
                "v.npy",
                "--out",
                "k.npy",
            ],
            Fail(&["--out k.npy is the file that --k k.npy reads"]),
        )
        .file("q.npy", npy_f32(&[1, 2, 4], &[0.5; 8]))
        .file("k.npy", npy_f32(&[1, 3, 4], &[0.25; 12]))
        .file("v.npy", npy_f32(&[1, 3, 4], &[1.0; 12])),
        Case::new(
            "attention: tile sizes beyond any scratch are clamped to the shapes",
            &[
                "attention",
                "--q",
                "q.npy",
                "--k",
                "k.npy",
                "--v",
                "v.npy",
                "--out",
                "o.npy",
                "--tile-q",
                "4611686018427387904",
                "--tile-kv",
                "4611686018427387904",
            ],
            Ok(&[]),
        )
        .outputs(&["o.npy"])
        .file("q.npy", npy_f32(&[1, 2, 4], &[0.5; 8]))
        .file("k.npy", npy_f32(&[1, 3, 4], &[0.25; 12]))
        .file("v.npy", npy_f32(&[1, 3, 4], &[1.0; 12])),
        // ---- rope
        Case::new(
            "rope: --head-dim 2^30 on x shaped (0, 1000, 2^30)",
            &[
                "rope",
                "--x",
                "x.npy",
                "--positions",
                "p.npy",
                "--head-dim",
                "1073741824",
                "--out",
                "o.npy",
            ],
            Fail(&["x.npy", "[0, 1000, 1073741824]", "no values"]),
        )
        .file("x.npy", empty_npy(&[0, 1000, 1 << 30]))
        .file("p.npy", npy_f32(&[1000], &pos)),
        Case::new(
            "rope: --dump-tables into a missing directory writes no --out",
            &[
                "rope",
                "--x",
                "x.npy",
                "--positions",
                "p.npy",
                "--head-dim",
                "4",
                "--out",
                "o.npy",
                "--dump-tables",
                "missing/t",
            ],
            Fail(&["--dump-tables missing/tcos.npy"]),
        )
        .file("x.npy", npy_f32(&[2, 4], &[1.0; 8]))
        .file("p.npy", npy_f32(&[2], &[0.0, 1.0])),
        // ---- medusa
        Case::new(
            "medusa-accept: logits shaped (0, 4, 10)",
            &[
                "medusa-accept",
                "--logits",
                "l.npy",
                "--candidates",
                "c.npy",
            ],
            Fail(&["l.npy", "no candidates"]),
        )
        .file("l.npy", empty_npy(&[0, 4, 10]))
        .file("c.npy", empty_npy(&[0, 4])),
        Case::new(
            "medusa-tree: standard output is a full disk",
            &["medusa-tree", "--choices", "mc_sim_7b_63"],
            Fail(&["writing to standard output", "No space left on device"]),
        )
        .stdout_full(),
        Case::new(
            "medusa-tree: --out into a missing directory",
            &[
                "medusa-tree",
                "--choices",
                "[[0],[1]]",
                "--out",
                "missing/t.json",
            ],
            Fail(&["--out missing/t.json"]),
        ),
        // ---- bench
        Case::new(
            "bench: --len 10^10",
            &[
                "bench",
                "--len",
                "10000000000",
                "--quick",
                "--primitive",
                "dot",
                "--level",
                "scalar",
            ],
            Fail(&["--len 10000000000"]),
        ),
        Case::new(
            "bench: a model on zero rows",
            &[
                "bench", "--model", "iris.emk", "--input", "rows.csv", "--quick",
            ],
            Fail(&["rows.csv", "no data rows"]),
        )
        .file("iris.emk", iris_blob())
        .file("rows.csv", "a,b,c,d\n"),
    ]
}

/// Makes inputs that need the CLI itself (the class-name model of the `inspect` case).
fn prepare(case: &Case, dir: &Path) {
    if case.name.starts_with("inspect: class names") {
        let out = Command::new(env!("CARGO_BIN_EXE_emkern"))
            .current_dir(dir)
            .args([
                "train", "--algo", "cart", "--data", "ctrl.csv", "--target", "label",
            ])
            .args(["-o", "ctrl.emk", "--quiet"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
}

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            files.insert(
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            );
        }
    }
    files
}

/// Runs one case; returns what went wrong, if anything.
fn run(index: usize, case: &Case) -> Result<(), String> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("bad_inputs")
        .join(format!("case{index:02}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in &case.files {
        fs::write(dir.join(name), bytes).unwrap();
    }
    prepare(case, &dir);
    let before = snapshot(&dir);
    // The limits are set by the shell that then becomes the CLI: address space always, file size on request.
    let mut limits = format!("ulimit -v {MEMORY_KIB}");
    if let Some(blocks) = case.file_blocks {
        limits += &format!(" && ulimit -f {blocks}");
    }
    let mut cmd = Command::new("timeout");
    cmd.current_dir(&dir)
        .env("RUST_BACKTRACE", "0")
        .args([
            "120",
            "sh",
            "-c",
            &format!("{limits} && exec \"$0\" \"$@\""),
        ])
        .arg(env!("CARGO_BIN_EXE_emkern"))
        .args(&case.args)
        .stdin(Stdio::null());
    if case.stdout == Stdout::Full {
        cmd.stdout(
            fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        );
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let shown = format!(
        "exit {:?}\nstdout: {stdout}\nstderr: {stderr}",
        out.status.code()
    );
    if out.status.code() == Some(124) {
        return Err(format!("timed out\n{shown}"));
    }
    if stderr.contains("panicked") || out.status.code().is_none() {
        return Err(format!("panicked or was killed\n{shown}"));
    }
    match &case.expect {
        Expect::Ok(needles) => {
            if !out.status.success() {
                return Err(format!("failed\n{shown}"));
            }
            if let Some(n) = needles.iter().find(|n| !stdout.contains(*n)) {
                return Err(format!("stdout lacks `{n}`\n{shown}"));
            }
        }
        Expect::Fail(needles) => {
            if out.status.success() {
                return Err(format!("succeeded\n{shown}"));
            }
            if !stderr.starts_with("error: ") {
                return Err(format!("no `error:` message\n{shown}"));
            }
            if let Some(n) = needles.iter().find(|n| !stderr.contains(*n)) {
                return Err(format!("stderr lacks `{n}`\n{shown}"));
            }
        }
    }
    let after = snapshot(&dir);
    for (name, bytes) in &before {
        if !case.outputs.contains(&name.as_str()) && after.get(name) != Some(bytes) {
            return Err(format!("{name} was changed or removed\n{shown}"));
        }
    }
    for name in after.keys() {
        if !before.contains_key(name) && !case.outputs.contains(&name.as_str()) {
            return Err(format!("{name} was left behind\n{shown}"));
        }
    }
    if let Some(check) = case.check {
        check(&dir, &stdout);
    }
    Ok(())
}

#[test]
fn hostile_inputs_fail_cleanly_or_work() {
    let cases = cases();
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        if let Err(e) = run(i, case) {
            failures.push(format!("case {i} ({}): {e}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
