//! `emkern attention`: streaming attention over NumPy `.npy` inputs through the no_std core, so results can be
//! compared directly with PyTorch or NumPy.
//!
//! Shapes: Q `[heads_q, len_q, d_k]`, K `[heads_kv, len_kv, d_k]`, V `[heads_kv, len_kv, d_v]` (2-D arrays are one
//! head); output `[heads_q, len_q, d_v]` f32 and, if asked, the log-sum-exp `[heads_q, len_q]`. A mask is
//! `[len_q, len_kv]` (shared by all heads) or `[heads_q, len_q, len_kv]`: bool where true = may attend (as in
//! PyTorch), or f32/f64 added to the scores (`-inf` hides a key).

use std::error::Error;
use std::path::{Path, PathBuf};

use emkern::attention::{
    self, AdditiveMask, Alibi, Align, BitMask, Data, Params, Qkv, Tensor, TensorMut, Tiles,
};
use emkern_simd::{Simd, bf16, f16};

use crate::buffer;
use crate::io::npy::{self, Dtype};
use crate::output::Outputs;
use crate::storage::Storage;

/// Everything `emkern attention` needs (also its command-line arguments).
#[derive(Clone, Debug, clap::Args)]
pub struct Request {
    /// Queries.
    #[arg(long)]
    pub q: PathBuf,
    /// Keys.
    #[arg(long)]
    pub k: PathBuf,
    /// Values.
    #[arg(long)]
    pub v: PathBuf,
    /// `[len_q, len_kv]` (or per head): bool where true = may attend, or f32 added to the scores.
    #[arg(long)]
    pub mask: Option<PathBuf>,
    /// Causal mask.
    #[arg(long)]
    pub causal: bool,
    /// How queries line up with keys (for the causal mask, the window and ALiBi).
    #[arg(long, value_enum, default_value_t = AlignArg::BottomRight)]
    pub causal_align: AlignArg,
    /// Sliding window: a query at position p sees keys at positions >= p - W + 1.
    #[arg(long)]
    pub window: Option<usize>,
    /// Score multiplier (default 1/sqrt(d_k)).
    #[arg(long)]
    pub scale: Option<f32>,
    /// Logit soft-capping c: scores become c·tanh(s/c).
    #[arg(long)]
    pub softcap: Option<f32>,
    /// ALiBi biases with the standard slopes for the number of query heads.
    #[arg(long)]
    pub alibi: bool,
    /// Storage type of K and V (values are rounded to it).
    #[arg(long, default_value = "f32")]
    pub kv_dtype: Storage,
    /// Storage type of Q.
    #[arg(long, default_value = "f32")]
    pub q_dtype: Storage,
    /// Query rows per tile (default: tuned for the SIMD level).
    #[arg(long)]
    pub tile_q: Option<usize>,
    /// Keys per tile (default: tuned for the SIMD level).
    #[arg(long)]
    pub tile_kv: Option<usize>,
    /// Output `.npy`.
    #[arg(long)]
    pub out: PathBuf,
    /// Storage type of the output, narrowed by the kernel: f32, f16 (written as `<f2`) or bf16 (NumPy has no
    /// bfloat16: written as `<f4` holding the bf16 values exactly).
    #[arg(long, default_value = "f32")]
    pub out_dtype: Storage,
    /// Also write the log-sum-exp per query row `[heads_q, len_q]`.
    #[arg(long)]
    pub lse: Option<PathBuf>,
}

/// Query/key alignment on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AlignArg {
    /// Query i sees keys <= i + len_kv - len_q (decoding against a cache; FlashAttention >= 2.1).
    BottomRight,
    /// Query i sees keys <= i (PyTorch CPU `is_causal`).
    TopLeft,
}

impl AlignArg {
    /// The kernel's alignment.
    pub fn align(self) -> Align {
        match self {
            AlignArg::BottomRight => Align::BottomRight,
            AlignArg::TopLeft => Align::TopLeft,
        }
    }
}

/// Input values converted to their storage type.
enum Stored {
    F32(Vec<f32>),
    F16(Vec<f16>),
    Bf16(Vec<bf16>),
}

impl Stored {
    fn new(values: Vec<f32>, storage: Storage) -> Stored {
        match storage {
            Storage::F32 => Stored::F32(values),
            Storage::F16 => Stored::F16(values.iter().map(|&v| f16::from_f32(v)).collect()),
            Storage::Bf16 => Stored::Bf16(values.iter().map(|&v| bf16::from_f32(v)).collect()),
        }
    }
    fn data(&self) -> Data<'_> {
        match self {
            Stored::F32(v) => Data::F32(v),
            Stored::F16(v) => Data::F16(v),
            Stored::Bf16(v) => Data::Bf16(v),
        }
    }
}

/// Reads a `[heads, rows, dim]` (or `[rows, dim]`) array.
fn read3(path: &Path, what: &str) -> Result<(npy::Array, [usize; 3]), Box<dyn Error>> {
    let a = npy::read(path)?;
    let dims = match a.shape[..] {
        [h, r, d] => [h, r, d],
        [r, d] => [1, r, d],
        _ => {
            return Err(format!(
                "{}: {what} must be [heads, len, dim] or [len, dim], got {:?}",
                path.display(),
                a.shape
            )
            .into());
        }
    };
    if a.dtype == Dtype::Bool {
        return Err(format!("{}: {what} must hold numbers, not bools", path.display()).into());
    }
    if a.values.is_empty() {
        return Err(format!(
            "{}: {what} has shape {:?}: no values (every dimension must be at least 1)",
            path.display(),
            a.shape
        )
        .into());
    }
    Ok((a, dims))
}

/// Runs the request and writes its outputs.
pub fn run(req: &Request) -> Result<(), Box<dyn Error>> {
    let mut targets = vec![("--out", req.out.as_path())];
    targets.extend(req.lse.as_deref().map(|p| ("--lse", p)));
    let mut inputs = vec![
        ("--q", req.q.as_path()),
        ("--k", req.k.as_path()),
        ("--v", req.v.as_path()),
    ];
    inputs.extend(req.mask.as_deref().map(|p| ("--mask", p)));
    let outputs = Outputs::plan(&targets, &inputs)?;
    let (q, [hq, lq, dk]) = read3(&req.q, "Q")?;
    let (k, [hkv, lkv, dk2]) = read3(&req.k, "K")?;
    let (v, [hkv2, lkv2, dv]) = read3(&req.v, "V")?;
    if dk2 != dk {
        return Err(format!("{}: K has d_k = {dk2}, Q has {dk}", req.k.display()).into());
    }
    if (hkv2, lkv2) != (hkv, lkv) {
        return Err(format!(
            "{}: V is [{hkv2}, {lkv2}, _], K is [{hkv}, {lkv}, _]",
            req.v.display()
        )
        .into());
    }
    let (qs, ks, vs) = (
        Stored::new(q.values, req.q_dtype),
        Stored::new(k.values, req.kv_dtype),
        Stored::new(v.values, req.kv_dtype),
    );
    let qkv = Qkv {
        q: Tensor::new(qs.data(), hq, lq, dk),
        k: Tensor::new(ks.data(), hkv, lkv, dk),
        v: Tensor::new(vs.data(), hkv, lkv, dv),
    };

    let simd = Simd::best();
    let mut params = Params::for_level(simd.level());
    params.mask.causal = req.causal;
    params.align = req.causal_align.align();
    params.mask.window = req.window;
    params.scale = req.scale;
    params.softcap = req.softcap;
    params.alibi = req.alibi.then_some(Alibi::Standard);
    params.tiles = Tiles::new(
        req.tile_kv.unwrap_or(params.tiles.kv),
        req.tile_q.unwrap_or(params.tiles.q),
    );

    // The mask, as bit-packed rows or additive values; a 2-D mask is shared by every head.
    // Declared here so that the views in `params` outlive the call.
    let words: Vec<u64>;
    let additive: Vec<f32>;
    if let Some(path) = &req.mask {
        let m = npy::read(path)?;
        let (heads, rows, cols) = match m.shape[..] {
            [r, c] => (1, r, c),
            [h, r, c] => (h, r, c),
            _ => {
                return Err(format!(
                    "{}: mask must be [len_q, len_kv] or [heads_q, len_q, len_kv]",
                    path.display()
                )
                .into());
            }
        };
        if rows != lq || cols != lkv || (heads != 1 && heads != hq) {
            return Err(format!(
                "{}: mask is {:?}, expected [{lq}, {lkv}] or [{hq}, {lq}, {lkv}]",
                path.display(),
                m.shape
            )
            .into());
        }
        let head_rows = if heads == 1 { 0 } else { rows };
        if m.dtype == Dtype::Bool {
            let per_row = lkv.div_ceil(64);
            let mut bits = vec![0u64; heads * rows * per_row];
            for (i, &b) in m.values.iter().enumerate() {
                if b != 0.0 {
                    let (row, col) = (i / lkv, i % lkv);
                    bits[row * per_row + col / 64] |= 1 << (col % 64);
                }
            }
            words = bits;
            params.mask.bits = Some(BitMask {
                words: &words,
                row_stride: per_row,
                head_stride: head_rows * per_row,
            });
        } else {
            additive = m.values;
            params.mask.additive = Some(AdditiveMask {
                values: &additive,
                row_stride: lkv,
                head_stride: head_rows * lkv,
            });
        }
    }

    let mut scratch = buffer::filled(
        attention::scratch_len(qkv.dims(), qkv.dtypes(), params.tiles),
        0.0f32,
        "the attention scratch (see --tile-q and --tile-kv)",
    )?;
    // Q holds hq × lq × dk ≥ hq × lq values, so the log-sum-exp is no larger than Q.
    let mut lse = vec![0.0f32; hq * lq];
    let shape = [hq, lq, dv];
    let out_len = buffer::product(&shape, "the output")?;
    let out_what = format!("the output {shape:?}");
    let mut run = |out: TensorMut<'_>| {
        attention::attention(simd, &qkv, &params, out, Some(&mut lse), &mut scratch)
            .map_err(|e| format!("attention: {e}"))
    };
    let bytes = match req.out_dtype {
        Storage::F32 => {
            let mut out = buffer::filled(out_len, 0.0f32, &out_what)?;
            run(TensorMut::new(&mut out[..], hq, lq, dv))?;
            npy::to_bytes_f32(&shape, &out)
        }
        Storage::F16 => {
            let mut out = buffer::filled(out_len, f16::ZERO, &out_what)?;
            run(TensorMut::new(&mut out[..], hq, lq, dv))?;
            npy::to_bytes_f16(&shape, &out)
        }
        Storage::Bf16 => {
            let mut out = buffer::filled(out_len, bf16::ZERO, &out_what)?;
            run(TensorMut::new(&mut out[..], hq, lq, dv))?;
            let wide: Vec<f32> = out.iter().map(|v| v.to_f32()).collect();
            npy::to_bytes_f32(&shape, &wide)
        }
    };
    outputs.write(&req.out, &bytes)?;
    if let Some(path) = &req.lse {
        outputs.write(path, &npy::to_bytes_f32(&[hq, lq], &lse))?;
    }
    outputs.commit()?;
    Ok(())
}
