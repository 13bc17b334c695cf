//! [`RopeError`]: why a position-encoding call was rejected before any work was done.

/// Why a call of [`rope`](super) was rejected. Every call checks all of its arguments first, with checked
/// arithmetic against the slice lengths; a rejected call writes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RopeError {
    /// A configuration value is outside its domain: non-finite, not positive where it must be (factors, the
    /// base, lengths), or otherwise unusable (e.g. `rope_theta = 1` for YaRN, whose correction range divides by
    /// `ln(rope_theta)`). `name` is the Hugging Face field name.
    InvalidParameter {
        /// The field, e.g. `"factor"`, `"rope_theta"`, `"beta_fast"`.
        name: &'static str,
    },
    /// A value that this scaling needs was not given (e.g. `max_position_embeddings` for dynamic NTK).
    MissingParameter {
        /// The field.
        name: &'static str,
    },
    /// The rotary dimension `D = ⌊head_dim · partial_rotary_factor⌋` is odd; cos/sin pair up dimensions.
    OddRotaryDim {
        /// The rotary dimension.
        dim: usize,
    },
    /// The rotary dimension is smaller than this scaling allows (0, or 2 for the NTK variants whose exponent
    /// `D/(D − 2)` is undefined there).
    RotaryDimTooSmall {
        /// The rotary dimension.
        dim: usize,
        /// The smallest one allowed.
        min: usize,
    },
    /// A LongRoPE factor list does not have `D/2` entries.
    FactorListLength {
        /// `"short_factor"` or `"long_factor"`.
        name: &'static str,
        /// `D/2`.
        expected: usize,
        /// The list's length.
        got: usize,
    },
    /// A buffer is shorter than the shape requires. `needed` is `usize::MAX` when the requirement overflows.
    TooShort {
        /// The buffer, e.g. `"cos"`, `"x"`, `"scratch"`.
        buffer: &'static str,
        /// Elements needed.
        needed: usize,
        /// Elements the slice has.
        got: usize,
    },
    /// The rotary part (`2 · half` elements) is wider than the head.
    RotaryWiderThanHead {
        /// The rotary dimension.
        rotary_dim: usize,
        /// The head dimension.
        head_dim: usize,
    },
    /// Strides that would make two rows (or two heads) of an in-place tensor overlap.
    Overlap {
        /// `"row_stride"` or `"head_stride"`.
        stride: &'static str,
    },
    /// A per-row position list does not have one entry per row.
    PositionCount {
        /// Rows of the tensor.
        expected: usize,
        /// Entries of the list.
        got: usize,
    },
    /// A position range runs past `u64::MAX`, or a generator was advanced past it.
    PositionOverflow,
}

impl core::fmt::Display for RopeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            RopeError::InvalidParameter { name } => write!(f, "`{name}` is out of range"),
            RopeError::MissingParameter { name } => write!(f, "`{name}` is required here"),
            RopeError::OddRotaryDim { dim } => write!(f, "rotary dimension {dim} is odd"),
            RopeError::RotaryDimTooSmall { dim, min } => {
                write!(f, "rotary dimension {dim} is below the minimum {min}")
            }
            RopeError::FactorListLength {
                name,
                expected,
                got,
            } => write!(f, "`{name}` has {got} entries, expected {expected}"),
            RopeError::TooShort {
                buffer,
                needed,
                got,
            } => {
                if needed == usize::MAX {
                    write!(f, "{buffer}: shape overflows the index range")
                } else {
                    write!(f, "{buffer}: {got} elements, {needed} needed")
                }
            }
            RopeError::RotaryWiderThanHead {
                rotary_dim,
                head_dim,
            } => write!(
                f,
                "rotary dimension {rotary_dim} exceeds head dimension {head_dim}"
            ),
            RopeError::Overlap { stride } => write!(f, "{stride} makes rows overlap"),
            RopeError::PositionCount { expected, got } => {
                write!(f, "{got} positions for {expected} rows")
            }
            RopeError::PositionOverflow => f.write_str("position exceeds u64::MAX"),
        }
    }
}

impl core::error::Error for RopeError {}
