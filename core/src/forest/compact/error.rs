//! Why a compact blob was rejected.

/// Why [`CompactForest::new`](super::CompactForest::new) rejected a blob. Each variant says what is wrong and,
/// where it applies, where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CompactError {
    /// Fewer bytes than the header or than `total_len` says.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
    /// The blob does not start at a 4-byte aligned address (the predictor reads aligned words).
    Misaligned,
    /// The first four bytes are not `EMKC`.
    BadMagic,
    /// A version this reader does not know.
    UnsupportedVersion(u16),
    /// The header length field is not the version's (40; 36 in version 1).
    BadHeaderLength(u16),
    /// The stored CRC-32 does not match the bytes.
    ChecksumMismatch {
        /// Stored value.
        stored: u32,
        /// Computed value.
        computed: u32,
    },
    /// A header field has a value outside its domain (`n_outputs = 0`, an unknown transform, …).
    BadField(&'static str),
    /// The sections implied by the header's counts do not end at `total_len` (or overflow).
    BadLayout,
    /// Base margin `column` is not finite.
    BadBaseMargin {
        /// The margin column.
        column: u32,
    },
    /// A value of leaf vector `vector` is not finite.
    BadVector {
        /// The vector's index in the vector table.
        vector: u32,
    },
    /// Tree `tree`'s entry is inconsistent (`what` says how).
    BadTree {
        /// Tree index.
        tree: u32,
        /// What is wrong.
        what: &'static str,
    },
    /// Record `record` (global index) is inconsistent (`what` says how).
    BadRecord {
        /// Record index in the record section.
        record: u32,
        /// What is wrong.
        what: &'static str,
    },
}

impl core::fmt::Display for CompactError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            CompactError::Truncated { needed, got } => {
                write!(f, "compact blob truncated: {got} bytes, {needed} needed")
            }
            CompactError::Misaligned => f.write_str(
                "compact blob does not start at a 4-byte aligned address (embed it in an aligned static, as the \
                 sources `emkern import` writes do)",
            ),
            CompactError::BadMagic => {
                f.write_str("not an emkern compact model blob (magic is not EMKC)")
            }
            CompactError::UnsupportedVersion(v) => {
                write!(
                    f,
                    "compact blob version {v} is not supported (this reader: 1 and 2)"
                )
            }
            CompactError::BadHeaderLength(v) => write!(f, "header length {v}, expected 40 (36 in version 1)"),
            CompactError::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"
            ),
            CompactError::BadField(name) => write!(f, "header field `{name}` is out of range"),
            CompactError::BadLayout => f.write_str("section sizes do not match the blob length"),
            CompactError::BadBaseMargin { column } => {
                write!(f, "base margin of column {column} is not finite")
            }
            CompactError::BadVector { vector } => {
                write!(f, "leaf vector {vector} has a value that is not finite")
            }
            CompactError::BadTree { tree, what } => write!(f, "tree {tree}: {what}"),
            CompactError::BadRecord { record, what } => write!(f, "record {record}: {what}"),
        }
    }
}
