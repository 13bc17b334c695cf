//! LightGBM fixtures: every directory under `fixtures/lightgbm/` holds a model saved by LightGBM (`model.txt`),
//! rows (`input.csv`, a header line, an empty cell for a missing value) and LightGBM's own outputs for them
//! (`margin.csv` = `predict(raw_score=True)`, `pred.csv` = `predict()`), plus `meta.json` describing how they were
//! made. Each model is imported, checked against LightGBM with the IR's f64 reference evaluator, exported as a
//! blob, loaded by the no_std core and checked again row by row.
//!
//! `EMKERN_LIGHTGBM_FIXTURES` overrides the fixture directory.

#[path = "common/proptest_config.rs"]
mod proptest_config;
use std::path::{Path, PathBuf};

use emkern::forest::Forest;
use emkern_host::export::blob;
use emkern_host::import::lightgbm;
use emkern_host::ir::{
    Aggregate, Compare, Ensemble, LinearLeaf, MissingMode, Node, Precision, Test, Transform,
};
mod common;

use common::fixtures::{ABS, Outcome, REL, check_fixture, close, run_all};
use proptest::prelude::*;
use proptest_config::proptest_config;

/// LightGBM's `sigmoid:` objective parameter, which the importer folds into the leaves (so the exported margin is
/// σ times LightGBM's raw score).
fn sigmoid_scale(model_text: &str) -> f64 {
    model_text
        .lines()
        .find_map(|l| l.strip_prefix("objective="))
        .and_then(|o| {
            o.split_ascii_whitespace()
                .find_map(|t| t.strip_prefix("sigmoid:"))
        })
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

/// What LightGBM's raw score becomes in the IR's margin: scaled by a folded sigmoid parameter, and divided by the
/// number of iterations in random-forest mode (LightGBM's raw score is the undivided sum there).
fn margin_factor(e: &Ensemble, model_text: &str) -> f64 {
    let div = match e.aggregate {
        Aggregate::Mean { divisor } => divisor,
        _ => 1.0, // LightGBM sums (or averages): never a weighted median
    };
    sigmoid_scale(model_text) / div
}

fn run_fixture(dir: &Path) -> Result<Outcome, String> {
    let model_path = dir.join("model.txt");
    let model_text = std::fs::read_to_string(&model_path)
        .map_err(|e| format!("{}: {e}", model_path.display()))?;
    let ensemble = lightgbm::load(&model_path).map_err(|e| format!("import: {e}"))?;
    check_fixture(
        "LightGBM",
        dir,
        &ensemble,
        margin_factor(&ensemble, &model_text),
    )
}

fn fixture_root() -> PathBuf {
    match std::env::var_os("EMKERN_LIGHTGBM_FIXTURES") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/lightgbm"),
    }
}

#[test]
fn lightgbm_fixtures_match_lightgbm() {
    run_all("LightGBM", &fixture_root(), "model.txt", run_fixture);
}

/// A small binary model with a categorical split and `NaN`/`None` missing types (LightGBM 4.7, trimmed of the
/// statistics the importer ignores, and of `tree_sizes`, whose byte counts no longer hold).
const SMALL_BINARY: &str = "\
tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=2
objective=binary sigmoid:1
feature_names=Column_0 Column_1 Column_2

Tree=0
num_leaves=4
num_cat=1
split_feature=2 1 0
split_gain=6.25813 3.97549 4.23826
threshold=-0.13862115144729611 -0.47402492165565485 0
decision_type=8 10 9
left_child=1 -1 -3
right_child=-2 2 -4
leaf_value=-0.060262468617230641 -0.076289837019075657 -0.075493600925223919 0.020985297608651511
leaf_count=49 184 26 41
internal_value=-0.053346 -0.0169523 0.0147223
cat_boundaries=0 1
cat_threshold=10
is_linear=0
shrinkage=1


Tree=1
num_leaves=4
num_cat=0
split_feature=2 1 2
split_gain=5.47808 4.57257 4.02986
threshold=-0.019052674062550064 0.93328043818473827 0.6574372947216035
decision_type=8 10 8
left_child=1 -1 -2
right_child=2 -3 -4
leaf_value=0.015754799193361074 -0.066155090509589121 0.11988755382460084 -0.0010719228497084064
leaf_count=108 57 20 115
internal_value=0.000695498 0.0320326 -0.0226402
is_linear=0
shrinkage=0.1


end of trees
";

/// A small three-class model with linear leaves (LightGBM 4.7 `linear_tree`, trimmed like [`SMALL_BINARY`]).
const SMALL_LINEAR_MULTICLASS: &str = "\
tree
version=v4
num_class=3
num_tree_per_iteration=3
label_index=0
max_feature_idx=1
objective=multiclass num_class:3
feature_names=Column_0 Column_1

Tree=0
num_leaves=3
num_cat=0
split_feature=0 1
split_gain=110.167 89.8326
threshold=1.0000000180025095e-35 0.48383407294750219
decision_type=10 10
left_child=1 -1
right_child=-2 -3
leaf_value=-0.79214542444435421 -1.0751109090702684 -1.0751109090702684
leaf_count=114 142 44
internal_value=-0.967584 -0.870946
is_linear=1
leaf_const=-0.79214542444435421 -1.0751109090702684 -1.0751109090702684
num_features=0 0 0
leaf_features=   
leaf_coeff=   
shrinkage=1


Tree=1
num_leaves=3
num_cat=0
split_feature=0 1
split_gain=42.2178 77.8331
threshold=0.036300923675298698 0.48383407294750219
decision_type=10 10
left_child=1 -1
right_child=-2 -3
leaf_value=-0.85004598777567231 -0.65422328047808131 -0.60022294275438182
leaf_count=114 139 47
internal_value=-0.720176 -0.777116
is_linear=1
leaf_const=-0.85004598777567231 -0.65422328047808131 -0.60022294275438182
num_features=0 0 0
leaf_features=   
leaf_coeff=   
shrinkage=1


Tree=2
num_leaves=3
num_cat=0
split_feature=1 0
split_gain=77.8281 116.543
threshold=0.48383407294750219 -1.0000000180025095e-35
decision_type=10 10
left_child=-1 -2
right_child=1 -3
leaf_value=-2.0918261020944007 -2.0918261020944007 -1.5289743068271227
leaf_count=215 44 41
internal_value=-2.0149 -1.82033
is_linear=1
leaf_const=-2.0918261020944007 -2.0918261020944007 -1.5289743068271227
num_features=0 0 0
leaf_features=   
leaf_coeff=   
shrinkage=1


Tree=3
num_leaves=3
num_cat=0
split_feature=0 1
split_gain=88.2652 67.3979
threshold=1.0000000180025095e-35 0.48383407294750219
decision_type=10 10
left_child=1 -1
right_child=-2 -3
leaf_value=0.1477575062184065 -0.10075757879159075 -0.10051422210274373
leaf_count=114 142 44
internal_value=0 0.0836452
is_linear=1
leaf_const=0.14775750621840644 -0.1001904865972453 -0.10051422210274374
num_features=2 1 1
leaf_features=0 1  0  0  
leaf_coeff=-8.881784197001253e-17 2.2204460492503132e-17  -0.0007263919521557139  -4.4408920985006264e-17  
shrinkage=0.1


Tree=4
num_leaves=3
num_cat=0
split_feature=0 1
split_gain=32.7332 63.7558
threshold=0.036300923675298698 0.53065073490142833
decision_type=10 10
left_child=-1 -2
right_child=1 -3
leaf_value=-0.050323789819891607 0.12389972990683081 -0.12877289176025938
leaf_count=161 103 36
internal_value=0 0.0583697
is_linear=1
leaf_const=-0.033136593375146295 0.11358181668040186 -0.12877289176025927
num_features=1 2 1
leaf_features=0  0 1  1  
leaf_coeff=0.01819599807034419  0.0073593152400709631 -0.0071165041135389691  -8.881784197001253e-17  
shrinkage=0.1


Tree=5
num_leaves=3
num_cat=0
split_feature=1 0
split_gain=61.5173 65.1693
threshold=0.48383407294750219 1.0000000180025095e-35
decision_type=10 10
left_child=-1 -2
right_child=1 -3
leaf_value=-0.076115568387389879 -0.075915246278552617 0.32201244964136916
leaf_count=215 44 41
internal_value=0 0.156021
is_linear=1
leaf_const=-0.076119635352937365 -0.075915246278552673 0.29817512905876281
num_features=1 2 2
leaf_features=1  0 1  0 1  
leaf_coeff=-3.6208213167854278e-06  -2.2204460492503132e-17 4.4408920985006264e-17  -0.0047778860851197535 0.024655844210208323  
shrinkage=0.1


end of trees
";

/// Rows that reach every kind of branch: missing values, zeros, tiny values, negatives, fractional and
/// out-of-range categories.
const PROBE_ROWS: [[f32; 3]; 8] = [
    [f32::NAN, f32::NAN, f32::NAN],
    [0.0, 0.0, 0.0],
    [1.0, -0.5, 0.7],
    [-0.5, 1e-36, -1e-36],
    [3.0, 2.0, -2.0],
    [5.9, -1.0, 0.02],
    [-3.0, 0.5, 1.5],
    [1e9, f32::NAN, -0.1],
];

/// A model that imported must export, load in the core, and agree with the IR's reference evaluator.
fn check_consistent(e: &Ensemble) -> Result<(), String> {
    if e.n_features > 64 {
        return Ok(()); // not worth probing with rows this wide
    }
    let Ok(bytes) = blob::write(e) else {
        return Ok(()); // the exporter may refuse what the IR allows (its own errors are tested elsewhere)
    };
    let forest = Forest::new(&bytes).map_err(|err| format!("exported blob rejected: {err:?}"))?;
    let mut m = vec![0f32; e.n_outputs as usize];
    for probe in PROBE_ROWS {
        let row: Vec<f32> = (0..e.n_features as usize).map(|i| probe[i % 3]).collect();
        let want = e.margin_reference(&row);
        forest
            .predict_margin(&row, &mut m)
            .map_err(|err| format!("{err:?}"))?;
        for (k, (&got, &want)) in m.iter().zip(&want).enumerate() {
            if want.is_finite() && want.abs() < 1e30 && !close(got as f64, want, REL, ABS) {
                return Err(format!("row {row:?}, margin {k}: core {got} vs IR {want}"));
            }
        }
    }
    Ok(())
}

fn line_of(text: &str, prefix: &str, nth: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with(prefix))
        .nth(nth)
        .map(|(i, _)| i + 1)
        .unwrap_or(0)
}

#[test]
fn small_models_import_with_lightgbm_semantics() {
    let e = lightgbm::from_str(SMALL_BINARY, "binary.txt").unwrap();
    assert_eq!((e.n_features, e.n_outputs, e.trees.len()), (3, 1, 2));
    assert_eq!(e.transform, Transform::Sigmoid);
    assert_eq!(e.compare, Compare::LessEqual);
    assert_eq!(e.precision, Precision::F64);
    assert_eq!(e.base_margin, [0.0]);
    assert_eq!(e.aggregate, Aggregate::Sum);
    assert_eq!(
        e.feature_names.as_deref(),
        Some(&["Column_0".to_string(), "Column_1".into(), "Column_2".into()][..])
    );
    // Tree 0: decision types 8 (NaN, right), 10 (NaN, default left), 9 (categorical); cat_threshold=10 is {1, 3}.
    let Node::Split(s) = &e.trees[0].nodes[0] else {
        panic!("root is a split")
    };
    assert_eq!(
        (s.feature, s.default_left, s.missing),
        (2, false, MissingMode::Nan)
    );
    let Node::Split(s) = &e.trees[0].nodes[2] else {
        panic!("node 2 is a split")
    };
    assert_eq!(
        s.test,
        Test::Categorical {
            categories: vec![1, 3],
            in_set_left: true,
            truncate_first: true
        }
    );
    assert_eq!((s.default_left, s.missing), (false, MissingMode::Nan));
    check_consistent(&e).unwrap();

    let e = lightgbm::from_str(SMALL_LINEAR_MULTICLASS, "linear.txt").unwrap();
    assert_eq!((e.n_features, e.n_outputs, e.trees.len()), (2, 3, 6));
    assert_eq!(e.transform, Transform::Softmax);
    let outputs: Vec<_> = e.trees.iter().map(|t| t.output).collect();
    assert_eq!(
        outputs,
        [Some(0), Some(1), Some(2), Some(0), Some(1), Some(2)]
    );
    // Tree 3, leaf 0: two terms; leaf 1: one.
    let leaves: Vec<&LinearLeaf> = e.trees[3]
        .nodes
        .iter()
        .filter_map(|n| match n {
            Node::LinearLeaf(l) => Some(l),
            _ => None,
        })
        .collect();
    assert_eq!(leaves.len(), 3);
    assert_eq!(
        leaves[0].terms,
        [(0, -8.881784197001253e-17), (1, 2.2204460492503132e-17)]
    );
    assert_eq!(leaves[1].terms, [(0, -0.0007263919521557139)]);
    assert_eq!(leaves[0].constant, 0.14775750621840644);
    assert_eq!(leaves[0].value, 0.1477575062184065);
    check_consistent(&e).unwrap();
}

#[test]
fn sigmoid_parameter_is_folded_into_the_leaves() {
    let one = lightgbm::from_str(SMALL_BINARY, "a.txt").unwrap();
    let text = SMALL_BINARY.replace("sigmoid:1", "sigmoid:2.5");
    let scaled = lightgbm::from_str(&text, "b.txt").unwrap();
    for row in PROBE_ROWS {
        let (a, b) = (one.margin_reference(&row), scaled.margin_reference(&row));
        assert!((b[0] - 2.5 * a[0]).abs() <= 1e-15 * a[0].abs().max(1.0));
    }
    assert!(scaled.source.contains("sigmoid:2.5"));
}

#[test]
fn average_output_is_a_mean_over_iterations() {
    let text = SMALL_LINEAR_MULTICLASS.replace("objective=", "average_output\nobjective=");
    let e = lightgbm::from_str(&text, "rf.txt").unwrap();
    assert_eq!(e.aggregate, Aggregate::Mean { divisor: 2.0 });
}

#[test]
fn errors_name_the_file_line_and_key() {
    let err = |text: &str| {
        lightgbm::from_str(text, "model.txt")
            .unwrap_err()
            .to_string()
    };

    // One split_feature missing in Tree=1.
    let text = SMALL_BINARY.replacen("split_feature=2 1 2", "split_feature=2 1", 1);
    let line = line_of(&text, "split_feature=", 1);
    assert_eq!(
        err(&text),
        format!("model.txt: line {line}: Tree=1: split_feature: expected 3 integers, found 2")
    );
    // A token that is not a number.
    let text = SMALL_BINARY.replacen("threshold=-0.13862115144729611", "threshold=abc", 1);
    let line = line_of(&text, "threshold=", 0);
    assert!(
        err(&text).starts_with(&format!(
            "model.txt: line {line}: Tree=0: threshold: item 0 is `abc`"
        )),
        "{}",
        err(&text)
    );
    // Truncated files.
    let cut = SMALL_BINARY.find("Tree=1").unwrap();
    assert!(err(&SMALL_BINARY[..cut]).contains("without `end of trees`"));
    let e = err(&SMALL_BINARY[..SMALL_BINARY.find("leaf_value=0.0157").unwrap()]);
    assert!(e.contains("without `end of trees`"), "{e}");
    // A tree without its leaf values.
    let text: String = SMALL_BINARY
        .lines()
        .filter(|l| !l.starts_with("leaf_value=0.0157"))
        .map(|l| format!("{l}\n"))
        .collect();
    let line = line_of(&text, "Tree=1", 0);
    assert_eq!(
        err(&text),
        format!("model.txt: line {line}: Tree=1: missing the `leaf_value=` line")
    );
    // Header problems.
    assert!(err(&SMALL_BINARY.replace("max_feature_idx=2\n", "")).contains("max_feature_idx"));
    assert!(
        err(&SMALL_BINARY.replace("binary sigmoid:1", "cross_entropy_lambda"))
            .contains("log(1 + e^m)")
    );
    assert!(err(&SMALL_BINARY.replace("binary sigmoid:1", "regression sqrt")).contains("sqrt"));
    assert!(
        err(&SMALL_BINARY.replace("binary sigmoid:1", "frobnicate")).contains("unknown objective")
    );
    assert!(err(&SMALL_BINARY.replace("binary sigmoid:1", "binary")).contains("sigmoid"));
    assert!(
        err(&SMALL_BINARY.replace("num_class=1", "num_class=3"))
            .contains("num_tree_per_iteration=1")
    );
    let text = SMALL_BINARY.replace("label_index=0", "label_index=0\ntree_sizes=1 2 3");
    assert!(err(&text).contains("tree_sizes: lists 3 trees, but the file has 2"));
    // Structure.
    let text = SMALL_BINARY.replacen("left_child=1 -1 -3", "left_child=1 -1 -7", 1);
    assert!(err(&text).contains("left_child: item 2 is -7"));
    let text = SMALL_BINARY.replacen("left_child=1 -1 -3", "left_child=1 -1 -4", 1);
    assert!(err(&text).contains("reached twice"), "{}", err(&text));
    let text = SMALL_BINARY.replacen("split_feature=2 1 0", "split_feature=2 1 3", 1);
    assert!(err(&text).contains("split_feature: item 2 is 3, expected 0..3"));
    let text = SMALL_BINARY.replacen("cat_threshold=10", "cat_threshold=10 4", 1);
    assert!(err(&text).contains("cat_threshold: expected 1 32-bit words, found 2"));
    assert!(err("").contains("empty"));
    assert!(err("{\"learner\": {}}").contains("expected `tree`"));
}

/// Replacement tokens for the mutation test: out of range, malformed, non-finite, huge.
const TOKENS: [&str; 14] = [
    "",
    "-1",
    "0",
    "1",
    "2",
    "3",
    "7",
    "1e400",
    "nan",
    "inf",
    "x",
    "99999999999",
    "-2147483648",
    "0.5",
];

proptest! {
    #![proptest_config(proptest_config(256))]

    /// Any prefix that cuts before `end of trees` is an error, never a panic.
    #[test]
    fn truncated_models_are_errors(which in 0usize..2, cut in 0usize..10_000) {
        let text = [SMALL_BINARY, SMALL_LINEAR_MULTICLASS][which];
        let end = text.find("end of trees").unwrap();
        let cut = cut % end;
        prop_assert!(lightgbm::from_str(&text[..cut], "model.txt").is_err());
    }

    /// A token replaced, or a line deleted or duplicated: an error or a model that exports consistently.
    #[test]
    fn mutated_models_never_panic(
        which in 0usize..2,
        line in 0usize..1000,
        token in 0usize..64,
        replacement in 0usize..TOKENS.len(),
        op in 0u8..4,
    ) {
        let text = [SMALL_BINARY, SMALL_LINEAR_MULTICLASS][which];
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let l = line % lines.len();
        match op {
            0 => {
                lines.remove(l);
            }
            1 => {
                let copy = lines[l].clone();
                lines.insert(l, copy);
            }
            _ => {
                if let Some((key, value)) = lines[l].split_once('=') {
                    let mut tokens: Vec<&str> = value.split(' ').collect();
                    let t = token % tokens.len();
                    tokens[t] = TOKENS[replacement];
                    lines[l] = format!("{key}={}", tokens.join(" "));
                } else {
                    lines[l] = TOKENS[replacement].to_string();
                }
            }
        }
        let mutated = lines.join("\n");
        if let Ok(e) = lightgbm::from_str(&mutated, "model.txt") {
            prop_assert!(check_consistent(&e).is_ok(), "{:?}", check_consistent(&e));
        }
    }
}
