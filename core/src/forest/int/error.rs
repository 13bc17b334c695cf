//! Why an integer blob was rejected.

/// Why [`IntForest::new`](super::IntForest::new) rejected a blob. Each variant says what is wrong and, where it
/// applies, where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IntError {
    /// Fewer bytes than the header or than `total_len` says.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
    /// The blob does not start at a 4-byte aligned address.
    Misaligned,
    /// The first four bytes are not `EMKI`.
    BadMagic,
    /// A version this reader does not know.
    UnsupportedVersion(u16),
    /// The header length field is not the version's (40 for version 1, 44 for version 2).
    BadHeaderLength(u16),
    /// The stored CRC-32 does not match the bytes.
    ChecksumMismatch {
        /// Stored value.
        stored: u32,
        /// Computed value.
        computed: u32,
    },
    /// A header field has a value outside its domain (`n_outputs = 0`, an unknown transform, a scale whose
    /// worst-case sum overflows, softmax without the `int-softmax` feature, …).
    BadField(&'static str),
    /// The sections implied by the header's counts do not end at `total_len` (or overflow).
    BadLayout,
    /// Used feature `feature`'s entry or keys are inconsistent (`what` says how).
    BadFeature {
        /// Used-feature index.
        feature: u32,
        /// What is wrong.
        what: &'static str,
    },
    /// Tree `tree`'s entry is inconsistent (`what` says how).
    BadTree {
        /// Tree index.
        tree: u32,
        /// What is wrong.
        what: &'static str,
    },
    /// Word `word` (global index) is inconsistent (`what` says how).
    BadWord {
        /// Word index in the words section.
        word: u32,
        /// What is wrong.
        what: &'static str,
    },
}

impl core::fmt::Display for IntError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            IntError::Truncated { needed, got } => {
                write!(f, "integer blob truncated: {got} bytes, {needed} needed")
            }
            IntError::Misaligned => f.write_str(
                "integer blob does not start at a 4-byte aligned address (embed it in an aligned static)",
            ),
            IntError::BadMagic => f.write_str("not an emkern integer model blob (magic is not EMKI)"),
            IntError::UnsupportedVersion(v) => {
                write!(f, "integer blob version {v} is not supported (this reader: 1 and 2)")
            }
            IntError::BadHeaderLength(v) => write!(
                f,
                "header length {v}, expected 40 (version 1) or 44 (version 2)"
            ),
            IntError::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"
            ),
            IntError::BadField(name) => write!(f, "header field `{name}` is out of range"),
            IntError::BadLayout => f.write_str("section sizes do not match the blob length"),
            IntError::BadFeature { feature, what } => write!(f, "used feature {feature}: {what}"),
            IntError::BadTree { tree, what } => write!(f, "tree {tree}: {what}"),
            IntError::BadWord { word, what } => write!(f, "word {word}: {what}"),
        }
    }
}

impl core::error::Error for IntError {}
