//! The validation split of early stopping: scikit-learn's `train_test_split(..., test_size=f,
//! random_state=seed, stratify=y)` for classifiers and its unstratified form for regressors, drawn from a
//! [`RandomState`] seeded with the same seed, so that the rows (and their order) are scikit-learn's.
//!
//! - `n_test = ⌈f · n⌉`, `n_train = n − n_test`.
//! - Unstratified: the first `n_test` entries of `permutation(n)` are the validation rows, the next `n_train` the
//!   training rows.
//! - Stratified (`StratifiedShuffleSplit`): every class needs at least two rows, and each part at least one row per
//!   class. Per-class counts come from `_approximate_mode` (floors of the proportional counts, the missing rows
//!   given to the largest remainders, ties among them broken by `choice` without replacement), first for the
//!   training part, then for the validation part from what is left; each class's rows (in row order) are
//!   permuted and split; both parts are permuted once more.

use crate::train::TrainError;
use crate::train::dataset::Dataset;
use crate::train::random_state::RandomState;

/// Indices of the training and validation rows, in scikit-learn's order. `stratify` holds one class index per
/// row for a stratified split.
pub fn train_test_split(
    n_rows: usize,
    test_fraction: f64,
    seed: u32,
    stratify: Option<&[f64]>,
) -> Result<(Vec<usize>, Vec<usize>), TrainError> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(TrainError::Invalid(format!(
            "validation_fraction must be in (0, 1), got {test_fraction}"
        )));
    }
    let n_test = (test_fraction * n_rows as f64).ceil() as usize;
    let n_train = n_rows.saturating_sub(n_test);
    if n_train == 0 || n_test == 0 {
        return Err(TrainError::Invalid(format!(
            "validation_fraction {test_fraction} of {n_rows} rows leaves {n_train} training and {n_test} \
             validation rows; both parts need at least one"
        )));
    }
    let mut rng = RandomState::new(seed);
    let Some(y) = stratify else {
        let perm = rng.permutation(n_rows);
        let test = perm[..n_test].to_vec();
        let train = perm[n_test..n_test + n_train].to_vec();
        return Ok((train, test));
    };
    // np.unique(y, return_inverse=True, return_counts=True): classes in sorted order.
    let mut classes: Vec<f64> = y.to_vec();
    classes.sort_by(f64::total_cmp);
    classes.dedup();
    let class_of = |v: f64| {
        classes
            .binary_search_by(|c| c.total_cmp(&v))
            .expect("a value of y")
    };
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); classes.len()];
    for (r, &v) in y.iter().enumerate() {
        members[class_of(v)].push(r);
    }
    let counts: Vec<usize> = members.iter().map(Vec::len).collect();
    if let Some(c) = counts.iter().position(|&c| c < 2) {
        return Err(TrainError::Invalid(format!(
            "the stratified validation split needs at least 2 rows of every class; class {} has {}",
            classes[c], counts[c]
        )));
    }
    if n_train < classes.len() || n_test < classes.len() {
        return Err(TrainError::Invalid(format!(
            "the stratified validation split of {n_rows} rows into {n_train} training and {n_test} validation \
             rows cannot hold all {} classes on both sides",
            classes.len()
        )));
    }
    let n_i = approximate_mode(&counts, n_train, &mut rng);
    let remaining: Vec<usize> = counts.iter().zip(&n_i).map(|(c, n)| c - n).collect();
    let t_i = approximate_mode(&remaining, n_test, &mut rng);
    let mut train = Vec::with_capacity(n_train);
    let mut test = Vec::with_capacity(n_test);
    for (i, rows) in members.iter().enumerate() {
        let perm = rng.permutation(rows.len());
        let permuted: Vec<usize> = perm.iter().map(|&p| rows[p]).collect();
        train.extend_from_slice(&permuted[..n_i[i]]);
        test.extend_from_slice(&permuted[n_i[i]..n_i[i] + t_i[i]]);
    }
    rng.shuffle(&mut train);
    rng.shuffle(&mut test);
    Ok((train, test))
}

/// scikit-learn's `_approximate_mode(class_counts, n_draws, rng)`.
fn approximate_mode(counts: &[usize], n_draws: usize, rng: &mut RandomState) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    let continuous: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / total as f64 * n_draws as f64)
        .collect();
    let floored: Vec<f64> = continuous.iter().map(|c| c.floor()).collect();
    let mut result: Vec<usize> = floored.iter().map(|&f| f as usize).collect();
    let mut need = (n_draws as f64 - crate::train::numeric::sum(&floored)) as i64;
    if need > 0 {
        let remainder: Vec<f64> = continuous
            .iter()
            .zip(&floored)
            .map(|(c, f)| c - f)
            .collect();
        let mut values = remainder.clone();
        values.sort_by(|a, b| b.total_cmp(a));
        values.dedup();
        for value in values {
            let inds: Vec<usize> = (0..remainder.len())
                .filter(|&i| remainder[i] == value)
                .collect();
            let add_now = inds.len().min(need as usize);
            for p in rng.choice_without_replacement(inds.len(), add_now) {
                result[inds[p]] += 1;
            }
            need -= add_now as i64;
            if need == 0 {
                break;
            }
        }
    }
    result
}

/// The rows `rows` of `data` (in that order) as a new dataset with the same schema.
pub fn subset(data: &Dataset, rows: &[usize], what: &str) -> Dataset {
    let columns: Vec<Vec<f32>> = (0..data.n_features())
        .map(|f| {
            let c = data.column(f);
            rows.iter().map(|&r| c[r]).collect()
        })
        .collect();
    let target = rows.iter().map(|&r| data.target[r]).collect();
    let weights = data
        .weights
        .as_ref()
        .map(|w| rows.iter().map(|&r| w[r]).collect());
    let mut d = Dataset::from_columns(data.schema.clone(), columns, target, weights)
        .expect("rows of a valid dataset form a valid dataset");
    d.source = format!("{} ({what})", data.source);
    d
}
