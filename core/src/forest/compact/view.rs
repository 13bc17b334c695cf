//! [`CompactForest`]: the validated view over a compact blob, and its validation.

use super::{COLUMN_SHIFT, HEADER_LEN, HEADER_LEN_V1, MAGIC, RECORD, ROOT_MASK, TREE_ENTRY};
use super::{
    CompactError, FAR_SHIFT, FEATURE_MASK, FEATURE_SHIFT, MAX_FEATURES, MAX_OUTPUTS, MAX_RECORDS,
};
use super::{MAX_CHECKED_DEPTH, MAX_OBLIVIOUS_DEPTH, OBLIVIOUS, PAIR_FAR, VECTOR_COLUMN, VERSION};
use crate::forest::Transform;

/// A validated compact tree-ensemble model borrowed from a blob (layout in [the module](super)). Cheap to copy;
/// all methods are allocation-free and never panic.
#[derive(Clone, Copy, Debug)]
pub struct CompactForest<'a> {
    /// The blob up to `total_len`.
    pub(super) bytes: &'a [u8],
    pub(super) n_features: usize,
    pub(super) n_outputs: usize,
    pub(super) n_trees: usize,
    pub(super) mean: bool,
    pub(super) transform: Transform,
    pub(super) divisor: f32,
    pub(super) base_off: usize,
    pub(super) trees_off: usize,
    pub(super) records_off: usize,
    pub(super) vectors_off: usize,
    pub(super) n_vectors: usize,
    /// Version 3 or later: bottom splits with leaf pairs are allowed (checked only while validating).
    pub(super) pairs: bool,
}

impl<'a> CompactForest<'a> {
    /// Validates `bytes` as a compact blob (version 3, 2 or 1) and returns the view: every check of the layout,
    /// the CRC-32 included. The blob must start at a 4-byte aligned address ([`CompactError::Misaligned`]
    /// otherwise). Trailing bytes after `total_len` are ignored. Cost: one pass over the records and vectors and
    /// one over the blob (checksum). Links the table-driven CRC-32 (1 KiB of table): a firmware that does not
    /// want it calls [`CompactForest::new_without_checksum`].
    pub fn new(bytes: &'a [u8]) -> Result<CompactForest<'a>, CompactError> {
        let forest = Self::new_without_checksum(bytes)?;
        forest.verify_checksum()?;
        Ok(forest)
    }

    /// Compares the stored CRC-32 with the bytes' ([`CompactError::ChecksumMismatch`] when they differ).
    /// [`CompactForest::new`] calls it; after [`CompactForest::new_without_checksum`] it is the caller's choice.
    pub fn verify_checksum(&self) -> Result<(), CompactError> {
        // SAFETY: a validated blob holds at least its header (40 bytes) and starts 4-aligned.
        let stored = unsafe { self.word_at(12) };
        let computed = crate::forest::crc32(self.bytes.get(16..).unwrap_or_default());
        if stored != computed {
            return Err(CompactError::ChecksumMismatch { stored, computed });
        }
        Ok(())
    }

    /// Validates `bytes` as [`CompactForest::new`] does except for the CRC-32: every check that keeps the walk
    /// inside the blob and makes it end is made, so the view is as safe to predict with; only corruption that
    /// keeps the layout consistent (a changed threshold, leaf value or feature index in range) goes unnoticed.
    /// For a blob the firmware embeds (its image is checked otherwise) or when the code size matters: no CRC
    /// code or table is linked.
    #[inline(never)]
    pub fn new_without_checksum(bytes: &'a [u8]) -> Result<CompactForest<'a>, CompactError> {
        // Written for size (it is linked into every firmware that loads a compact blob): the header is a fixed
        // array (constant offsets, no bounds checks), and once the section sizes are proven to end at
        // `total_len` the sections are read without further checks.
        if !(bytes.as_ptr() as usize).is_multiple_of(4) {
            return Err(CompactError::Misaligned);
        }
        let Some(header) = bytes.first_chunk::<HEADER_LEN>() else {
            return Err(CompactError::Truncated {
                needed: HEADER_LEN,
                got: bytes.len(),
            });
        };
        let u32_at = |off: usize| {
            u32::from_le_bytes([
                header[off],
                header[off + 1],
                header[off + 2],
                header[off + 3],
            ])
        };
        let u16_at = |off: usize| u16::from_le_bytes([header[off], header[off + 1]]);
        if header[..4] != MAGIC {
            return Err(CompactError::BadMagic);
        }
        let version = u16_at(4);
        let (base_off, n_vectors) = match version {
            2 | VERSION => (HEADER_LEN, u32_at(36) as usize),
            1 => (HEADER_LEN_V1, 0),
            _ => return Err(CompactError::UnsupportedVersion(version)),
        };
        let header_len = u16_at(6);
        if header_len as usize != base_off {
            return Err(CompactError::BadHeaderLength(header_len));
        }
        let total_len = u32_at(8) as usize;
        let Some(bytes) = bytes.get(..total_len) else {
            return Err(CompactError::Truncated {
                needed: total_len,
                got: bytes.len(),
            });
        };
        let n_features = u32_at(16) as usize;
        let n_trees = u32_at(20) as usize;
        let n_records = u32_at(24) as usize;
        let n_outputs = header[28] as usize;
        let mean = header[29] == 1;
        let divisor = f32::from_bits(u32_at(32));
        // The first header field out of its domain, if any: one error site for all (code size).
        let field = if n_features == 0 || n_features > MAX_FEATURES {
            "n_features"
        } else if n_records >= MAX_RECORDS {
            "n_records"
        } else if n_outputs == 0 || n_outputs > MAX_OUTPUTS {
            "n_outputs"
        } else if header[29] > 1 {
            "aggregate"
        } else if header[30] > Transform::Exp as u8 {
            // The layout's five: the general layout's codes 0 ..= 4.
            "transform"
        } else if header[31] != 0 {
            "reserved"
        } else if !(divisor > 0.0 && divisor <= f32::MAX) || (!mean && divisor != 1.0) {
            // Finite and > 0 (NaN fails both comparisons); exactly 1 for a sum.
            "divisor"
        } else {
            ""
        };
        let transform = match Transform::from_u8(header[30]) {
            Some(t) if field.is_empty() => t,
            _ => return Err(CompactError::BadField(field)),
        };
        // Sections: counts are below 2^24 or 2^32 (n_trees, n_vectors), so on 32-bit targets the products are
        // checked.
        let trees_off = base_off + 4 * n_outputs;
        let records_off = n_trees
            .checked_mul(TREE_ENTRY)
            .and_then(|s| s.checked_add(trees_off));
        let vectors_off = records_off.and_then(|r| n_records.checked_mul(RECORD)?.checked_add(r));
        let end = vectors_off.and_then(|v| n_vectors.checked_mul(4 * n_outputs)?.checked_add(v));
        let (Some(records_off), Some(vectors_off), Some(end)) = (records_off, vectors_off, end)
        else {
            return Err(CompactError::BadLayout);
        };
        // total_len >= HEADER_LEN (the header was read from it) and every section starts after the header.
        if end != total_len {
            return Err(CompactError::BadLayout);
        }
        let forest = CompactForest {
            bytes,
            n_features,
            n_outputs,
            n_trees,
            mean,
            transform,
            divisor,
            base_off,
            trees_off,
            records_off,
            vectors_off,
            n_vectors,
            pairs: version >= VERSION,
        };
        // Base margins and vector values: finite.
        if let Some(at) = forest.first_non_finite(base_off, trees_off) {
            return Err(CompactError::BadBaseMargin {
                column: ((at - base_off) / 4) as u32,
            });
        }
        if let Some(at) = forest.first_non_finite(vectors_off, end) {
            return Err(CompactError::BadVector {
                vector: ((at - vectors_off) / (4 * n_outputs)) as u32,
            });
        }
        forest.validate_trees(n_records)?;
        Ok(forest)
    }

    /// The view over a blob that was validated before — by [`CompactForest::new`] or
    /// [`CompactForest::new_without_checksum`] on the same bytes, e.g. when the firmware was built
    /// (`emkern-build` validates the blob it embeds and generates this call) — without validating it again: it
    /// reads the header's fields and links none of the validation code (the smallest firmware: the walk, the
    /// sums and the model's transform).
    ///
    /// # Safety
    /// `bytes` must start at a 4-byte aligned address and hold a blob that
    /// [`CompactForest::new_without_checksum`] accepts. Predicting with a view over anything else may read out of
    /// bounds or never end.
    pub unsafe fn new_unchecked(bytes: &'a [u8]) -> CompactForest<'a> {
        let word = |at: usize| {
            // SAFETY: the caller guarantees a valid blob: its header (40 bytes, 36 for version 1) is in bounds
            // and the start is 4-aligned.
            u32::from_le(unsafe { bytes.as_ptr().add(at).cast::<u32>().read() })
        };
        let v1 = word(4) & 0xFFFF == 1;
        let (base_off, n_vectors) = if !v1 {
            (HEADER_LEN, word(36) as usize)
        } else {
            (HEADER_LEN_V1, 0)
        };
        let total_len = word(8) as usize;
        let counts = word(28);
        let n_outputs = (counts & 0xFF) as usize;
        let n_trees = word(20) as usize;
        let n_records = word(24) as usize;
        let trees_off = base_off + 4 * n_outputs;
        let records_off = trees_off + n_trees * TREE_ENTRY;
        CompactForest {
            // SAFETY: a valid blob is at least `total_len` bytes long.
            bytes: unsafe { bytes.get_unchecked(..total_len) },
            n_features: word(16) as usize,
            n_outputs,
            n_trees,
            mean: (counts >> 8) & 0xFF == 1,
            // A valid blob's transform code is one of the five (checked by the validation it passed).
            transform: Transform::from_u8(((counts >> 16) & 0xFF) as u8)
                .unwrap_or(Transform::Identity),
            divisor: f32::from_bits(word(32)),
            base_off,
            trees_off,
            records_off,
            vectors_off: records_off + n_records * RECORD,
            n_vectors,
            pairs: !v1,
        }
    }

    /// The word at `at`.
    ///
    /// # Safety
    /// `at` is a multiple of 4 and `at + 4 <= bytes.len()` (the blob start is 4-aligned, checked first).
    #[inline(always)]
    unsafe fn word_at(&self, at: usize) -> u32 {
        // SAFETY: the caller's bounds; aligned as the blob start and `at` are.
        u32::from_le(unsafe { self.bytes.as_ptr().add(at).cast::<u32>().read() })
    }

    /// The offset of the first f32 in `from..to` that is not finite. `from` and `to` are multiples of 4 with
    /// `to <= bytes.len()` (section bounds proven against `total_len`).
    #[inline(never)]
    fn first_non_finite(&self, from: usize, to: usize) -> Option<usize> {
        (from..to).step_by(4).find(|&at| {
            // SAFETY: from <= at < to <= bytes.len(), both multiples of 4 (the caller's section bounds).
            !f32::from_bits(unsafe { self.word_at(at) }).is_finite()
        })
    }

    /// Tree entries (roots strictly increasing from 0, columns in range) and every tree's records.
    fn validate_trees(&self, n_records: usize) -> Result<(), CompactError> {
        if self.n_trees == 0 && n_records != 0 {
            return Err(CompactError::BadField("n_records"));
        }
        let root = |t: usize| {
            // SAFETY: callers pass t < n_trees, so the entry lies in the tree section (proven inside the blob).
            unsafe { self.word_at(self.trees_off + t * TREE_ENTRY) }
        };
        let mut start = 0;
        for t in 0..self.n_trees {
            let bad = |what| CompactError::BadTree {
                tree: t as u32,
                what,
            };
            let e = root(t);
            if (e & ROOT_MASK) as usize != start {
                // The first root is 0; every other is the previous tree's end (checked below).
                return Err(bad("the first tree does not start at record 0"));
            }
            let column = e >> COLUMN_SHIFT;
            let vector = column == VECTOR_COLUMN;
            if !vector && column as usize >= self.n_outputs {
                return Err(bad("column out of range"));
            }
            let end = if t + 1 < self.n_trees {
                (root(t + 1) & ROOT_MASK) as usize
            } else {
                n_records
            };
            if end <= start || end > n_records {
                return Err(bad("root is not below the next tree's root"));
            }
            self.validate_records(start, end, vector)?;
            start = end;
        }
        Ok(())
    }

    /// One tree's records `start..end` (`end <= n_records`) in exact pre-order from `start`, walked with a stack
    /// of pending far children (see the module documentation); a tree deeper than [`MAX_CHECKED_DEPTH`] is
    /// checked by [`CompactForest::validate_flat`] instead.
    fn validate_records(&self, start: usize, end: usize, vector: bool) -> Result<(), CompactError> {
        if self.pairs {
            // SAFETY: start < end <= n_records (the caller's bounds: a tree has at least one record).
            let (value, info) = unsafe { self.record(start) };
            if info == OBLIVIOUS {
                return self.validate_oblivious(start, end, vector, value);
            }
        }
        let mut pending = [0u32; MAX_CHECKED_DEPTH];
        let mut depth = 0;
        // The smallest far offset allowed: 1 (a leaf pair) from version 3 on. (A number compared in the loop
        // rather than a flag tested there, which the compiler would answer by copying the whole loop.)
        let min_far = if self.pairs { PAIR_FAR as usize } else { 2 };
        // The record the pre-order reaches next.
        let mut i = start;
        loop {
            let bad = |record: usize, what| {
                Err(CompactError::BadRecord {
                    record: record as u32,
                    what,
                })
            };
            if i >= end {
                return bad(i, "a child lies past the tree's last record");
            }
            // SAFETY: i < end <= n_records (checked above; `end` is the caller's bound).
            let (value, info) = unsafe { self.record(i) };
            let far = (info >> FAR_SHIFT) as usize;
            let what = if info == 0 {
                self.leaf_fault(value, vector)
            } else if far < min_far {
                if far == 0 {
                    "split with far offset 0"
                } else {
                    "leaf pair (far offset 1) before version 3"
                }
            } else if ((info >> FEATURE_SHIFT) & FEATURE_MASK) as usize >= self.n_features {
                "feature index out of range"
            } else if far == PAIR_FAR as usize {
                if i + 1 >= end {
                    "a child lies past the tree's last record"
                } else {
                    // SAFETY: i + 1 < end <= n_records (checked above).
                    let (a, b) = unsafe { self.record(i + 1) };
                    let fault = self.leaf_fault(a, vector);
                    if fault.is_empty() {
                        self.leaf_fault(b, vector)
                    } else {
                        fault
                    }
                }
            } else {
                ""
            };
            if !what.is_empty() {
                return bad(i, what);
            }
            if info != 0 && far != PAIR_FAR as usize {
                // A split: its next child follows; its far child is expected after the next child's subtree.
                let Some(slot) = pending.get_mut(depth) else {
                    return self.validate_flat(start, end, vector);
                };
                *slot = (i + far) as u32;
                depth += 1;
                i += 1;
                continue;
            }
            // A leaf, or a bottom split and its pair: a subtree ends here.
            i += if info == 0 { 1 } else { 2 };
            if depth == 0 {
                return if i == end {
                    Ok(())
                } else {
                    bad(i, "a record no walk of its tree reaches")
                };
            }
            depth -= 1;
            if pending.get(depth).map(|&t| t as usize) != Some(i) {
                return bad(
                    i,
                    "a far offset does not lead to the record after the next child's subtree",
                );
            }
        }
    }

    /// A tree too deep for [`CompactForest::validate_records`]'s stack, record by record: leaves exactly
    /// `info = 0` with a valid value, splits with a feature in range, a far offset of at least 2 (no leaf pair)
    /// and both children inside `start..end` after them.
    #[cold]
    fn validate_flat(&self, start: usize, end: usize, vector: bool) -> Result<(), CompactError> {
        for i in start..end {
            // SAFETY: i < end <= n_records (the caller's bound).
            let (value, info) = unsafe { self.record(i) };
            let far = (info >> FAR_SHIFT) as usize;
            let what = if info == 0 {
                self.leaf_fault(value, vector)
            } else if far <= PAIR_FAR as usize {
                "leaf pair or far offset 0 in a tree deeper than the checked depth"
            } else if ((info >> FEATURE_SHIFT) & FEATURE_MASK) as usize >= self.n_features {
                "feature index out of range"
            } else if i + far >= end {
                // far >= 2, so i + 1 < i + far: both children are inside the tree when the far one is.
                "a child lies past the tree's last record"
            } else {
                ""
            };
            if !what.is_empty() {
                return Err(CompactError::BadRecord {
                    record: i as u32,
                    what,
                });
            }
        }
        Ok(())
    }

    /// An oblivious tree (version 3) at `start..end` whose header's value is `depth`: the depth in range, exactly
    /// `1 + depth + 2^(depth − 1)` records, each level's feature in range and far offset 0, every leaf word valid.
    #[cold]
    fn validate_oblivious(
        &self,
        start: usize,
        end: usize,
        vector: bool,
        depth: u32,
    ) -> Result<(), CompactError> {
        let bad = |record: usize, what| {
            Err(CompactError::BadRecord {
                record: record as u32,
                what,
            })
        };
        if !(2..=MAX_OBLIVIOUS_DEPTH).contains(&depth) {
            return bad(start, "oblivious tree depth out of range");
        }
        let d = depth as usize;
        if end - start != 1 + d + (1 << (d - 1)) {
            return bad(start, "oblivious tree of the wrong number of records");
        }
        for i in start + 1..=start + d {
            // SAFETY: i < start + 1 + d < end <= n_records.
            let (_, info) = unsafe { self.record(i) };
            if info >> FAR_SHIFT != 0 {
                return bad(i, "oblivious level with a far offset");
            }
            if ((info >> FEATURE_SHIFT) & FEATURE_MASK) as usize >= self.n_features {
                return bad(i, "feature index out of range");
            }
        }
        for i in start + 1 + d..end {
            // SAFETY: i < end <= n_records.
            let (a, b) = unsafe { self.record(i) };
            let fault = self.leaf_fault(a, vector);
            let fault = if fault.is_empty() {
                self.leaf_fault(b, vector)
            } else {
                fault
            };
            if !fault.is_empty() {
                return bad(i, fault);
            }
        }
        Ok(())
    }

    /// Record `i`'s two words.
    ///
    /// # Safety
    /// `i < n_records` (the header's count, whose section was proven inside the blob).
    unsafe fn record(&self, i: usize) -> (u32, u32) {
        let at = self.records_off + i * RECORD;
        // SAFETY: i < n_records (the caller's bound): the record's two words lie in the record section, which
        // lies inside the blob; aligned as the blob start and the section are.
        unsafe { (self.word_at(at), self.word_at(at + 4)) }
    }

    /// What is wrong with a leaf's word, or `""`: a vector index out of range, or a scalar value not finite. Out
    /// of line: three checks share one copy (code size).
    #[inline(never)]
    fn leaf_fault(&self, value: u32, vector: bool) -> &'static str {
        if vector && value as usize >= self.n_vectors {
            "leaf vector index out of range"
        } else if !vector && !f32::from_bits(value).is_finite() {
            "leaf value is not finite"
        } else {
            ""
        }
    }

    /// Features a row must have.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Columns of the raw margin ([`CompactForest::predict_margin`]).
    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    /// Values [`CompactForest::predict`] writes per row: 1 for [`Transform::ArgMax`], else
    /// [`CompactForest::n_outputs`].
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

    /// The output transform.
    pub fn transform(&self) -> Transform {
        self.transform
    }
}
