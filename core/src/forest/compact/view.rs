//! [`CompactForest`]: the validated view over a compact blob, and its validation.

use super::{COLUMN_SHIFT, HEADER_LEN, HEADER_LEN_V1, MAGIC, RECORD, ROOT_MASK, TREE_ENTRY};
use super::{
    CompactError, FAR_SHIFT, FEATURE_MASK, FEATURE_SHIFT, MAX_FEATURES, MAX_OUTPUTS, MAX_RECORDS,
};
use super::{VECTOR_COLUMN, VERSION};
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
}

/// A little-endian `u32` at `off`, or `None` past the end.
#[inline]
fn get_u32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

impl<'a> CompactForest<'a> {
    /// Validates `bytes` as a compact blob (version 2 or 1) and returns the view: every check of the layout,
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
        let stored = get_u32(self.bytes, 12).unwrap_or(0);
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
        let truncated = |needed: usize| CompactError::Truncated {
            needed,
            got: bytes.len(),
        };
        if !(bytes.as_ptr() as usize).is_multiple_of(4) {
            return Err(CompactError::Misaligned);
        }
        let header = bytes.get(..HEADER_LEN).ok_or(truncated(HEADER_LEN))?;
        if header.get(..4) != Some(&MAGIC[..]) {
            return Err(CompactError::BadMagic);
        }
        let u16_at = |off: usize| {
            header
                .get(off..off + 2)
                .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
        };
        let u32_at = |off: usize| get_u32(header, off).unwrap_or(0);
        let u8_at = |off: usize| header.get(off).copied().unwrap_or(0);
        let version = u16_at(4);
        let base_off = match version {
            VERSION => HEADER_LEN,
            1 => HEADER_LEN_V1,
            _ => return Err(CompactError::UnsupportedVersion(version)),
        };
        let header_len = u16_at(6);
        if header_len as usize != base_off {
            return Err(CompactError::BadHeaderLength(header_len));
        }
        let total_len = u32_at(8) as usize;
        if total_len < HEADER_LEN {
            return Err(CompactError::BadField("total_len"));
        }
        let bytes = bytes.get(..total_len).ok_or(truncated(total_len))?;
        let n_features = u32_at(16) as usize;
        let n_trees = u32_at(20) as usize;
        let n_records = u32_at(24) as usize;
        let n_outputs = u8_at(28) as usize;
        if n_features == 0 || n_features > MAX_FEATURES {
            return Err(CompactError::BadField("n_features"));
        }
        if n_records >= MAX_RECORDS {
            return Err(CompactError::BadField("n_records"));
        }
        if n_outputs == 0 || n_outputs > MAX_OUTPUTS {
            return Err(CompactError::BadField("n_outputs"));
        }
        let mean = match u8_at(29) {
            0 => false,
            1 => true,
            _ => return Err(CompactError::BadField("aggregate")),
        };
        let transform = match Transform::from_u8(u8_at(30)) {
            Some(
                t @ (Transform::Identity
                | Transform::Sigmoid
                | Transform::Softmax
                | Transform::ArgMax
                | Transform::Exp),
            ) => t,
            _ => return Err(CompactError::BadField("transform")),
        };
        if u8_at(31) != 0 {
            return Err(CompactError::BadField("reserved"));
        }
        let divisor = f32::from_bits(u32_at(32));
        if !(divisor.is_finite() && divisor > 0.0) || (!mean && divisor != 1.0) {
            return Err(CompactError::BadField("divisor"));
        }
        let n_vectors = if version == VERSION {
            u32_at(36) as usize
        } else {
            0
        };
        // Sections: counts are below 2^24 or 2^32 (n_trees, n_vectors), so on 32-bit targets the products are
        // checked.
        let trees_off = base_off + 4 * n_outputs;
        let records_off = n_trees
            .checked_mul(TREE_ENTRY)
            .and_then(|s| s.checked_add(trees_off))
            .ok_or(CompactError::BadLayout)?;
        let vectors_off = n_records
            .checked_mul(RECORD)
            .and_then(|s| s.checked_add(records_off))
            .ok_or(CompactError::BadLayout)?;
        let end = n_vectors
            .checked_mul(4 * n_outputs)
            .and_then(|s| s.checked_add(vectors_off))
            .ok_or(CompactError::BadLayout)?;
        if end != total_len {
            return Err(CompactError::BadLayout);
        }
        for k in 0..n_outputs {
            let base = get_u32(bytes, base_off + 4 * k).map(f32::from_bits);
            if !base.is_some_and(f32::is_finite) {
                return Err(CompactError::BadBaseMargin { column: k as u32 });
            }
        }
        // Vector values: finite (the section lies inside the blob: `end == total_len`).
        let mut at = vectors_off;
        while at < end {
            if !get_u32(bytes, at)
                .map(f32::from_bits)
                .is_some_and(f32::is_finite)
            {
                return Err(CompactError::BadVector {
                    vector: ((at - vectors_off) / (4 * n_outputs)) as u32,
                });
            }
            at += 4;
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
        };
        forest.validate_trees(n_records)?;
        Ok(forest)
    }

    /// Tree entries (roots strictly increasing from 0, columns in range) and every tree's records.
    fn validate_trees(&self, n_records: usize) -> Result<(), CompactError> {
        if self.n_trees == 0 {
            return if n_records == 0 {
                Ok(())
            } else {
                Err(CompactError::BadField("n_records"))
            };
        }
        let entry = |t: usize| {
            get_u32(self.bytes, self.trees_off + t * TREE_ENTRY).ok_or(CompactError::BadLayout)
        };
        for t in 0..self.n_trees {
            let bad = |what| CompactError::BadTree {
                tree: t as u32,
                what,
            };
            let e = entry(t)?;
            let start = (e & ROOT_MASK) as usize;
            let column = e >> COLUMN_SHIFT;
            let vector = column == VECTOR_COLUMN;
            if !vector && column as usize >= self.n_outputs {
                return Err(bad("column out of range"));
            }
            let end = if t + 1 < self.n_trees {
                (entry(t + 1)? & ROOT_MASK) as usize
            } else {
                n_records
            };
            if t == 0 && start != 0 {
                return Err(bad("the first tree does not start at record 0"));
            }
            if end <= start || end > n_records {
                return Err(bad("root is not below the next tree's root"));
            }
            self.validate_records(start, end, vector)?;
        }
        Ok(())
    }

    /// One tree's records `start..end`: leaves exactly `info = 0` with a finite value (a scalar tree) or a
    /// vector index below `n_vectors` (a vector tree); splits with a feature in range and both children inside
    /// `start..end` after them.
    fn validate_records(&self, start: usize, end: usize, vector: bool) -> Result<(), CompactError> {
        for i in start..end {
            let bad = |what| CompactError::BadRecord {
                record: i as u32,
                what,
            };
            let at = self.records_off + i * RECORD;
            let value = get_u32(self.bytes, at).ok_or(CompactError::BadLayout)?;
            let info = get_u32(self.bytes, at + 4).ok_or(CompactError::BadLayout)?;
            if info == 0 {
                if vector {
                    if value as usize >= self.n_vectors {
                        return Err(bad("leaf vector index out of range"));
                    }
                } else if !f32::from_bits(value).is_finite() {
                    return Err(bad("leaf value is not finite"));
                }
                continue;
            }
            let far = (info >> FAR_SHIFT) as usize;
            if far == 0 {
                return Err(bad("split with far offset 0"));
            }
            if ((info >> FEATURE_SHIFT) & FEATURE_MASK) as usize >= self.n_features {
                return Err(bad("feature index out of range"));
            }
            // far >= 1, so i + 1 <= i + far: both children are inside the tree when the far one is.
            if i + far >= end {
                return Err(bad("a child lies past the tree's last record"));
            }
        }
        Ok(())
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
