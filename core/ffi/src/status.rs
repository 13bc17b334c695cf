//! [`EmkStatus`]: the result code of every call, one per kind of `BlobError` and `ShapeError`, and its text.

use emkern::forest::{BlobError, ShapeError};

/// The result of an `emk_*` call: `EMK_OK`, or why the call did nothing.
///
/// The codes after `EMK_OK` up to `EMK_BAD_NODE` say why `emk_forest_init` rejected a blob; the next three why a
/// predict call rejected its buffers; the next three name misuse of the API itself; the last five are the
/// attention, RoPE and Medusa calls' (shapes, parameters, scratch, inputs). `emk_status_str` gives a
/// one-line description of each.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmkStatus {
    /// Success.
    EMK_OK = 0,
    /// The blob is shorter than its header or than the length its header declares.
    EMK_TRUNCATED = 1,
    /// The blob does not start with the magic bytes `EMKF`: not an emkern model.
    EMK_BAD_MAGIC = 2,
    /// The blob's format version is not one this library reads.
    EMK_UNSUPPORTED_VERSION = 3,
    /// The blob's header-length field is wrong.
    EMK_BAD_HEADER_LENGTH = 4,
    /// The blob's stored CRC-32 does not match its bytes: the blob is corrupted.
    EMK_CHECKSUM_MISMATCH = 5,
    /// A header field is outside its domain.
    EMK_BAD_FIELD = 6,
    /// A base margin or leaf value is not finite, or a leaf's linear model is malformed.
    EMK_BAD_VALUE = 7,
    /// The section sizes the header implies do not match the blob length.
    EMK_BAD_LAYOUT = 8,
    /// The metadata section is malformed.
    EMK_BAD_METADATA = 9,
    /// A tree record is inconsistent.
    EMK_BAD_TREE = 10,
    /// A tree node is inconsistent (child order, feature index, flags, category set).
    EMK_BAD_NODE = 11,
    /// The input row (or the rows of a batch) holds fewer values than the model reads.
    EMK_ROW_TOO_SHORT = 12,
    /// The output buffer has room for fewer values than the call writes.
    EMK_OUTPUT_TOO_SHORT = 13,
    /// A batch's row stride is below the model's feature count.
    EMK_BAD_STRIDE = 14,
    /// A pointer argument is null.
    EMK_NULL_POINTER = 15,
    /// A pointer argument is not aligned for its type (`float`, `emk_forest`).
    EMK_MISALIGNED = 16,
    /// The forest was not initialized by a successful `emk_forest_init` (it is zeroed, or the init failed).
    EMK_NOT_INITIALIZED = 17,
    /// Dimensions that do not fit together: query heads not a multiple of key/value heads, a rotated part wider
    /// than the head, a zero length or vocabulary, or sizes that overflow.
    EMK_BAD_SHAPE = 18,
    /// A parameter outside its domain: a non-finite scale, a non-positive soft-cap, a zero window or tile, an
    /// unknown `emk_dtype`, a RoPE base or factor that is not finite and positive, a Medusa rule parameter.
    EMK_BAD_PARAM = 19,
    /// The attention scratch holds fewer floats than `emk_attention_scratch_len` says.
    EMK_SCRATCH_TOO_SHORT = 20,
    /// An input array holds fewer values than the call reads (RoPE tables, Medusa logits).
    EMK_INPUT_TOO_SHORT = 21,
    /// An input value the call cannot use: a NaN or `+∞` logit, a token outside the vocabulary, a position
    /// that overflows.
    EMK_BAD_INPUT = 22,
}

impl EmkStatus {
    /// The code for a rejected blob.
    pub fn from_blob_error(e: BlobError) -> EmkStatus {
        match e {
            BlobError::Truncated { .. } => EmkStatus::EMK_TRUNCATED,
            BlobError::BadMagic => EmkStatus::EMK_BAD_MAGIC,
            BlobError::UnsupportedVersion(_) => EmkStatus::EMK_UNSUPPORTED_VERSION,
            BlobError::BadHeaderLength(_) => EmkStatus::EMK_BAD_HEADER_LENGTH,
            BlobError::ChecksumMismatch { .. } => EmkStatus::EMK_CHECKSUM_MISMATCH,
            BlobError::BadField(_) => EmkStatus::EMK_BAD_FIELD,
            BlobError::BadValue { .. } => EmkStatus::EMK_BAD_VALUE,
            BlobError::BadLayout => EmkStatus::EMK_BAD_LAYOUT,
            BlobError::BadMetadata(_) => EmkStatus::EMK_BAD_METADATA,
            BlobError::BadTree { .. } => EmkStatus::EMK_BAD_TREE,
            BlobError::BadNode { .. } => EmkStatus::EMK_BAD_NODE,
        }
    }

    /// The code for rejected predict buffers.
    pub fn from_shape_error(e: ShapeError) -> EmkStatus {
        match e {
            ShapeError::RowTooShort { .. } => EmkStatus::EMK_ROW_TOO_SHORT,
            ShapeError::OutputTooShort { .. } => EmkStatus::EMK_OUTPUT_TOO_SHORT,
            ShapeError::BadStride { .. } => EmkStatus::EMK_BAD_STRIDE,
        }
    }

    /// The description `emk_status_str` returns, NUL-terminated.
    pub fn text(self) -> &'static core::ffi::CStr {
        match self {
            EmkStatus::EMK_OK => c"ok",
            EmkStatus::EMK_TRUNCATED => c"blob truncated",
            EmkStatus::EMK_BAD_MAGIC => c"not an emkern model blob (magic is not EMKF)",
            EmkStatus::EMK_UNSUPPORTED_VERSION => c"blob format version not supported",
            EmkStatus::EMK_BAD_HEADER_LENGTH => c"blob header length is not 64",
            EmkStatus::EMK_CHECKSUM_MISMATCH => c"blob checksum mismatch (corrupted)",
            EmkStatus::EMK_BAD_FIELD => c"blob header field out of range",
            EmkStatus::EMK_BAD_VALUE => c"blob value out of range (not finite)",
            EmkStatus::EMK_BAD_LAYOUT => c"blob section sizes do not match its length",
            EmkStatus::EMK_BAD_METADATA => c"blob metadata malformed",
            EmkStatus::EMK_BAD_TREE => c"blob tree record inconsistent",
            EmkStatus::EMK_BAD_NODE => c"blob tree node inconsistent",
            EmkStatus::EMK_ROW_TOO_SHORT => c"row shorter than the model's feature count",
            EmkStatus::EMK_OUTPUT_TOO_SHORT => c"output buffer too short",
            EmkStatus::EMK_BAD_STRIDE => c"row stride below the model's feature count",
            EmkStatus::EMK_NULL_POINTER => c"null pointer argument",
            EmkStatus::EMK_MISALIGNED => c"misaligned pointer argument",
            EmkStatus::EMK_NOT_INITIALIZED => c"forest not initialized",
            EmkStatus::EMK_BAD_SHAPE => c"dimensions do not fit together",
            EmkStatus::EMK_BAD_PARAM => c"parameter out of its domain",
            EmkStatus::EMK_SCRATCH_TOO_SHORT => c"scratch buffer too short",
            EmkStatus::EMK_INPUT_TOO_SHORT => c"input array too short",
            EmkStatus::EMK_BAD_INPUT => {
                c"input value not usable (NaN logit, token out of range, position overflow)"
            }
        }
    }
}

/// A static, NUL-terminated, one-line description of `s` (never null; `"unknown status"` for a value that is not
/// an `emk_status`).
#[unsafe(no_mangle)]
pub extern "C" fn emk_status_str(s: core::ffi::c_int) -> *const core::ffi::c_char {
    // The argument is a plain int so that any value a C caller passes is defined behaviour here.
    STATUSES
        .iter()
        .find(|&&k| k as core::ffi::c_int == s)
        .map_or(c"unknown status", |k| k.text())
        .as_ptr()
}

/// Every status, for `emk_status_str`'s lookup.
const STATUSES: [EmkStatus; 23] = [
    EmkStatus::EMK_OK,
    EmkStatus::EMK_TRUNCATED,
    EmkStatus::EMK_BAD_MAGIC,
    EmkStatus::EMK_UNSUPPORTED_VERSION,
    EmkStatus::EMK_BAD_HEADER_LENGTH,
    EmkStatus::EMK_CHECKSUM_MISMATCH,
    EmkStatus::EMK_BAD_FIELD,
    EmkStatus::EMK_BAD_VALUE,
    EmkStatus::EMK_BAD_LAYOUT,
    EmkStatus::EMK_BAD_METADATA,
    EmkStatus::EMK_BAD_TREE,
    EmkStatus::EMK_BAD_NODE,
    EmkStatus::EMK_ROW_TOO_SHORT,
    EmkStatus::EMK_OUTPUT_TOO_SHORT,
    EmkStatus::EMK_BAD_STRIDE,
    EmkStatus::EMK_NULL_POINTER,
    EmkStatus::EMK_MISALIGNED,
    EmkStatus::EMK_NOT_INITIALIZED,
    EmkStatus::EMK_BAD_SHAPE,
    EmkStatus::EMK_BAD_PARAM,
    EmkStatus::EMK_SCRATCH_TOO_SHORT,
    EmkStatus::EMK_INPUT_TOO_SHORT,
    EmkStatus::EMK_BAD_INPUT,
];
