//! A model linked once into a C program: `emkern import` (and `emkern train`) with `--c-header` and `--c-source`
//! write a header of declarations and size macros and the one source that defines the blob. Two C files include
//! the header (one loads the model through the C API, the other sizes its buffers with the macros and predicts),
//! compiled with `cc -std=c99 -Wall -Wextra -Werror -pedantic` and linked with the generated source and the C
//! API's static library; the program's predictions of every row must equal `emkern predict`'s on the same CSV.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../../core/ffi/tests/common/c_toolchain.rs"]
mod c_toolchain;
use c_toolchain::{native_libs, static_library};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn emkern(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_emkern"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run emkern")
}

fn ok(out: std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The C compiler, or `None` (the caller prints SKIPPED) on a host without one or without a known list of the
/// system libraries a Rust static library needs.
fn c_compiler() -> Option<String> {
    if native_libs().is_none() {
        eprintln!("SKIPPED c_model_sources: no known native-library list for this host");
        return None;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    if Command::new(&cc).arg("--version").output().is_err() {
        eprintln!("SKIPPED c_model_sources: no C compiler (`{cc}`) on this machine");
        return None;
    }
    Some(cc)
}

/// `load.c`: the model through the C API, by the header's declarations alone.
const LOAD_C: &str = r#"#include <stdint.h>
#include "emkern.h"
#include "NAME_FILE.h"

int load_model(emk_forest *f) {
    if (((uintptr_t)NAME & 7u) != 0) {
        return -1;
    }
    if (sizeof NAME != NAME_UP_LEN) {
        return -2;
    }
    return (int)emk_forest_init(f, NAME, NAME_UP_LEN);
}
"#;

/// `main.c`: buffers sized by the header's macros; reads a CSV (header line, then rows of at least
/// NAME_N_FEATURES numbers), prints each row's prediction with 9 significant digits, and the class names.
const MAIN_C: &str = r#"#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "emkern.h"
#include "NAME_FILE.h"

int load_model(emk_forest *f);

int main(int argc, char **argv) {
    static emk_forest forest;
    float row[NAME_UP_N_FEATURES];
    float out[NAME_UP_OUTPUT_LEN];
    char line[8192];
    FILE *fp;
    int s;
    size_t i;
    if (argc != 2 || (fp = fopen(argv[1], "r")) == NULL) {
        return 2;
    }
    s = load_model(&forest);
    if (s != 0) {
        fprintf(stderr, "load_model: %d\n", s);
        return 1;
    }
    if (emk_forest_n_features(&forest) != NAME_UP_N_FEATURES || emk_forest_output_len(&forest) != NAME_UP_OUTPUT_LEN ||
        emk_forest_n_outputs(&forest) != NAME_UP_N_OUTPUTS) {
        fprintf(stderr, "the header's shape macros differ from the C API's\n");
        return 1;
    }
    if (fgets(line, sizeof line, fp) == NULL) {
        return 2;
    }
    while (fgets(line, sizeof line, fp) != NULL) {
        char *p = line;
        for (i = 0; i < NAME_UP_N_FEATURES; i++) {
            char *end;
            row[i] = strtof(p, &end);
            if (end == p) {
                return 2;
            }
            p = end + (*end == ',');
        }
        s = (int)emk_forest_predict(&forest, row, NAME_UP_N_FEATURES, out, NAME_UP_OUTPUT_LEN);
        if (s != 0) {
            fprintf(stderr, "predict: %s\n", emk_status_str(s));
            return 1;
        }
        for (i = 0; i < NAME_UP_OUTPUT_LEN; i++) {
            printf(i == 0 ? "%.9g" : ",%.9g", (double)out[i]);
        }
        printf("\n");
    }
    fclose(fp);
    CLASS_NAMES
    return 0;
}
"#;

/// Compiles `main.c` and `load.c` (both include `NAME_FILE.h`) with `model.c` and the C API, runs the program
/// on `rows.csv`, and returns its standard output.
fn build_and_run(cc: &str, dir: &Path, name: &str, header: &str, classes: bool) -> String {
    let up = name.to_uppercase();
    let class_lines = if classes {
        format!(
            "for (i = 0; i < {up}_N_CLASSES; i++) {{ printf(\"class %s\\n\", {name}_class_names[i]); }}"
        )
    } else {
        format!("printf(\"classes %u\\n\", (unsigned){up}_N_CLASSES);")
    };
    // CLASS_NAMES first: it contains `NAME`.
    let fill = |t: &str| {
        t.replace("CLASS_NAMES", &class_lines)
            .replace("NAME_FILE", header)
            .replace("NAME_UP", &up)
            .replace("NAME", name)
    };
    std::fs::write(dir.join("main.c"), fill(MAIN_C)).unwrap();
    std::fs::write(dir.join("load.c"), fill(LOAD_C)).unwrap();
    let exe = dir.join("program");
    let objects: Vec<PathBuf> = ["main.c", "load.c", "model.c"]
        .iter()
        .map(|src| {
            let obj = dir.join(src.replace(".c", ".o"));
            let out = Command::new(cc)
                .args([
                    "-std=c99",
                    "-Wall",
                    "-Wextra",
                    "-Werror",
                    "-pedantic",
                    "-O1",
                    "-c",
                    "-I",
                ])
                .arg(repo().join("core/ffi/include"))
                .arg("-I")
                .arg(dir)
                .arg(dir.join(src))
                .arg("-o")
                .arg(&obj)
                .output()
                .expect("run the C compiler");
            assert!(
                out.status.success(),
                "compiling {src} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            obj
        })
        .collect();
    // The blob is one read-only definition (`nm` type R: .rodata), in model.o only.
    if let Ok(nm) = Command::new("nm").arg(dir.join("model.o")).output() {
        let text = String::from_utf8_lossy(&nm.stdout);
        assert!(
            text.lines().any(|l| l.ends_with(&format!(" R {name}"))),
            "`{name}` is not a read-only symbol of model.o:\n{text}"
        );
    }
    let out = Command::new(cc)
        .args(&objects)
        .arg(static_library(&repo()))
        .args(native_libs().unwrap_or_default())
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run the linker");
    assert!(
        out.status.success(),
        "linking failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(
        Command::new(&exe)
            .arg(dir.join("rows.csv"))
            .output()
            .unwrap(),
        "the C program",
    )
}

/// Writes the first `n_features` columns of `csv` (a header line, then rows) to `dir/rows.csv`.
fn feature_rows(csv: &Path, n_features: usize, dir: &Path) {
    let text = std::fs::read_to_string(csv).unwrap();
    let rows: Vec<String> = text
        .lines()
        .map(|l| l.split(',').take(n_features).collect::<Vec<_>>().join(","))
        .collect();
    std::fs::write(dir.join("rows.csv"), rows.join("\n") + "\n").unwrap();
}

/// The prediction lines of the C program equal `emkern predict`'s, value for value (parsed as f32: the same core
/// on the same f32 inputs gives the same bits).
fn assert_same_predictions(c_out: &str, dir: &Path, model: &str) {
    let cli = ok(
        emkern(&["predict", "--model", model, "--input", "rows.csv"], dir),
        "emkern predict",
    );
    let parse = |l: &str| -> Vec<f32> { l.split(',').map(|v| v.parse().unwrap()).collect() };
    let c_rows: Vec<Vec<f32>> = c_out
        .lines()
        .filter(|l| !l.starts_with("class"))
        .map(parse)
        .collect();
    let cli_rows: Vec<Vec<f32>> = cli.lines().map(parse).collect();
    assert!(cli_rows.len() > 20, "{} rows", cli_rows.len());
    assert_eq!(c_rows.len(), cli_rows.len(), "row counts");
    for (r, (c, e)) in c_rows.iter().zip(&cli_rows).enumerate() {
        assert_eq!(c, e, "row {r}: the C program and `emkern predict` differ");
    }
}

#[test]
fn imported_model_links_once_and_predicts_as_the_cli() {
    let Some(cc) = c_compiler() else { return };
    let dir = scratch("c_model_import");
    let model = repo().join("data/breast_cancer_xgboost.json");
    let model = model.to_str().unwrap();
    let report = ok(
        emkern(
            &[
                "import",
                model,
                "-o",
                "m.emk",
                "--c-header",
                "cancer_model.h",
                "--c-source",
                "model.c",
                "--name",
                "cancer",
            ],
            &dir,
        ),
        "emkern import",
    );
    assert!(report.contains("m.emk"), "{report}");
    let header = std::fs::read_to_string(dir.join("cancer_model.h")).unwrap();
    for line in [
        "extern const uint8_t cancer[CANCER_LEN];",
        "#define CANCER_N_FEATURES 30u",
        "#define CANCER_OUTPUT_LEN 1u",
        "#define CANCER_N_CLASSES 0u",
        "extern \"C\" {",
    ] {
        assert!(
            header.contains(line),
            "no `{line}` in the header:\n{header}"
        );
    }
    let blob_len = std::fs::metadata(dir.join("m.emk")).unwrap().len();
    assert!(header.contains(&format!("#define CANCER_LEN {blob_len}u")));
    feature_rows(&repo().join("data/breast_cancer_test.csv"), 30, &dir);
    let out = build_and_run(&cc, &dir, "cancer", "cancer_model", false);
    assert!(out.contains("classes 0"), "{out}");
    assert_same_predictions(&out, &dir, "m.emk");
}

#[test]
fn trained_classifier_links_once_with_its_class_names() {
    let Some(cc) = c_compiler() else { return };
    let dir = scratch("c_model_train");
    // Iris with class names that need escaping in C: a quote, a backslash, `??=` (a trigraph) and UTF-8.
    let names = [
        ("setosa", "se\"to\\sa"),
        ("versicolor", "vérsi??=color"),
        ("virginica", "virginica"),
    ];
    let relabel = |text: String| {
        let mut t = text;
        for (from, to) in names {
            t = t.replace(&format!(",{from}\n"), &format!(",{to}\n"));
        }
        t
    };
    let train = relabel(std::fs::read_to_string(repo().join("data/iris_train.csv")).unwrap());
    std::fs::write(dir.join("train.csv"), train).unwrap();
    let out = emkern(
        &[
            "train",
            "--algo",
            "rf",
            "--n-estimators",
            "8",
            "--seed",
            "3",
            "--data",
            "train.csv",
            "--target",
            "label",
            "--quiet",
            "-o",
            "iris.emk",
            "--c-header",
            "model.h",
            "--c-source",
            "model.c",
        ],
        &dir,
    );
    ok(out, "emkern train");
    feature_rows(&repo().join("data/iris_test.csv"), 4, &dir);
    // Named after the blob's stem (`iris`) when no --name is given.
    let out = build_and_run(&cc, &dir, "iris", "model", true);
    // The names in sorted order (the classes' codes), as the C strings print them.
    let mut want: Vec<&str> = names.iter().map(|(_, to)| *to).collect();
    want.sort();
    let got: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("class "))
        .collect();
    assert_eq!(got, want);
    assert_same_predictions(&out, &dir, "iris.emk");
}

#[test]
fn names_that_are_not_c_identifiers_are_refused() {
    let dir = scratch("c_model_names");
    let model = repo().join("data/breast_cancer_xgboost.json");
    let model = model.to_str().unwrap();
    for (name, why) in [
        ("2fast", "starts with a digit"),
        ("my model", "has ` `"),
        ("int", "keyword"),
        ("_model", "starts with `_`"),
    ] {
        let out = emkern(
            &[
                "import",
                model,
                "-o",
                "m.emk",
                "--c-header",
                "m.h",
                "--c-source",
                "m.c",
                "--name",
                name,
            ],
            &dir,
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "--name {name:?} was accepted");
        assert!(
            err.contains("--name") && err.contains(why),
            "--name {name:?}: {err}"
        );
        assert!(!dir.join("m.emk").exists(), "an output was written");
    }
    // The source includes the header by its file name, which `#include "…"` cannot escape.
    let out = emkern(
        &[
            "import",
            model,
            "-o",
            "m.emk",
            "--c-header",
            "a\"b.h",
            "--c-source",
            "m.c",
        ],
        &dir,
    );
    assert!(
        !out.status.success(),
        "a header name with a quote was accepted"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("without `\"`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // --c-source needs the header it includes.
    let out = emkern(&["import", model, "-o", "m.emk", "--c-source", "m.c"], &dir);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--c-header"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
