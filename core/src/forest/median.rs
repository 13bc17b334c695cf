//! The weighted median (aggregate 2, AdaBoost.R2; the rule is in [`format`]'s module documentation): validation
//! of the tree weights and the predictor. Only with the `weighted-median` feature (on by default), so that
//! firmware without such models does not carry this code; without it, [`Forest::new`] rejects these blobs.
//!
//! The predictor is one non-generic function: it walks the trees with the node widths read at run time (one copy
//! in the binary instead of one per width and value type) and sorts the outputs by integer keys (no
//! floating-point comparisons, which are library calls on cores without double-precision hardware).

use super::error::BlobError;
use super::format::get_f64;
use super::format::{self, Transform, flags};
use super::predict::{TreeRef, Value, apply_transform, read_index, read_u32};
use super::view::Forest;

impl Forest<'_> {
    /// The weighted median's weights are finite and ≥ 0 with a finite sum; the worst case counts its passes.
    pub(super) fn validate_median_weights(&mut self) -> Result<(), BlobError> {
        let mut total = 0.0f64;
        for t in 0..self.n_trees {
            let w = get_f64(self.bytes, self.weights_off + t * format::MEDIAN_WEIGHT)
                .ok_or(BlobError::BadLayout)?;
            if !(w.is_finite() && w >= 0.0) {
                return Err(BlobError::BadTree {
                    tree: t as u32,
                    what: "median weight is negative or not finite",
                });
            }
            total += w;
        }
        // Any order of summation stays finite when this one has room to spare (T·ε relative at most).
        // (Finite weights ≥ 0 sum to a number or +∞, never NaN.)
        if total > f64::MAX / 2.0 {
            return Err(BlobError::BadField(
                "median weights sum to more than f64 holds",
            ));
        }
        Ok(())
    }

    /// A weighted median's prediction (one margin column): base margin plus the median, in the model's
    /// precision, then the transform.
    #[inline(never)]
    pub(super) fn run_median(&self, row: &[f32], out: &mut [f32], transform: bool) {
        let median = self.median_margin(row);
        if self.wide {
            finish_one(
                self.transform,
                [self.base::<f64>(0) + median],
                out,
                transform,
            );
        } else {
            // An f32 model's outputs are f32 values: narrowing the median back is exact.
            finish_one(
                self.transform,
                [self.base::<f32>(0) + median as f32],
                out,
                transform,
            );
        }
    }

    /// The weighted median of the tree outputs (see [`format`]'s module documentation for the rule), widened to
    /// f64. Trees are enumerated in the order of `(output, tree index)` in chunks of [`format::MEDIAN_CHUNK`]
    /// kept sorted in a stack buffer: the first enumeration sums the weights (the total, in sorted order as
    /// NumPy's `cumsum`), the second runs the same sums up to the first that reaches half of it. When every tree
    /// fits one chunk, the buffer from the first enumeration serves the second, and each tree is walked once.
    #[inline(never)]
    fn median_margin(&self, row: &[f32]) -> f64 {
        let n = self.n_trees;
        let single = n <= format::MEDIAN_CHUNK;
        let mut keys = [0u64; format::MEDIAN_CHUNK];
        let mut trees = [0u32; format::MEDIAN_CHUNK];
        // Enumeration 0 sums (`half` is infinite, so it never stops early); enumeration 1 searches.
        let mut half = f64::INFINITY;
        let mut cumulative = 0.0f64;
        let mut last = (0u64, 0u32);
        for enumeration in 0..2 {
            let mut after = None;
            let mut seen = 0;
            while seen < n {
                let len = if single && enumeration == 1 {
                    n
                } else {
                    self.median_chunk(row, after, &mut keys, &mut trees)
                };
                if len == 0 {
                    break; // not reached: every pass of a validated model finds the next trees
                }
                for (&key, &t) in keys.iter().zip(&trees).take(len) {
                    cumulative += self.median_weight(t);
                    if cumulative >= half {
                        return key_value(key);
                    }
                    last = (key, t);
                }
                seen += len;
                after = Some(last);
            }
            half = 0.5 * cumulative;
            cumulative = 0.0;
        }
        // The second running sum ends at the total (the same additions in the same order), so a validated model
        // returns above.
        key_value(last.0)
    }

    /// Fills `keys`/`trees` with the smallest `(output key, tree index)` pairs after `after` (all of them when
    /// `None`), in increasing order, up to the buffer's length, by walking every tree once; returns how many.
    fn median_chunk(
        &self,
        row: &[f32],
        after: Option<(u64, u32)>,
        keys: &mut [u64; format::MEDIAN_CHUNK],
        trees: &mut [u32; format::MEDIAN_CHUNK],
    ) -> usize {
        let mut len = 0usize;
        for t in 0..self.n_trees {
            let key = order_key(self.tree_output(row, t));
            let t = t as u32; // n_trees is a u32 field
            if after.is_some_and(|a| (key, t) <= a) {
                continue;
            }
            // Trees arrive in index order, so a pair is larger than every kept pair with an equal key: inserting
            // after them keeps the (key, index) order. A full buffer drops its largest pair for a smaller one.
            // `len` never exceeds the buffer; written as `>=` with an assignment so that the compiler sees
            // `len < MEDIAN_CHUNK` below and keeps no bounds check (a panic path) in the insertion.
            if len >= format::MEDIAN_CHUNK {
                if key >= keys[format::MEDIAN_CHUNK - 1] {
                    continue;
                }
                len = format::MEDIAN_CHUNK - 1;
            }
            // Insertion; the accesses are checked reads and writes that cannot fail (j ≤ len < MEDIAN_CHUNK), so
            // that no indexing panic path survives optimization (proven by boards/nopanic).
            let mut j = len;
            while j > 0 {
                let (Some(&k), Some(&i)) = (keys.get(j - 1), trees.get(j - 1)) else {
                    break;
                };
                if k <= key {
                    break;
                }
                if let (Some(kd), Some(td)) = (keys.get_mut(j), trees.get_mut(j)) {
                    (*kd, *td) = (k, i);
                }
                j -= 1;
            }
            if let (Some(kd), Some(td)) = (keys.get_mut(j), trees.get_mut(j)) {
                (*kd, *td) = (key, t);
            }
            len += 1;
        }
        len
    }

    /// Tree `t`'s weight in the median (`t < n_trees`; 0 past the section, which validation rules out).
    fn median_weight(&self, t: u32) -> f64 {
        let off = self.weights_off + t as usize * format::MEDIAN_WEIGHT;
        match self.bytes.get(off..off + format::MEDIAN_WEIGHT) {
            Some(&[a, b, c, d, e, f, g, h]) => f64::from_le_bytes([a, b, c, d, e, f, g, h]),
            _ => 0.0,
        }
    }

    /// Tree `t`'s output for `row` (`t < n_trees`, scalar leaves): its record weight times the leaf it reaches,
    /// in the model's precision, widened to f64. The walk reads the node widths at run time, so this path has one
    /// copy in the binary instead of one per width.
    fn tree_output(&self, row: &[f32], t: usize) -> f64 {
        let tr = self.tree_ref(t);
        let leaf = self.leaf_of(row, &tr);
        let off = self.leaves_off + leaf * if self.wide { 8 } else { 4 };
        // SAFETY: `leaf` is a validated leaf index and a weighted median has scalar leaves (leaf_width = 1).
        unsafe {
            if self.wide {
                tr.weight as f64 * <f64 as Value>::read(self.bytes, off)
            } else {
                (tr.weight * <f32 as Value>::read(self.bytes, off)) as f64
            }
        }
    }

    /// The global index of the leaf `row` reaches in tree `tr`.
    #[inline(always)]
    fn leaf_of(&self, row: &[f32], tr: &TreeRef) -> usize {
        if tr.nodes == 0 {
            return tr.leaf_start;
        }
        let b = self.bytes;
        let (fb, cb) = (self.feature_bytes, self.child_bytes);
        let mut node = 0usize;
        loop {
            let off = self.nodes_off + (tr.node_start + node) * self.node_size;
            // SAFETY: `node` is a node of this tree (its root, or a node child, which validation proved is <
            // tr.nodes), so its record of `node_size = 4 + fb + 1 + 2·cb` bytes lies inside the node section.
            let (threshold, feature, fl) = unsafe {
                (
                    read_u32(b, off),
                    read_index_dyn(b, off + 4, fb),
                    *b.get_unchecked(off + 4 + fb),
                )
            };
            // SAFETY: validation proved feature < n_features, and callers checked row.len() >= n_features.
            let x = unsafe { *row.get_unchecked(feature) };
            let side = (!self.go_left(x, threshold, fl)) as usize;
            // SAFETY: both child fields lie inside the record (see above); side ∈ {0, 1}.
            let child = unsafe { read_index_dyn(b, off + 5 + fb + side * cb, cb) };
            if fl & (flags::LEFT_LEAF << side) != 0 {
                return tr.leaf_start + child;
            }
            // Node children are numbered after their parent (validated): the walk ends within `tr.nodes` steps.
            node = child;
        }
    }
}

/// Reads an index of `width` bytes (1, 2 or 4, known at run time) without bounds checks.
///
/// # Safety
/// `off + width <= bytes.len()`.
#[inline(always)]
unsafe fn read_index_dyn(bytes: &[u8], off: usize, width: usize) -> usize {
    match width {
        // SAFETY: the caller guarantees 1 readable byte at `off`.
        1 => unsafe { read_index::<1>(bytes, off) },
        // SAFETY: the caller guarantees 2 readable bytes at `off`.
        2 => unsafe { read_index::<2>(bytes, off) },
        // SAFETY: the caller guarantees 4 readable bytes at `off` (validated widths are 1, 2 or 4).
        _ => unsafe { read_index::<4>(bytes, off) },
    }
}

/// An integer that orders as the f64 `v` (not NaN) does, with -0 and 0 equal: the weighted median sorts these
/// (integer comparisons, also on cores without double-precision hardware).
#[inline(always)]
fn order_key(v: f64) -> u64 {
    const SIGN: u64 = 1 << 63;
    let bits = v.to_bits();
    if bits == SIGN {
        SIGN // -0 as 0
    } else if bits & SIGN != 0 {
        !bits
    } else {
        bits | SIGN
    }
}

/// The f64 whose [`order_key`] is `k`.
#[inline(always)]
fn key_value(k: u64) -> f64 {
    const SIGN: u64 = 1 << 63;
    f64::from_bits(if k & SIGN != 0 { k & !SIGN } else { !k })
}

/// Writes one margin (`transform` false) or its prediction: the tail of `Forest::run_median`.
fn finish_one<V: Value>(t: Transform, mut m: [V; 1], out: &mut [f32], transform: bool) {
    if transform {
        apply_transform(t, &mut m, out);
    } else if let Some(o) = out.first_mut() {
        *o = m[0].to_f32();
    }
}
