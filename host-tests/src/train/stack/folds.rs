//! Cross-validation folds for the out-of-fold predictions the meta-learner is fitted on.
//!
//! The assignment is scikit-learn's, drawn from NumPy's `RandomState(seed)` ([`RandomState`]), so a stack fitted
//! with `--seed s` uses the folds of `StratifiedKFold(k, shuffle=True, random_state=s)` (classification) or
//! `KFold(k, shuffle=True, random_state=s)` (regression):
//!
//! - stratified: classes are numbered in order of first appearance; the labels, sorted by that number, are dealt
//!   round-robin to the `k` folds, which fixes how many rows of each class every test fold gets; then, class by
//!   class, the list of fold numbers (`0` repeated for fold 0's share, then `1`, …) is shuffled and handed to the
//!   class's rows in row order;
//! - plain: the row indices are shuffled and cut into `k` consecutive runs, the first `n mod k` one row longer.
//!
//! Every row is in exactly one test fold; a training fold is every other row, in row order (as
//! `cross_val_predict` fits them).

use crate::train::dataset::Dataset;
use crate::train::random_state::RandomState;

/// The test fold of every row, stratified by class (`StratifiedKFold(k, shuffle=True, random_state=seed)`).
///
/// Fails when `k < 2`, or when every class has fewer than `k` rows (scikit-learn's rule); a class with fewer
/// than `k` rows leaves some test folds without it.
pub fn stratified(labels: &[usize], k: usize, seed: u32) -> Result<Vec<usize>, String> {
    if k < 2 {
        return Err(format!("--cv {k}: cross-validation needs at least 2 folds"));
    }
    // Classes renumbered by first appearance.
    let mut code: Vec<Option<usize>> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    let mut encoded = Vec::with_capacity(labels.len());
    for &y in labels {
        if code.len() <= y {
            code.resize(y + 1, None);
        }
        let c = *code[y].get_or_insert_with(|| {
            counts.push(0);
            counts.len() - 1
        });
        counts[c] += 1;
        encoded.push(c);
    }
    if counts.iter().all(|&c| c < k) {
        return Err(format!(
            "--cv {k}: more folds than rows in every class (the largest class has {})",
            counts.iter().max().copied().unwrap_or(0)
        ));
    }
    // allocation[f][c]: rows of class c in test fold f, dealing the sorted labels round-robin.
    let mut allocation = vec![vec![0usize; counts.len()]; k];
    let mut i = 0usize;
    for (c, &n) in counts.iter().enumerate() {
        for _ in 0..n {
            allocation[i % k][c] += 1;
            i += 1;
        }
    }
    let mut rng = RandomState::new(seed);
    let mut fold = vec![0usize; labels.len()];
    for c in 0..counts.len() {
        let mut folds_for_class: Vec<usize> = allocation
            .iter()
            .enumerate()
            .flat_map(|(f, share)| std::iter::repeat_n(f, share[c]))
            .collect();
        rng.shuffle(&mut folds_for_class);
        let rows = encoded
            .iter()
            .enumerate()
            .filter(|(_, e)| **e == c)
            .map(|(r, _)| r);
        for (r, f) in rows.zip(folds_for_class) {
            fold[r] = f;
        }
    }
    Ok(fold)
}

/// The test fold of each of `n` rows (`KFold(k, shuffle=True, random_state=seed)`).
pub fn plain(n: usize, k: usize, seed: u32) -> Result<Vec<usize>, String> {
    if k < 2 {
        return Err(format!("--cv {k}: cross-validation needs at least 2 folds"));
    }
    if k > n {
        return Err(format!("--cv {k}: more folds than the {n} training rows"));
    }
    let mut rng = RandomState::new(seed);
    let order = rng.permutation(n);
    let mut fold = vec![0usize; n];
    let mut start = 0;
    for f in 0..k {
        let size = n / k + usize::from(f < n % k);
        for &r in &order[start..start + size] {
            fold[r] = f;
        }
        start += size;
    }
    Ok(fold)
}

/// The folds for `data`: stratified for classification, plain for regression.
pub fn assign(data: &Dataset, k: usize, seed: u32) -> Result<Vec<usize>, String> {
    match data.schema.classes {
        Some(_) => stratified(&data.class_indices(), k, seed),
        None => plain(data.n_rows, k, seed),
    }
}

/// The rows of `data` at `rows` (in that order), with the same schema.
pub fn subset(data: &Dataset, rows: &[usize]) -> Dataset {
    let columns = (0..data.n_features())
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
    let mut out = Dataset::from_columns(data.schema.clone(), columns, target, weights)
        .expect("a subset of a valid dataset is valid");
    out.source = data.source.clone();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_partition(fold: &[usize], k: usize) {
        let mut sizes = vec![0usize; k];
        for &f in fold {
            assert!(f < k);
            sizes[f] += 1;
        }
        let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(hi - lo <= 1, "fold sizes {sizes:?}");
    }

    #[test]
    fn stratified_folds_partition_and_balance_every_class() {
        let labels: Vec<usize> = (0..103).map(|i| [2, 0, 0, 1, 0][i % 5]).collect();
        for k in [2, 3, 5, 7] {
            let fold = stratified(&labels, k, 42).unwrap();
            check_partition(&fold, k);
            for c in 0..3 {
                let mut per = vec![0usize; k];
                for (r, &f) in fold.iter().enumerate() {
                    if labels[r] == c {
                        per[f] += 1;
                    }
                }
                let (lo, hi) = (per.iter().min().unwrap(), per.iter().max().unwrap());
                assert!(hi - lo <= 1, "class {c}, k {k}: {per:?}");
            }
        }
    }

    #[test]
    fn folds_depend_on_the_seed_only() {
        let labels: Vec<usize> = (0..50).map(|i| i % 2).collect();
        assert_eq!(
            stratified(&labels, 5, 3).unwrap(),
            stratified(&labels, 5, 3).unwrap()
        );
        assert_ne!(
            stratified(&labels, 5, 3).unwrap(),
            stratified(&labels, 5, 4).unwrap()
        );
        let a = plain(23, 4, 9).unwrap();
        check_partition(&a, 4);
        assert_eq!(a, plain(23, 4, 9).unwrap());
    }

    #[test]
    fn too_many_folds_are_refused() {
        assert!(stratified(&[0, 1, 0, 1], 3, 0).is_err());
        assert!(stratified(&[0, 1, 0, 1], 1, 0).is_err());
        assert!(plain(3, 4, 0).is_err());
    }
}
