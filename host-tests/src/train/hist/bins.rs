//! Quantile binning: every feature value becomes a one-byte bin index, and every bin boundary becomes the `f32`
//! threshold of XGBoost's `x < t` test.
//!
//! **Numeric features.** The cut values of a feature are the upper bounds of its bins: a value `x` falls in the
//! first bin `b` with `x < cuts[b]` (the bin search is an upper bound over the cuts), so a split "bins `0..=b` go
//! left" is exactly the test `x < cuts[b]` on the raw value, and a tree trained on bins predicts raw `f32` rows
//! with the same decisions. The last cut lies above every training value (`max + (|max| + 1e-5)` in `f32`).
//! Cuts come from an exact weighted summary of the training column (each distinct value with the total weight of
//! the values below it, `rmin`, and up to it, `rmax`), queried the way XGBoost queries its quantile sketch
//! (`WQSummary::QueryCutValues`):
//!
//! - with at most `max_bin` distinct values, every distinct value except the smallest is a cut: one bin per
//!   distinct value;
//! - otherwise cut `i` (`1 ≤ i < max_bin`) is the summary entry nearest to rank `i · W / max_bin` (`W` the total
//!   weight), chosen by comparing twice the rank with `rmin + rmax` of the neighbouring entries, and cuts are
//!   forced to be strictly increasing.
//!
//! XGBoost's sketch holds every distinct value of a column with at most `2 · max_bin + 1` distinct values (513 at
//! the default), so on such data the cuts are XGBoost's own, bit for bit; on larger data XGBoost answers the
//! same queries from a pruned sketch (rank error up to `1 / max_bin`), and these exact quantiles are at least as
//! fine. Rows of weight zero take no part in the summary (they are binned all the
//! same). Sample weights weigh the summary; hessians never do (XGBoost's `hist` method sketches with sample
//! weights only).
//!
//! **Categorical features** get one bin per category code `0..=max`, `max` the largest code in the training
//! data (XGBoost's layout); a code is its own bin.
//!
//! **Missing values** (NaN) get a bin of their own after the value bins, so the histogram of a node has their
//! gradient sums explicitly. Bin indices are bytes: a feature has at most 256 bins, missing bin included, so a
//! numeric feature with missing values has at most `min(max_bin, 255)` value bins (XGBoost would allow 256 value
//! bins there), and a categorical feature's largest code must be below 256 (below 255 with missing values).
//!
//! The bin matrix is row-major (a row's bins for every feature are contiguous), the layout that makes a
//! histogram pass read each row once: XGBoost's dense `GHistIndexMatrix` stores it the same way. A column-major
//! copy serves the row partition, which reads one feature of a node's rows (ascending row indices, so nearly
//! sequential reads).

use rayon::prelude::*;

use crate::train::TrainError;

/// The largest number of bins a feature can have, missing bin included (bin indices are bytes).
pub const MAX_BINS: usize = 256;

/// XGBoost's default `max_bin`.
pub const DEFAULT_MAX_BIN: usize = 256;

/// How one feature is binned.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureBins {
    /// Whether the feature is split by category sets instead of thresholds.
    pub categorical: bool,
    /// Numeric features: the upper bound of each bin (bin `b` holds `cuts[b − 1] ≤ x < cuts[b]`). Categorical
    /// features: the category of each bin (`cuts[b] = b`).
    pub cuts: Vec<f32>,
    /// Whether the training column has missing values; if so, bin [`FeatureBins::n_bins`] holds them.
    pub has_missing: bool,
}

impl FeatureBins {
    /// Number of value bins (the missing bin excluded).
    pub fn n_bins(&self) -> usize {
        self.cuts.len()
    }

    /// The bin of a value: the missing bin for NaN, else the value bin (numeric: the first cut above `x`, the
    /// last bin for larger values; categorical: the code `x` truncated, which must be a training category).
    pub fn bin(&self, x: f32) -> usize {
        if x.is_nan() {
            return self.n_bins();
        }
        if self.categorical {
            return (x as usize).min(self.n_bins() - 1);
        }
        let b = self.cuts.partition_point(|&c| c <= x);
        b.min(self.n_bins() - 1)
    }

    /// The threshold of the split that sends bins `0..=b` left (`x < threshold`); `b = −1` (nothing but missing
    /// values left) is `−∞`.
    pub fn threshold(&self, b: i32) -> f32 {
        if b < 0 {
            f32::NEG_INFINITY
        } else {
            self.cuts[b as usize]
        }
    }
}

/// A training matrix as bin indices, row-major, with the bins of every feature.
#[derive(Clone, Debug)]
pub struct BinnedMatrix {
    n_rows: usize,
    n_features: usize,
    /// `codes[r * n_features + f]` is row `r`'s bin for feature `f` (≤ `features[f].n_bins()`).
    codes: Vec<u8>,
    /// The same bins column-major: `columns[f * n_rows + r]`.
    columns: Vec<u8>,
    features: Vec<FeatureBins>,
    /// Histogram slot of bin 0 of each feature; feature `f` owns `offsets[f] .. offsets[f + 1]`, its value bins
    /// then its missing bin. `offsets[n_features]` is the number of slots of a histogram.
    offsets: Vec<u32>,
    dense: bool,
}

/// One distinct value of a column with its rank statistics (XGBoost's `WQSummary::Entry`, in `f32`).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Entry {
    /// Weight of the values below this one.
    rmin: f32,
    /// Weight of the values up to and including this one.
    rmax: f32,
    /// Weight of this value.
    wmin: f32,
    value: f32,
}

impl Entry {
    fn rmin_next(&self) -> f32 {
        self.rmin + self.wmin
    }
    fn rmax_prev(&self) -> f32 {
        self.rmax - self.wmin
    }
}

/// An order-preserving map of non-NaN `f32` to `u32` (negative values reversed below the positive ones).
fn sort_key(x: f32) -> u32 {
    let b = x.to_bits();
    if b >> 31 == 1 { !b } else { b | 0x8000_0000 }
}

fn from_sort_key(k: u32) -> f32 {
    f32::from_bits(if k >> 31 == 1 { k & 0x7FFF_FFFF } else { !k })
}

/// The exact weighted summary of a column: its distinct values (NaN and zero-weight rows left out), ascending.
fn summary(values: &[f32], weights: Option<&[f32]>) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut rmin = 0.0f64;
    let mut push = |value: f32, w: f64, out: &mut Vec<Entry>| match out.last_mut() {
        // Equal values (0.0 and −0.0 included) are one entry.
        Some(last) if last.value == value => {
            let wmin = last.wmin as f64 + w;
            last.wmin = wmin as f32;
            last.rmax = (last.rmin as f64 + wmin) as f32;
            rmin += w;
        }
        _ => {
            out.push(Entry {
                rmin: rmin as f32,
                rmax: (rmin + w) as f32,
                wmin: w as f32,
                value,
            });
            rmin += w;
        }
    };
    match weights {
        None => {
            let mut keys: Vec<u32> = values
                .iter()
                .filter(|x| !x.is_nan())
                .map(|&x| sort_key(x))
                .collect();
            keys.sort_unstable();
            for k in keys {
                push(from_sort_key(k), 1.0, &mut out);
            }
        }
        Some(w) => {
            let mut keyed: Vec<(u32, f32)> = values
                .iter()
                .zip(w)
                .filter(|(x, w)| !x.is_nan() && **w != 0.0)
                .map(|(&x, &w)| (sort_key(x), w))
                .collect();
            keyed.sort_unstable_by_key(|&(k, _)| k);
            for (k, w) in keyed {
                push(from_sort_key(k), w as f64, &mut out);
            }
        }
    }
    out
}

/// The cut values of a summary for at most `max_bin` bins (see the module documentation).
fn query_cuts(entries: &[Entry], max_bin: usize) -> Vec<f32> {
    let n = entries.len();
    if n == 0 {
        return vec![1e-5];
    }
    let max_bin = max_bin.min(n);
    let mut cuts = Vec::with_capacity(max_bin + 1);
    let next_distinct = |mut cursor: usize, value: f32| {
        while cursor < n && entries[cursor].value <= value {
            cursor += 1;
        }
        cursor
    };
    let mut last = entries[0].value;
    let mut next = next_distinct(1, last);
    if n <= max_bin {
        while next < n {
            let c = entries[next].value;
            cuts.push(c);
            last = c;
            next = next_distinct(next + 1, last);
        }
    } else {
        let total = entries[n - 1].rmax as f64;
        let mut q = 0usize;
        for i in 1..max_bin {
            let rank2 = 2.0 * (i as f64 * total / max_bin as f64);
            while q < n - 2 && rank2 >= (entries[q + 1].rmin + entries[q + 1].rmax) as f64 {
                q += 1;
            }
            let queried = if rank2 < (entries[q].rmin_next() + entries[q + 1].rmax_prev()) as f64 {
                entries[q]
            } else {
                entries[q + 1]
            };
            let mut c = queried.value;
            if c <= last {
                next = next_distinct(next, last);
                if next == n {
                    break;
                }
                c = entries[next].value;
            } else if next < n && entries[next].value <= c {
                next = next_distinct(next + 1, c);
            }
            cuts.push(c);
            last = c;
        }
    }
    let top = entries[n - 1].value;
    cuts.push(top + (top.abs() + 1e-5));
    cuts
}

/// The bins of a numeric column for at most `max_bin` value bins (fewer with missing values, see the module
/// documentation).
pub fn numeric_bins(values: &[f32], weights: Option<&[f32]>, max_bin: usize) -> FeatureBins {
    let has_missing = values.iter().any(|x| x.is_nan());
    let limit = max_bin.min(MAX_BINS - has_missing as usize);
    FeatureBins {
        categorical: false,
        cuts: query_cuts(&summary(values, weights), limit),
        has_missing,
    }
}

/// The bins of a categorical column: one per code `0..=max` (codes are non-negative integers).
pub fn categorical_bins(values: &[f32], name: &str) -> Result<FeatureBins, TrainError> {
    let has_missing = values.iter().any(|x| x.is_nan());
    let mut max = 0.0f32;
    for &x in values.iter().filter(|x| !x.is_nan()) {
        if !(x >= 0.0 && x.fract() == 0.0) {
            return Err(TrainError::Invalid(format!(
                "categorical feature `{name}` has the value {x}, not a category code (a non-negative integer)"
            )));
        }
        max = max.max(x);
    }
    let n_bins = max as usize + 1;
    if n_bins + has_missing as usize > MAX_BINS {
        return Err(TrainError::Invalid(format!(
            "categorical feature `{name}` has codes up to {max}; histogram boosting takes codes below {} \
             (one byte per bin{})",
            MAX_BINS - has_missing as usize,
            if has_missing {
                ", one bin kept for missing values"
            } else {
                ""
            }
        )));
    }
    Ok(FeatureBins {
        categorical: true,
        cuts: (0..n_bins).map(|c| c as f32).collect(),
        has_missing,
    })
}

impl BinnedMatrix {
    /// Bins the columns of a training table: `columns[f]` holds feature `f` for every row; `categorical[f]` and
    /// `names[f]` describe it; `weights` (one per row, if any) weigh the quantiles. `max_bin` (2..=256) bounds
    /// the value bins of numeric features.
    pub fn build(
        columns: &[&[f32]],
        categorical: &[bool],
        names: &[String],
        weights: Option<&[f32]>,
        max_bin: usize,
    ) -> Result<BinnedMatrix, TrainError> {
        if !(2..=MAX_BINS).contains(&max_bin) {
            return Err(TrainError::Invalid(format!(
                "max_bin {max_bin} is outside 2..={MAX_BINS}"
            )));
        }
        let n_features = columns.len();
        let n_rows = columns.first().map_or(0, |c| c.len());
        let features = columns
            .par_iter()
            .enumerate()
            .map(|(f, col)| {
                if categorical[f] {
                    categorical_bins(col, &names[f])
                } else {
                    Ok(numeric_bins(col, weights, max_bin))
                }
            })
            .collect::<Result<Vec<FeatureBins>, TrainError>>()?;
        let mut offsets = Vec::with_capacity(n_features + 1);
        let mut total = 0u32;
        for fb in &features {
            offsets.push(total);
            total += fb.n_bins() as u32 + 1;
        }
        offsets.push(total);
        let dense = !features.iter().any(|f| f.has_missing);
        let mut columns_codes = vec![0u8; n_rows * n_features];
        if n_rows > 0 {
            columns_codes
                .par_chunks_mut(n_rows)
                .zip(&features)
                .zip(columns)
                .for_each(|((out, fb), col)| {
                    for (o, &x) in out.iter_mut().zip(col.iter()) {
                        *o = fb.bin(x) as u8;
                    }
                });
        }
        let mut codes = vec![0u8; n_rows * n_features];
        const CHUNK: usize = 4096;
        if n_features > 0 {
            codes
                .par_chunks_mut(CHUNK * n_features)
                .enumerate()
                .for_each(|(c, out)| {
                    let first = c * CHUNK;
                    let rows = out.len() / n_features;
                    for f in 0..n_features {
                        let col = &columns_codes[f * n_rows + first..f * n_rows + first + rows];
                        for (r, &b) in col.iter().enumerate() {
                            out[r * n_features + f] = b;
                        }
                    }
                });
        }
        Ok(BinnedMatrix {
            n_rows,
            n_features,
            codes,
            columns: columns_codes,
            features,
            offsets,
            dense,
        })
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The bins of every feature.
    pub fn features(&self) -> &[FeatureBins] {
        &self.features
    }

    /// Histogram slot offsets: feature `f` owns slots `offsets[f] .. offsets[f + 1]` (its value bins, then its
    /// missing bin); the last entry is the number of slots.
    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }

    /// Number of histogram slots (every feature's value bins and missing bin).
    pub fn n_slots(&self) -> usize {
        self.offsets[self.n_features] as usize
    }

    /// Whether no training value is missing.
    pub fn is_dense(&self) -> bool {
        self.dense
    }

    /// Row `r`'s bins, one per feature.
    pub fn row(&self, r: usize) -> &[u8] {
        &self.codes[r * self.n_features..(r + 1) * self.n_features]
    }

    /// Feature `f`'s bin for every row.
    pub fn column(&self, f: usize) -> &[u8] {
        &self.columns[f * self.n_rows..(f + 1) * self.n_rows]
    }

    /// Every row's bins, row-major (`n_rows × n_features`). Each bin is at most its feature's
    /// [`FeatureBins::n_bins`], so `offsets[f] + bin < offsets[f + 1]`.
    pub fn codes(&self) -> &[u8] {
        &self.codes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_one_bin_each() {
        let v = [3.0f32, 1.0, 2.0, 2.0, f32::NAN, 1.0, 5.5];
        let b = numeric_bins(&v, None, 256);
        assert_eq!(b.cuts, vec![2.0, 3.0, 5.5, 5.5 + (5.5 + 1e-5)]);
        assert!(b.has_missing);
        assert_eq!(b.bin(1.0), 0);
        assert_eq!(b.bin(1.99), 0);
        assert_eq!(b.bin(2.0), 1);
        assert_eq!(b.bin(5.5), 3);
        assert_eq!(b.bin(1e9), 3);
        assert_eq!(b.bin(-1e9), 0);
        assert_eq!(b.bin(f32::NAN), 4);
        // The split "bins 0..=b left" is x < cuts[b] for every value.
        for &x in &[0.5f32, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.5, 6.0] {
            for bb in -1..4i32 {
                assert_eq!(b.bin(x) as i32 <= bb, x < b.threshold(bb), "x {x} b {bb}");
            }
        }
    }

    #[test]
    fn many_values_are_queried_at_even_ranks() {
        let v: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let b = numeric_bins(&v, None, 10);
        // Ranks 100, 200, ... of 1000 unit weights: the entries whose rmin + rmax brackets twice the rank.
        assert_eq!(b.cuts.len(), 10);
        assert_eq!(
            &b.cuts[..9],
            &[
                100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0, 900.0
            ]
        );
        assert_eq!(b.cuts[9], 999.0 + (999.0 + 1e-5));
        // Bins are non-empty and balanced.
        let mut counts = [0usize; 10];
        for &x in &v {
            counts[b.bin(x)] += 1;
        }
        assert!(counts.iter().all(|&c| c == 100), "{counts:?}");
    }

    #[test]
    fn weights_move_the_quantiles_and_zero_weights_drop_out() {
        let v: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let mut w = vec![1.0f32; 100];
        for x in &mut w[..50] {
            *x = 3.0;
        }
        let b = numeric_bins(&v, Some(&w), 4);
        // Total weight 200: ranks 50, 100, 150 fall at values ~16.7, ~33.3, 50.
        assert_eq!(b.cuts.len(), 4);
        assert!(b.cuts[0] > 15.0 && b.cuts[0] < 18.0, "{:?}", b.cuts);
        assert!(b.cuts[2] >= 49.0 && b.cuts[2] <= 51.0, "{:?}", b.cuts);
        let w0: Vec<f32> = (0..100).map(|i| if i >= 90 { 0.0 } else { 1.0 }).collect();
        let b = numeric_bins(&v, Some(&w0), 256);
        assert_eq!(*b.cuts.last().unwrap(), 89.0 + (89.0 + 1e-5));
    }

    #[test]
    fn missing_values_reserve_a_byte() {
        let mut v: Vec<f32> = (0..1000).map(|i| i as f32 * 0.5).collect();
        assert_eq!(numeric_bins(&v, None, 256).cuts.len(), 256);
        v[3] = f32::NAN;
        let b = numeric_bins(&v, None, 256);
        assert_eq!(b.cuts.len(), 255);
        assert_eq!(b.bin(f32::NAN), 255);
        let empty = numeric_bins(&[f32::NAN, f32::NAN], None, 256);
        assert_eq!(empty.cuts, vec![1e-5]);
    }

    #[test]
    fn categories_and_matrix_layout() {
        let c = [2.0f32, 0.0, f32::NAN, 4.0];
        let b = categorical_bins(&c, "c").unwrap();
        assert_eq!(b.cuts, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(b.bin(4.0), 4);
        assert_eq!(b.bin(f32::NAN), 5);
        assert!(categorical_bins(&[1.5], "c").is_err());
        assert!(categorical_bins(&[255.0, f32::NAN], "c").is_err());
        assert!(categorical_bins(&[255.0], "c").is_ok());

        let x = [1.0f32, 2.0, 3.0, 4.0];
        let names = vec!["x".to_string(), "c".to_string()];
        let m = BinnedMatrix::build(&[&x, &c], &[false, true], &names, None, 256).unwrap();
        assert_eq!(m.n_rows(), 4);
        assert_eq!(m.offsets(), &[0, 5, 11]);
        assert_eq!(m.row(0), &[0, 2]);
        assert_eq!(m.row(2), &[2, 5]);
        assert!(!m.is_dense());
        for r in 0..4 {
            for (f, &code) in m.row(r).iter().enumerate() {
                assert!(m.offsets()[f] + (code as u32) < m.offsets()[f + 1]);
            }
        }
    }
}
