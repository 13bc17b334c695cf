//! The reductions of the reference implementation, in its order of floating-point operations, so that boosting
//! weights, priors and leaf values round as scikit-learn's do (ties between candidate splits are then broken
//! the same way).
//!
//! - [`sum`]: NumPy's pairwise summation of a contiguous `float64` array (8 accumulators over blocks of at most
//!   128 values, halves split at a multiple of 8 above that);
//! - [`average`]: `numpy.average(a, weights=w)`, i.e. `sum(a·w) / sum(w)`;
//! - [`weighted_percentile`]: scikit-learn's `_weighted_percentile` (the "inverted CDF" definition: the
//!   smallest value whose cumulative weight reaches `rank/100 · total`);
//! - [`percentile`]: `numpy.percentile` with its default linear interpolation.

const BLOCK: usize = 128;

/// NumPy's `sum` of a contiguous `float64` array (pairwise summation).
pub fn sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut r = 0.0;
        for &x in a {
            r += x;
        }
        r
    } else if n <= BLOCK {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let whole = n - n % 8;
        let mut i = 8;
        while i < whole {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[whole..] {
            res += x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        sum(&a[..n2]) + sum(&a[n2..])
    }
}

/// `numpy.average(a, weights=w)`: `sum(a·w) / sum(w)`.
pub fn average(a: &[f64], w: &[f64]) -> f64 {
    let products: Vec<f64> = a.iter().zip(w).map(|(a, w)| a * w).collect();
    sum(&products) / sum(w)
}

/// scikit-learn's `_weighted_percentile(values, weights, rank)` (inverted CDF): sorts the values, accumulates
/// their weights in that order, and returns the first value whose cumulative weight is at least
/// `rank / 100 · total` (just above 0 when that is 0). NaN when every weight is 0.
pub fn weighted_percentile(values: &[f64], weights: &[f64], rank: f64) -> f64 {
    debug_assert_eq!(values.len(), weights.len());
    if values.is_empty() || weights.iter().all(|&w| w == 0.0) {
        return f64::NAN;
    }
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
    let mut cdf = Vec::with_capacity(order.len());
    let mut acc = 0.0;
    for &i in &order {
        acc += weights[i];
        cdf.push(acc);
    }
    let mut target = rank / 100.0 * acc;
    if target == 0.0 {
        target = f64::from_bits(target.to_bits() + 1);
    }
    let idx = cdf.partition_point(|&c| c < target).min(order.len() - 1);
    values[order[idx]]
}

/// `numpy.percentile(values, q)` with linear interpolation (`q` in percent). NaN for no values.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let q = q / 100.0;
    let virtual_index = (n - 1) as f64 * q;
    let (prev, next) = if virtual_index >= (n - 1) as f64 {
        (n - 1, n - 1)
    } else if virtual_index < 0.0 {
        (0, 0)
    } else {
        let p = virtual_index.floor() as usize;
        (p, p + 1)
    };
    let gamma = virtual_index - virtual_index.floor().clamp(0.0, (n - 1) as f64);
    let (a, b) = (sorted[prev], sorted[next]);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_groups_like_numpy() {
        // Rounding exposes the grouping: 1e16 + 1 + 1 … differs between sequential and pairwise sums.
        let mut a = vec![1.0; 20];
        a[0] = 1e16;
        // NumPy: r0 = 1e16 + 1 (rounds to 1e16), r1..r7 = 2, then ((r0 + r1) + …) + 4 remaining ones.
        let want = ((1e16f64 + 2.0) + 4.0) + 8.0 + 1.0 + 1.0 + 1.0 + 1.0;
        assert_eq!(sum(&a), want);
        assert_eq!(sum(&[1.0, 2.0, 3.0]), 6.0);
        let long: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        assert_eq!(sum(&long), 499_500.0);
    }

    #[test]
    fn percentiles_follow_their_definitions() {
        let v = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(weighted_percentile(&v, &[1.0; 5], 50.0), 3.0);
        // Four unit weights: rank 50 lands exactly on the second value (inverted CDF, no averaging).
        assert_eq!(
            weighted_percentile(&[4.0, 1.0, 3.0, 2.0], &[1.0; 4], 50.0),
            2.0
        );
        assert_eq!(
            weighted_percentile(&v, &[0.0, 0.0, 0.0, 0.0, 1.0], 50.0),
            3.0
        );
        assert_eq!(
            weighted_percentile(&v, &[1.0, 1.0, 1.0, 1.0, 10.0], 50.0),
            3.0
        );
        assert_eq!(
            weighted_percentile(&v, &[1.0, 0.0, 0.0, 0.0, 0.0], 0.0),
            5.0
        );
        assert!(weighted_percentile(&v, &[0.0; 5], 50.0).is_nan());
        assert_eq!(percentile(&[4.0, 1.0, 3.0, 2.0], 50.0), 2.5);
        assert_eq!(percentile(&v, 90.0), 4.6);
        assert_eq!(percentile(&v, 100.0), 5.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
    }
}
