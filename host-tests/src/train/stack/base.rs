//! The base models of a stack: which shared `emkern train` flags reach which base, training one base with its
//! algorithm's own parameter builder, and how the meta-model reads its margins.
//!
//! What the meta-model reads from each base is scikit-learn's `StackingClassifier` / `StackingRegressor`
//! input, restricted to outputs that are linear in the leaves:
//!
//! - forests and decision trees (classification): `predict_proba`, the mean of the trees' class fractions; with
//!   two classes only the second column (scikit-learn drops the first, which is one minus it);
//! - gradient boosting, histogram boosting, AdaBoost (classification): `decision_function`, the raw margin (one
//!   column for two classes, one per class otherwise); AdaBoost SAMME's multi-class margin is scaled by `K − 1`
//!   to equal scikit-learn's `decision_function` (the exported model divides by it);
//! - regression: `predict`, which is the margin for every base with the identity link. AdaBoost.R2 (a weighted
//!   median) and log-link regressors (`--loss poisson`, `count:poisson`) are refused.

use crate::ir::{Ensemble, Transform};
use crate::train::boost::Boosted;
use crate::train::boost::adaboost::AdaBoost;
use crate::train::boost::gbdt::Gbdt;
use crate::train::boost::run::{adaboost_params, gbdt_params};
use crate::train::cart::{DecisionTree, SplitStrategy};
use crate::train::config::{Algo, TrainConfig};
use crate::train::dataset::{Dataset, Task};
use crate::train::fit::train_forest;
use crate::train::hist::HistBooster;
use crate::train::model::TrainedModel;

use super::combine::StackBase;

/// A shared flag whose value only some base algorithms take.
struct SharedFlag {
    name: &'static str,
    given: fn(&TrainConfig) -> bool,
    clear: fn(&mut TrainConfig),
    applies: fn(Algo, &TrainConfig) -> bool,
}

fn sklearn_trees(a: Algo) -> bool {
    matches!(
        a,
        Algo::Cart | Algo::Rf | Algo::ExtraTrees | Algo::Adaboost | Algo::Gbdt
    )
}

/// The flags that do not apply to every base. (`--max-depth` and the `--min-*` tree limits reach every base
/// that has them.)
const SHARED: &[SharedFlag] = &[
    SharedFlag {
        name: "--criterion",
        given: |r| r.criterion.is_some(),
        clear: |r| r.criterion = None,
        applies: |a, _| matches!(a, Algo::Cart | Algo::Rf | Algo::ExtraTrees | Algo::Adaboost),
    },
    SharedFlag {
        name: "--max-leaf-nodes",
        given: |r| r.max_leaf_nodes.is_some(),
        clear: |r| r.max_leaf_nodes = None,
        applies: |a, _| sklearn_trees(a),
    },
    SharedFlag {
        name: "--max-features",
        given: |r| r.max_features.is_some(),
        clear: |r| r.max_features = None,
        applies: |a, _| sklearn_trees(a),
    },
    SharedFlag {
        name: "--class-weight",
        given: |r| r.class_weight.is_some(),
        clear: |r| r.class_weight = None,
        applies: |a, _| matches!(a, Algo::Cart | Algo::Rf | Algo::ExtraTrees | Algo::Adaboost),
    },
    SharedFlag {
        name: "--n-estimators",
        given: |r| r.n_estimators.is_some(),
        clear: |r| r.n_estimators = None,
        applies: |a, _| a != Algo::Cart,
    },
    SharedFlag {
        name: "--bootstrap",
        given: |r| r.bootstrap.is_some(),
        clear: |r| r.bootstrap = None,
        applies: |a, _| matches!(a, Algo::Rf | Algo::ExtraTrees),
    },
    SharedFlag {
        name: "--max-samples",
        given: |r| r.max_samples.is_some(),
        clear: |r| r.max_samples = None,
        applies: |a, _| matches!(a, Algo::Rf | Algo::ExtraTrees),
    },
    SharedFlag {
        name: "--learning-rate",
        given: |r| r.learning_rate.is_some(),
        clear: |r| r.learning_rate = None,
        applies: |a, _| matches!(a, Algo::Adaboost | Algo::Gbdt | Algo::HistGbdt),
    },
    SharedFlag {
        name: "--loss",
        given: |r| r.loss.is_some(),
        clear: |r| r.loss = None,
        applies: |a, _| a == Algo::Gbdt,
    },
    SharedFlag {
        name: "--subsample",
        given: |r| r.subsample.is_some(),
        clear: |r| r.subsample = None,
        applies: |a, _| matches!(a, Algo::Gbdt | Algo::HistGbdt),
    },
    SharedFlag {
        name: "--alpha",
        given: |r| r.alpha.is_some(),
        clear: |r| r.alpha = None,
        applies: |a, r| {
            a == Algo::HistGbdt
                || (a == Algo::Gbdt
                    && matches!(r.loss.as_deref(), Some("huber") | Some("quantile")))
        },
    },
    SharedFlag {
        name: "--n-iter-no-change",
        given: |r| r.n_iter_no_change.is_some(),
        clear: |r| r.n_iter_no_change = None,
        applies: |a, _| a == Algo::Gbdt,
    },
    SharedFlag {
        name: "--validation-fraction",
        given: |r| r.validation_fraction.is_some(),
        clear: |r| r.validation_fraction = None,
        applies: |a, _| a == Algo::Gbdt,
    },
    SharedFlag {
        name: "--tol",
        given: |r| r.tol.is_some(),
        clear: |r| r.tol = None,
        applies: |a, _| a == Algo::Gbdt,
    },
    SharedFlag {
        name: "the hist-gbdt flags",
        given: |r| !r.hist.given().is_empty(),
        clear: |r| r.hist = Default::default(),
        applies: |a, _| a == Algo::HistGbdt,
    },
];

/// The request base `algo` is trained with: the stack's flags, minus those that do not apply to `algo`, with
/// `--algo algo`, no progress bars of its own and no XGBoost JSON output.
pub fn request_for(req: &TrainConfig, algo: Algo) -> TrainConfig {
    let mut r = req.clone();
    for f in SHARED {
        if !(f.applies)(algo, req) {
            (f.clear)(&mut r);
        }
    }
    r.algo = algo;
    r.quiet = true;
    r.hist.xgboost_json = None;
    r.oob = false;
    r
}

/// Flags given that no base in `bases` takes (`--xgboost-json` belongs to the stack itself).
pub fn unused_flags(req: &TrainConfig, bases: &[Algo]) -> Vec<String> {
    let mut probe = req.clone();
    probe.hist.xgboost_json = None;
    SHARED
        .iter()
        .filter(|f| (f.given)(&probe) && !bases.iter().any(|&a| (f.applies)(a, &probe)))
        .map(|f| {
            if f.name == "the hist-gbdt flags" {
                probe.hist.given().join(", ")
            } else {
                f.name.to_string()
            }
        })
        .collect()
}

/// Trains base `algo` on `data` with `req` (from [`request_for`]) and returns its exported form.
pub fn train(req: &TrainConfig, algo: Algo, data: &Dataset) -> Result<Ensemble, String> {
    train_with_importances(req, algo, data).map(|(e, _)| e)
}

/// [`train`], with the base's feature importances as its trainer computes them (shares summing to 1, or all
/// 0): impurity decrease for cart, the forests and scikit-learn-style boosting, total gain for hist-gbdt.
pub fn train_with_importances(
    req: &TrainConfig,
    algo: Algo,
    data: &Dataset,
) -> Result<(Ensemble, Vec<f64>), String> {
    let task = data.task();
    let names = Some(data.schema.feature_names.clone());
    let err = |e: &dyn std::fmt::Display| format!("base {}: {e}", algo.id());
    let source = |what: &str| {
        format!(
            "emkern-host {} train: stack base {what}",
            env!("CARGO_PKG_VERSION")
        )
    };
    match algo {
        Algo::Cart => {
            let mut p = req.tree_params(task, false).map_err(|e| err(&e))?;
            p.splitter = SplitStrategy::Best;
            let t = TrainedModel::Tree(
                DecisionTree::train(data, &p, req.random_state()?).map_err(|e| err(&e))?,
            );
            Ok((
                t.to_ensemble(data, &source("decision tree")),
                t.feature_importances(),
            ))
        }
        Algo::Rf | Algo::ExtraTrees => {
            let p = req.tree_params(task, true).map_err(|e| err(&e))?;
            let f = TrainedModel::Forest(train_forest(req, data, &p).map_err(|e| err(&e))?);
            Ok((
                f.to_ensemble(data, &source(algo.name())),
                f.feature_importances(),
            ))
        }
        Algo::Adaboost => {
            let seed = req.random_state()?;
            let (p, describe) = adaboost_params(req, task, seed).map_err(|e| err(&e))?;
            let m = Boosted::AdaBoost(AdaBoost::train(data, &p, &mut |_| {}).map_err(|e| err(&e))?);
            let e = m
                .to_ensemble(names, &source(&describe))
                .map_err(|e| err(&e))?;
            Ok((e, m.feature_importances()))
        }
        Algo::Gbdt => {
            let seed = req.random_state()?;
            let (p, describe) = gbdt_params(req, task, seed).map_err(|e| err(&e))?;
            let m = Boosted::Gbdt(Gbdt::train(data, &p, None, &mut |_| {}).map_err(|e| err(&e))?);
            let e = m
                .to_ensemble(names, &source(&describe))
                .map_err(|e| err(&e))?;
            Ok((e, m.feature_importances()))
        }
        Algo::HistGbdt => {
            let p = crate::train::hist::run::params(req).map_err(|e| err(&e))?;
            let m = HistBooster::train(data, None, &p, &|_| {}).map_err(|e| err(&e))?;
            Ok((m.to_ensemble(), m.feature_importances()))
        }
        Algo::Stack => Err("a stack cannot be a base of a stack".into()),
    }
}

/// Refuses a base that the stack cannot read linearly for this task (before any training).
pub fn check_supported(algo: Algo, task: Task) -> Result<(), String> {
    match (algo, task) {
        (Algo::Stack, _) => Err("--base stack: a stack cannot be a base of a stack".into()),
        (Algo::Adaboost, Task::Regression) => Err(
            "--base adaboost: AdaBoost.R2 predicts the weighted median of its trees, which is not linear in \
             the leaves, so a stack over it cannot be exported (use gbdt or hist-gbdt)"
                .into(),
        ),
        _ => Ok(()),
    }
}

/// The base as the meta-model sees it: `P_b` and the input labels (see the module documentation).
pub fn stack_base(
    algo: Algo,
    ensemble: Ensemble,
    classes: Option<&[String]>,
) -> Result<StackBase, String> {
    let k = ensemble.n_outputs as usize;
    let label = |c: usize| {
        classes
            .and_then(|cs| cs.get(c))
            .cloned()
            .unwrap_or_else(|| c.to_string())
    };
    let identity = |scale: f64| -> Vec<Vec<f64>> {
        (0..k)
            .map(|i| (0..k).map(|j| if i == j { scale } else { 0.0 }).collect())
            .collect()
    };
    let refuse = |why: &str| {
        Err(format!(
            "base {}: {why} (transform {:?}, {k} margin columns)",
            algo.id(),
            ensemble.transform
        ))
    };
    let (map, inputs) = match (classes, ensemble.transform) {
        (None, Transform::Identity) if k == 1 => (vec![vec![1.0]], vec!["prediction".to_string()]),
        (None, _) => {
            return refuse(
                "a regression base must predict its margin (identity link); log-link losses are not linear in \
                 the leaves",
            );
        }
        (Some(cs), Transform::Identity) if k == cs.len() => {
            if k == 2 {
                (vec![vec![0.0, 1.0]], vec![format!("p({})", label(1))])
            } else {
                (
                    identity(1.0),
                    (0..k).map(|c| format!("p({})", label(c))).collect(),
                )
            }
        }
        (Some(_), Transform::Sigmoid) if k == 1 => (vec![vec![1.0]], vec!["margin".to_string()]),
        (Some(cs), Transform::Softmax) if k == cs.len() => {
            let scale = if algo == Algo::Adaboost {
                k as f64 - 1.0
            } else {
                1.0
            };
            (
                identity(scale),
                (0..k).map(|c| format!("margin({})", label(c))).collect(),
            )
        }
        _ => return refuse("its outputs are neither class probabilities nor class margins"),
    };
    Ok(StackBase {
        name: algo.id().to_string(),
        ensemble,
        map,
        inputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Aggregate, Compare, Node, Precision, Tree};

    fn req() -> TrainConfig {
        TrainConfig::new(Algo::Stack, "x.csv".into(), "y".into(), "x.emk".into())
    }
    #[test]
    fn flags_reach_only_the_bases_that_take_them() {
        let mut r = req();
        r.learning_rate = Some(0.05);
        r.bootstrap = Some(false);
        r.hist.lambda = Some(2.0);
        r.loss = Some("log_loss".into());
        r.alpha = Some(0.5);
        r.max_depth = Some(4);
        let rf = request_for(&r, Algo::Rf);
        assert_eq!(rf.algo, Algo::Rf);
        assert!(rf.quiet);
        assert_eq!(
            (rf.learning_rate, rf.bootstrap, rf.hist.lambda, rf.max_depth),
            (None, Some(false), None, Some(4))
        );
        let gb = request_for(&r, Algo::Gbdt);
        assert_eq!(
            (gb.learning_rate, gb.bootstrap, gb.loss.as_deref(), gb.alpha),
            (Some(0.05), None, Some("log_loss"), None)
        );
        let h = request_for(&r, Algo::HistGbdt);
        assert_eq!(
            (h.learning_rate, h.hist.lambda, h.alpha, h.loss.as_deref()),
            (Some(0.05), Some(2.0), Some(0.5), None)
        );
        assert_eq!(
            unused_flags(&r, &[Algo::Rf, Algo::Gbdt]),
            vec!["--alpha".to_string(), "--lambda".to_string()]
        );
        assert!(unused_flags(&r, &[Algo::Rf, Algo::Gbdt, Algo::HistGbdt]).is_empty());
        let mut x = req();
        x.hist.xgboost_json = Some("m.json".into());
        assert!(unused_flags(&x, &[Algo::Rf]).is_empty());
    }

    fn ensemble(k: u32, transform: Transform) -> Ensemble {
        Ensemble {
            n_features: 1,
            n_outputs: k,
            trees: vec![Tree {
                nodes: vec![Node::Leaf(vec![0.5; k as usize])],
                output: None,
                weight: 1.0,
            }],
            base_margin: vec![0.0; k as usize],
            compare: Compare::LessEqual,
            aggregate: Aggregate::Sum,
            transform,
            precision: Precision::F64,
            feature_names: None,
            source: String::new(),
            input_f64: false,
        }
    }

    #[test]
    fn meta_inputs_follow_scikit_learn() {
        let two: Vec<String> = vec!["a".into(), "b".into()];
        let three: Vec<String> = vec!["a".into(), "b".into(), "c".into()];
        // Binary probabilities: the second column only.
        let b = stack_base(Algo::Rf, ensemble(2, Transform::Identity), Some(&two)).unwrap();
        assert_eq!(b.map, vec![vec![0.0, 1.0]]);
        assert_eq!(b.inputs, vec!["p(b)"]);
        // Binary margins: as they are.
        let b = stack_base(Algo::Gbdt, ensemble(1, Transform::Sigmoid), Some(&two)).unwrap();
        assert_eq!(b.map, vec![vec![1.0]]);
        // SAMME's multi-class margin times K − 1 is scikit-learn's decision_function.
        let b = stack_base(
            Algo::Adaboost,
            ensemble(3, Transform::Softmax),
            Some(&three),
        )
        .unwrap();
        assert_eq!(b.map[1], vec![0.0, 2.0, 0.0]);
        let b = stack_base(Algo::Gbdt, ensemble(3, Transform::Softmax), Some(&three)).unwrap();
        assert_eq!(b.map[2], vec![0.0, 0.0, 1.0]);
        // Regression: identity links only.
        assert!(stack_base(Algo::Gbdt, ensemble(1, Transform::Identity), None).is_ok());
        assert!(stack_base(Algo::Gbdt, ensemble(1, Transform::Exp), None).is_err());
        assert!(check_supported(Algo::Adaboost, Task::Regression).is_err());
        assert!(check_supported(Algo::Stack, Task::Classification).is_err());
    }
}
