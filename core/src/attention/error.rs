//! [`AttentionError`]: why a call was rejected before any work was done.

/// The argument an error refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Operand {
    /// The query tensor.
    Q,
    /// The key tensor.
    K,
    /// The value tensor.
    V,
    /// The output tensor.
    Out,
    /// The log-sum-exp output.
    Lse,
    /// A [`States`](super::States) buffer.
    States,
    /// The caller's scratch buffer.
    Scratch,
    /// The per-head attention sinks.
    Sinks,
    /// The explicit ALiBi slopes.
    AlibiSlopes,
    /// The bit-packed boolean mask.
    BitMask,
    /// The additive f32 mask.
    AdditiveMask,
    /// The speculative-decoding tree mask.
    TreeMask,
}

impl Operand {
    /// A short lower-case name for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Operand::Q => "q",
            Operand::K => "k",
            Operand::V => "v",
            Operand::Out => "out",
            Operand::Lse => "lse",
            Operand::States => "states",
            Operand::Scratch => "scratch",
            Operand::Sinks => "sinks",
            Operand::AlibiSlopes => "alibi slopes",
            Operand::BitMask => "bit mask",
            Operand::AdditiveMask => "additive mask",
            Operand::TreeMask => "tree mask",
        }
    }
}

/// Why an attention call was rejected. Every call checks all of its arguments once, before touching any output;
/// a rejected call writes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AttentionError {
    /// A slice is shorter than its shape and strides require. `needed` is the element count the view reaches
    /// (`usize::MAX` when that count overflows).
    TooShort {
        /// Which argument.
        operand: Operand,
        /// Elements (or mask words) the shape and strides reach.
        needed: usize,
        /// Elements the slice has.
        got: usize,
    },
    /// The query heads are not a whole number of groups of key/value heads (`heads_q % heads_kv != 0`, or
    /// `heads_kv == 0` while `heads_q > 0`).
    HeadGroups {
        /// Query heads.
        heads_q: usize,
        /// Key/value heads.
        heads_kv: usize,
    },
    /// A dimension of `operand` disagrees with the one it must equal (`what` names it).
    Mismatch {
        /// Which argument.
        operand: Operand,
        /// The dimension, e.g. `"d_k"`, `"len_kv"`, `"heads"`.
        what: &'static str,
        /// The value the other arguments imply.
        expected: usize,
        /// The value given.
        got: usize,
    },
    /// A parameter is outside its domain (`what` names it): a non-finite or non-positive soft-cap, a
    /// non-finite scale, a zero window or tile size, a tree mask with more than 64 tokens or more tokens than
    /// queries or keys.
    BadParam(&'static str),
    /// A key span does not fit: `start + len > total`, or `total` is beyond the position range (`i64::MAX`).
    BadSpan {
        /// Global index of the first key of the views.
        start: usize,
        /// Keys in the views.
        len: usize,
        /// Keys in the whole sequence.
        total: usize,
    },
}

impl core::fmt::Display for AttentionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            AttentionError::TooShort {
                operand,
                needed,
                got,
            } => {
                if needed == usize::MAX {
                    write!(
                        f,
                        "{}: shape and strides overflow the index range",
                        operand.name()
                    )
                } else {
                    write!(f, "{}: {got} elements, {needed} needed", operand.name())
                }
            }
            AttentionError::HeadGroups { heads_q, heads_kv } => write!(
                f,
                "{heads_q} query heads do not form whole groups over {heads_kv} key/value heads"
            ),
            AttentionError::Mismatch {
                operand,
                what,
                expected,
                got,
            } => write!(
                f,
                "{}: {what} is {got}, expected {expected}",
                operand.name()
            ),
            AttentionError::BadParam(what) => write!(f, "parameter out of range: {what}"),
            AttentionError::BadSpan { start, len, total } => write!(
                f,
                "key span {start}..{start}+{len} does not fit a sequence of {total} keys"
            ),
        }
    }
}
