//! What both languages generate alike: each node's "go left" condition reduced to one comparison where the
//! node's missing-value rule allows it, the leaves with their tree weight folded in, and where deep trees are
//! cut into functions.

use emkern::forest::format::{MAX_CATEGORY, ZERO_THRESHOLD};
use emkern::forest::{Aggregate, Compare, MissingMode, Transform};

use super::CodegenError;
use super::model::{Model, Node, Test};

/// Deepest `if` nesting inside one generated function; a subtree below it becomes a function of its own (compilers
/// handle deep nesting slowly or not at all).
pub const MAX_NEST: usize = 24;

/// The largest category value plus one, as the literal the generated code compares with.
pub const CATEGORY_LIMIT: f32 = MAX_CATEGORY;

/// LightGBM's zero band `|x| <= 1e-35`, as written in the generated code: `x >= -ZERO && x <= ZERO`.
pub const ZERO: f32 = ZERO_THRESHOLD;

/// A node's decision as an expression on `x = row[feature]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cond {
    /// `x < t` (`Less`) or `x <= t` (`LessEqual`), a NaN going left when `nan_left` (written `!(x >= t)`), and
    /// with `zero_band = Some(d)` values in LightGBM's zero band going left when `d`.
    Numeric {
        /// Row index.
        feature: usize,
        /// The comparison.
        compare: Compare,
        /// The threshold.
        threshold: f32,
        /// NaN goes left.
        nan_left: bool,
        /// Values with `|x| <= 1e-35` go left (`Some(true)`) or right (`Some(false)`) whatever the threshold.
        zero_band: Option<bool>,
    },
    /// Category-set membership: `member` is "not NaN, in range and in the set".
    Categorical {
        /// Row index.
        feature: usize,
        /// The set's word offset.
        set: u32,
        /// Words in the set.
        n_words: usize,
        /// Truncate toward zero before the range check.
        truncate_first: bool,
        /// How membership decides.
        form: CatForm,
    },
}

/// How a categorical node's membership test decides "left".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatForm {
    /// `member`.
    Member,
    /// `!member` (NaN is not a member, so it goes left).
    NotMember,
    /// `isnan(x) || member`.
    NanOrMember,
    /// `!isnan(x) && !member`.
    NeitherNanNorMember,
}

fn goes_left(compare: Compare, x: f32, t: f32) -> bool {
    match compare {
        Compare::Less => x < t,
        Compare::LessEqual => x <= t,
    }
}

/// The condition under which `node` sends a row left, equal to the blob interpreter's decision for every f32.
pub fn condition(model: &Model, node: &Node) -> Cond {
    let feature = node.feature;
    match node.test {
        Test::Numeric { threshold, missing } => {
            let compare = model.compare;
            let (nan_left, zero_band) = match missing {
                MissingMode::Nan => (node.default_left, None),
                // NaN is read as 0.0: it goes where 0.0 goes.
                MissingMode::NanAsZero => (goes_left(compare, 0.0, threshold), None),
                MissingMode::ZeroOrNan => {
                    let d = node.default_left;
                    // The band needs no test of its own when the comparison already sends all of it the default
                    // way.
                    let band_follows = if d {
                        goes_left(compare, ZERO, threshold)
                    } else {
                        !goes_left(compare, -ZERO, threshold)
                    };
                    (d, (!band_follows).then_some(d))
                }
            };
            Cond::Numeric {
                feature,
                compare,
                threshold,
                nan_left,
                zero_band,
            }
        }
        Test::Categorical {
            set,
            in_set_left,
            truncate_first,
        } => Cond::Categorical {
            feature,
            set,
            n_words: model.set(set).len(),
            truncate_first,
            form: match (node.default_left, in_set_left) {
                (true, true) => CatForm::NanOrMember,
                (true, false) => CatForm::NotMember,
                (false, true) => CatForm::Member,
                (false, false) => CatForm::NeitherNanNorMember,
            },
        },
    }
}

/// `w · v` in the model's precision, as the interpreter computes it for every leaf it adds (`w` widened to f64
/// for f64 models); returned widened to f64.
pub fn weighted(v: f64, w: f32, wide: bool) -> f64 {
    if wide {
        w as f64 * v
    } else {
        (w * v as f32) as f64
    }
}

/// `V::from_f64(d)`: the mean's divisor in the model's precision, widened back.
pub fn in_precision(d: f64, wide: bool) -> f64 {
    if wide { d } else { d as f32 as f64 }
}

/// The output transforms code generation writes. Every new [`Transform`] of the core must be added here (the
/// match is exhaustive): until the generators write it, it is reported as not supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// The margins.
    Identity,
    /// `1 / (1 + exp(-m))` per column.
    Sigmoid,
    /// Softmax across the columns.
    Softmax,
    /// The index of the largest margin (the first on ties).
    ArgMax,
    /// `exp(m)` per column.
    Exp,
    /// `1` where `m > 0`, else `0`.
    HingeStep,
}

impl Output {
    /// The generated form of `t`.
    pub fn of(t: Transform) -> Result<Output, CodegenError> {
        Ok(match t {
            Transform::Identity => Output::Identity,
            Transform::Sigmoid => Output::Sigmoid,
            Transform::Softmax => Output::Softmax,
            Transform::ArgMax => Output::ArgMax,
            Transform::Exp => Output::Exp,
            Transform::HingeStep => Output::HingeStep,
            Transform::SortAscending => {
                return Err(CodegenError::Unsupported(
                    "the sorted outputs of a multi-quantile XGBoost model (transform SortAscending)".into(),
                ));
            }
        })
    }

    /// The transform calls `exp`.
    pub fn needs_exp(self) -> bool {
        match self {
            Output::Sigmoid | Output::Softmax | Output::Exp => true,
            Output::Identity | Output::ArgMax | Output::HingeStep => false,
        }
    }

    /// What `predict` writes, for its documentation.
    pub fn words(self) -> &'static str {
        match self {
            Output::Identity => "the margins",
            Output::Sigmoid => "1 / (1 + exp(-margin)) per column",
            Output::Softmax => "the softmax of the margins",
            Output::ArgMax => "the index of the largest margin (the first on ties)",
            Output::Exp => "exp(margin) per column",
            Output::HingeStep => "1 where the margin is > 0, else 0",
        }
    }
}

/// Whether the trees' sum is divided (a mean) before the base margin is added. Every new [`Aggregate`] of the
/// core must be added here (the match is exhaustive): until the generators write it, it is reported as not
/// supported.
pub fn is_mean(a: Aggregate) -> Result<bool, CodegenError> {
    Ok(match a {
        Aggregate::Sum => false,
        Aggregate::Mean => true,
        Aggregate::WeightedMedian => {
            return Err(CodegenError::Unsupported(
                "the weighted median of AdaBoost.R2 (aggregate WeightedMedian)".into(),
            ));
        }
    })
}

/// The margin columns the core transforms in the model's precision; with more, it transforms the f32 margins
/// (`CHUNK` in `emkern::forest::predict`, pinned by the codegen tests' 40-class model).
pub const CORE_CHUNK: usize = 32;
