//! `emkern rope`: rotary position encoding of NumPy `.npy` rows through the no_std core, configured by a
//! Hugging Face `rope_parameters` (or legacy `rope_scaling`) JSON object, so results compare directly with
//! PyTorch.
//!
//! Shapes: `x` is `[heads, positions, head_dim]` (a 2-D array is one head), `positions` is `[positions]` (any
//! integer dtype, or whole floats); the output has the shape of `x`, in f32. Position `r` of every head is
//! rotated by the angle of `positions[r]`.
//!
//! `--dump-inv-freq` writes the inverse frequencies `[D/2]` (f64, or f32 with `--hf-f32`); `--dump-tables P`
//! writes `Pcos.npy` and `Psin.npy`, `[positions, D]`, laid out as Hugging Face's rotary modules return them
//! (each half-row twice, `cat(freqs, freqs)`) and multiplied by the attention factor.
//!
//! The sequence length that dynamic NTK and LongRoPE depend on defaults to `max(positions) + 1`, as Hugging
//! Face derives it from the position ids in the forward pass.

use std::error::Error;
use std::path::{Path, PathBuf};

use emkern::rope::apply::{self, Direction, Element, Layout, Positions, Rows, Tables};
use emkern::rope::freq::{self, Llama3, LongRope, RopeConfig, Scaling, Yarn};
use emkern::rope::{Frequencies, RopeError, hf_f32, table};
use emkern_simd::{Simd, bf16, f16};
use serde_json::{Map, Value};

use crate::io::npy;
use crate::output::Outputs;
use crate::storage::Storage;

/// Everything `emkern rope` needs (also its command-line arguments).
#[derive(Clone, Debug, clap::Args)]
pub struct Request {
    /// Rows to rotate, `[heads, positions, head_dim]` or `[positions, head_dim]`.
    #[arg(long)]
    pub x: PathBuf,
    /// Position ids, `[positions]` (integers).
    #[arg(long)]
    pub positions: PathBuf,
    /// Pair layout: half-split (GPT-NeoX, Hugging Face `rotate_half`) or interleaved (GPT-J, Meta).
    #[arg(long, value_enum, default_value_t = LayoutArg::HalfSplit)]
    pub layout: LayoutArg,
    /// Elements per head (the last dimension of `x`).
    #[arg(long)]
    pub head_dim: usize,
    /// Rotated fraction of each head (`partial_rotary_factor`; overrides the JSON's).
    #[arg(long)]
    pub partial: Option<f64>,
    /// Hugging Face `rope_parameters` JSON, e.g. `{"rope_type":"yarn","rope_theta":10000,"factor":4,
    /// "original_max_position_embeddings":4096}`. Default: unscaled RoPE with base 10000.
    #[arg(long, default_value = "{}")]
    pub config: String,
    /// The model's `max_position_embeddings` (dynamic NTK; YaRN/LongRoPE without `factor`).
    #[arg(long)]
    pub max_position_embeddings: Option<u64>,
    /// Sequence length for dynamic NTK and LongRoPE (default: max(positions) + 1).
    #[arg(long)]
    pub seq_len: Option<u64>,
    /// Reproduce PyTorch's float32 arithmetic (Hugging Face's tables) instead of exact angles.
    #[arg(long)]
    pub hf_f32: bool,
    /// Storage type of `x` on the device (values are rounded to it before rotating).
    #[arg(long, default_value = "f32")]
    pub dtype: Storage,
    /// Undo the rotation instead (rotate by −θ).
    #[arg(long)]
    pub inverse: bool,
    /// Output `.npy` (f32, the shape of `x`).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the inverse frequencies `[D/2]`.
    #[arg(long)]
    pub dump_inv_freq: Option<PathBuf>,
    /// Also write `<PREFIX>cos.npy` and `<PREFIX>sin.npy`, `[positions, D]` as Hugging Face returns them.
    #[arg(long, value_name = "PREFIX")]
    pub dump_tables: Option<String>,
}

/// Pair layout on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LayoutArg {
    /// Pairs `(x[i], x[i + D/2])`.
    HalfSplit,
    /// Pairs `(x[2i], x[2i + 1])`.
    Interleaved,
}

impl LayoutArg {
    /// The core's layout.
    pub fn layout(self) -> Layout {
        match self {
            LayoutArg::HalfSplit => Layout::HalfSplit,
            LayoutArg::Interleaved => Layout::Interleaved,
        }
    }
}

/// The scaling named by `rope_type`, with owned parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum ScalingSpec {
    /// `default`.
    Default,
    /// `linear`.
    Linear(f64),
    /// `ntk` (static NTK; an emkern name, not a Hugging Face `rope_type`).
    NtkStatic(f64),
    /// `dynamic`.
    Dynamic(f64),
    /// `yarn`.
    Yarn(Yarn),
    /// `longrope`: short list, long list, original length, factor, attention factor.
    LongRope {
        /// `short_factor`.
        short: Vec<f64>,
        /// `long_factor`.
        long: Vec<f64>,
        /// `original_max_position_embeddings`.
        original: u64,
        /// `factor`.
        factor: Option<f64>,
        /// `attention_factor`.
        attention_factor: Option<f64>,
    },
    /// `llama3`.
    Llama3(Llama3),
}

/// A parsed `rope_parameters` object.
#[derive(Clone, Debug, PartialEq)]
pub struct RopeParameters {
    /// `rope_theta` (default 10000).
    pub rope_theta: f64,
    /// `partial_rotary_factor`, if given.
    pub partial_rotary_factor: Option<f64>,
    /// `max_position_embeddings`, if given in the object.
    pub max_position_embeddings: Option<u64>,
    /// The scaling.
    pub scaling: ScalingSpec,
}

impl RopeParameters {
    /// The core's configuration for `head_dim` (`partial` and `max_position_embeddings` override the object's).
    pub fn config(
        &self,
        head_dim: usize,
        partial: Option<f64>,
        max_position_embeddings: Option<u64>,
    ) -> RopeConfig<'_> {
        RopeConfig {
            rope_theta: self.rope_theta,
            head_dim,
            partial_rotary_factor: partial.or(self.partial_rotary_factor).unwrap_or(1.0),
            max_position_embeddings: max_position_embeddings.or(self.max_position_embeddings),
            scaling: match &self.scaling {
                ScalingSpec::Default => Scaling::Default,
                &ScalingSpec::Linear(factor) => Scaling::Linear { factor },
                &ScalingSpec::NtkStatic(factor) => Scaling::NtkStatic { factor },
                &ScalingSpec::Dynamic(factor) => Scaling::Dynamic { factor },
                &ScalingSpec::Yarn(y) => Scaling::Yarn(y),
                ScalingSpec::LongRope {
                    short,
                    long,
                    original,
                    factor,
                    attention_factor,
                } => Scaling::LongRope(LongRope {
                    short_factor: short,
                    long_factor: long,
                    original_max_position_embeddings: *original,
                    factor: *factor,
                    attention_factor: *attention_factor,
                }),
                &ScalingSpec::Llama3(l) => Scaling::Llama3(l),
            },
        }
    }
}

const KNOWN_KEYS: &[&str] = &[
    "rope_type",
    "type",
    "rope_theta",
    "partial_rotary_factor",
    "max_position_embeddings",
    "factor",
    "original_max_position_embeddings",
    "attention_factor",
    "beta_fast",
    "beta_slow",
    "mscale",
    "mscale_all_dim",
    "truncate",
    "short_factor",
    "long_factor",
    "low_freq_factor",
    "high_freq_factor",
];

/// Reads the fields of one JSON object, with errors that name the field.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    /// The value of `key`, treating JSON `null` as absent.
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }
    fn number(&self, key: &str) -> Result<Option<f64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| format!("`{key}`: expected a number, got {v}")),
        }
    }
    fn required(&self, key: &str, rope_type: &str) -> Result<f64, String> {
        self.number(key)?
            .ok_or_else(|| format!("`{key}` is required for rope_type \"{rope_type}\""))
    }
    fn length(&self, key: &str) -> Result<Option<u64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| {
                    v.as_f64()
                        .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < 1.8e19)
                        .map(|f| f as u64)
                })
                .map(Some)
                .ok_or_else(|| format!("`{key}`: expected a non-negative integer, got {v}")),
        }
    }
    fn boolean(&self, key: &str) -> Result<Option<bool>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| format!("`{key}`: expected true or false, got {v}")),
        }
    }
    fn list(&self, key: &str, rope_type: &str) -> Result<Vec<f64>, String> {
        let v = self
            .get(key)
            .ok_or_else(|| format!("`{key}` is required for rope_type \"{rope_type}\""))?;
        let items = v
            .as_array()
            .ok_or_else(|| format!("`{key}`: expected a list of numbers, got {v}"))?;
        items
            .iter()
            .enumerate()
            .map(|(i, x)| {
                x.as_f64()
                    .ok_or_else(|| format!("`{key}`[{i}]: expected a number, got {x}"))
            })
            .collect()
    }
}

/// Parses a Hugging Face `rope_parameters` / `rope_scaling` JSON object. `original_max_position_embeddings`
/// defaults to `max_position_embeddings` (from the object or the argument) for YaRN, LongRoPE and Llama 3, as
/// Hugging Face v5 fills it in. Values are checked by the core later; this checks types, names and presence.
pub fn parse_rope_parameters(
    json: &str,
    max_position_embeddings: Option<u64>,
) -> Result<RopeParameters, String> {
    let value: Value = serde_json::from_str(json).map_err(|e| format!("not valid JSON: {e}"))?;
    let object = value
        .as_object()
        .ok_or_else(|| format!("expected a JSON object, got {value}"))?;
    if let Some(k) = object.keys().find(|k| !KNOWN_KEYS.contains(&k.as_str())) {
        return Err(format!(
            "unknown field `{k}` (known: {})",
            KNOWN_KEYS.join(", ")
        ));
    }
    let f = Fields(object);
    let rope_type = match f.get("rope_type").or_else(|| f.get("type")) {
        None => "default".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => return Err(format!("`rope_type`: expected a string, got {v}")),
    };
    let max_pos = f.length("max_position_embeddings")?;
    let fallback_max = max_position_embeddings.or(max_pos);
    let original = |name: &str| -> Result<u64, String> {
        f.length("original_max_position_embeddings")?
            .or(fallback_max)
            .ok_or_else(|| {
                format!(
                    "`original_max_position_embeddings` is required for rope_type \"{name}\" \
                     (or give --max-position-embeddings)"
                )
            })
    };
    let t = rope_type.as_str();
    let scaling = match t {
        "default" => ScalingSpec::Default,
        "linear" => ScalingSpec::Linear(f.required("factor", t)?),
        "ntk" => ScalingSpec::NtkStatic(f.required("factor", t)?),
        "dynamic" => ScalingSpec::Dynamic(f.required("factor", t)?),
        "yarn" => {
            let mut y = Yarn::new(1.0, original(t)?);
            y.factor = f.number("factor")?;
            // Hugging Face: `get("beta_fast") or 32` — absent, null or 0 take the default.
            y.beta_fast = f.number("beta_fast")?.filter(|&b| b != 0.0).unwrap_or(32.0);
            y.beta_slow = f.number("beta_slow")?.filter(|&b| b != 0.0).unwrap_or(1.0);
            y.mscale = f.number("mscale")?;
            y.mscale_all_dim = f.number("mscale_all_dim")?;
            y.attention_factor = f.number("attention_factor")?;
            y.truncate = f.boolean("truncate")?.unwrap_or(true);
            ScalingSpec::Yarn(y)
        }
        "longrope" => ScalingSpec::LongRope {
            short: f.list("short_factor", t)?,
            long: f.list("long_factor", t)?,
            original: original(t)?,
            factor: f.number("factor")?,
            attention_factor: f.number("attention_factor")?,
        },
        "llama3" => ScalingSpec::Llama3(Llama3 {
            factor: f.required("factor", t)?,
            low_freq_factor: f.required("low_freq_factor", t)?,
            high_freq_factor: f.required("high_freq_factor", t)?,
            original_max_position_embeddings: original(t)?,
        }),
        other => {
            return Err(format!(
                "`rope_type`: unknown \"{other}\" (one of default, linear, ntk, dynamic, yarn, longrope, llama3)"
            ));
        }
    };
    Ok(RopeParameters {
        rope_theta: f.number("rope_theta")?.unwrap_or(10_000.0),
        partial_rotary_factor: f.number("partial_rotary_factor")?,
        max_position_embeddings: max_pos,
        scaling,
    })
}

/// Reads `x` as `[heads, positions, head_dim]`.
fn read_x(path: &Path, head_dim: usize) -> Result<(npy::Array, [usize; 3]), Box<dyn Error>> {
    let a = npy::read(path)?;
    let dims = match a.shape[..] {
        [h, r, d] => [h, r, d],
        [r, d] => [1, r, d],
        _ => {
            return Err(format!(
                "{}: x must be [heads, positions, head_dim] or [positions, head_dim], got {:?}",
                path.display(),
                a.shape
            )
            .into());
        }
    };
    if a.dtype == npy::Dtype::Bool {
        return Err(format!("{}: x must hold numbers, not bools", path.display()).into());
    }
    if a.values.is_empty() {
        // The tables are sized by the positions and the head dimension: with no values they would not be
        // bounded by the data.
        return Err(format!(
            "{}: x has shape {:?}: no values (every dimension must be at least 1)",
            path.display(),
            a.shape
        )
        .into());
    }
    if dims[2] != head_dim {
        return Err(format!(
            "{}: the last dimension is {}, --head-dim is {head_dim}",
            path.display(),
            dims[2]
        )
        .into());
    }
    Ok((a, dims))
}

/// Runs the request and writes its outputs.
pub fn run(req: &Request) -> Result<(), Box<dyn Error>> {
    let tables: Option<[PathBuf; 2]> = req
        .dump_tables
        .as_ref()
        .map(|prefix| ["cos", "sin"].map(|name| PathBuf::from(format!("{prefix}{name}.npy"))));
    let mut targets = vec![("--out", req.out.as_path())];
    targets.extend(req.dump_inv_freq.as_deref().map(|p| ("--dump-inv-freq", p)));
    for p in tables.iter().flatten() {
        targets.push(("--dump-tables", p.as_path()));
    }
    let outputs = Outputs::plan(
        &targets,
        &[
            ("--x", req.x.as_path()),
            ("--positions", req.positions.as_path()),
        ],
    )?;
    let (x, [heads, rows, head_dim]) = read_x(&req.x, req.head_dim)?;
    let (pshape, positions) = npy::read_u64(&req.positions)?;
    if positions.len() != rows || pshape.iter().filter(|&&d| d != 1).count() > 1 {
        return Err(format!(
            "{}: positions must be [{rows}] (one per row of x), got {:?}",
            req.positions.display(),
            pshape
        )
        .into());
    }
    let params = parse_rope_parameters(&req.config, req.max_position_embeddings)
        .map_err(|e| format!("--config: {e}"))?;
    let config = params.config(head_dim, req.partial, req.max_position_embeddings);
    let seq_len = req
        .seq_len
        .unwrap_or_else(|| positions.iter().max().map_or(0, |m| m.saturating_add(1)));
    let frequencies =
        Frequencies::new(&config, Some(seq_len)).map_err(|e| format!("--config: {e}"))?;
    let half = frequencies.half();
    let attention_factor = frequencies.attention_factor();

    let (mut cos, mut sin) = (vec![0.0f32; rows * half], vec![0.0f32; rows * half]);
    if req.hf_f32 {
        let mut w = vec![0.0f32; half];
        hf_f32::inv_freq(&config, Some(seq_len), &mut w)?;
        hf_f32::fill_positions(&w, &positions, attention_factor, &mut cos, &mut sin)?;
        if let Some(path) = &req.dump_inv_freq {
            outputs.write(path, &npy::to_bytes_f32(&[half], &w))?;
        }
    } else {
        let mut w = vec![0.0f64; half];
        freq::inv_freq(&config, Some(seq_len), &mut w)?;
        table::fill_positions(&w, &positions, attention_factor, &mut cos, &mut sin)?;
        if let Some(path) = &req.dump_inv_freq {
            outputs.write(path, &npy::to_bytes_f64(&[half], &w))?;
        }
    }
    if let Some(paths) = &tables {
        for (path, t) in paths.iter().zip([&cos, &sin]) {
            let hf: Vec<f32> = t
                .chunks_exact(half.max(1))
                .flat_map(|row| row.iter().chain(row).copied())
                .collect();
            outputs.write(path, &npy::to_bytes_f32(&[rows, 2 * half], &hf))?;
        }
    }

    let tables = Tables {
        cos: &cos,
        sin: &sin,
        half,
    };
    let simd = Simd::best();
    let layout = req.layout.layout();
    let direction = if req.inverse {
        Direction::Inverse
    } else {
        Direction::Forward
    };
    let mut scratch = vec![0.0f32; apply::scratch_len(2 * half)];
    let shape = [heads, rows, head_dim];
    let out: Vec<f32> = match req.dtype {
        Storage::F32 => {
            let mut v = x.values;
            rotate(simd, layout, direction, &mut v, shape, &tables, &mut [])?;
            v
        }
        Storage::F16 => {
            let mut v: Vec<f16> = x.values.iter().map(|&e| f16::from_f32(e)).collect();
            rotate(
                simd,
                layout,
                direction,
                &mut v,
                shape,
                &tables,
                &mut scratch,
            )?;
            v.iter().map(|e| e.to_f32()).collect()
        }
        Storage::Bf16 => {
            let mut v: Vec<bf16> = x.values.iter().map(|&e| bf16::from_f32(e)).collect();
            rotate(
                simd,
                layout,
                direction,
                &mut v,
                shape,
                &tables,
                &mut scratch,
            )?;
            v.iter().map(|e| e.to_f32()).collect()
        }
    };
    outputs.write(&req.out, &npy::to_bytes_f32(&[heads, rows, head_dim], &out))?;
    crate::output::print(&format!(
        "rotary dim {} of {head_dim}, attention factor {attention_factor}, seq_len {seq_len}, {} arithmetic\n",
        2 * half,
        if req.hf_f32 {
            "PyTorch f32"
        } else {
            "exact-angle"
        }
    ))?;
    outputs.commit()?;
    Ok(())
}

/// Rotates the rows `v` (`[heads, rows, head_dim]` in `shape`, stored as `T`) at consecutive positions from 0.
fn rotate<T: Element>(
    simd: Simd,
    layout: Layout,
    direction: Direction,
    v: &mut [T],
    shape: [usize; 3],
    tables: &Tables<'_>,
    scratch: &mut [f32],
) -> Result<(), RopeError> {
    let [heads, rows, head_dim] = shape;
    apply::apply(
        simd,
        layout,
        direction,
        Rows::new(v, heads, rows, head_dim),
        tables,
        Positions::Consecutive(0),
        scratch,
    )
}
