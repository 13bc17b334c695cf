//! Tensor views with explicit strides, and their validation against the slices they borrow.

use emkern_simd::{bf16, f16};

use super::error::{AttentionError, Operand};

/// A storage element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Dtype {
    /// IEEE binary32.
    F32,
    /// IEEE binary16.
    F16,
    /// bfloat16.
    Bf16,
}

/// Borrowed elements of one of the storage types.
#[derive(Clone, Copy, Debug)]
pub enum Data<'a> {
    /// f32 elements.
    F32(&'a [f32]),
    /// f16 elements.
    F16(&'a [f16]),
    /// bf16 elements.
    Bf16(&'a [bf16]),
}

impl Data<'_> {
    /// Number of elements.
    pub const fn len(&self) -> usize {
        match self {
            Data::F32(s) => s.len(),
            Data::F16(s) => s.len(),
            Data::Bf16(s) => s.len(),
        }
    }

    /// Whether there are no elements.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type.
    pub const fn dtype(&self) -> Dtype {
        match self {
            Data::F32(_) => Dtype::F32,
            Data::F16(_) => Dtype::F16,
            Data::Bf16(_) => Dtype::Bf16,
        }
    }

    /// The elements from `start` on, or `None` if `start > len`.
    pub fn tail(self, start: usize) -> Option<Self> {
        Some(match self {
            Data::F32(s) => Data::F32(s.get(start..)?),
            Data::F16(s) => Data::F16(s.get(start..)?),
            Data::Bf16(s) => Data::Bf16(s.get(start..)?),
        })
    }
}

impl<'a> From<&'a [f32]> for Data<'a> {
    fn from(s: &'a [f32]) -> Self {
        Data::F32(s)
    }
}

impl<'a> From<&'a [f16]> for Data<'a> {
    fn from(s: &'a [f16]) -> Self {
        Data::F16(s)
    }
}

impl<'a> From<&'a [bf16]> for Data<'a> {
    fn from(s: &'a [bf16]) -> Self {
        Data::Bf16(s)
    }
}

/// Mutably borrowed elements of one of the storage types (an output).
#[derive(Debug)]
pub enum DataMut<'a> {
    /// f32 elements.
    F32(&'a mut [f32]),
    /// f16 elements (each written value is rounded to nearest even).
    F16(&'a mut [f16]),
    /// bf16 elements (each written value is rounded to nearest even).
    Bf16(&'a mut [bf16]),
}

impl DataMut<'_> {
    /// Number of elements.
    pub const fn len(&self) -> usize {
        match self {
            DataMut::F32(s) => s.len(),
            DataMut::F16(s) => s.len(),
            DataMut::Bf16(s) => s.len(),
        }
    }

    /// Whether there are no elements.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type.
    pub const fn dtype(&self) -> Dtype {
        match self {
            DataMut::F32(_) => Dtype::F32,
            DataMut::F16(_) => Dtype::F16,
            DataMut::Bf16(_) => Dtype::Bf16,
        }
    }
}

impl<'a> From<&'a mut [f32]> for DataMut<'a> {
    fn from(s: &'a mut [f32]) -> Self {
        DataMut::F32(s)
    }
}

impl<'a> From<&'a mut [f16]> for DataMut<'a> {
    fn from(s: &'a mut [f16]) -> Self {
        DataMut::F16(s)
    }
}

impl<'a> From<&'a mut [bf16]> for DataMut<'a> {
    fn from(s: &'a mut [bf16]) -> Self {
        DataMut::Bf16(s)
    }
}

/// A read-only 3-D view `[heads, rows, dim]` over a slice: element `(h, r, c)` is
/// `data[h·head_stride + r·row_stride + c]`. The `dim` elements of a row are contiguous; heads and rows may be
/// laid out in any order and may leave gaps, so a KV cache with capacity > length (`row_stride = dim`,
/// `head_stride = capacity·dim`), a token-major cache (`[len, heads, dim]`: `head_stride = dim`,
/// `row_stride = heads·dim`) and one part of a packed QKV buffer (slice it at its first element) are all views
/// without copies. Strides are in elements. Views may overlap (e.g. `row_stride = 0` repeats one row).
///
/// A view is checked when it is used: its last element `(heads−1)·head_stride + (rows−1)·row_stride + dim`
/// must lie inside `data` (with checked arithmetic); an empty view (`heads`, `rows` or `dim` zero) reads nothing.
#[derive(Clone, Copy, Debug)]
pub struct Tensor<'a> {
    /// The elements.
    pub data: Data<'a>,
    /// Number of heads.
    pub heads: usize,
    /// Rows per head (sequence length).
    pub rows: usize,
    /// Elements per row (head dimension).
    pub dim: usize,
    /// Elements from one head to the next.
    pub head_stride: usize,
    /// Elements from one row to the next.
    pub row_stride: usize,
}

impl<'a> Tensor<'a> {
    /// A contiguous `[heads, rows, dim]` view (`row_stride = dim`, `head_stride = rows·dim`, saturating).
    pub fn new(data: impl Into<Data<'a>>, heads: usize, rows: usize, dim: usize) -> Self {
        Tensor {
            data: data.into(),
            heads,
            rows,
            dim,
            head_stride: rows.saturating_mul(dim),
            row_stride: dim,
        }
    }

    /// The same view with explicit strides (in elements).
    pub const fn with_strides(self, head_stride: usize, row_stride: usize) -> Self {
        Tensor {
            head_stride,
            row_stride,
            ..self
        }
    }

    /// The rows `start .. start + len` of every head, as a view of `len` rows (the data slice starts at row
    /// `start`). `None` if `start + len > rows` or the start lies beyond the slice. Used to split a key/value
    /// range into spans (see [`KvSpan`](super::KvSpan)).
    pub fn narrow_rows(self, start: usize, len: usize) -> Option<Self> {
        if start.checked_add(len)? > self.rows {
            return None;
        }
        let data = if len == 0 {
            self.data.tail(self.data.len())?
        } else {
            self.data.tail(start.checked_mul(self.row_stride)?)?
        };
        Some(Tensor {
            data,
            rows: len,
            ..self
        })
    }

    /// The element type.
    pub const fn dtype(&self) -> Dtype {
        self.data.dtype()
    }

    /// Offset of row `(h, r)`. Exact for the rows of a view that [`check_extent`] accepted with `dim > 0`; for an
    /// empty view it may wrap, and is then only used to slice zero elements (through `get`).
    #[inline]
    pub(crate) const fn offset(&self, h: usize, r: usize) -> usize {
        h.wrapping_mul(self.head_stride)
            .wrapping_add(r.wrapping_mul(self.row_stride))
    }
}

/// A writable 3-D view `[heads, rows, dim]`, laid out as [`Tensor`] describes. Rows that overlap are written in
/// order (the last write wins).
#[derive(Debug)]
pub struct TensorMut<'a> {
    /// The elements.
    pub data: DataMut<'a>,
    /// Number of heads.
    pub heads: usize,
    /// Rows per head.
    pub rows: usize,
    /// Elements per row.
    pub dim: usize,
    /// Elements from one head to the next.
    pub head_stride: usize,
    /// Elements from one row to the next.
    pub row_stride: usize,
}

impl<'a> TensorMut<'a> {
    /// A contiguous `[heads, rows, dim]` view (`row_stride = dim`, `head_stride = rows·dim`, saturating).
    pub fn new(data: impl Into<DataMut<'a>>, heads: usize, rows: usize, dim: usize) -> Self {
        TensorMut {
            data: data.into(),
            heads,
            rows,
            dim,
            head_stride: rows.saturating_mul(dim),
            row_stride: dim,
        }
    }

    /// The same view with explicit strides (in elements).
    pub fn with_strides(self, head_stride: usize, row_stride: usize) -> Self {
        TensorMut {
            head_stride,
            row_stride,
            ..self
        }
    }

    /// Offset of row `(h, r)`. Exact for the rows of a view that [`check_extent`] accepted with `dim > 0`; for an
    /// empty view it may wrap, and is then only used to slice zero elements (through `get`).
    #[inline]
    pub(crate) const fn offset(&self, h: usize, r: usize) -> usize {
        h.wrapping_mul(self.head_stride)
            .wrapping_add(r.wrapping_mul(self.row_stride))
    }
}

/// The three inputs of an attention call: `q` `[heads_q, len_q, d_k]`, `k` `[heads_kv, len_kv, d_k]` and
/// `v` `[heads_kv, len_kv, d_v]`, each in its own storage type and layout.
///
/// Query head `h` reads key/value head `h / (heads_q / heads_kv)` (consecutive query heads share a key/value
/// head, as in grouped-query attention; `heads_kv = 1` is multi-query attention).
#[derive(Clone, Copy, Debug)]
pub struct Qkv<'a> {
    /// Queries `[heads_q, len_q, d_k]`.
    pub q: Tensor<'a>,
    /// Keys `[heads_kv, len_kv, d_k]`.
    pub k: Tensor<'a>,
    /// Values `[heads_kv, len_kv, d_v]`.
    pub v: Tensor<'a>,
}

impl Qkv<'_> {
    /// The dimensions the views declare (not checked; a call checks them).
    pub const fn dims(&self) -> Dims {
        Dims {
            heads_q: self.q.heads,
            heads_kv: self.k.heads,
            len_q: self.q.rows,
            len_kv: self.k.rows,
            d_k: self.q.dim,
            d_v: self.v.dim,
        }
    }

    /// The storage types of the three views.
    pub const fn dtypes(&self) -> Dtypes {
        Dtypes {
            q: self.q.dtype(),
            k: self.k.dtype(),
            v: self.v.dtype(),
        }
    }
}

/// The dimensions of an attention call, for sizing buffers ([`scratch_len`](super::scratch_len)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Dims {
    /// Query heads.
    pub heads_q: usize,
    /// Key/value heads (divides `heads_q`).
    pub heads_kv: usize,
    /// Query rows.
    pub len_q: usize,
    /// Key/value rows in the views passed to the call.
    pub len_kv: usize,
    /// Query/key head dimension.
    pub d_k: usize,
    /// Value (and output) head dimension.
    pub d_v: usize,
}

/// Storage types of the query, key and value views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dtypes {
    /// Query storage.
    pub q: Dtype,
    /// Key storage.
    pub k: Dtype,
    /// Value storage.
    pub v: Dtype,
}

impl Dtypes {
    /// All three in f32.
    pub const F32: Dtypes = Dtypes {
        q: Dtype::F32,
        k: Dtype::F32,
        v: Dtype::F32,
    };

    /// All three in the same type.
    pub const fn all(dtype: Dtype) -> Dtypes {
        Dtypes {
            q: dtype,
            k: dtype,
            v: dtype,
        }
    }
}

/// Number of elements a `[heads, rows, dim]` view with these strides reaches, or `None` on overflow.
pub(crate) const fn extent(
    heads: usize,
    rows: usize,
    dim: usize,
    head_stride: usize,
    row_stride: usize,
) -> Option<usize> {
    if heads == 0 || rows == 0 || dim == 0 {
        return Some(0);
    }
    let Some(h) = (heads - 1).checked_mul(head_stride) else {
        return None;
    };
    let Some(r) = (rows - 1).checked_mul(row_stride) else {
        return None;
    };
    let Some(hr) = h.checked_add(r) else {
        return None;
    };
    hr.checked_add(dim)
}

/// Checks that a view's extent fits in `len` elements.
pub(crate) fn check_extent(
    operand: Operand,
    len: usize,
    heads: usize,
    rows: usize,
    dim: usize,
    head_stride: usize,
    row_stride: usize,
) -> Result<(), AttentionError> {
    match extent(heads, rows, dim, head_stride, row_stride) {
        Some(needed) if needed <= len => Ok(()),
        needed => Err(AttentionError::TooShort {
            operand,
            needed: needed.unwrap_or(usize::MAX),
            got: len,
        }),
    }
}

/// Checks one input view.
pub(crate) fn check_tensor(operand: Operand, t: &Tensor<'_>) -> Result<(), AttentionError> {
    check_extent(
        operand,
        t.data.len(),
        t.heads,
        t.rows,
        t.dim,
        t.head_stride,
        t.row_stride,
    )
}

/// Checks an output view against the expected shape `[heads, rows, dim]`.
pub(crate) fn check_output(
    t: &TensorMut<'_>,
    heads: usize,
    rows: usize,
    dim: usize,
) -> Result<(), AttentionError> {
    expect(Operand::Out, "heads", heads, t.heads)?;
    expect(Operand::Out, "rows", rows, t.rows)?;
    expect(Operand::Out, "dim", dim, t.dim)?;
    check_extent(
        Operand::Out,
        t.data.len(),
        t.heads,
        t.rows,
        t.dim,
        t.head_stride,
        t.row_stride,
    )
}

/// `Ok` if `got == expected`, else a [`AttentionError::Mismatch`].
pub(crate) fn expect(
    operand: Operand,
    what: &'static str,
    expected: usize,
    got: usize,
) -> Result<(), AttentionError> {
    if expected == got {
        Ok(())
    } else {
        Err(AttentionError::Mismatch {
            operand,
            what,
            expected,
            got,
        })
    }
}

/// Checks that a flat buffer holds at least `needed` elements (`None` = overflow).
pub(crate) fn check_len(
    operand: Operand,
    needed: Option<usize>,
    got: usize,
) -> Result<(), AttentionError> {
    match needed {
        Some(n) if n <= got => Ok(()),
        n => Err(AttentionError::TooShort {
            operand,
            needed: n.unwrap_or(usize::MAX),
            got,
        }),
    }
}

/// Where the keys of the K/V views sit in the whole key sequence: the views hold the keys with global indices
/// `start .. start + k.rows` of a sequence of `total` keys. Masks, positions and ALiBi use global indices, so
/// one attention can be split into spans (pages of a paged cache, the two halves of a wrapped ring buffer,
/// chunks processed on different cores) whose partial states merge into the whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KvSpan {
    /// Global index of the first key row of the views.
    pub start: usize,
    /// Keys in the whole sequence (`len_kv` of the masks and of the position alignment).
    pub total: usize,
}

impl KvSpan {
    /// The views hold the whole sequence of `len` keys.
    pub const fn whole(len: usize) -> KvSpan {
        KvSpan {
            start: 0,
            total: len,
        }
    }
}
