//! [`IntForest`]: the validated view over an integer blob, and its validation.

use super::{
    COLUMN_SHIFT, FEATURE_ENTRY, HEADER_LEN, HEADER_LEN_2, MAGIC, ROOT_MASK, VERSION, VERSION_1,
};
use super::{
    IntError, MAX_F_BITS, MAX_FEATURES, MAX_KEYS_PER_FEATURE, MAX_OUTPUTS, MAX_SCALE, MAX_T_BITS,
    MAX_TF_BITS, MAX_WORDS, MIN_SCALE, MISSING_ZERO_OR_NAN,
};
use crate::forest::Transform;

/// A validated integer tree-ensemble model borrowed from a blob (layout in [the module](super)). Cheap to
/// copy; all methods are allocation-free and never panic.
#[derive(Clone, Copy, Debug)]
pub struct IntForest<'a> {
    /// The blob up to `total_len`.
    pub(super) bytes: &'a [u8],
    pub(super) n_features: usize,
    pub(super) n_used: usize,
    pub(super) n_outputs: usize,
    pub(super) n_trees: usize,
    pub(super) transform: Transform,
    pub(super) scale: i32,
    /// Leaf-table rows (version 2): 0 for scalar leaves, else every leaf word holds a row index.
    pub(super) n_rows: usize,
    /// Split fields: threshold mask (after `>> 1`), bin index shift and mask, far offset shift.
    pub(super) t_mask: u32,
    pub(super) f_shift: u32,
    pub(super) f_mask: u32,
    pub(super) far_shift: u32,
    pub(super) base_off: usize,
    pub(super) features_off: usize,
    pub(super) keys_off: usize,
    pub(super) trees_off: usize,
    pub(super) words_off: usize,
    pub(super) rows_off: usize,
}

/// A little-endian `u32` at `off`, or `None` past the end.
#[inline]
fn get_u32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

impl<'a> IntForest<'a> {
    /// Validates `bytes` as a version-1 or version-2 integer blob and returns the view. The blob must start at a 4-byte
    /// aligned address ([`IntError::Misaligned`] otherwise). Trailing bytes after `total_len` are ignored.
    /// Cost: one pass over the blob (checksum) and one over the keys and the words.
    #[inline(never)]
    pub fn new(bytes: &'a [u8]) -> Result<IntForest<'a>, IntError> {
        let truncated = |needed: usize| IntError::Truncated {
            needed,
            got: bytes.len(),
        };
        if !(bytes.as_ptr() as usize).is_multiple_of(4) {
            return Err(IntError::Misaligned);
        }
        let header = bytes.get(..HEADER_LEN).ok_or(truncated(HEADER_LEN))?;
        if header.get(..4) != Some(&MAGIC[..]) {
            return Err(IntError::BadMagic);
        }
        let u16_at = |off: usize| {
            header
                .get(off..off + 2)
                .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
        };
        let u8_at = |off: usize| header.get(off).copied().unwrap_or(0);
        let version = u16_at(4);
        let expected_len = match version {
            VERSION_1 => HEADER_LEN,
            VERSION => HEADER_LEN_2,
            _ => return Err(IntError::UnsupportedVersion(version)),
        };
        let header_len = u16_at(6);
        if header_len as usize != expected_len {
            return Err(IntError::BadHeaderLength(header_len));
        }
        let header = bytes.get(..expected_len).ok_or(truncated(expected_len))?;
        let u32_at = |off: usize| get_u32(header, off).unwrap_or(0);
        let total_len = u32_at(8) as usize;
        if total_len < expected_len {
            return Err(IntError::BadField("total_len"));
        }
        let bytes = bytes.get(..total_len).ok_or(truncated(total_len))?;
        let stored = u32_at(12);
        let computed = crate::forest::crc32(bytes.get(16..).unwrap_or_default());
        if stored != computed {
            return Err(IntError::ChecksumMismatch { stored, computed });
        }
        let n_features = u32_at(16) as usize;
        let n_trees = u32_at(20) as usize;
        let n_words = u32_at(24) as usize;
        let n_keys = u32_at(28) as usize;
        let n_used = u16_at(32) as usize;
        let n_outputs = u8_at(34) as usize;
        if n_features == 0 || n_features > MAX_FEATURES {
            return Err(IntError::BadField("n_features"));
        }
        if n_used > n_features {
            return Err(IntError::BadField("n_used"));
        }
        if n_words >= MAX_WORDS {
            return Err(IntError::BadField("n_words"));
        }
        if n_outputs == 0 || n_outputs > MAX_OUTPUTS {
            return Err(IntError::BadField("n_outputs"));
        }
        let transform = match Transform::from_u8(u8_at(35)) {
            Some(t @ (Transform::Identity | Transform::Sigmoid | Transform::ArgMax)) => t,
            #[cfg(feature = "int-softmax")]
            Some(Transform::Softmax) if version == VERSION => Transform::Softmax,
            _ => return Err(IntError::BadField("transform")),
        };
        let scale = u8_at(36) as i8 as i32;
        if !(MIN_SCALE..=MAX_SCALE).contains(&scale) {
            return Err(IntError::BadField("scale"));
        }
        let t_bits = u32::from(u8_at(37));
        let f_bits = u32::from(u8_at(38));
        if t_bits == 0 || t_bits > MAX_T_BITS {
            return Err(IntError::BadField("t_bits"));
        }
        if f_bits == 0 || f_bits > MAX_F_BITS || t_bits + f_bits > MAX_TF_BITS {
            return Err(IntError::BadField("f_bits"));
        }
        if u8_at(39) != 0 {
            return Err(IntError::BadField("reserved"));
        }
        // Version 2: the leaf table's rows (version 1 has none).
        let n_rows = if version == VERSION {
            u32_at(40) as usize
        } else {
            0
        };
        if n_rows >= 1 << 30 || (n_rows > 0 && cfg!(not(feature = "int-vector-leaves"))) {
            return Err(IntError::BadField("n_rows"));
        }
        // Sections; the counts are below 2^32, so on 32-bit targets every product and sum is checked.
        let section = |start: usize, count: usize, size: usize| {
            count
                .checked_mul(size)
                .and_then(|s| s.checked_add(start))
                .ok_or(IntError::BadLayout)
        };
        let features_off = section(expected_len, n_outputs, 4)?;
        let keys_off = section(features_off, n_used, FEATURE_ENTRY)?;
        let trees_off = section(keys_off, n_keys, 4)?;
        let words_off = section(trees_off, n_trees, 4)?;
        let rows_off = section(words_off, n_words, 4)?;
        let row_words = n_rows.checked_mul(n_outputs).ok_or(IntError::BadLayout)?;
        let end = section(rows_off, row_words, 4)?;
        if end != total_len {
            return Err(IntError::BadLayout);
        }
        let forest = IntForest {
            bytes,
            n_features,
            n_used,
            n_outputs,
            n_trees,
            transform,
            scale,
            n_rows,
            t_mask: (1 << t_bits) - 1,
            f_shift: 1 + t_bits,
            f_mask: (1 << f_bits) - 1,
            far_shift: 1 + t_bits + f_bits,
            base_off: expected_len,
            features_off,
            keys_off,
            trees_off,
            words_off,
            rows_off,
        };
        forest.validate_features(n_keys)?;
        forest.validate_trees(n_words)?;
        Ok(forest)
    }

    fn word_at(&self, off: usize) -> Result<u32, IntError> {
        get_u32(self.bytes, off).ok_or(IntError::BadLayout)
    }

    /// Feature entries: row index and mode in range, key ranges consecutive and ending at `n_keys`, keys strictly
    /// increasing.
    fn validate_features(&self, n_keys: usize) -> Result<(), IntError> {
        let mut start = 0usize;
        for u in 0..self.n_used {
            let bad = |what| IntError::BadFeature {
                feature: u as u32,
                what,
            };
            let at = self.features_off + u * FEATURE_ENTRY;
            let info = self.word_at(at)?;
            let end = self.word_at(at + 4)? as usize;
            if (info & 0xFFFF) as usize >= self.n_features {
                return Err(bad("row index out of range"));
            }
            if ((info >> 16) & 0xFF) as u8 > MISSING_ZERO_OR_NAN || info >> 24 != 0 {
                return Err(bad("unknown missing mode"));
            }
            if end < start || end > n_keys {
                return Err(bad("key range out of order or past n_keys"));
            }
            if end - start > MAX_KEYS_PER_FEATURE {
                return Err(bad("too many keys"));
            }
            let mut last: Option<i32> = None;
            for j in start..end {
                let k = self.word_at(self.keys_off + 4 * j)? as i32;
                if last.is_some_and(|l| l >= k) {
                    return Err(bad("keys are not strictly increasing"));
                }
                last = Some(k);
            }
            start = end;
        }
        if start != n_keys {
            return Err(IntError::BadField("n_keys"));
        }
        Ok(())
    }

    /// Tree entries (starts strictly increasing from 0, columns in range), every tree's words, and the
    /// worst-case sums.
    fn validate_trees(&self, n_words: usize) -> Result<(), IntError> {
        let mut worst = [0u64; MAX_OUTPUTS];
        for (k, w) in worst.iter_mut().enumerate().take(self.n_outputs) {
            *w = u64::from((self.word_at(self.base_off + 4 * k)? as i32).unsigned_abs());
        }
        if self.n_rows > 0 {
            // Vector leaves: every tree adds one row to every column; at most n_trees times the row table's
            // largest magnitude per column.
            for (k, w) in worst.iter_mut().enumerate().take(self.n_outputs) {
                let mut largest = 0u64;
                for r in 0..self.n_rows {
                    let v = self.word_at(self.rows_off + 4 * (r * self.n_outputs + k))? as i32;
                    largest = largest.max(u64::from(v.unsigned_abs()));
                }
                *w = w.saturating_add(largest.saturating_mul(self.n_trees as u64));
            }
        }
        if self.n_trees == 0 && n_words != 0 {
            return Err(IntError::BadField("n_words"));
        }
        for t in 0..self.n_trees {
            let bad = |what| IntError::BadTree {
                tree: t as u32,
                what,
            };
            let e = self.word_at(self.trees_off + 4 * t)?;
            let start = (e & ROOT_MASK) as usize;
            let column = (e >> COLUMN_SHIFT) as usize;
            if column >= self.n_outputs || (self.n_rows > 0 && column != 0) {
                return Err(bad("column out of range (0 with vector leaves)"));
            }
            let end = if t + 1 < self.n_trees {
                (self.word_at(self.trees_off + 4 * (t + 1))? & ROOT_MASK) as usize
            } else {
                n_words
            };
            if t == 0 && start != 0 {
                return Err(bad("the first tree does not start at word 0"));
            }
            if end <= start || end > n_words {
                return Err(bad("start is not below the next tree's start"));
            }
            let largest = self.validate_words(start, end)?;
            if self.n_rows == 0
                && let Some(w) = worst.get_mut(column)
            {
                *w += largest;
            }
        }
        if worst.iter().any(|w| *w > i32::MAX as u64) {
            return Err(IntError::BadField("scale"));
        }
        Ok(())
    }

    /// One tree's words `start..end`: splits with a bin index below `2 · n_used` and both children inside the
    /// tree after them, leaves with a row index below `n_rows` when there is a leaf table; returns the largest
    /// leaf magnitude.
    fn validate_words(&self, start: usize, end: usize) -> Result<u64, IntError> {
        let mut largest = 0u64;
        for i in start..end {
            let bad = |what| IntError::BadWord {
                word: i as u32,
                what,
            };
            let w = self.word_at(self.words_off + 4 * i)?;
            if w & 1 == 1 {
                let v = (w as i32) >> 1;
                if self.n_rows > 0 && (v < 0 || v as usize >= self.n_rows) {
                    return Err(bad("leaf row index out of range"));
                }
                largest = largest.max(u64::from(v.unsigned_abs()));
                continue;
            }
            let far = (w >> self.far_shift) as usize;
            if far < 2 {
                return Err(bad("split with far offset below 2"));
            }
            if ((w >> self.f_shift) & self.f_mask) as usize >= 2 * self.n_used {
                return Err(bad("bin index out of range"));
            }
            // far >= 2, so i + 1 < i + far: both children are inside the tree when the far one is.
            if i + far >= end {
                return Err(bad("a child lies past the tree's last word"));
            }
        }
        Ok(largest)
    }

    /// Features a row must have.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Features the splits read. At most [`IntForest::n_features`].
    pub fn n_used(&self) -> usize {
        self.n_used
    }

    /// The length of the bins scratch ([`IntForest::map_row`]): `2 · n_used` (each used feature's bin and its
    /// mirror).
    pub fn bins_len(&self) -> usize {
        2 * self.n_used
    }

    /// Columns of the raw margin.
    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    /// Values [`IntForest::predict`] writes per row: 1 for [`Transform::ArgMax`], else
    /// [`IntForest::n_outputs`].
    pub fn output_len(&self) -> usize {
        if self.transform == Transform::ArgMax {
            1
        } else {
            self.n_outputs
        }
    }

    /// Trees in the model.
    pub fn n_trees(&self) -> usize {
        self.n_trees
    }

    /// The output transform (identity, sigmoid, softmax or argmax).
    pub fn transform(&self) -> Transform {
        self.transform
    }

    /// Rows of the leaf table (version 2): 0 when every leaf is a scalar, else the distinct leaf vectors the
    /// leaves index.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// The fixed-point scale `s`: a margin is `v · 2^-s`.
    pub fn scale(&self) -> i32 {
        self.scale
    }
}
