//! scikit-learn's `simultaneous_sort` with three-way partitioning (`sklearn/utils/_sorting.pyx`): introsort with
//! Bentley–McIlroy median-of-3 pivots, `[< pivot][= pivot][> pivot]` partitions, heapsort past depth
//! `2·⌊log₂ n⌋`, and insertion sort for 15 values or fewer.
//!
//! The sort is not stable: rows with equal values end up in an order that depends on the order they came in.
//! Sorting the node's rows exactly as scikit-learn does keeps them in scikit-learn's order, so the criterion's
//! running sums add the same numbers in the same order and candidate splits that tie mathematically (two
//! features separating the same rows) compare the same way.

/// Sorts `values` ascending (no NaN), applying the same swaps to `samples`.
pub(super) fn sort(values: &mut [f32], samples: &mut [u32]) {
    debug_assert_eq!(values.len(), samples.len());
    let n = values.len();
    if n == 0 {
        return;
    }
    let maxd = 2 * (n as f64).log2() as usize;
    introsort(values, samples, maxd);
}

fn introsort(mut values: &mut [f32], mut samples: &mut [u32], mut maxd: usize) {
    while values.len() > 15 {
        if maxd == 0 {
            heapsort(values, samples);
            return;
        }
        maxd -= 1;
        let n = values.len();
        let pivot = median3(values);
        let (mut i, mut l, mut r) = (0, 0, n);
        while i < r {
            if values[i] < pivot {
                values.swap(i, l);
                samples.swap(i, l);
                i += 1;
                l += 1;
            } else if values[i] > pivot {
                r -= 1;
                values.swap(i, r);
                samples.swap(i, r);
            } else {
                i += 1;
            }
        }
        introsort(&mut values[..l], &mut samples[..l], maxd);
        values = &mut values[r..];
        samples = &mut samples[r..];
    }
    insertion_sort(values, samples);
}

/// The median of the first, middle and last values.
fn median3(v: &[f32]) -> f32 {
    let n = v.len();
    let (a, b, c) = (v[0], v[n / 2], v[n - 1]);
    if a < b {
        if b < c {
            b
        } else if a < c {
            c
        } else {
            a
        }
    } else if b < c {
        if a < c { a } else { c }
    } else {
        b
    }
}

fn insertion_sort(values: &mut [f32], samples: &mut [u32]) {
    for i in 1..values.len() {
        let (v, s) = (values[i], samples[i]);
        let mut j = i;
        while j > 0 && values[j - 1] > v {
            values[j] = values[j - 1];
            samples[j] = samples[j - 1];
            j -= 1;
        }
        values[j] = v;
        samples[j] = s;
    }
}

fn heapsort(values: &mut [f32], samples: &mut [u32]) {
    let n = values.len();
    let mut start = (n - 2) / 2;
    loop {
        sift_down(values, samples, start, n);
        if start == 0 {
            break;
        }
        start -= 1;
    }
    let mut end = n - 1;
    while end > 0 {
        values.swap(0, end);
        samples.swap(0, end);
        sift_down(values, samples, 0, end);
        end -= 1;
    }
}

fn sift_down(values: &mut [f32], samples: &mut [u32], start: usize, end: usize) {
    let mut root = start;
    loop {
        let child = root * 2 + 1;
        let mut max = root;
        if child < end && values[max] < values[child] {
            max = child;
        }
        if child + 1 < end && values[max] < values[child + 1] {
            max = child + 1;
        }
        if max == root {
            break;
        }
        values.swap(root, max);
        samples.swap(root, max);
        root = max;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_carries_the_samples() {
        // Enough values for the introsort and heapsort paths, with many repeats.
        for n in [0usize, 1, 2, 15, 16, 17, 100, 1000] {
            let values: Vec<f32> = (0..n).map(|i| ((i * 7919) % 13) as f32 * 0.5).collect();
            let mut v = values.clone();
            let mut s: Vec<u32> = (0..n as u32).collect();
            sort(&mut v, &mut s);
            assert!(v.windows(2).all(|w| w[0] <= w[1]), "n = {n}");
            assert!(s.iter().zip(&v).all(|(&i, &x)| values[i as usize] == x));
            let mut seen = s.clone();
            seen.sort_unstable();
            assert_eq!(seen, (0..n as u32).collect::<Vec<_>>());
        }
        // Heapsort directly.
        let mut v = vec![3.0f32, 1.0, 2.0, 5.0, 4.0];
        let mut s = vec![0u32, 1, 2, 3, 4];
        heapsort(&mut v, &mut s);
        assert_eq!((v, s), (vec![1.0, 2.0, 3.0, 4.0, 5.0], vec![1, 2, 0, 4, 3]));
    }

    #[test]
    fn equal_values_keep_scikit_learns_order() {
        // From sklearn.utils._sorting._py_simultaneous_sort (scikit-learn 1.9.1, three-way partitioning).
        let mut v: Vec<f32> = vec![
            2.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.0, 1.0,
            2.0, 0.0, 1.0,
        ];
        let mut s: Vec<u32> = (0..20).collect();
        sort(&mut v, &mut s);
        assert_eq!(
            s,
            [
                18, 3, 6, 15, 9, 12, 19, 7, 1, 4, 10, 13, 16, 14, 11, 8, 17, 5, 2, 0
            ]
        );
        let mut v: Vec<f32> = (0..60).map(|i| ((i * 7919) % 13) as f32).collect();
        let mut s: Vec<u32> = (0..60).collect();
        sort(&mut v, &mut s);
        assert_eq!(
            s,
            [
                0, 52, 39, 26, 13, 33, 46, 7, 20, 59, 1, 40, 14, 27, 53, 21, 34, 8, 47, 2, 41, 15,
                54, 28, 48, 35, 22, 9, 29, 42, 16, 3, 55, 49, 23, 36, 10, 17, 56, 43, 4, 30, 24,
                50, 11, 37, 31, 18, 44, 57, 5, 51, 25, 12, 38, 32, 45, 19, 58, 6
            ]
        );
    }
}
