//! f64 input rows for models that compare in f64 (LightGBM): each value is mapped to an f32 that makes the same
//! decision at every split of the model, so the f32 core takes the framework's path for f64 inputs too.
//!
//! LightGBM goes left when `x <= t` with `x` and `t` in f64. The blob keeps `⌊t⌋₃₂`, the largest f32 not above
//! `t` (`export::blob::f32_round_down`), which is exact for f32 inputs: an f32 `y` has `y <= t ⇔ y <= ⌊t⌋₃₂`. An
//! f64 input rounded to the nearest f32 can land on the other side of a threshold (`t = 0.1` as f64, `x = t`
//! rounds up to `0.100000001`), so rows read as f64 are mapped instead:
//!
//! - Per feature, the model's cut points: every numeric threshold `t` (the decision `x <= t`); for categorical
//!   splits the decisions `x <= -1` (negative after truncation), `x < 0`, `x < 2²⁴` and `x < c`, `x < c + 1` for
//!   every category `c` of a set (a strict `x < c` is `x <= c⁻`, the f64 just below `c`); for `Zero` missing
//!   types the edges of LightGBM's zero band, `x <= 1e-35f` and `x < -1e-35f`. Sorted and deduplicated.
//! - For `x` (not NaN) with `k` cut points below it: `t_k < x <= t_{k+1}`. Every f32 `y` with
//!   `⌊t_k⌋₃₂ < y <= ⌊t_{k+1}⌋₃₂` makes the same decisions as `x` at every cut point: `y > ⌊t_i⌋₃₂ ⇔ y > t_i` for
//!   `i <= k`, and `y <= ⌊t_{k+1}⌋₃₂ <= ⌊t_i⌋₃₂` for `i > k` (`⌊·⌋₃₂` is monotone). The mapped value is `x`
//!   rounded to the nearest f32, clamped into that interval (so it moves at most to the nearest f32 on the right
//!   side of a threshold, and an f32 input maps to itself).
//! - The interval holds an f32 exactly when `⌊t_k⌋₃₂ < ⌊t_{k+1}⌋₃₂`. Two cut points between the same two
//!   adjacent f32 values (possible when a model was trained on f64 values closer than an f32 step, e.g. large
//!   integers such as timestamps) leave no f32 for the `x` between them: no f32 row, and so no blob, can take
//!   that path. [`F64Inputs::unseparated`] lists such pairs, and such values are counted in [`Mapped`].
//! - LightGBM's dense-row predictor drops `|x| <= 1e-35f` (`kZeroThreshold`) before the trees see the row, so
//!   such values read as `0.0` (for every missing type; NaN stays NaN).
//!
//! Linear leaves (`linear_tree`) compute `Σ coefficient·x` with the mapped f32 value, not LightGBM's f64 `x`: each
//! term is off by `|coefficient|·|x - y|`, at most half an f32 step of `x` (one step when the value was moved
//! across a threshold), about `6e-8·|coefficient·x|`.

use std::path::Path;

use crate::export::blob::f32_round_down;
use crate::io::{self, DataError, Table};
use crate::ir::{Compare, Ensemble, MissingMode, Node, Test};
use crate::model::{Format, Loaded};

/// LightGBM's `kZeroThreshold` (`1e-35f`, compared in f64).
pub const LIGHTGBM_ZERO: f64 = emkern::forest::format::ZERO_THRESHOLD as f64;

/// The largest category the blob format holds, plus one (2²⁴).
const CATEGORY_END: f64 = 16_777_216.0;

/// The cut points of one feature, ascending, with their f32 round-downs (the blob's thresholds).
#[derive(Clone, Debug, Default, PartialEq)]
struct Cuts {
    at: Vec<f64>,
    rounded: Vec<f32>,
}

/// Two adjacent cut points of a feature that round down to the same f32: an input between them has no f32 that
/// makes its decisions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Unseparated {
    /// The feature.
    pub feature: usize,
    /// The lower cut point (`x <= lower` goes one way).
    pub lower: f64,
    /// The upper cut point; an `x` with `lower < x <= upper` cannot be mapped exactly.
    pub upper: f64,
}

/// The mapping from f64 inputs to f32 inputs for one model (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub struct F64Inputs {
    features: Vec<Cuts>,
    zero_band: bool,
}

/// One mapped value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Value {
    /// The f32 the core reads.
    pub value: f32,
    /// Whether `value` makes the model's decisions for the f64 input at every split (false only between two
    /// [`Unseparated`] cut points).
    pub exact: bool,
}

/// The largest f64 below `x` (`x` finite).
fn f64_below(x: f64) -> f64 {
    x.next_down()
}

impl F64Inputs {
    /// The mapping for a model that compares `x <= t` in f64 (a LightGBM model: `lightgbm_zero_band` also applies
    /// LightGBM's reading of `|x| <= 1e-35f` as `0.0`). `None` for a model that compares `x < t` (XGBoost, which
    /// reads its inputs as f32 itself).
    pub fn new(e: &Ensemble, lightgbm_zero_band: bool) -> Option<F64Inputs> {
        if e.compare != Compare::LessEqual {
            return None;
        }
        let mut at: Vec<Vec<f64>> = vec![Vec::new(); e.n_features as usize];
        for tree in &e.trees {
            for node in &tree.nodes {
                let Node::Split(s) = node else { continue };
                let Some(cuts) = at.get_mut(s.feature as usize) else {
                    continue;
                };
                match &s.test {
                    Test::Numeric(t) => {
                        cuts.push(*t);
                        if s.missing == MissingMode::ZeroOrNan {
                            cuts.push(LIGHTGBM_ZERO);
                            cuts.push(f64_below(-LIGHTGBM_ZERO));
                        }
                    }
                    Test::Categorical { categories, .. } => {
                        cuts.extend([-1.0, f64_below(0.0), f64_below(CATEGORY_END)]);
                        for &c in categories {
                            cuts.push(f64_below(c as f64));
                            cuts.push(f64_below(c as f64 + 1.0));
                        }
                    }
                }
            }
        }
        let features = at
            .into_iter()
            .map(|mut at| {
                at.retain(|t| !t.is_nan());
                at.sort_by(f64::total_cmp);
                at.dedup_by(|a, b| a == b);
                let rounded = at.iter().map(|&t| f32_round_down(t)).collect();
                Cuts { at, rounded }
            })
            .collect();
        Some(F64Inputs {
            features,
            zero_band: lightgbm_zero_band,
        })
    }

    /// The mapping for `loaded` when its rows should be read as f64: a model whose IR says its framework compares
    /// f64 rows ([`Ensemble::input_f64`]: a LightGBM text model, with LightGBM's zero band; a Spark ML model; a
    /// scikit-learn `HistGradientBoosting*` export, from the export's `input_dtype` or, in files written before
    /// that field, its estimator name). `None` for other models (XGBoost and scikit-learn's other trees convert
    /// rows to f32 themselves) and for a blob, whose f32 thresholds no longer hold the f64 ones.
    pub fn for_model(loaded: &Loaded) -> Option<F64Inputs> {
        match &loaded.ensemble {
            Some(e) if e.input_f64 => F64Inputs::new(e, loaded.format == Format::LightGbm),
            _ => None,
        }
    }

    /// Adjacent cut points that no f32 separates, over every feature.
    pub fn unseparated(&self) -> Vec<Unseparated> {
        let mut out = Vec::new();
        for (feature, cuts) in self.features.iter().enumerate() {
            for (i, w) in cuts.rounded.windows(2).enumerate() {
                if w[0] == w[1] {
                    out.push(Unseparated {
                        feature,
                        lower: cuts.at[i],
                        upper: cuts.at[i + 1],
                    });
                }
            }
        }
        out
    }

    /// Maps the value `x` of `feature` (a feature the model does not split on maps to `x` rounded to f32).
    pub fn map(&self, feature: usize, x: f64) -> Value {
        if x.is_nan() {
            return Value {
                value: f32::NAN,
                exact: true,
            };
        }
        let x = if self.zero_band && x.abs() <= LIGHTGBM_ZERO {
            0.0
        } else {
            x
        };
        let nearest = x as f32;
        let Some(cuts) = self.features.get(feature) else {
            return Value {
                value: nearest,
                exact: true,
            };
        };
        let k = cuts.at.partition_point(|&t| t < x);
        let hi = cuts.rounded.get(k).copied().unwrap_or(f32::INFINITY);
        let lo = match k.checked_sub(1).and_then(|i| cuts.rounded.get(i)) {
            Some(&below) if below == f32::INFINITY => f32::INFINITY,
            Some(&below) => below.next_up(),
            None => f32::NEG_INFINITY,
        };
        if lo > hi {
            return Value {
                value: hi,
                exact: false,
            };
        }
        Value {
            value: nearest.clamp(lo, hi),
            exact: true,
        }
    }

    /// Maps a row into `out` (`out.len() == row.len()`); returns the number of values that could not be mapped
    /// exactly.
    pub fn map_row(&self, row: &[f64], out: &mut [f32]) -> usize {
        let mut inexact = 0;
        for (j, (o, &x)) in out.iter_mut().zip(row).enumerate() {
            let v = self.map(j, x);
            *o = v.value;
            inexact += !v.exact as usize;
        }
        inexact
    }
}

/// Rows read for a model, and what the f64 mapping did.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapped {
    /// The rows the core reads.
    pub table: Table,
    /// Whether the cells were read as f64 and mapped ([`F64Inputs`]); otherwise they were rounded to f32.
    pub mapped: bool,
    /// Cells between two cut points no f32 separates (decided as if they were on the lower one).
    pub inexact: usize,
    /// The first such cell: 1-based data row and column.
    pub first_inexact: Option<(usize, usize)>,
}

impl Mapped {
    /// A warning for people when some cells could not be mapped exactly.
    pub fn warning(&self, file: &Path) -> Option<String> {
        inexact_warning(file, self.inexact, self.first_inexact)
    }
}

/// The warning for `inexact` cells of `file` that no f32 maps exactly, the first at 1-based (data row, column)
/// `first`; `None` when there is none.
pub fn inexact_warning(
    file: &Path,
    inexact: usize,
    first: Option<(usize, usize)>,
) -> Option<String> {
    let (row, column) = first?;
    Some(format!(
        "warning: {}: {} cell{} (first: data row {row}, column {column}) lie between two thresholds of the \
         model that no f32 value separates: the f32 core decides them as if they were on the lower threshold",
        file.display(),
        inexact,
        if inexact == 1 { "" } else { "s" },
    ))
}

/// Reads the CSV rows for `loaded`: as f64 mapped by [`F64Inputs::for_model`] when it applies, else as f32
/// ([`io::read_csv`]).
pub fn read_csv(path: &Path, loaded: &Loaded) -> Result<Mapped, DataError> {
    let Some(inputs) = F64Inputs::for_model(loaded) else {
        return Ok(Mapped {
            table: io::read_csv(path)?,
            mapped: false,
            inexact: 0,
            first_inexact: None,
        });
    };
    let t = io::read_csv_f64(path)?;
    let width = t.columns.len();
    let mut values = vec![0f32; t.rows.len() * width];
    let mut inexact = 0;
    let mut first_inexact = None;
    for (r, (row, out)) in t
        .rows
        .iter()
        .zip(values.chunks_exact_mut(width.max(1)))
        .enumerate()
    {
        for (j, (o, &x)) in out.iter_mut().zip(row).enumerate() {
            let v = inputs.map(j, x);
            *o = v.value;
            if !v.exact {
                inexact += 1;
                first_inexact.get_or_insert((r + 1, j + 1));
            }
        }
    }
    Ok(Mapped {
        table: Table {
            columns: t.columns,
            values,
            rows: t.rows.len(),
        },
        mapped: true,
        inexact,
        first_inexact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Aggregate, Precision, Split, Transform, Tree};
    use crate::proptest_config::proptest_config;
    use proptest::prelude::*;

    /// The warning `emkern predict` prints for cells no f32 maps exactly names the count and the first cell.
    #[test]
    fn inexact_warning_names_the_count_and_the_first_cell() {
        let p = Path::new("rows.csv");
        assert_eq!(inexact_warning(p, 0, None), None);
        let w = inexact_warning(p, 2, Some((3, 4))).unwrap();
        assert!(
            w.starts_with("warning: rows.csv: 2 cells (first: data row 3, column 4)"),
            "{w}"
        );
        assert!(
            inexact_warning(p, 1, Some((1, 1)))
                .unwrap()
                .contains(": 1 cell (first")
        );
    }

    /// One single-split tree per test, all on feature 0.
    fn model(tests: Vec<(Test, MissingMode)>) -> Ensemble {
        let trees = tests
            .into_iter()
            .map(|(test, missing)| Tree {
                nodes: vec![
                    Node::Split(Split {
                        feature: 0,
                        test,
                        default_left: true,
                        missing,
                        left: 1,
                        right: 2,
                    }),
                    Node::Leaf(vec![1.0]),
                    Node::Leaf(vec![2.0]),
                ],
                output: Some(0),
                weight: 1.0,
            })
            .collect();
        Ensemble {
            n_features: 1,
            n_outputs: 1,
            trees,
            base_margin: vec![0.0],
            compare: Compare::LessEqual,
            aggregate: Aggregate::Sum,
            transform: Transform::Identity,
            precision: Precision::F64,
            feature_names: None,
            source: "test".into(),
            input_f64: false,
        }
    }

    /// LightGBM's decision for an f64 `x` (after its zero band), written from its definitions.
    fn lightgbm_left(test: &Test, missing: MissingMode, x: f64) -> bool {
        let x = if x.abs() <= LIGHTGBM_ZERO { 0.0 } else { x };
        match test {
            Test::Numeric(_) if x.is_nan() && missing == MissingMode::Nan => true, // default_left
            Test::Numeric(t) => {
                let x = if x.is_nan() { 0.0 } else { x };
                if missing == MissingMode::ZeroOrNan && x.abs() <= LIGHTGBM_ZERO {
                    true // default_left
                } else {
                    x <= *t
                }
            }
            Test::Categorical { .. } if x.is_nan() => false,
            Test::Categorical { categories, .. } => {
                let c = x.trunc();
                (0.0..CATEGORY_END).contains(&c) && categories.contains(&(c as u32))
            }
        }
    }

    /// The core's decision for the mapped f32 (its blob threshold is the f32 round-down).
    fn core_left(test: &Test, missing: MissingMode, y: f32) -> bool {
        let split = Split {
            feature: 0,
            test: match test {
                Test::Numeric(t) => Test::Numeric(f32_round_down(*t) as f64),
                other => other.clone(),
            },
            // The importer sends a categorical split's NaN right, as LightGBM does.
            default_left: matches!(test, Test::Numeric(_)),
            missing,
            left: 1,
            right: 2,
        };
        split.goes_left(y, Compare::LessEqual)
    }

    /// Values around `t`: on it, a few f64 steps either side, and the f32 values next to it.
    fn around(t: f64, steps: u32) -> Vec<f64> {
        let mut v = vec![
            t,
            t as f32 as f64,
            (t as f32).next_up() as f64,
            (t as f32).next_down() as f64,
        ];
        let (mut up, mut down) = (t, t);
        for _ in 0..steps {
            up = up.next_up();
            down = down.next_down();
            v.extend([up, down]);
        }
        v
    }

    fn check(tests: &[(Test, MissingMode)], xs: &[f64]) -> Result<(), TestCaseError> {
        let e = model(tests.to_vec());
        let inputs = F64Inputs::new(&e, true).unwrap();
        let unseparated = inputs.unseparated();
        for &x in xs {
            let v = inputs.map(0, x);
            if !v.exact {
                prop_assert!(
                    unseparated.iter().any(|u| u.lower < x && x <= u.upper),
                    "{x} reported inexact outside every unseparated pair {unseparated:?}"
                );
                continue;
            }
            for (test, missing) in tests {
                prop_assert_eq!(
                    core_left(test, *missing, v.value),
                    lightgbm_left(test, *missing, x),
                    "x = {:e} mapped to {:e}, test {:?}, missing {:?}",
                    x,
                    v.value,
                    test,
                    missing
                );
            }
            // The mapped value is the nearest f32 unless a decision needed the next one.
            if x.is_finite() && x.abs() > LIGHTGBM_ZERO && (x as f32).is_finite() {
                let step = (x as f32).abs().next_up() - (x as f32).abs();
                prop_assert!(((v.value as f64) - x).abs() <= step as f64 * 1.0000001);
            }
        }
        Ok(())
    }

    #[test]
    fn f32_inputs_map_to_themselves_and_unmodelled_features_round() {
        let e = model(vec![(Test::Numeric(0.1), MissingMode::Nan)]);
        let inputs = F64Inputs::new(&e, true).unwrap();
        for y in [
            0.1f32,
            0.1f32.next_up(),
            -3.5,
            1e30,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ] {
            assert_eq!(inputs.map(0, y as f64).value.to_bits(), y.to_bits());
        }
        assert!(inputs.map(0, f64::NAN).value.is_nan());
        // 0.1 (f64) rounds up to 0.100000001f, which is above the threshold 0.1: mapped to the f32 below.
        assert!((0.1f64 as f32) as f64 > 0.1);
        assert_eq!(inputs.map(0, 0.1).value, 0.1f32.next_down());
        assert_eq!(inputs.map(0, 0.1f64.next_up()).value, 0.1f32);
        // LightGBM's zero band reads as 0.
        assert_eq!(inputs.map(0, 1e-36).value.to_bits(), 0);
        assert_eq!(inputs.map(1, 0.1).value, 0.1f32);
        assert!(inputs.unseparated().is_empty());
        // Models that compare x < t (XGBoost) read f32 themselves.
        let mut xgb = e.clone();
        xgb.compare = Compare::Less;
        assert!(F64Inputs::new(&xgb, true).is_none());
    }

    #[test]
    fn thresholds_in_one_f32_step_are_reported() {
        let a = 1.0f64 + 1e-9;
        let b = 1.0f64 + 2e-9;
        assert_eq!(f32_round_down(a), f32_round_down(b));
        let e = model(vec![
            (Test::Numeric(a), MissingMode::Nan),
            (Test::Numeric(b), MissingMode::Nan),
        ]);
        let inputs = F64Inputs::new(&e, true).unwrap();
        assert_eq!(
            inputs.unseparated(),
            [Unseparated {
                feature: 0,
                lower: a,
                upper: b
            }]
        );
        assert!(!inputs.map(0, 1.0 + 1.5e-9).exact);
        assert!(inputs.map(0, a).exact && inputs.map(0, b.next_up()).exact);
    }

    #[test]
    fn zero_band_and_categories() {
        let zero = vec![
            (Test::Numeric(-0.25), MissingMode::ZeroOrNan),
            (Test::Numeric(1e-35f32 as f64), MissingMode::NanAsZero),
            (Test::Numeric(0.0), MissingMode::Nan),
        ];
        let mut xs = around(LIGHTGBM_ZERO, 3);
        xs.extend(around(-LIGHTGBM_ZERO, 3));
        xs.extend(around(0.0, 3));
        xs.extend([1e-36, -1e-36, 5e-324, -5e-324, 1e-35, -1e-35, f64::NAN]);
        check(&zero, &xs).unwrap();
        let cats = vec![(
            Test::Categorical {
                categories: vec![0, 3, 31, 32, 16_777_215],
                in_set_left: true,
                truncate_first: true,
            },
            MissingMode::Nan,
        )];
        let mut xs = vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            -1e300,
            2.0f64.powi(31),
        ];
        for c in [
            -1.0,
            0.0,
            1.0,
            3.0,
            4.0,
            31.0,
            32.0,
            33.0,
            16_777_215.0,
            16_777_216.0,
        ] {
            xs.extend(around(c, 2));
        }
        check(&cats, &xs).unwrap();
    }

    proptest! {
        #![proptest_config(proptest_config(256))]

        /// Random thresholds (some within one f32 step of each other, some f32 values, some huge) and inputs on
        /// and around them: every exactly mapped input makes LightGBM's f64 decision at every split, and an input
        /// is reported inexact only between two cut points that no f32 separates.
        #[test]
        fn mapped_values_make_lightgbm_decisions(
            seeds in proptest::collection::vec((-40i32..40, 0u32..4, any::<u32>()), 1..8),
            zero_mode in proptest::collection::vec(any::<bool>(), 8),
        ) {
            let mut tests = Vec::new();
            let mut xs = Vec::new();
            for (i, &(exp, kind, bits)) in seeds.iter().enumerate() {
                let base = (1.0 + (bits as f64) / 4_294_967_296.0) * 2.0f64.powi(exp);
                let t = match kind {
                    0 => base,
                    1 => base as f32 as f64,
                    2 => -base,
                    _ => base * 1e30,
                };
                let missing = if zero_mode[i] { MissingMode::ZeroOrNan } else { MissingMode::NanAsZero };
                tests.push((Test::Numeric(t), missing));
                // A second threshold within one f32 step of the first.
                tests.push((Test::Numeric(t + t.abs() * 1e-8 * (bits % 3) as f64), MissingMode::Nan));
                xs.extend(around(t, 2));
                xs.push(t + t.abs() * 0.5e-8);
            }
            xs.extend(around(LIGHTGBM_ZERO, 2));
            check(&tests, &xs)?;
        }
    }
}
