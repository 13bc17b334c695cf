//! Prediction from a validated integer blob: the row mapping, the walk, the fixed-point sums and the output
//! transform, all in integer arithmetic.

use super::fixed::fixed_to_f32;
use super::sigmoid::sigmoid_fixed;
use super::{COLUMN_SHIFT, FEATURE_ENTRY, MAX_OUTPUTS, MISSING_NAN_AS_ZERO, ROOT_MASK};
use super::{IntForest, MISSING_ZERO_OR_NAN};
use crate::forest::{ShapeError, Transform};

/// Reads a little-endian `u32` at `p`.
///
/// # Safety
/// `p .. p + 4` is readable and `p` is 4-byte aligned.
#[inline(always)]
unsafe fn word(p: *const u8) -> u32 {
    // SAFETY: the caller guarantees 4 readable bytes at a 4-byte aligned address.
    u32::from_le(unsafe { p.cast::<u32>().read() })
}

/// Bits of `1e-35f32` without its sign: LightGBM's `Zero` missing type treats `|x|` up to this as missing.
const ZERO_LIMIT_BITS: u32 = 0x0554_AD2E;
/// Bits of +∞; a magnitude above it is a NaN.
const INF_BITS: u32 = 0x7F80_0000;

impl IntForest<'_> {
    /// Maps `row` to its bins: `bins[u]` is the bin of used feature `u` (the layout's *Bins*) and
    /// `bins[n_used + u]` its mirror, for `u < n_used`; the rest of `bins` is left alone. `row` must hold at
    /// least [`IntForest::n_features`] values (NaN marks a missing value), `bins` at least
    /// [`IntForest::bins_len`] (else [`ShapeError::OutputTooShort`]). Integer compares only.
    pub fn map_row(&self, row: &[f32], bins: &mut [u16]) -> Result<(), ShapeError> {
        self.map_with(row.len(), bins, |i| {
            // SAFETY: `map_with` passes indices below n_features <= row.len() (checked first).
            unsafe { row.get_unchecked(i) }.to_bits()
        })
    }

    /// Maps a row of 16-bit quantized values to its bins: feature `i` is `row[i] · 2^-exp` (`exp` clamped to
    /// `-64 ..= 64`), and `i16::MIN` marks a missing value (as NaN does in [`IntForest::map_row`]). Every such
    /// value is an f32 exactly, and its bins are those of that f32 — the map is exact for the quantized value,
    /// with integer operations only ([`fixed_to_f32`]). Errors as [`IntForest::map_row`].
    pub fn map_row_i16(&self, row: &[i16], exp: i32, bins: &mut [u16]) -> Result<(), ShapeError> {
        self.map_with(row.len(), bins, |i| {
            // SAFETY: `map_with` passes indices below n_features <= row.len() (checked first).
            let q = unsafe { *row.get_unchecked(i) };
            if q == i16::MIN {
                0x7FC0_0000
            } else {
                fixed_to_f32(i32::from(q), exp).to_bits()
            }
        })
    }

    /// The row mapping for a row of `len` values whose f32 bit patterns `bits(i)` gives, called only for
    /// `i < n_features <= len`.
    #[inline(always)]
    fn map_with(
        &self,
        len: usize,
        bins: &mut [u16],
        bits: impl Fn(usize) -> u32,
    ) -> Result<(), ShapeError> {
        if len < self.n_features {
            return Err(ShapeError::RowTooShort {
                needed: self.n_features,
                got: len,
            });
        }
        if bins.len() < self.bins_len() {
            return Err(ShapeError::OutputTooShort {
                needed: self.bins_len(),
                got: bins.len(),
            });
        }
        let b = self.bytes.as_ptr();
        // Checked split (the length test above implies it; this form keeps the panic path out of the binary).
        let got = bins.len();
        let Some((bins, mirrors)) = bins.split_at_mut_checked(self.n_used) else {
            return Err(ShapeError::OutputTooShort {
                needed: self.bins_len(),
                got,
            });
        };
        let mut start = 0usize;
        for (u, (bin, mirror)) in bins.iter_mut().zip(mirrors.iter_mut()).enumerate() {
            // SAFETY: u < n_used, so the entry's 8 bytes lie inside the features section, which `new` checked
            // lies inside the blob; aligned (4-aligned blob start, section at a multiple of 4).
            let (info, end) = unsafe {
                let e = b.add(self.features_off + u * FEATURE_ENTRY);
                (word(e), word(e.add(4)) as usize)
            };
            // `validate_features` proved the row index is below n_features <= len.
            let x = bits((info & 0xFFFF) as usize);
            let mode = ((info >> 16) & 0xFF) as u8;
            let mut m = x & 0x7FFF_FFFF;
            let missing = if m > INF_BITS {
                if mode == MISSING_NAN_AS_ZERO {
                    m = 0;
                    false
                } else {
                    true
                }
            } else {
                mode == MISSING_ZERO_OR_NAN && m <= ZERO_LIMIT_BITS
            };
            if missing {
                *bin = 0;
                *mirror = 0;
            } else {
                let key = if x >> 31 != 0 && m != 0 {
                    -(m as i32)
                } else {
                    m as i32
                };
                // SAFETY: `validate_features` proved start <= end <= n_keys for consecutive entries, so
                // keys start..end lie inside the keys section.
                let below = unsafe { self.count_at_most(start, end, key) };
                // below <= end - start <= MAX_KEYS_PER_FEATURE (validated): both fit a u16.
                *bin = 1 + below as u16;
                *mirror = (end - start + 1 - below) as u16;
            }
            start = end;
        }
        Ok(())
    }

    /// How many of keys `start..end` are at most `key` (they increase strictly): a binary search.
    ///
    /// # Safety
    /// `start <= end <= n_keys`.
    #[inline(always)]
    unsafe fn count_at_most(&self, start: usize, end: usize, key: i32) -> usize {
        // SAFETY: keys_off + 4·n_keys lies inside the blob (validated layout), start <= n_keys.
        let keys = unsafe { self.bytes.as_ptr().add(self.keys_off + 4 * start) };
        let mut lo = 0usize;
        let mut n = end - start;
        while n > 0 {
            let half = n / 2;
            // SAFETY: lo + half < lo + n <= end - start, so the key is inside start..end; 4-aligned.
            let k = unsafe { word(keys.add(4 * (lo + half))) } as i32;
            if k <= key {
                lo += half + 1;
                n -= half + 1;
            } else {
                n = half;
            }
        }
        lo
    }

    /// Writes the fixed-point margins (`n_outputs` values, scale [`IntForest::scale`]) of a row already mapped
    /// to `bins` ([`IntForest::map_row`]) into `out[..n_outputs]`. `bins` must hold at least
    /// [`IntForest::bins_len`] values (else [`ShapeError::RowTooShort`]); any values are safe to pass.
    pub fn margins_fixed(&self, bins: &[u16], out: &mut [i32]) -> Result<(), ShapeError> {
        if bins.len() < self.bins_len() {
            return Err(ShapeError::RowTooShort {
                needed: self.bins_len(),
                got: bins.len(),
            });
        }
        let got = out.len();
        let out = out
            .get_mut(..self.n_outputs)
            .ok_or(ShapeError::OutputTooShort {
                needed: self.n_outputs,
                got,
            })?;
        self.sums(bins, out);
        Ok(())
    }

    /// Writes the raw margins of `row` as f32 (`n_outputs` values, each the fixed-point sum rounded to the
    /// nearest f32). `bins` is the caller's scratch of at least [`IntForest::bins_len`] values.
    pub fn predict_margin(
        &self,
        row: &[f32],
        bins: &mut [u16],
        out: &mut [f32],
    ) -> Result<(), ShapeError> {
        self.check_out(out.len(), self.n_outputs)?;
        self.map_row(row, bins)?;
        let mut acc = [0i32; MAX_OUTPUTS];
        let acc = acc.get_mut(..self.n_outputs).unwrap_or_default();
        self.sums(bins, acc);
        for (o, a) in out.iter_mut().zip(acc.iter()) {
            *o = fixed_to_f32(*a, self.scale);
        }
        Ok(())
    }

    /// Writes the prediction of `row` ([`IntForest::output_len`] values): the margins through the model's
    /// transform (identity, [`sigmoid_fixed`], [`softmax_fixed`](super::softmax_fixed) with the `int-softmax`
    /// feature, or the index of the first largest margin). `bins` is the
    /// caller's scratch of at least [`IntForest::bins_len`] values.
    pub fn predict(
        &self,
        row: &[f32],
        bins: &mut [u16],
        out: &mut [f32],
    ) -> Result<(), ShapeError> {
        self.check_out(out.len(), self.output_len())?;
        self.map_row(row, bins)?;
        self.finish(bins, out);
        Ok(())
    }

    /// [`IntForest::predict`] for a row of 16-bit quantized values `row[i] · 2^-exp` (`i16::MIN` missing; see
    /// [`IntForest::map_row_i16`]): the prediction of that f32 row, bit for bit.
    pub fn predict_i16(
        &self,
        row: &[i16],
        exp: i32,
        bins: &mut [u16],
        out: &mut [f32],
    ) -> Result<(), ShapeError> {
        self.check_out(out.len(), self.output_len())?;
        self.map_row_i16(row, exp, bins)?;
        self.finish(bins, out);
        Ok(())
    }

    /// The sums of a mapped row through the transform into `out` (`out.len() >= output_len`, checked by the
    /// callers; `bins` mapped).
    #[inline(always)]
    fn finish(&self, bins: &[u16], out: &mut [f32]) {
        let mut acc = [0i32; MAX_OUTPUTS];
        let acc = acc.get_mut(..self.n_outputs).unwrap_or_default();
        self.sums(bins, acc);
        match self.transform {
            Transform::Sigmoid => {
                for (o, a) in out.iter_mut().zip(acc.iter()) {
                    *o = sigmoid_fixed(*a, self.scale);
                }
            }
            #[cfg(feature = "int-softmax")]
            Transform::Softmax => super::softmax::softmax_fixed(acc, self.scale, out),
            Transform::ArgMax => {
                let mut best = 0usize;
                for (k, a) in acc.iter().enumerate() {
                    if acc.get(best).is_some_and(|b| *a > *b) {
                        best = k;
                    }
                }
                if let Some(o) = out.first_mut() {
                    *o = fixed_to_f32(best as i32, 0);
                }
            }
            _ => {
                for (o, a) in out.iter_mut().zip(acc.iter()) {
                    *o = fixed_to_f32(*a, self.scale);
                }
            }
        }
    }

    fn check_out(&self, out: usize, needed: usize) -> Result<(), ShapeError> {
        if out < needed {
            return Err(ShapeError::OutputTooShort { needed, got: out });
        }
        Ok(())
    }

    /// The base margins, then every tree's leaf added to its column (wrapping; `new` proved the worst case of a
    /// writer's blob fits). `bins.len() >= bins_len` and `acc.len() == n_outputs` (callers check).
    #[inline(never)]
    fn sums(&self, bins: &[u16], acc: &mut [i32]) {
        let b = self.bytes.as_ptr();
        for (k, a) in acc.iter_mut().enumerate().take(self.n_outputs) {
            // SAFETY: k < n_outputs; the base margins (n_outputs i32 from HEADER_LEN) lie inside the blob and
            // are 4-aligned (validated layout and alignment).
            *a = unsafe { word(b.add(self.base_off + 4 * k)) } as i32;
        }
        if self.n_trees > 0 && acc.len() == self.n_outputs && bins.len() >= self.bins_len() {
            // SAFETY: the conditions just checked, and `self` was validated by `new`.
            unsafe {
                #[cfg(feature = "int-vector-leaves")]
                if self.n_rows > 0 {
                    self.walk_all::<true>(bins, acc);
                    return;
                }
                self.walk_all::<false>(bins, acc);
            }
        }
    }

    /// Walks every tree and adds its leaf to its column of `acc` (`ROWS` false: scalar leaves), or the leaf
    /// table's row the leaf names to every column (`ROWS` true: `n_rows > 0`), in one loop over the words of all
    /// the walks.
    ///
    /// # Safety
    /// `n_trees > 0`, `bins.len() >= 2 · n_used`, `acc.len() == n_outputs`, `ROWS == (n_rows > 0)`, and `self`
    /// was validated by `new`.
    #[inline(never)]
    unsafe fn walk_all<const ROWS: bool>(&self, bins: &[u16], acc: &mut [i32]) {
        let b = self.bytes.as_ptr();
        // SAFETY: words_off and trees_off + 4·n_trees are at most total_len = bytes.len() (validated layout).
        let (words, mut entry, last) = unsafe {
            (
                b.add(self.words_off),
                b.add(self.trees_off),
                b.add(self.trees_off + (self.n_trees - 1) * 4),
            )
        };
        // SAFETY: `entry` is the first of the n_trees > 0 entries.
        let mut e = unsafe { word(entry) };
        // SAFETY: a validated tree start is a word of its tree (`validate_trees`).
        let mut p = unsafe { words.add((e & ROOT_MASK) as usize * 4) };
        let (t_mask, f_shift, f_mask, far_shift) =
            (self.t_mask, self.f_shift, self.f_mask, self.far_shift);
        loop {
            // SAFETY: `p` is a word of the current tree: its start, or a child of a split, which
            // `validate_words` proved lies inside the tree (after the split); 4-aligned as the words section is.
            let w = unsafe { word(p) };
            if w & 1 != 0 {
                if ROWS {
                    let n = acc.len();
                    // SAFETY: `validate_words` proved the row index is below n_rows, and the leaf table's
                    // n_rows · n_outputs i32 lie inside the blob from rows_off (validated layout; 4-aligned).
                    let row = unsafe { b.add(self.rows_off + 4 * n * ((w >> 1) as usize)) };
                    for (k, a) in acc.iter_mut().enumerate() {
                        // SAFETY: k < n_outputs, inside the row.
                        *a = a.wrapping_add(unsafe { word(row.add(4 * k)) } as i32);
                    }
                } else {
                    // SAFETY: `validate_trees` proved every column is below n_outputs = acc.len().
                    let a = unsafe { acc.get_unchecked_mut((e >> COLUMN_SHIFT) as usize) };
                    *a = a.wrapping_add((w as i32) >> 1);
                }
                if entry == last {
                    return;
                }
                // SAFETY: `entry` is below the last entry, so the next one is an entry too, and its start is a
                // validated word.
                unsafe {
                    entry = entry.add(4);
                    e = word(entry);
                    p = words.add((e & ROOT_MASK) as usize * 4);
                }
                continue;
            }
            // SAFETY: `validate_words` proved the bin index is below 2 · n_used <= bins.len().
            let r = u32::from(unsafe { *bins.get_unchecked(((w >> f_shift) & f_mask) as usize) });
            let step = if r >= (w >> 1) & t_mask {
                (w >> far_shift) as usize
            } else {
                1
            };
            // SAFETY: both children (i + 1, i + far) lie inside the tree (`validate_words`); walks only move
            // forward, so each ends at a leaf.
            p = unsafe { p.add(step * 4) };
        }
    }
}
