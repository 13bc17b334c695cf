//! Errors from loading a blob and from calling the predictor with wrongly sized buffers.

/// Why a blob was rejected by [`Forest::new`](super::Forest::new). Each variant says what is wrong and, where it
/// applies, where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BlobError {
    /// Fewer bytes than the header or than `total_len` says.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
    /// The first four bytes are not `EMKF`.
    BadMagic,
    /// A version this reader does not know.
    UnsupportedVersion(u16),
    /// The header length field is not 64.
    BadHeaderLength(u16),
    /// The stored CRC-32 does not match the bytes.
    ChecksumMismatch {
        /// Stored value.
        stored: u32,
        /// Computed value.
        computed: u32,
    },
    /// A header field has a value outside its domain (e.g. `feature_bytes = 3`, an unknown transform, reserved
    /// bytes not zero, a non-positive divisor).
    BadField(&'static str),
    /// A value in a table is outside its domain: a base margin that is not finite (`table` is `"output
    /// column"`, `index` the column), a leaf value that is not finite or a leaf's linear model that is malformed
    /// (`table` is `"leaf"`, `index` the leaf's position in the leaf table, across all trees).
    BadValue {
        /// What `index` counts: `"output column"` or `"leaf"`.
        table: &'static str,
        /// The output column or leaf.
        index: u32,
        /// What is wrong, e.g. `"value is not finite"`.
        what: &'static str,
    },
    /// The section sizes implied by the header do not add up to `total_len` (or overflow).
    BadLayout,
    /// The metadata section (version 2) is malformed (`what` says how): a record or a class name runs past its
    /// end, a class name is not UTF-8, a known tag repeats.
    BadMetadata(&'static str),
    /// Tree `tree`'s record is inconsistent (`what` says how).
    BadTree {
        /// Tree index.
        tree: u32,
        /// What is wrong.
        what: &'static str,
    },
    /// Node `node` (tree-local) of tree `tree` is inconsistent (`what` says how).
    BadNode {
        /// Tree index.
        tree: u32,
        /// Tree-local node index.
        node: u32,
        /// What is wrong.
        what: &'static str,
    },
}

impl core::fmt::Display for BlobError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            BlobError::Truncated { needed, got } => {
                write!(f, "blob truncated: {got} bytes, {needed} needed")
            }
            BlobError::BadMagic => f.write_str("not an emkern model blob (magic is not EMKF)"),
            BlobError::UnsupportedVersion(v) => {
                write!(f, "blob version {v} is not supported (this reader: 1 to 3)")
            }
            BlobError::BadHeaderLength(v) => write!(f, "header length {v}, expected 64"),
            BlobError::ChecksumMismatch { stored, computed } => {
                write!(
                    f,
                    "checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"
                )
            }
            BlobError::BadField(name) => write!(f, "header field `{name}` is out of range"),
            BlobError::BadValue { table, index, what } => write!(f, "{table} {index}: {what}"),
            BlobError::BadLayout => f.write_str("section sizes do not match the blob length"),
            BlobError::BadMetadata(what) => write!(f, "metadata: {what}"),
            BlobError::BadTree { tree, what } => write!(f, "tree {tree}: {what}"),
            BlobError::BadNode { tree, node, what } => {
                write!(f, "tree {tree}, node {node}: {what}")
            }
        }
    }
}

/// A buffer passed to a predict call has the wrong length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ShapeError {
    /// The input row is shorter than the model's feature count.
    RowTooShort {
        /// Features the model reads.
        needed: usize,
        /// Length given.
        got: usize,
    },
    /// The output slice is shorter than needed.
    OutputTooShort {
        /// Values the call writes.
        needed: usize,
        /// Length given.
        got: usize,
    },
    /// A batch's row stride is smaller than the feature count (and there is more than one row).
    BadStride {
        /// Features the model reads.
        needed: usize,
        /// Stride given.
        got: usize,
    },
}

impl core::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            ShapeError::RowTooShort { needed, got } => {
                write!(f, "row has {got} values, model reads {needed}")
            }
            ShapeError::OutputTooShort { needed, got } => {
                write!(f, "output has room for {got} values, {needed} needed")
            }
            ShapeError::BadStride { needed, got } => {
                write!(f, "row stride {got} is below the feature count {needed}")
            }
        }
    }
}
