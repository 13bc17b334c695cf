//! What `emkern train` writes for every algorithm family (cart/forests, AdaBoost/gradient boosting, histogram
//! boosting): the `.emk` blob with a classifier's class names, and the `--rust` / `--c-header` sources, which
//! must hold the blob byte for byte.

use std::path::{Path, PathBuf};
use std::process::Command;

use emkern::forest::Forest;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("train_outputs");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn emkern(args: &[&str], paths: &[&Path]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_emkern"))
        .current_dir(repo())
        .args(args)
        .args(paths)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The bytes of the array literal in a generated source: every `0x..` token after `marker`, and the array
/// length the source declares (the number after `size_marker`, up to a non-digit).
fn parse_source(text: &str, marker: &str, size_marker: &str) -> (Vec<u8>, usize) {
    let body = &text[text.find(marker).expect("array start") + marker.len()..];
    let bytes = body
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter_map(|t| t.strip_prefix("0x"))
        .map(|h| u8::from_str_radix(h, 16).expect("hex byte"))
        .collect();
    let after = &text[text.find(size_marker).expect("size") + size_marker.len()..];
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    (bytes, digits.parse().expect("declared size"))
}

#[test]
fn every_algorithm_writes_class_names_and_sources_that_hold_the_blob() {
    let cases: [(&str, &[&str], &str, &[&str]); 4] = [
        (
            "iris_cart",
            &["--algo", "cart", "--max-depth", "3"],
            "data/iris_train.csv",
            &["setosa", "versicolor", "virginica"],
        ),
        (
            "iris_gbdt",
            &["--algo", "gbdt", "--n-estimators", "5"],
            "data/iris_train.csv",
            &["setosa", "versicolor", "virginica"],
        ),
        (
            "wine_hist",
            &["--algo", "hist-gbdt", "--n-estimators", "4"],
            "data/wine_train.csv",
            &["0", "1", "2"],
        ),
        (
            "diabetes_rf",
            &["--algo", "rf", "--n-estimators", "3"],
            "data/diabetes_train.csv",
            &[],
        ),
    ];
    for (name, algo, data, classes) in cases {
        let blob = scratch(&format!("{name}.emk"));
        let rust = scratch(&format!("{name}.rs"));
        let header = scratch(&format!("{name}.h"));
        let target = if data.contains("diabetes") {
            "target"
        } else {
            "label"
        };
        let mut args = vec!["train", "--data", data, "--target", target, "--quiet"];
        args.extend(algo);
        emkern(
            &[args.as_slice(), &["--rust"]].concat(),
            &[
                &rust,
                Path::new("--c-header"),
                &header,
                Path::new("-o"),
                &blob,
            ],
        );
        let bytes = std::fs::read(&blob).unwrap();
        let f = Forest::new(&bytes).unwrap();
        assert_eq!(f.class_names().collect::<Vec<_>>(), classes, "{name}");
        // Classifiers' blobs are version 2 (with names); the regression blob stays version 1.
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        assert_eq!(version, if classes.is_empty() { 1 } else { 2 }, "{name}");

        let up = name.to_uppercase();
        let text = std::fs::read_to_string(&rust).unwrap();
        assert!(
            text.contains(&format!("pub static {up}_BYTES: &[u8]")),
            "{text}"
        );
        assert!(text.contains("emkern train --algo"), "{}", &text[..200]);
        let (from_rust, declared) = parse_source(&text, &format!("pub static {up}:"), "[u8; ");
        assert_eq!(
            declared,
            bytes.len(),
            "{name}: declared length in the Rust source"
        );
        assert_eq!(from_rust, bytes, "{name}: Rust source bytes");

        let text = std::fs::read_to_string(&header).unwrap();
        let (from_c, declared) = parse_source(
            &text,
            &format!("static const uint8_t {name}[{up}_SIZE] = {{"),
            &format!("#define {up}_SIZE "),
        );
        assert_eq!(
            declared,
            bytes.len(),
            "{name}: declared size in the C header"
        );
        assert_eq!(from_c, bytes, "{name}: C header bytes");
    }
}

/// eval finds the class names in the blob: string labels without --classes, the same numbers as with them, and
/// --classes that contradict the stored names are refused.
#[test]
fn eval_uses_the_stored_class_names() {
    let blob = scratch("iris_for_eval.emk");
    emkern(
        &[
            "train",
            "--algo",
            "extra-trees",
            "--n-estimators",
            "10",
            "--data",
            "data/iris_train.csv",
            "--target",
            "label",
            "--quiet",
            "-o",
        ],
        &[&blob],
    );
    let eval = |extra: &[&str]| {
        let mut args = vec!["eval", "--data", "data/iris_test.csv", "--target", "label"];
        args.extend(extra);
        Command::new(env!("CARGO_BIN_EXE_emkern"))
            .current_dir(repo())
            .args(args)
            .arg("--model")
            .arg(&blob)
            .output()
            .unwrap()
    };
    let stored = eval(&[]);
    assert!(stored.status.success(), "{stored:?}");
    let given = eval(&["--classes", "setosa,versicolor,virginica"]);
    assert!(given.status.success());
    assert_eq!(stored.stdout, given.stdout);
    let text = String::from_utf8_lossy(&stored.stdout);
    assert!(
        text.contains("accuracy") && text.contains("log-loss"),
        "{text}"
    );
    let wrong = eval(&["--classes", "setosa,virginica,versicolor"]);
    assert!(!wrong.status.success());
    let e = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        e.contains("differ from the class names stored")
            && e.contains("setosa, versicolor, virginica"),
        "{e}"
    );
    let short = eval(&["--classes", "setosa,versicolor"]);
    assert!(!short.status.success());
}
