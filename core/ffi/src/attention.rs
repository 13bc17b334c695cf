//! Attention through the C API: one call over caller scratch (`emk_attention`), sized by
//! `emk_attention_scratch_len`, for contiguous `[heads, len, d]` tensors with f32 queries and f32, f16 or bf16
//! keys and values.

use core::ffi::c_int;

use emkern::attention::{
    self, Alibi, AttentionError, Data, Dims, Dtype, Dtypes, Params, Qkv, Tensor, TensorMut, Tiles,
};
use emkern::simd::{Simd, bf16, f16};

use crate::{EmkStatus, input, output, status};

/// Storage type of keys and values (`emk_dtype`): pass one of these values as an `int`.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmkDtype {
    /// IEEE binary32 (`float`).
    EMK_F32 = 0,
    /// IEEE binary16, as its 16 bits (`uint16_t`).
    EMK_F16 = 1,
    /// bfloat16, as its 16 bits (`uint16_t`).
    EMK_BF16 = 2,
}

impl EmkDtype {
    /// The storage type for a C `int`; `None` for a value that is not an `emk_dtype`.
    fn from_int(v: c_int) -> Option<Dtype> {
        match v {
            0 => Some(Dtype::F32),
            1 => Some(Dtype::F16),
            2 => Some(Dtype::Bf16),
            _ => None,
        }
    }
}

/// The shape of an attention call (`emk_attention_dims`): `q` is `[heads_q, len_q, d_k]`, `k` is
/// `[heads_kv, len_kv, d_k]`, `v` is `[heads_kv, len_kv, d_v]`, the output `[heads_q, len_q, d_v]`, all
/// contiguous and row-major. `heads_q` must be a multiple of `heads_kv` (grouped-query attention: query head `h`
/// reads key/value head `h / (heads_q / heads_kv)`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmkAttentionDims {
    /// Query heads.
    pub heads_q: usize,
    /// Key/value heads.
    pub heads_kv: usize,
    /// Query rows (positions) per head.
    pub len_q: usize,
    /// Key/value rows per head.
    pub len_kv: usize,
    /// Elements per query and key row.
    pub d_k: usize,
    /// Elements per value and output row.
    pub d_v: usize,
}

/// What an attention call computes (`emk_attention_params`). Start from `emk_attention_params_default()`.
///
/// The score of query row `i` and key `j` is `softcap(scale · q·k) + alibi`, hidden keys are left out, and the
/// output row is the softmax-weighted sum of the value rows (with a sink logit in the denominator when `sinks`
/// is given). Positions are aligned bottom-right: the last query row sits at the last key (decoding).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EmkAttentionParams {
    /// Multiplier of `q·k`; 0 means `1/sqrt(d_k)`. Must be finite.
    pub scale: f32,
    /// Logit soft-capping `c` (scores become `c·tanh(s/c)`); 0 means none, otherwise finite and > 0.
    pub softcap: f32,
    /// Non-zero: causal mask (a query sees keys at its position and before).
    pub causal: c_int,
    /// Sliding window `W`: a query at position `p` sees keys at positions `≥ p − W + 1`; 0 means no window.
    pub window: usize,
    /// Non-zero: the standard ALiBi biases (Press et al. slopes for `heads_q` heads).
    pub alibi: c_int,
    /// Attention sinks: NULL, or one learned logit per query head (`heads_q` floats).
    pub sinks: *const f32,
    /// Keys per K/V tile; 0 means the library's default for the CPU it runs on.
    pub tile_kv: usize,
    /// Query rows per block; 0 means the library's default for the CPU it runs on.
    pub tile_q: usize,
}

/// The default parameters: scale `1/sqrt(d_k)`, no soft-cap, no mask, no ALiBi, no sinks, default tiles.
#[unsafe(no_mangle)]
pub extern "C" fn emk_attention_params_default() -> EmkAttentionParams {
    EmkAttentionParams {
        scale: 0.0,
        softcap: 0.0,
        causal: 0,
        window: 0,
        alibi: 0,
        sinks: core::ptr::null(),
        tile_kv: 0,
        tile_q: 0,
    }
}

impl EmkAttentionDims {
    fn dims(&self) -> Dims {
        Dims {
            heads_q: self.heads_q,
            heads_kv: self.heads_kv,
            len_q: self.len_q,
            len_kv: self.len_kv,
            d_k: self.d_k,
            d_v: self.d_v,
        }
    }

    /// Elements of q, k, v and the output; `EMK_BAD_SHAPE` when a count overflows.
    fn counts(&self) -> Result<[usize; 4], EmkStatus> {
        let n = |a: usize, b: usize, c: usize| {
            a.checked_mul(b)
                .and_then(|x| x.checked_mul(c))
                .ok_or(EmkStatus::EMK_BAD_SHAPE)
        };
        Ok([
            n(self.heads_q, self.len_q, self.d_k)?,
            n(self.heads_kv, self.len_kv, self.d_k)?,
            n(self.heads_kv, self.len_kv, self.d_v)?,
            n(self.heads_q, self.len_q, self.d_v)?,
        ])
    }
}

/// The tiles the parameters ask for, the CPU's defaults where they say 0.
fn tiles(simd: Simd, p: &EmkAttentionParams) -> Tiles {
    let level = Tiles::for_level(simd.level());
    Tiles::new(
        if p.tile_kv == 0 { level.kv } else { p.tile_kv },
        if p.tile_q == 0 { level.q } else { p.tile_q },
    )
}

/// The core's error as a status.
fn from_attention_error(e: AttentionError) -> EmkStatus {
    match e {
        AttentionError::TooShort {
            operand: attention::Operand::Scratch,
            ..
        } => EmkStatus::EMK_SCRATCH_TOO_SHORT,
        AttentionError::BadParam(_) => EmkStatus::EMK_BAD_PARAM,
        _ => EmkStatus::EMK_BAD_SHAPE,
    }
}

/// Reads `*dims` and `*params` after the null and alignment checks.
///
/// # Safety
/// Each pointer is null or points to a readable value of its type.
unsafe fn read_args(
    dims: *const EmkAttentionDims,
    params: *const EmkAttentionParams,
) -> Result<(EmkAttentionDims, EmkAttentionParams), EmkStatus> {
    // SAFETY: the caller's contract; `input` checks null and alignment.
    let d = unsafe { input(dims, 1, EmkStatus::EMK_BAD_SHAPE) }?;
    // SAFETY: as above.
    let p = unsafe { input(params, 1, EmkStatus::EMK_BAD_PARAM) }?;
    match (d.first(), p.first()) {
        (Some(d), Some(p)) => Ok((*d, *p)),
        _ => Err(EmkStatus::EMK_NULL_POINTER),
    }
}

/// Writes into `*len` the f32 elements of scratch `emk_attention` needs for this shape, key/value storage type
/// (`kv_dtype`, an `emk_dtype`) and tiles. The value depends on the CPU only through default tiles (0 in
/// `params`): set `tile_kv` and `tile_q` for a size fixed at compile time.
///
/// # Safety
/// `dims`, `params` and `len` are null or point to a readable `emk_attention_dims`, a readable
/// `emk_attention_params` and a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emk_attention_scratch_len(
    dims: *const EmkAttentionDims,
    kv_dtype: c_int,
    params: *const EmkAttentionParams,
    len: *mut usize,
) -> EmkStatus {
    status((|| {
        // SAFETY: the caller's contract.
        let (d, p) = unsafe { read_args(dims, params) }?;
        let dtype = EmkDtype::from_int(kv_dtype).ok_or(EmkStatus::EMK_BAD_PARAM)?;
        d.counts()?;
        // SAFETY: the caller's contract; `output` checks null and alignment.
        let out = unsafe { output(len, 1, EmkStatus::EMK_BAD_SHAPE) }?;
        let dtypes = Dtypes {
            q: Dtype::F32,
            k: dtype,
            v: dtype,
        };
        let needed = attention::scratch_len(d.dims(), dtypes, tiles(Simd::best(), &p));
        if let Some(slot) = out.first_mut() {
            *slot = needed;
        }
        Ok(())
    })())
}

/// Attention of every query row over all keys: writes `out` (`[heads_q, len_q, d_v]` floats) and, unless `lse`
/// is NULL, the log-sum-exp of every row (`[heads_q, len_q]` floats, natural log). Runs at the best SIMD level
/// of the CPU (AVX2/AVX-512, NEON, Helium or scalar).
///
/// `q` holds `heads_q·len_q·d_k` floats; `k` and `v` hold `heads_kv·len_kv·d_k` and `heads_kv·len_kv·d_v`
/// values of `kv_dtype` (`EMK_F32`: floats; `EMK_F16`, `EMK_BF16`: `uint16_t` bits); `scratch` holds
/// `scratch_len` floats, at least what `emk_attention_scratch_len` says (`EMK_SCRATCH_TOO_SHORT` otherwise).
/// Errors are reported before anything is written: `EMK_BAD_SHAPE` (head groups, overflowing sizes),
/// `EMK_BAD_PARAM` (a non-finite scale, a non-positive soft-cap, an unknown `kv_dtype`), `EMK_NULL_POINTER`,
/// `EMK_MISALIGNED`. An empty dimension (no query rows, no heads) writes nothing and returns `EMK_OK`; pointers
/// to empty arrays may then be NULL.
///
/// # Safety
/// Each pointer is NULL or points to the number of readable (`q`, `k`, `v`, `dims`, `params`, `params->sinks`)
/// or writable (`out`, `lse`, `scratch`) values stated above; the written arrays overlap nothing else.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emk_attention(
    dims: *const EmkAttentionDims,
    params: *const EmkAttentionParams,
    q: *const f32,
    k: *const core::ffi::c_void,
    v: *const core::ffi::c_void,
    kv_dtype: c_int,
    out: *mut f32,
    lse: *mut f32,
    scratch: *mut f32,
    scratch_len: usize,
) -> EmkStatus {
    status((|| {
        // SAFETY: the caller's contract.
        let (d, p) = unsafe { read_args(dims, params) }?;
        let dtype = EmkDtype::from_int(kv_dtype).ok_or(EmkStatus::EMK_BAD_PARAM)?;
        let [nq, nk, nv, no] = d.counts()?;
        let long = EmkStatus::EMK_BAD_SHAPE;
        // The calls below turn the pointers into slices: the caller guarantees the stated number of values
        // behind each non-null pointer; the helpers check null, alignment and the byte size, and give an empty
        // slice for a zero count.
        // SAFETY: as just said.
        let q = unsafe { maybe_input(q, nq, long) }?;
        // SAFETY: as above.
        let k = unsafe { kv(k, nk, dtype) }?;
        // SAFETY: as above.
        let v = unsafe { kv(v, nv, dtype) }?;
        // SAFETY: as above.
        let out = unsafe { maybe_output(out, no, long) }?;
        let lse = if lse.is_null() {
            None
        } else {
            let n = d.heads_q.checked_mul(d.len_q).ok_or(long)?;
            // SAFETY: as above.
            Some(unsafe { maybe_output(lse, n, long) }?)
        };
        // SAFETY: as above.
        let scratch = unsafe { maybe_output(scratch, scratch_len, long) }?;
        let sinks = if p.sinks.is_null() {
            None
        } else {
            // SAFETY: as above (`heads_q` floats behind a non-null `sinks`).
            Some(unsafe { input(p.sinks, d.heads_q, long) }?)
        };
        let simd = Simd::best();
        let mut params = Params::for_level(simd.level());
        params.scale = (p.scale != 0.0).then_some(p.scale);
        params.softcap = (p.softcap != 0.0).then_some(p.softcap);
        params.mask.causal = p.causal != 0;
        params.mask.window = (p.window != 0).then_some(p.window);
        params.alibi = (p.alibi != 0).then_some(Alibi::Standard);
        params.sinks = sinks;
        params.tiles = tiles(simd, &p);
        let qkv = Qkv {
            q: Tensor::new(q, d.heads_q, d.len_q, d.d_k),
            k: Tensor::new(k, d.heads_kv, d.len_kv, d.d_k),
            v: Tensor::new(v, d.heads_kv, d.len_kv, d.d_v),
        };
        let out = TensorMut::new(out, d.heads_q, d.len_q, d.d_v);
        attention::attention(simd, &qkv, &params, out, lse, scratch).map_err(from_attention_error)
    })())
}

/// [`input`], but an empty slice for a zero count (any pointer, NULL included).
///
/// # Safety
/// As [`input`].
unsafe fn maybe_input<'a, T>(
    p: *const T,
    len: usize,
    too_long: EmkStatus,
) -> Result<&'a [T], EmkStatus> {
    if len == 0 {
        return Ok(&[]);
    }
    // SAFETY: the caller's contract.
    unsafe { input(p, len, too_long) }
}

/// [`output`], but an empty slice for a zero count (any pointer, NULL included).
///
/// # Safety
/// As [`output`].
unsafe fn maybe_output<'a, T>(
    p: *mut T,
    len: usize,
    too_long: EmkStatus,
) -> Result<&'a mut [T], EmkStatus> {
    if len == 0 {
        return Ok(&mut []);
    }
    // SAFETY: the caller's contract.
    unsafe { output(p, len, too_long) }
}

/// `len` keys or values of `dtype` at `p`.
///
/// # Safety
/// `p` is null or points to `len` readable values of `dtype`.
unsafe fn kv<'a>(
    p: *const core::ffi::c_void,
    len: usize,
    dtype: Dtype,
) -> Result<Data<'a>, EmkStatus> {
    let long = EmkStatus::EMK_BAD_SHAPE;
    // SAFETY: the caller's contract; f16 and bf16 are `repr(transparent)` over `u16`, so `uint16_t` bits are
    // their representation (every bit pattern is a valid value).
    Ok(match dtype {
        // SAFETY: see above.
        Dtype::F32 => Data::F32(unsafe { maybe_input(p.cast::<f32>(), len, long) }?),
        // SAFETY: see above.
        Dtype::F16 => Data::F16(unsafe { maybe_input(p.cast::<f16>(), len, long) }?),
        // SAFETY: see above.
        Dtype::Bf16 => Data::Bf16(unsafe { maybe_input(p.cast::<bf16>(), len, long) }?),
    })
}
