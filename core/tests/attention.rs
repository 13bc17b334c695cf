//! Streaming attention against a naive f64 reference (`attention_ref`): accuracy for f32 and f16/bf16 storage,
//! tile-size invariance, split-KV merging, shift invariance, every mask kind and their combinations, ALiBi
//! slopes, attention sinks, strided layouts, edge lengths, fully masked rows and tiles, NaN/Inf planted where no
//! query may look, extreme magnitudes, every SIMD level, and argument validation.

mod attention_ref;

#[path = "../../host-tests/tests/common/proptest_config.rs"]
mod proptest_config;
use attention_ref::{Errors, Problem, alibi_slopes, errors};
use emkern::attention::{
    self, AdditiveMask, Alibi, Align, AttentionError, BitMask, Data, DataMut, Dtype, KvSpan, Mask,
    Operand, Params, Qkv, RowState, States, Tensor, TensorMut, Tiles, TreeMask,
};
use emkern::simd::{Simd, bf16, f16};
use proptest::prelude::*;
use proptest_config::proptest_config;

// ---------------------------------------------------------------------------------------------------------------
// Random problems
// ---------------------------------------------------------------------------------------------------------------

/// A small deterministic generator (xorshift64*), so one proptest seed describes a whole problem.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    /// Uniform in [-1, 1).
    fn sym(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

/// Everything one test problem is made of.
#[derive(Clone, Debug)]
struct Spec {
    heads_kv: usize,
    group: usize,
    len_q: usize,
    len_kv: usize,
    d_k: usize,
    d_v: usize,
    /// Storage of q, k, v.
    dt: [Dtype; 3],
    out_dt: Dtype,
    q_token_major: bool,
    kv_token_major: bool,
    out_token_major: bool,
    /// KV cache capacity beyond `len_kv` (filled with NaN).
    kv_spare: usize,
    scale: Option<f32>,
    softcap: Option<f32>,
    /// 0 none, 1 standard, 2 explicit slopes.
    alibi: u8,
    sinks: bool,
    align: Align,
    causal: bool,
    window: Option<usize>,
    /// Percentage of visible bits.
    bits: Option<u64>,
    bits_shared: bool,
    /// Percentage of -inf entries.
    additive: Option<u64>,
    additive_shared: bool,
    tree: Option<usize>,
    tiles: Tiles,
    seed: u64,
    q_mag: f32,
    k_mag: f32,
    v_mag: f32,
    /// Write NaN/Inf into K/V rows that no query of their group may see.
    plant: bool,
}

impl Spec {
    fn plain(
        heads_kv: usize,
        group: usize,
        len_q: usize,
        len_kv: usize,
        d_k: usize,
        d_v: usize,
    ) -> Spec {
        Spec {
            heads_kv,
            group,
            len_q,
            len_kv,
            d_k,
            d_v,
            dt: [Dtype::F32; 3],
            out_dt: Dtype::F32,
            q_token_major: false,
            kv_token_major: false,
            out_token_major: false,
            kv_spare: 0,
            scale: None,
            softcap: None,
            alibi: 0,
            sinks: false,
            align: Align::BottomRight,
            causal: false,
            window: None,
            bits: None,
            bits_shared: true,
            additive: None,
            additive_shared: true,
            tree: None,
            tiles: Tiles::new(8, 4),
            seed: 1,
            q_mag: 1.0,
            k_mag: 1.0,
            v_mag: 1.0,
            plant: false,
        }
    }

    fn heads_q(&self) -> usize {
        self.heads_kv * self.group
    }
}

const TILE_SIZES: [usize; 6] = [1, 3, 8, 16, 64, 65];

/// A random problem exercising every feature; `half` picks f16/bf16 storage for some inputs.
fn random_spec(seed: u64, half: bool) -> Spec {
    let mut r = Rng::new(seed);
    let heads_kv = r.pick(&[1, 1, 2, 3]);
    let group = r.pick(&[1, 2, 4, 8, 12]);
    let len_q = if r.chance(30) {
        r.pick(&[0, 1, 1, 2])
    } else {
        1 + r.below(24)
    };
    let len_kv = if r.chance(15) {
        r.pick(&[0, 1, 2])
    } else {
        1 + r.below(90)
    };
    let d_k = r.pick(&[0, 1, 3, 8, 16, 32, 64]);
    let d_v = if r.chance(50) {
        d_k
    } else {
        r.pick(&[1, 2, 5, 16, 48])
    };
    let mut dt = [Dtype::F32; 3];
    let mut out_dt = Dtype::F32;
    if half {
        for d in &mut dt {
            *d = r.pick(&[Dtype::F32, Dtype::F16, Dtype::Bf16]);
        }
        if dt == [Dtype::F32; 3] {
            dt[r.below(3)] = r.pick(&[Dtype::F16, Dtype::Bf16]);
        }
        out_dt = r.pick(&[Dtype::F32, Dtype::F32, Dtype::F16, Dtype::Bf16]);
    }
    let mut s = Spec::plain(heads_kv, group, len_q, len_kv, d_k, d_v);
    s.seed = seed;
    s.dt = dt;
    s.out_dt = out_dt;
    s.q_token_major = r.chance(30);
    s.kv_token_major = r.chance(30);
    s.out_token_major = r.chance(30);
    s.kv_spare = if r.chance(40) { r.below(20) } else { 0 };
    // An explicit scale stays near 1/√d_k, so scores stay in the range real models produce (|s| ≲ 30); huge
    // scores have their own test.
    s.scale = if r.chance(25) {
        Some((0.25 + 1.75 * r.sym().abs()) / (d_k.max(1) as f32).sqrt())
    } else {
        None
    };
    s.softcap = if r.chance(20) {
        Some(r.pick(&[0.5, 2.0, 30.0]))
    } else {
        None
    };
    s.alibi = r.pick(&[0, 0, 0, 1, 2]);
    s.sinks = r.chance(25);
    s.align = if r.chance(50) {
        Align::BottomRight
    } else {
        Align::TopLeft
    };
    s.causal = r.chance(50);
    s.window = if r.chance(25) {
        Some(1 + r.below(30))
    } else {
        None
    };
    s.bits = if r.chance(25) {
        Some(r.pick(&[10, 50, 90]))
    } else {
        None
    };
    s.bits_shared = r.chance(50);
    s.additive = if r.chance(25) {
        Some(r.pick(&[0, 10, 40]))
    } else {
        None
    };
    s.additive_shared = r.chance(50);
    let max_tree = len_q.min(len_kv).min(64);
    s.tree = if max_tree > 0 && r.chance(20) {
        Some(1 + r.below(max_tree))
    } else {
        None
    };
    s.tiles = Tiles::new(r.pick(&TILE_SIZES), r.pick(&[1, 2, 3, 4, 16, 64]));
    s.q_mag = r.pick(&[0.5, 1.0, 2.0, 4.0]);
    s.k_mag = r.pick(&[0.5, 1.0, 2.0]);
    s.v_mag = r.pick(&[1.0, 1.0, 10.0]);
    s.plant = r.chance(50);
    s
}

// ---------------------------------------------------------------------------------------------------------------
// Building the kernel's inputs and the reference from a spec
// ---------------------------------------------------------------------------------------------------------------

/// A buffer in one storage type.
#[derive(Clone, Debug)]
enum Store {
    F32(Vec<f32>),
    F16(Vec<f16>),
    Bf16(Vec<bf16>),
}

impl Store {
    fn filled(dt: Dtype, len: usize, x: f32) -> Store {
        match dt {
            Dtype::F32 => Store::F32(vec![x; len]),
            Dtype::F16 => Store::F16(vec![f16::from_f32(x); len]),
            Dtype::Bf16 => Store::Bf16(vec![bf16::from_f32(x); len]),
        }
    }
    fn set(&mut self, i: usize, x: f32) {
        match self {
            Store::F32(v) => v[i] = x,
            Store::F16(v) => v[i] = f16::from_f32(x),
            Store::Bf16(v) => v[i] = bf16::from_f32(x),
        }
    }
    fn get(&self, i: usize) -> f64 {
        match self {
            Store::F32(v) => v[i] as f64,
            Store::F16(v) => v[i].to_f64(),
            Store::Bf16(v) => v[i].to_f64(),
        }
    }
    fn data(&self) -> Data<'_> {
        match self {
            Store::F32(v) => Data::F32(v),
            Store::F16(v) => Data::F16(v),
            Store::Bf16(v) => Data::Bf16(v),
        }
    }
    fn data_mut(&mut self) -> DataMut<'_> {
        match self {
            Store::F32(v) => DataMut::F32(v),
            Store::F16(v) => DataMut::F16(v),
            Store::Bf16(v) => DataMut::Bf16(v),
        }
    }
}

fn round_to(dt: Dtype, x: f32) -> f32 {
    match dt {
        Dtype::F32 => x,
        Dtype::F16 => f16::from_f32(x).to_f32(),
        Dtype::Bf16 => bf16::from_f32(x).to_f32(),
    }
}

/// Strides and exact extent of a `[heads, rows, dim]` view (head-major with `cap ≥ rows` rows per head, or
/// token-major `[rows, heads, dim]`).
#[derive(Clone, Copy, Debug)]
struct Lay {
    hs: usize,
    rs: usize,
    len: usize,
}

impl Lay {
    fn new(heads: usize, rows: usize, cap: usize, dim: usize, token_major: bool) -> Lay {
        let (hs, rs) = if token_major {
            (dim, heads * dim)
        } else {
            (cap * dim, dim)
        };
        let len = if heads == 0 || rows == 0 || dim == 0 {
            0
        } else {
            (heads - 1) * hs + (rows - 1) * rs + dim
        };
        Lay { hs, rs, len }
    }
    fn at(&self, h: usize, r: usize, c: usize) -> usize {
        h * self.hs + r * self.rs + c
    }
}

/// A spec turned into kernel inputs (exactly sized buffers; gaps hold NaN) and reference problems.
struct Built {
    spec: Spec,
    /// Inputs as the kernel sees them (rounded to their storage types).
    p: Problem,
    /// The same problem before rounding.
    exact: Problem,
    q: Store,
    k: Store,
    v: Store,
    ql: Lay,
    kl: Lay,
    vl: Lay,
    bits: Vec<u64>,
    bits_rs: usize,
    bits_hs: usize,
    add: Vec<f32>,
    add_rs: usize,
    add_hs: usize,
    tree: Vec<u64>,
    sinks: Vec<f32>,
    slopes: Vec<f32>,
}

fn build(spec: &Spec) -> Built {
    let mut r = Rng::new(spec.seed.wrapping_mul(31).wrapping_add(7));
    let (hq, hkv, lq, lkv, dk, dv) = (
        spec.heads_q(),
        spec.heads_kv,
        spec.len_q,
        spec.len_kv,
        spec.d_k,
        spec.d_v,
    );
    let qv: Vec<f32> = (0..hq * lq * dk).map(|_| r.sym() * spec.q_mag).collect();
    let kv: Vec<f32> = (0..hkv * lkv * dk).map(|_| r.sym() * spec.k_mag).collect();
    let vv: Vec<f32> = (0..hkv * lkv * dv).map(|_| r.sym() * spec.v_mag).collect();
    let f64s = |x: &[f32]| x.iter().map(|&v| v as f64).collect::<Vec<f64>>();
    let rounded = |x: &[f32], dt| {
        x.iter()
            .map(|&v| round_to(dt, v) as f64)
            .collect::<Vec<f64>>()
    };

    let mut p = Problem {
        heads_q: hq,
        heads_kv: hkv,
        len_q: lq,
        len_kv: lkv,
        d_k: dk,
        d_v: dv,
        q: rounded(&qv, spec.dt[0]),
        k: rounded(&kv, spec.dt[1]),
        v: rounded(&vv, spec.dt[2]),
        scale: spec.scale.map(f64::from),
        softcap: spec.softcap.map(f64::from),
        top_left: spec.align == Align::TopLeft,
        causal: spec.causal,
        window: spec.window,
        ..Problem::default()
    };

    // ALiBi: the reference uses the paper's slope sequence in f64; explicit slopes are shared exactly.
    let mut slopes = Vec::new();
    match spec.alibi {
        1 => p.slopes = Some(alibi_slopes(hq)),
        2 => {
            slopes = (0..hq).map(|_| r.sym().abs() * 0.5).collect();
            p.slopes = Some(f64s(&slopes));
        }
        _ => {}
    }
    let mut sinks = Vec::new();
    if spec.sinks {
        sinks = (0..hq).map(|_| r.sym() * 3.0).collect();
        p.sinks = Some(f64s(&sinks));
    }

    // Bit mask: [heads or 1, len_q] rows of ⌈len_kv/64⌉ words plus a spare word of padding.
    let words = lkv.div_ceil(64);
    let bits_rs = words + 1;
    let (mut bits, mut bits_hs) = (Vec::new(), 0);
    if let Some(pct) = spec.bits {
        let mask_heads = if spec.bits_shared { 1 } else { hq };
        bits_hs = if spec.bits_shared { 0 } else { lq * bits_rs };
        bits = vec![u64::MAX; mask_heads.max(1) * lq.max(1) * bits_rs];
        let mut flat = vec![false; hq * lq * lkv];
        for mh in 0..mask_heads {
            for i in 0..lq {
                for j in 0..lkv {
                    let on = r.chance(pct);
                    let w = &mut bits[mh * lq * bits_rs + i * bits_rs + j / 64];
                    if !on {
                        *w &= !(1u64 << (j % 64));
                    }
                    let heads = if spec.bits_shared { 0..hq } else { mh..mh + 1 };
                    for h in heads {
                        flat[(h * lq + i) * lkv + j] = on;
                    }
                }
            }
        }
        p.bits = Some(flat);
    }

    // Additive mask with a row stride of len_kv + 3.
    let add_rs = lkv + 3;
    let (mut add, mut add_hs) = (Vec::new(), 0);
    if let Some(pct) = spec.additive {
        let mask_heads = if spec.additive_shared { 1 } else { hq };
        add_hs = if spec.additive_shared { 0 } else { lq * add_rs };
        add = vec![f32::NAN; mask_heads.max(1) * lq.max(1) * add_rs];
        let mut flat = vec![0.0f64; hq * lq * lkv];
        for mh in 0..mask_heads {
            for i in 0..lq {
                for j in 0..lkv {
                    let x = if r.chance(pct) {
                        f32::NEG_INFINITY
                    } else {
                        r.sym() * 3.0
                    };
                    add[mh * lq * add_rs + i * add_rs + j] = x;
                    let heads = if spec.additive_shared {
                        0..hq
                    } else {
                        mh..mh + 1
                    };
                    for h in heads {
                        flat[(h * lq + i) * lkv + j] = x as f64;
                    }
                }
            }
        }
        p.additive = Some(flat);
    }

    // Tree: token t's parent is an earlier token or the prefix; ancestors include the token itself.
    let mut tree = Vec::new();
    if let Some(t) = spec.tree {
        for i in 0..t {
            let parent = if i == 0 || r.chance(20) {
                None
            } else {
                Some(r.below(i))
            };
            let anc = parent.map_or(0, |pa: usize| tree[pa]) | (1u64 << i);
            tree.push(anc);
        }
        p.tree = Some(tree.clone());
    }

    let mut exact = p.clone();
    exact.q = f64s(&qv);
    exact.k = f64s(&kv);
    exact.v = f64s(&vv);

    // Storage with layouts; gaps and spare capacity are NaN.
    let cap = lkv + spec.kv_spare;
    let ql = Lay::new(hq, lq, lq, dk, spec.q_token_major);
    let kl = Lay::new(hkv, lkv, cap, dk, spec.kv_token_major);
    let vl = Lay::new(hkv, lkv, cap, dv, spec.kv_token_major);
    let mut q = Store::filled(spec.dt[0], ql.len, f32::NAN);
    let mut k = Store::filled(spec.dt[1], kl.len, f32::NAN);
    let mut v = Store::filled(spec.dt[2], vl.len, f32::NAN);
    for h in 0..hq {
        for i in 0..lq {
            for c in 0..dk {
                q.set(ql.at(h, i, c), qv[(h * lq + i) * dk + c]);
            }
        }
    }
    for g in 0..hkv {
        for j in 0..lkv {
            let poison = spec.plant && p.hidden_from_group(g, j);
            let bad = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][j % 3];
            for c in 0..dk {
                let x = if poison {
                    bad
                } else {
                    kv[(g * lkv + j) * dk + c]
                };
                k.set(kl.at(g, j, c), x);
            }
            for c in 0..dv {
                let x = if poison {
                    bad
                } else {
                    vv[(g * lkv + j) * dv + c]
                };
                v.set(vl.at(g, j, c), x);
            }
        }
    }
    Built {
        spec: spec.clone(),
        p,
        exact,
        q,
        k,
        v,
        ql,
        kl,
        vl,
        bits,
        bits_rs,
        bits_hs,
        add,
        add_rs,
        add_hs,
        tree,
        sinks,
        slopes,
    }
}

impl Built {
    fn qkv(&self) -> Qkv<'_> {
        let s = &self.spec;
        Qkv {
            q: Tensor::new(self.q.data(), s.heads_q(), s.len_q, s.d_k)
                .with_strides(self.ql.hs, self.ql.rs),
            k: Tensor::new(self.k.data(), s.heads_kv, s.len_kv, s.d_k)
                .with_strides(self.kl.hs, self.kl.rs),
            v: Tensor::new(self.v.data(), s.heads_kv, s.len_kv, s.d_v)
                .with_strides(self.vl.hs, self.vl.rs),
        }
    }

    fn params(&self) -> Params<'_> {
        let s = &self.spec;
        let mut p = Params::new();
        p.scale = s.scale;
        p.softcap = s.softcap;
        p.alibi = match s.alibi {
            1 => Some(Alibi::Standard),
            2 => Some(Alibi::Slopes(&self.slopes)),
            _ => None,
        };
        p.sinks = s.sinks.then_some(&self.sinks[..]);
        p.align = s.align;
        p.mask = Mask {
            causal: s.causal,
            window: s.window,
            bits: s.bits.map(|_| BitMask {
                words: &self.bits,
                row_stride: self.bits_rs,
                head_stride: self.bits_hs,
            }),
            additive: s.additive.map(|_| AdditiveMask {
                values: &self.add,
                row_stride: self.add_rs,
                head_stride: self.add_hs,
            }),
            tree: s.tree.map(|_| TreeMask {
                ancestors: &self.tree,
            }),
        };
        p.tiles = s.tiles;
        p
    }

    fn out_lay(&self) -> Lay {
        let s = &self.spec;
        Lay::new(s.heads_q(), s.len_q, s.len_q, s.d_v, s.out_token_major)
    }

    /// Reads an output store back as contiguous `[heads_q, len_q, d_v]` f64.
    fn read_out(&self, out: &Store) -> Vec<f64> {
        let s = &self.spec;
        let l = self.out_lay();
        let mut v = Vec::with_capacity(s.heads_q() * s.len_q * s.d_v);
        for h in 0..s.heads_q() {
            for i in 0..s.len_q {
                for c in 0..s.d_v {
                    v.push(out.get(l.at(h, i, c)));
                }
            }
        }
        v
    }

    fn new_out(&self) -> Store {
        Store::filled(self.spec.out_dt, self.out_lay().len, f32::NAN)
    }

    fn out_tensor<'a>(&self, store: &'a mut Store) -> TensorMut<'a> {
        let s = &self.spec;
        let l = self.out_lay();
        TensorMut::new(store.data_mut(), s.heads_q(), s.len_q, s.d_v).with_strides(l.hs, l.rs)
    }
}

/// Output and log-sum-exp of one kernel call, as f64.
#[derive(Clone, Debug)]
struct Out {
    out: Vec<f64>,
    lse: Vec<f64>,
}

/// Runs `attention` with an exactly sized, NaN-filled scratch buffer.
fn run(b: &Built, simd: Simd) -> Result<Out, AttentionError> {
    let qkv = b.qkv();
    let params = b.params();
    let mut scratch =
        vec![f32::NAN; attention::scratch_len(qkv.dims(), qkv.dtypes(), params.tiles)];
    let mut out = b.new_out();
    let mut lse = vec![f32::NAN; b.spec.heads_q() * b.spec.len_q];
    attention::attention(
        simd,
        &qkv,
        &params,
        b.out_tensor(&mut out),
        Some(&mut lse),
        &mut scratch,
    )?;
    Ok(Out {
        out: b.read_out(&out),
        lse: lse.iter().map(|&x| x as f64).collect(),
    })
}

/// Runs `attention_partial` over the given cut points (spans `cuts[i]..cuts[i+1]`), each span into its own
/// `States`, merges them in the given fold order and finalizes. With `resume`, every span goes into one `States`.
fn run_split(b: &Built, simd: Simd, cuts: &[usize], right_fold: bool, resume: bool) -> Out {
    let s = &b.spec;
    let qkv = b.qkv();
    let params = b.params();
    let (hq, lq, dv) = (s.heads_q(), s.len_q, s.d_v);
    let n_spans = cuts.len() - 1;
    let mut bufs: Vec<Vec<f32>> = (0..n_spans)
        .map(|_| vec![f32::NAN; attention::state_len(hq * lq, dv)])
        .collect();
    let mut states: Vec<States<'_>> = bufs
        .iter_mut()
        .map(|buf| States::new(buf, hq, lq, dv).unwrap())
        .collect();
    for w in 0..n_spans {
        let (a, z) = (cuts[w], cuts[w + 1]);
        let view = Qkv {
            q: qkv.q,
            k: qkv.k.narrow_rows(a, z - a).unwrap(),
            v: qkv.v.narrow_rows(a, z - a).unwrap(),
        };
        let mut scratch =
            vec![
                f32::NAN;
                attention::partial_scratch_len(view.dims(), view.dtypes(), params.tiles)
            ];
        let span = KvSpan {
            start: a,
            total: s.len_kv,
        };
        let target = if resume { 0 } else { w };
        attention::attention_partial(
            simd,
            &view,
            &params,
            span,
            &mut states[target],
            &mut scratch,
        )
        .unwrap();
    }
    let merged = if resume || n_spans == 1 {
        0
    } else if right_fold {
        // s[n-2] ⊕= s[n-1], then s[n-3] ⊕= s[n-2], ...: A ⊕ (B ⊕ C).
        for w in (0..n_spans - 1).rev() {
            let (lo, hi) = states.split_at_mut(w + 1);
            lo[w].merge(simd, &hi[0]).unwrap();
        }
        0
    } else {
        // (A ⊕ B) ⊕ C.
        let (first, rest) = states.split_at_mut(1);
        for st in rest.iter() {
            first[0].merge(simd, st).unwrap();
        }
        0
    };
    let mut out = b.new_out();
    let mut lse = vec![f32::NAN; hq * lq];
    let sinks = s.sinks.then_some(&b.sinks[..]);
    states[merged]
        .finalize(simd, sinks, b.out_tensor(&mut out), Some(&mut lse))
        .unwrap();
    Out {
        out: b.read_out(&out),
        lse: lse.iter().map(|&x| x as f64).collect(),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------------------------

/// f32 acceptance bounds against the f64 reference.
const MAX_ABS: f64 = 1e-5;
const NMSE: f64 = 1e-7;

/// Relative rounding bound of an output storage type (half an ulp).
fn out_rounding(dt: Dtype) -> f64 {
    match dt {
        Dtype::F32 => 0.0,
        Dtype::F16 => 2f64.powi(-11),
        Dtype::Bf16 => 2f64.powi(-8),
    }
}

/// Checks `got` against the reference of `p`: every element within `MAX_ABS·v_scale` (plus the output type's
/// rounding), the nmse within `NMSE` (f32 output), LSE within `MAX_ABS·(1 + |lse|)`, rows that see no key exact
/// zeros with LSE −inf (or the sink), and no NaN anywhere. Returns the error figures.
fn check(b: &Built, p: &Problem, got: &Out) -> Result<Errors, String> {
    let (want, want_lse) = p.reference();
    let s = &b.spec;
    let v_scale = v_scale(s);
    let rel = out_rounding(s.out_dt);
    for (n, (&g, &w)) in got.out.iter().zip(&want).enumerate() {
        let tol = MAX_ABS * v_scale + rel * w.abs();
        if g.is_nan() || (g - w).abs() > tol {
            return Err(format!("out[{n}] = {g}, reference {w} (tol {tol:e})"));
        }
    }
    let e = errors(&got.out, &want);
    if s.out_dt == Dtype::F32 && e.nmse > NMSE {
        return Err(format!("nmse {:e} > {NMSE:e}", e.nmse));
    }
    for (n, (&g, &w)) in got.lse.iter().zip(&want_lse).enumerate() {
        let ok = if w == f64::NEG_INFINITY {
            g == f64::NEG_INFINITY
        } else {
            (g - w).abs() <= MAX_ABS * (1.0 + w.abs())
        };
        if !ok {
            return Err(format!("lse[{n}] = {g}, reference {w}"));
        }
    }
    // Rows that see no key: exact zeros, LSE −inf or the sink.
    for h in 0..s.heads_q() {
        for i in 0..s.len_q {
            if (0..s.len_kv).any(|j| p.visible(h, i, j)) {
                continue;
            }
            let row = &got.out[(h * s.len_q + i) * s.d_v..][..s.d_v];
            if row.iter().any(|&x| x != 0.0) {
                return Err(format!("fully masked row ({h}, {i}) is not zero: {row:?}"));
            }
            let l = got.lse[h * s.len_q + i];
            let want = if s.sinks {
                b.sinks[h] as f64
            } else {
                f64::NEG_INFINITY
            };
            if l != want {
                return Err(format!(
                    "fully masked row ({h}, {i}) has lse {l}, expected {want}"
                ));
            }
        }
    }
    Ok(e)
}

/// Max-abs difference relative to the larger of `floor` and the largest magnitude of `b`.
///
/// An attention output is a convex combination of V rows, so its rounding errors scale with the magnitude of V,
/// not with that of the output (which cancellation can make much smaller): comparisons of outputs pass the
/// largest |V| as `floor` (see [`v_scale`]); log-sum-exps pass 1.
fn rel_diff(a: &[f64], b: &[f64], floor: f64) -> f64 {
    let scale = b.iter().fold(
        floor,
        |m, &x| if x.is_finite() { m.max(x.abs()) } else { m },
    );
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            if x == y {
                0.0
            } else if x.is_nan() || y.is_nan() {
                f64::INFINITY
            } else {
                (x - y).abs() / scale
            }
        })
        .fold(0.0, f64::max)
}

/// The scale of the rounding errors of a problem's outputs: the largest |V| (at least 1).
fn v_scale(spec: &Spec) -> f64 {
    spec.v_mag.max(1.0) as f64
}

/// `a` and `b` agree within `tol`: outputs relative to `v_scale`, log-sum-exps relative to their magnitude.
fn same_within(a: &Out, b: &Out, tol: f64, v_scale: f64) -> Result<(), String> {
    let d = rel_diff(&a.out, &b.out, v_scale);
    let dl = rel_diff(&a.lse, &b.lse, 1.0);
    if d > tol || dl > tol {
        return Err(format!("outputs differ by {d:e} (lse {dl:e}) > {tol:e}"));
    }
    Ok(())
}

/// Tolerance of results that should be equal up to f32 rounding (tile sizes, split spans): 1e-6 relative while
/// every visible score has magnitude ≤ 8. Beyond that the bound grows with the largest score, because a
/// score's own f32 rounding (`|s|·2⁻²⁴`, and it differs between tile sizes when `dot_rows` sums a group of rows
/// in another order than a single row, as NEON does) becomes a relative error of the same size in `e^s`.
fn invariance_tol(p: &Problem) -> f64 {
    1e-6 * (p.max_abs_score() / 8.0).max(1.0)
}

/// The outputs for every tile size of [`TILE_SIZES`] × {1, 3, 64} query rows agree within [`invariance_tol`].
fn check_tile_size_invariance(seed: u64) -> Result<(), String> {
    let mut spec = random_spec(seed, seed.is_multiple_of(3));
    spec.out_dt = Dtype::F32;
    let tol = invariance_tol(&build(&spec).p);
    let mut first: Option<Out> = None;
    for kv in TILE_SIZES {
        for q in [1, 3, 64] {
            spec.tiles = Tiles::new(kv, q);
            let got = run(&build(&spec), Simd::best()).unwrap();
            match &first {
                None => first = Some(got),
                Some(f) => same_within(&got, f, tol, v_scale(&spec))
                    .map_err(|e| format!("tiles {kv}/{q}: {e}\n{spec:?}"))?,
            }
        }
    }
    Ok(())
}

/// Seeds that failed [`check_tile_size_invariance`] when outputs were compared relative to the output's own
/// magnitude instead of V's (NEON, V scaled by 10, f16 V): kept as regressions on every platform.
#[test]
fn tile_size_invariance_regressions() {
    let seed = 16363441857539761569u64;
    check_tile_size_invariance(seed).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
}

// ---------------------------------------------------------------------------------------------------------------
// Accuracy
// ---------------------------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(proptest_config(512))]

    /// f32 storage, every feature at random: max-abs ≤ 1e-5, nmse ≤ 1e-7, exact zeros for masked rows.
    #[test]
    fn f32_matches_reference(seed in any::<u64>()) {
        let spec = random_spec(seed, false);
        let b = build(&spec);
        let got = run(&b, Simd::best()).unwrap();
        check(&b, &b.p, &got).map_err(|e| TestCaseError::fail(format!("{e}\n{spec:?}")))?;
    }

    /// f16/bf16 storage: widening is exact, so against the reference on the rounded inputs the f32 bounds hold
    /// (plus the output type's rounding). Against the unrounded inputs, the kernel is within the naive
    /// same-precision reference's own error plus 1e-5.
    #[test]
    fn half_storage_matches_rounded_reference(seed in any::<u64>()) {
        let spec = random_spec(seed, true);
        let b = build(&spec);
        let got = run(&b, Simd::best()).unwrap();
        check(&b, &b.p, &got).map_err(|e| TestCaseError::fail(format!("{e}\n{spec:?}")))?;
        let (naive, _) = b.p.reference();
        let (exact, _) = b.exact.reference();
        let rel = out_rounding(spec.out_dt);
        for ((&g, &n), &x) in got.out.iter().zip(&naive).zip(&exact) {
            let bound = (n - x).abs() + MAX_ABS * spec.v_mag.max(1.0) as f64 + rel * n.abs();
            prop_assert!((g - x).abs() <= bound, "{g} vs exact {x}, naive {n}\n{spec:?}");
        }
    }

    /// Results do not depend on the tile sizes beyond 1e-6 relative (see [`invariance_tol`]).
    #[test]
    fn tile_size_invariance(seed in any::<u64>()) {
        check_tile_size_invariance(seed).map_err(TestCaseError::fail)?;
    }

    /// Splitting the keys into spans: separate states merged as (A ⊕ B) ⊕ C or A ⊕ (B ⊕ C), or one state
    /// resumed span after span, all give the unsplit result.
    #[test]
    fn split_kv_and_merge(seed in any::<u64>(), cut_seed in any::<u64>()) {
        let mut spec = random_spec(seed, seed.is_multiple_of(3));
        spec.out_dt = Dtype::F32;
        let b = build(&spec);
        let whole = run(&b, Simd::best()).unwrap();
        let mut r = Rng::new(cut_seed);
        let n_cuts = r.below(4);
        let mut cuts: Vec<usize> = (0..n_cuts).map(|_| r.below(spec.len_kv + 1)).collect();
        cuts.push(0);
        cuts.push(spec.len_kv);
        cuts.sort_unstable();
        for (right, resume) in [(false, false), (true, false), (false, true)] {
            let got = run_split(&b, Simd::best(), &cuts, right, resume);
            same_within(&got, &whole, invariance_tol(&b.p), v_scale(&spec))
                .map_err(|e| TestCaseError::fail(format!("cuts {cuts:?} right {right} resume {resume}: {e}\n{spec:?}")))?;
        }
    }

    /// Adding a constant to every score of a row (a constant additive mask) changes the output by rounding only
    /// and shifts the log-sum-exp by the constant.
    #[test]
    fn shift_invariance(seed in any::<u64>(), c in -4.0f32..4.0) {
        let mut spec = random_spec(seed, false);
        spec.additive = None;
        spec.sinks = false;
        let b = build(&spec);
        let base = run(&b, Simd::best()).unwrap();
        let (lq, lkv) = (spec.len_q, spec.len_kv);
        let shift = vec![c; lq * lkv];
        let qkv = b.qkv();
        let mut params = b.params();
        params.mask.additive = Some(AdditiveMask { values: &shift, row_stride: lkv, head_stride: 0 });
        let mut scratch = vec![0.0; attention::scratch_len(qkv.dims(), qkv.dtypes(), params.tiles)];
        let mut out = b.new_out();
        let mut lse = vec![0.0f32; spec.heads_q() * lq];
        attention::attention(Simd::best(), &qkv, &params, b.out_tensor(&mut out), Some(&mut lse), &mut scratch).unwrap();
        let shifted = b.read_out(&out);
        let d = rel_diff(&shifted, &base.out, v_scale(&spec));
        prop_assert!(d <= 1e-5, "shift {c}: outputs differ by {d:e}\n{spec:?}");
        for (&l, &l0) in lse.iter().zip(&base.lse) {
            if l0 == f64::NEG_INFINITY {
                prop_assert_eq!(l, f32::NEG_INFINITY);
            } else {
                prop_assert!((l as f64 - (l0 + c as f64)).abs() <= 1e-5 * (1.0 + l0.abs()), "lse {l} vs {l0} + {c}");
            }
        }
    }

    /// Every available SIMD level agrees with the scalar level (and with the reference).
    #[test]
    fn every_level_matches_scalar(seed in any::<u64>()) {
        let spec = random_spec(seed, seed % 2 == 0);
        let b = build(&spec);
        let scalar = run(&b, Simd::scalar()).unwrap();
        for simd in Simd::available() {
            let got = run(&b, simd).unwrap();
            check(&b, &b.p, &got).map_err(|e| TestCaseError::fail(format!("{}: {e}\n{spec:?}", simd.level())))?;
            let tol = if spec.out_dt == Dtype::F32 { 1e-5 } else { 1e-2 };
            same_within(&got, &scalar, tol, v_scale(&spec))
                .map_err(|e| TestCaseError::fail(format!("{} vs scalar: {e}\n{spec:?}", simd.level())))?;
        }
    }

    /// NaN and infinities planted in every K/V row that no query of the group may see never reach the output,
    /// whatever the masks and tiles.
    #[test]
    fn planted_nan_never_reaches_output(seed in any::<u64>()) {
        let mut spec = random_spec(seed, seed % 2 == 0);
        spec.plant = true;
        if seed % 4 == 0 {
            spec.causal = true;
        }
        let b = build(&spec);
        let got = run(&b, Simd::best()).unwrap();
        prop_assert!(got.out.iter().all(|x| x.is_finite()), "non-finite output\n{spec:?}");
        check(&b, &b.p, &got).map_err(|e| TestCaseError::fail(format!("{e}\n{spec:?}")))?;
    }

    /// Arbitrary (often inconsistent) shapes, strides and buffer lengths: the call returns an error or a result,
    /// never panics.
    #[test]
    fn arbitrary_arguments_never_panic(seed in any::<u64>()) {
        let mut r = Rng::new(seed);
        // Dimensions stay small so that an accepted call does bounded work; strides reach the overflow range.
        let mut dim = || r.pick(&[0usize, 1, 2, 3, 5, 8]);
        let (hq, hkv, lq, lkv, dk, dv) = (dim(), dim(), dim(), dim(), dim(), dim());
        let q = vec![0.5f32; r.below(200)];
        let k = vec![f16::from_f32(0.25); r.below(200)];
        let v = vec![bf16::from_f32(1.0); r.below(200)];
        let stride = |r: &mut Rng| r.pick(&[0usize, 1, 3, 8, 100, usize::MAX / 2, usize::MAX]);
        let qkv = Qkv {
            q: Tensor::new(&q[..], hq, lq, dk).with_strides(stride(&mut r), stride(&mut r)),
            k: Tensor::new(&k[..], hkv, lkv, dk).with_strides(stride(&mut r), stride(&mut r)),
            v: Tensor::new(&v[..], hkv, lkv, dv).with_strides(stride(&mut r), stride(&mut r)),
        };
        let words = vec![u64::MAX; r.below(8)];
        let add = vec![0.0f32; r.below(64)];
        let anc = vec![1u64; r.below(70)];
        let sinks = vec![0.0f32; r.below(6)];
        let mut params = Params::new();
        params.mask.causal = r.chance(50);
        params.mask.window = if r.chance(30) { Some(r.pick(&[0, 1, 5, usize::MAX])) } else { None };
        if r.chance(30) {
            params.mask.bits = Some(BitMask { words: &words, row_stride: stride(&mut r), head_stride: stride(&mut r) });
        }
        if r.chance(30) {
            params.mask.additive = Some(AdditiveMask { values: &add, row_stride: stride(&mut r), head_stride: stride(&mut r) });
        }
        if r.chance(30) {
            params.mask.tree = Some(TreeMask { ancestors: &anc });
        }
        if r.chance(30) {
            params.sinks = Some(&sinks);
        }
        if r.chance(30) {
            params.alibi = Some(if r.chance(50) { Alibi::Standard } else { Alibi::Slopes(&sinks) });
        }
        params.softcap = if r.chance(20) { Some(r.pick(&[-1.0, 0.0, 1.0, f32::NAN])) } else { None };
        params.tiles = Tiles::new(r.pick(&[0, 1, 3, 64]), r.pick(&[0, 1, 5]));
        let mut out = vec![0.0f32; r.below(200)];
        let mut lse = vec![0.0f32; r.below(20)];
        let mut scratch = vec![0.0f32; r.below(400)];
        let out_t = TensorMut::new(&mut out[..], hq, lq, dv).with_strides(stride(&mut r), stride(&mut r));
        let _ = attention::attention(Simd::best(), &qkv, &params, out_t, Some(&mut lse), &mut scratch);
        let _ = attention::scratch_len(qkv.dims(), qkv.dtypes(), params.tiles);
        let _ = attention::partial_scratch_len(qkv.dims(), qkv.dtypes(), params.tiles);
        let mut sbuf = vec![0.0f32; r.below(100)];
        if let Ok(mut st) = States::new(&mut sbuf, hq, lq, dv) {
            let span = KvSpan { start: r.pick(&[0, 1, usize::MAX]), total: r.pick(&[0, 5, usize::MAX]) };
            let _ = attention::attention_partial(Simd::best(), &qkv, &params, span, &mut st, &mut scratch);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Deterministic coverage
// ---------------------------------------------------------------------------------------------------------------

fn assert_ok(b: &Built) -> Errors {
    let got = run(b, Simd::best()).unwrap();
    match check(b, &b.p, &got) {
        Ok(e) => e,
        Err(e) => panic!("{e}\n{:?}", b.spec),
    }
}

/// GQA/MQA group sizes 1, 2, 4, 8, 12 with one and two key/value heads.
#[test]
fn gqa_ratios() {
    for group in [1, 2, 4, 8, 12] {
        for heads_kv in [1, 2] {
            for causal in [false, true] {
                let mut s = Spec::plain(heads_kv, group, 5, 19, 8, 6);
                s.causal = causal;
                s.seed = (group * 10 + heads_kv) as u64;
                assert_ok(&build(&s));
            }
        }
    }
}

/// Lengths 0, 1, tile−1, tile, tile+1 (and beyond) for queries and keys, q longer and shorter than kv, under both
/// causal alignments and without a causal mask.
#[test]
fn edge_lengths() {
    let tile = 8;
    let lens = [0, 1, tile - 1, tile, tile + 1, 2 * tile + 1];
    for &len_q in &lens {
        for &len_kv in &lens {
            for align in [Align::BottomRight, Align::TopLeft] {
                for causal in [false, true] {
                    let mut s = Spec::plain(1, 2, len_q, len_kv, 4, 3);
                    s.tiles = Tiles::new(tile, 3);
                    s.align = align;
                    s.causal = causal;
                    s.plant = true;
                    s.seed = (len_q * 100 + len_kv) as u64;
                    assert_ok(&build(&s));
                }
            }
        }
    }
}

/// Every combination of the five mask kinds, under both alignments, with NaN planted where no query looks.
#[test]
fn every_mask_combination() {
    for combo in 0u32..32 {
        for align in [Align::BottomRight, Align::TopLeft] {
            let mut s = Spec::plain(2, 2, 11, 37, 8, 8);
            s.align = align;
            s.causal = combo & 1 != 0;
            s.window = (combo & 2 != 0).then_some(6);
            s.bits = (combo & 4 != 0).then_some(70);
            s.bits_shared = combo % 3 == 0;
            s.additive = (combo & 8 != 0).then_some(20);
            s.additive_shared = combo % 5 == 0;
            s.tree = (combo & 16 != 0).then_some(7);
            s.plant = true;
            s.seed = combo as u64;
            assert_ok(&build(&s));
        }
    }
}

/// Sliding-window semantics: with causal, the query at position p sees exactly keys p − W + 1 ..= p.
#[test]
fn window_semantics_are_inclusive() {
    // One query at position 9 (bottom-right, len_kv 10), W = 3: keys 7, 8, 9. Values are the key index.
    let len_kv = 10;
    let q = [0.0f32; 1];
    let k = [0.0f32; 10];
    let v: Vec<f32> = (0..len_kv).map(|j| j as f32).collect();
    let qkv = Qkv {
        q: Tensor::new(&q[..], 1, 1, 1),
        k: Tensor::new(&k[..], 1, len_kv, 1),
        v: Tensor::new(&v[..], 1, len_kv, 1),
    };
    let mut params = Params::new();
    params.mask.causal = true;
    params.mask.window = Some(3);
    let mut scratch = vec![0.0; attention::scratch_len(qkv.dims(), qkv.dtypes(), params.tiles)];
    let mut out = [0.0f32];
    let mut lse = [0.0f32];
    attention::attention(
        Simd::best(),
        &qkv,
        &params,
        TensorMut::new(&mut out[..], 1, 1, 1),
        Some(&mut lse),
        &mut scratch,
    )
    .unwrap();
    // Uniform over 7, 8, 9.
    assert!((out[0] - 8.0).abs() < 1e-6, "{}", out[0]);
    assert!((lse[0] - 3f32.ln()).abs() < 1e-6);
}

/// Fully masked rows in every way (bottom-right causal with len_q > len_kv, cleared bits, −inf additive rows,
/// len_kv = 0) give exact zeros and LSE −inf, or the sink logit with sinks; fully masked tiles are skipped.
#[test]
fn fully_masked_rows_and_tiles() {
    // Bottom-right causal, len_q > len_kv: the first len_q − len_kv rows see nothing.
    for sinks in [false, true] {
        let mut s = Spec::plain(1, 3, 9, 4, 4, 4);
        s.causal = true;
        s.sinks = sinks;
        s.plant = true;
        assert_ok(&build(&s));
        // len_kv = 0.
        let mut s = Spec::plain(1, 2, 3, 0, 4, 4);
        s.sinks = sinks;
        assert_ok(&build(&s));
    }
    // Bit mask with whole rows and whole tiles cleared; NaN planted in the cleared tiles.
    let mut s = Spec::plain(1, 2, 6, 40, 4, 4);
    s.tiles = Tiles::new(8, 2);
    s.bits = Some(100);
    s.plant = true;
    let mut b = build(&s);
    let words = b.bits_rs;
    for i in 0..6 {
        let w = &mut b.bits[i * words];
        if i % 2 == 0 {
            *w = 0; // row fully masked
        } else {
            *w &= !(0xFFu64 << 8) & !(0xFFu64 << 24); // tiles [8, 16) and [24, 32) masked
        }
    }
    let flat = b.p.bits.as_mut().unwrap();
    for h in 0..2 {
        for i in 0..6 {
            for j in 0..40 {
                let set = (b.bits[i * words + j / 64] >> (j % 64)) & 1 == 1;
                flat[(h * 6 + i) * 40 + j] = set;
            }
        }
    }
    // Re-plant with the updated visibility.
    for j in 0..40 {
        if b.p.hidden_from_group(0, j) {
            for c in 0..4 {
                b.k.set(b.kl.at(0, j, c), f32::NAN);
                b.v.set(b.vl.at(0, j, c), f32::INFINITY);
            }
        }
    }
    assert_ok(&b);
    // Additive −inf rows.
    let mut s = Spec::plain(1, 1, 3, 20, 4, 4);
    s.additive = Some(0);
    let mut b = build(&s);
    for j in 0..20 {
        b.add[b.add_rs + j] = f32::NEG_INFINITY;
        b.p.additive.as_mut().unwrap()[20 + j] = f64::NEG_INFINITY;
    }
    assert_ok(&b);
}

/// KV caches with capacity > length (NaN in the spare rows), token-major layouts and strided outputs.
#[test]
fn strided_layouts() {
    for (q_tm, kv_tm, out_tm) in [
        (false, false, false),
        (true, true, true),
        (false, true, false),
        (true, false, true),
    ] {
        for spare in [0, 1, 13] {
            let mut s = Spec::plain(2, 2, 7, 21, 8, 5);
            s.q_token_major = q_tm;
            s.kv_token_major = kv_tm;
            s.out_token_major = out_tm;
            s.kv_spare = spare;
            s.causal = true;
            assert_ok(&build(&s));
        }
    }
}

/// Every storage combination of q, k, v and the output.
#[test]
fn every_storage_combination() {
    let dts = [Dtype::F32, Dtype::F16, Dtype::Bf16];
    for &a in &dts {
        for &bb in &dts {
            for &c in &dts {
                for &o in &dts {
                    let mut s = Spec::plain(1, 2, 5, 30, 16, 8);
                    s.dt = [a, bb, c];
                    s.out_dt = o;
                    s.causal = true;
                    s.kv_spare = 3;
                    assert_ok(&build(&s));
                }
            }
        }
    }
}

/// d_k ≠ d_v, including d_k = 0 (uniform attention) and d_v = 0 (LSE only).
#[test]
fn different_key_and_value_dims() {
    for (dk, dv) in [(8, 3), (3, 8), (64, 1), (1, 64), (0, 4), (4, 0), (65, 17)] {
        let mut s = Spec::plain(1, 2, 4, 23, dk, dv);
        s.causal = true;
        assert_ok(&build(&s));
    }
}

/// A view of width 0 (`d_k = 0` or `d_v = 0`) holds no element, so its strides are unconstrained: a row stride
/// whose offsets overflow is valid and never used (found by fuzzing: the P·V step computed `key · v_stride`).
/// With `d_k = 0` every score is 0, so each of the `n` visible keys (a causal window of 6) has weight `1/n`: the
/// output is the mean of their V rows and the log-sum-exp is `ln n`. With `d_v = 0` (and `d_k > 0`) the call succeeds and writes a
/// finite log-sum-exp.
#[test]
fn zero_width_views_ignore_their_strides() {
    /// A packed view, or for a width of 0 one whose strides overflow.
    fn view(data: &[f32], heads: usize, rows: usize, dim: usize) -> Tensor<'_> {
        let t = Tensor::new(data, heads, rows, dim);
        if dim == 0 {
            t.with_strides(usize::MAX / 3, usize::MAX / 3)
        } else {
            t
        }
    }
    let (len_q, len_kv) = (8, 40);
    let q = [0.5f32; 2 * 8 * 2];
    let kv: Vec<f32> = (0..len_kv * 2).map(|i| (i % 7) as f32 * 0.25).collect();
    for simd in Simd::available() {
        for (d_k, d_v) in [(0, 2), (2, 0), (0, 0)] {
            let qkv = Qkv {
                q: view(&q, 2, len_q, d_k),
                k: view(&kv, 1, len_kv, d_k),
                v: view(&kv, 1, len_kv, d_v),
            };
            let mut params = Params::new();
            params.mask.causal = true;
            params.mask.window = Some(6);
            params.tiles = Tiles::new(16, 8);
            let mut scratch =
                vec![0.0f32; attention::scratch_len(qkv.dims(), qkv.dtypes(), params.tiles)];
            let mut out = vec![f32::NAN; 2 * len_q * d_v];
            let mut lse = vec![f32::NAN; 2 * len_q];
            let out_view = TensorMut::new(&mut out[..], 2, len_q, d_v);
            attention::attention(simd, &qkv, &params, out_view, Some(&mut lse), &mut scratch)
                .unwrap_or_else(|e| panic!("{}: d_k {d_k}, d_v {d_v}: {e}", simd.level()));
            let level = simd.level();
            for h in 0..2 {
                for i in 0..len_q {
                    let got_lse = lse[h * len_q + i] as f64;
                    if d_k > 0 {
                        assert!(got_lse.is_finite(), "{level}: d_v 0: lse {got_lse}");
                        continue;
                    }
                    // Bottom-right causal with a window of 6: query i (position p = i + len_kv - len_q) sees
                    // keys p - 5 ..= p.
                    let p = i + len_kv - len_q;
                    let (first, n) = (p - 5, 6);
                    let want_lse = (n as f64).ln();
                    assert!(
                        (got_lse - want_lse).abs() < 1e-5,
                        "{level}: lse {got_lse}, want {want_lse}"
                    );
                    for c in 0..d_v {
                        let mean =
                            (first..=p).map(|j| kv[j * d_v + c] as f64).sum::<f64>() / n as f64;
                        let got = out[(h * len_q + i) * d_v + c] as f64;
                        assert!(
                            (got - mean).abs() <= 1e-5 * mean.abs().max(1.0),
                            "{level}: out {got}, want {mean}"
                        );
                    }
                }
            }
        }
    }
}

/// Scores of ±1e4 and values of 1e30: no overflow, no NaN, the reference's result. The scores are integers
/// (exact in f32) so that the comparison measures the kernel, not the rounding of the scores.
#[test]
fn extreme_magnitudes() {
    let len_kv = 40;
    let q = [100.0f32, 0.0];
    let k: Vec<f32> = (0..len_kv)
        .flat_map(|j| [((j * 37 % 201) as f32 - 100.0), 1.0])
        .collect();
    let v: Vec<f32> = (0..len_kv)
        .map(|j| if j % 2 == 0 { 1e30 } else { -1e30 })
        .collect();
    for (shift, causal) in [(0.0, false), (-3.0, true), (0.5, false)] {
        // Nudge the scores so that several keys are within a few units of the maximum.
        let k: Vec<f32> = k
            .chunks(2)
            .flat_map(|c| [c[0] + shift * (c[0] % 2.0), c[1]])
            .collect();
        let qkv = Qkv {
            q: Tensor::new(&q[..], 1, 1, 2),
            k: Tensor::new(&k[..], 1, len_kv, 2),
            v: Tensor::new(&v[..], 1, len_kv, 1),
        };
        let mut params = Params::new();
        params.scale = Some(1.0);
        params.mask.causal = causal;
        params.tiles = Tiles::new(3, 1);
        let mut scratch = vec![0.0; attention::scratch_len(qkv.dims(), qkv.dtypes(), params.tiles)];
        let mut out = [0.0f32];
        let mut lse = [0.0f32];
        attention::attention(
            Simd::best(),
            &qkv,
            &params,
            TensorMut::new(&mut out[..], 1, 1, 1),
            Some(&mut lse),
            &mut scratch,
        )
        .unwrap();
        let p = Problem {
            heads_q: 1,
            heads_kv: 1,
            len_q: 1,
            len_kv,
            d_k: 2,
            d_v: 1,
            q: q.iter().map(|&x| x as f64).collect(),
            k: k.iter().map(|&x| x as f64).collect(),
            v: v.iter().map(|&x| x as f64).collect(),
            scale: Some(1.0),
            causal,
            ..Problem::default()
        };
        let (want, want_lse) = p.reference();
        assert!(out[0].is_finite() && lse[0].is_finite());
        assert!(
            ((out[0] as f64 - want[0]) / 1e30).abs() < 1e-5,
            "{} vs {}",
            out[0],
            want[0]
        );
        assert!(
            (lse[0] as f64 - want_lse[0]).abs() / want_lse[0].abs() < 1e-6,
            "{} vs {}",
            lse[0],
            want_lse[0]
        );
    }
    // Random large scores (±1e4 range) and huge values: finite and close to the reference.
    for seed in 0..8 {
        let mut s = Spec::plain(1, 2, 6, 50, 4, 4);
        s.q_mag = 100.0;
        s.k_mag = 50.0;
        s.scale = Some(1.0);
        s.v_mag = 1e30;
        s.seed = seed;
        s.causal = seed % 2 == 0;
        let b = build(&s);
        let got = run(&b, Simd::best()).unwrap();
        assert!(got.out.iter().all(|x| x.is_finite()) && got.lse.iter().all(|x| x.is_finite()));
        let (want, _) = b.p.reference();
        // Scores of magnitude 1e4 carry f32 rounding of ~1e-3 absolute, so the probabilities are only that exact.
        let d = rel_diff(&got.out, &want, 1.0);
        assert!(d < 1e-2, "relative difference {d:e}");
    }
}

/// ALiBi slopes for 1..=17 heads against the closed formula and the reference code's sequence.
#[test]
fn alibi_slopes_match_formula() {
    for n in 1..=17usize {
        let reference = alibi_slopes(n);
        let base = 1usize << n.ilog2();
        let mut all = vec![0.0f32; n];
        attention::alibi::slopes(&mut all);
        for h in 0..n {
            let formula = if h < base {
                2f64.powf(-8.0 * (h + 1) as f64 / base as f64)
            } else {
                2f64.powf(-8.0 * (2 * (h - base) + 1) as f64 / (2 * base) as f64)
            };
            let got = attention::alibi::slope(h, n) as f64;
            assert!(
                (got - formula).abs() <= formula * 1e-7,
                "n={n} h={h}: {got} vs {formula}"
            );
            assert!(
                (reference[h] - formula).abs() <= formula * 1e-12,
                "reference code n={n} h={h}"
            );
            assert_eq!(all[h] as f64, got);
        }
    }
    // Power-of-two head counts: m_h = 2^(−8h/n) exactly representable for n = 8.
    assert_eq!(attention::alibi::slope(0, 8), 0.5);
    assert_eq!(attention::alibi::slope(7, 8), 2f32.powi(-8));
    // 12 heads: 8 slopes of n' = 8, then 2^(−1/2·k) for k = 1, 3, 5, 7.
    assert!((attention::alibi::slope(8, 12) as f64 - 2f64.powf(-0.5)).abs() < 1e-7);
    assert!((attention::alibi::slope(11, 12) as f64 - 2f64.powf(-3.5)).abs() < 1e-7);
}

/// ALiBi and sinks inside the kernel, for head counts 1..=17, against the reference.
#[test]
fn alibi_and_sinks_in_the_kernel() {
    for heads in 1..=17usize {
        let mut s = Spec::plain(1, heads, 3, 26, 8, 4);
        s.alibi = 1;
        s.sinks = heads % 2 == 0;
        s.causal = heads % 3 != 0;
        s.seed = heads as u64;
        assert_ok(&build(&s));
    }
}

/// Soft-capping bounds every score to (−c, c) before the biases.
#[test]
fn softcap_against_reference() {
    for c in [0.1f32, 1.0, 5.0, 50.0] {
        let mut s = Spec::plain(2, 2, 6, 33, 16, 8);
        s.softcap = Some(c);
        s.q_mag = 8.0;
        s.k_mag = 4.0;
        s.alibi = 2;
        s.causal = true;
        assert_ok(&build(&s));
    }
}

/// Tree masks: the last T queries see the committed prefix and their tree ancestors only.
#[test]
fn tree_masks() {
    for t in [1usize, 2, 5, 33, 64] {
        for prefix in [0usize, 1, 17] {
            let mut s = Spec::plain(1, 2, t + prefix.min(3), t + prefix, 4, 4);
            s.tree = Some(t);
            s.causal = prefix % 2 == 1;
            s.plant = true;
            s.seed = (t * 7 + prefix) as u64;
            assert_ok(&build(&s));
        }
    }
}

/// The state API directly: merging with empty states, sinks, LSE and finalize of single rows.
#[test]
fn row_state_api() {
    let simd = Simd::best();
    // [m, l, O0, O1]
    let mut a = [0.0f32; 4];
    let mut b = [0.0f32; 4];
    let mut ra = RowState::wrap(&mut a).unwrap();
    let mut rb = RowState::wrap(&mut b).unwrap();
    ra.reset();
    rb.reset();
    // Empty ⊕ empty stays empty: zeros and −inf, no NaN.
    ra.merge(simd, &rb).unwrap();
    assert_eq!(ra.m(), f32::NEG_INFINITY);
    assert_eq!(ra.lse(None), f32::NEG_INFINITY);
    let mut out = [f32::NAN; 2];
    ra.finalize(simd, None, &mut out);
    assert_eq!(out, [0.0, 0.0]);
    // With a sink only: zeros, LSE = sink.
    ra.finalize(simd, Some(1.5), &mut out);
    assert_eq!(out, [0.0, 0.0]);
    assert_eq!(ra.lse(Some(1.5)), 1.5);
    // One key with score 2 and value (1, −1) in b; merging into the empty a copies it.
    b = [2.0, 1.0, 1.0, -1.0];
    let rb = RowState::wrap(&mut b).unwrap();
    ra.merge(simd, &rb).unwrap();
    assert_eq!((ra.m(), ra.l(), ra.o()), (2.0, 1.0, &[1.0f32, -1.0][..]));
    // Another key with score 2 + ln 3 and value (0, 3): weights 1/4 and 3/4.
    let mut c = [2.0 + 3f32.ln(), 1.0, 0.0, 3.0];
    let rc = RowState::wrap(&mut c).unwrap();
    ra.merge(simd, &rc).unwrap();
    ra.finalize(simd, None, &mut out);
    assert!(
        (out[0] - 0.25).abs() < 1e-6 && (out[1] - 2.0).abs() < 1e-6,
        "{out:?}"
    );
    assert!((ra.lse(None) - (2.0 + 4f32.ln())).abs() < 1e-6);
    // A sink equal to the LSE halves the output.
    let lse = ra.lse(None);
    let mut half = [0.0f32; 2];
    ra.finalize(simd, Some(lse), &mut half);
    assert!(
        (half[0] - 0.125).abs() < 1e-6 && (half[1] - 1.0).abs() < 1e-6,
        "{half:?}"
    );
    ra.add_sink(lse);
    ra.finalize(simd, None, &mut out);
    assert!(
        (out[0] - 0.125).abs() < 1e-6 && (out[1] - 1.0).abs() < 1e-6,
        "{out:?}"
    );
    // Mismatched d_v is an error, too-short rows are refused.
    let mut d = [0.0f32; 3];
    let rd = RowState::wrap(&mut d).unwrap();
    assert!(ra.merge(simd, &rd).is_err());
    assert!(RowState::wrap(&mut [0.0f32; 1]).is_none());
}

/// Bad arguments give typed errors and leave the output untouched.
#[test]
fn errors_are_reported_before_writing() {
    let s = Spec::plain(1, 2, 3, 5, 4, 2);
    let b = build(&s);
    let simd = Simd::best();
    let qkv = b.qkv();
    let params = b.params();
    let need = attention::scratch_len(qkv.dims(), qkv.dtypes(), params.tiles);
    let call = |qkv: &Qkv<'_>,
                params: &Params<'_>,
                out: &mut [f32],
                lse: Option<&mut [f32]>,
                scratch: &mut [f32]| {
        attention::attention(
            simd,
            qkv,
            params,
            TensorMut::new(&mut out[..], 2, 3, 2),
            lse,
            scratch,
        )
    };
    let mut out = vec![7.0f32; 12];
    let mut scratch = vec![0.0; need];
    // Scratch one short.
    let e = call(&qkv, &params, &mut out, None, &mut scratch[..need - 1]).unwrap_err();
    assert_eq!(
        e,
        AttentionError::TooShort {
            operand: Operand::Scratch,
            needed: need,
            got: need - 1
        }
    );
    // Q too short for its shape.
    let mut short = qkv;
    short.q.rows = 4;
    assert!(matches!(
        call(&short, &params, &mut out, None, &mut scratch),
        Err(AttentionError::TooShort {
            operand: Operand::Q,
            ..
        })
    ));
    // Head groups.
    let mut bad = qkv;
    bad.q.heads = 3;
    bad.q.rows = 1;
    bad.q.head_stride = 4;
    bad.k.heads = 2;
    bad.k.head_stride = 0;
    bad.v.heads = 2;
    bad.v.head_stride = 0;
    assert!(matches!(
        attention::attention(
            simd,
            &bad,
            &params,
            TensorMut::new(&mut out[..], 3, 1, 2),
            None,
            &mut scratch
        ),
        Err(AttentionError::HeadGroups {
            heads_q: 3,
            heads_kv: 2
        })
    ));
    // d_k mismatch.
    let mut bad = qkv;
    bad.k.dim = 3;
    assert!(matches!(
        call(&bad, &params, &mut out, None, &mut scratch),
        Err(AttentionError::Mismatch {
            operand: Operand::K,
            ..
        })
    ));
    // Output shape.
    assert!(matches!(
        attention::attention(
            simd,
            &qkv,
            &params,
            TensorMut::new(&mut out[..], 2, 3, 1),
            None,
            &mut scratch
        ),
        Err(AttentionError::Mismatch {
            operand: Operand::Out,
            ..
        })
    ));
    // LSE too short.
    let mut lse = [0.0f32; 5];
    assert!(matches!(
        call(&qkv, &params, &mut out, Some(&mut lse), &mut scratch),
        Err(AttentionError::TooShort {
            operand: Operand::Lse,
            ..
        })
    ));
    // Parameters.
    let mut p = params;
    p.softcap = Some(0.0);
    assert!(matches!(
        call(&qkv, &p, &mut out, None, &mut scratch),
        Err(AttentionError::BadParam(_))
    ));
    let mut p = params;
    p.mask.window = Some(0);
    assert!(matches!(
        call(&qkv, &p, &mut out, None, &mut scratch),
        Err(AttentionError::BadParam(_))
    ));
    let mut p = params;
    p.tiles = Tiles::new(0, 1);
    assert!(matches!(
        call(&qkv, &p, &mut out, None, &mut scratch),
        Err(AttentionError::BadParam(_))
    ));
    let mut p = params;
    p.scale = Some(f32::INFINITY);
    assert!(matches!(
        call(&qkv, &p, &mut out, None, &mut scratch),
        Err(AttentionError::BadParam(_))
    ));
    let sinks = [0.0f32; 1];
    let mut p = params;
    p.sinks = Some(&sinks);
    assert!(matches!(
        call(&qkv, &p, &mut out, None, &mut scratch),
        Err(AttentionError::TooShort {
            operand: Operand::Sinks,
            ..
        })
    ));
    let anc = [1u64; 4];
    let mut p = params;
    p.mask.tree = Some(TreeMask { ancestors: &anc });
    assert!(matches!(
        call(&qkv, &p, &mut out, None, &mut scratch),
        Err(AttentionError::BadParam(_))
    ));
    let words = [u64::MAX; 2];
    let mut p = params;
    p.mask.bits = Some(BitMask {
        words: &words,
        row_stride: 1,
        head_stride: 0,
    });
    assert!(matches!(
        call(&qkv, &p, &mut out, None, &mut scratch),
        Err(AttentionError::TooShort {
            operand: Operand::BitMask,
            ..
        })
    ));
    let add = [0.0f32; 14];
    let mut p = params;
    p.mask.additive = Some(AdditiveMask {
        values: &add,
        row_stride: 5,
        head_stride: 0,
    });
    assert!(matches!(
        call(&qkv, &p, &mut out, None, &mut scratch),
        Err(AttentionError::TooShort {
            operand: Operand::AdditiveMask,
            ..
        })
    ));
    // Overflowing strides.
    let mut bad = qkv;
    bad.k.head_stride = usize::MAX;
    bad.k.heads = 1;
    bad.k.row_stride = usize::MAX;
    assert!(matches!(
        call(&bad, &params, &mut out, None, &mut scratch),
        Err(AttentionError::TooShort {
            operand: Operand::K,
            needed: usize::MAX,
            ..
        })
    ));
    // Nothing was written by any failing call.
    assert!(out.iter().all(|&x| x == 7.0));
    // Spans that do not fit.
    let mut sbuf = vec![0.0f32; attention::state_len(6, 2)];
    let mut st = States::new(&mut sbuf, 2, 3, 2).unwrap();
    let mut scratch =
        vec![0.0; attention::partial_scratch_len(qkv.dims(), qkv.dtypes(), params.tiles)];
    for span in [
        KvSpan { start: 1, total: 5 },
        KvSpan {
            start: usize::MAX,
            total: 5,
        },
        KvSpan {
            start: 0,
            total: usize::MAX,
        },
    ] {
        assert!(matches!(
            attention::attention_partial(simd, &qkv, &params, span, &mut st, &mut scratch),
            Err(AttentionError::BadSpan { .. })
        ));
    }
    assert!(matches!(
        States::new(&mut sbuf[..5], 2, 3, 2),
        Err(AttentionError::TooShort {
            operand: Operand::States,
            ..
        })
    ));
    // No query heads: nothing to do, even with an absurd number of (empty) key/value heads.
    let empty_q: [f32; 0] = [];
    let empty_kv: [f32; 0] = [];
    let none = Qkv {
        q: Tensor::new(&empty_q[..], 0, 3, 4),
        k: Tensor::new(&empty_kv[..], usize::MAX, 0, 4),
        v: Tensor::new(&empty_kv[..], usize::MAX, 0, 2),
    };
    let mut nothing: [f32; 0] = [];
    attention::attention(
        simd,
        &none,
        &params,
        TensorMut::new(&mut nothing[..], 0, 3, 2),
        None,
        &mut scratch,
    )
    .unwrap();
    // Display is informative.
    assert!(e.to_string().contains("scratch"));
}

/// Error figures over a fixed set of problems, per storage type (printed with `--nocapture`).
#[test]
fn error_figures() {
    let kinds: [(&str, [Dtype; 3]); 3] = [
        ("f32", [Dtype::F32; 3]),
        ("f16", [Dtype::F16; 3]),
        ("bf16", [Dtype::Bf16; 3]),
    ];
    for (name, dt) in kinds {
        let (mut max_abs, mut nmse, mut naive_abs, mut kernel_exact_abs) =
            (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for seed in 0..24 {
            let mut s = random_spec(seed * 7919 + 1, false);
            s.dt = dt;
            s.out_dt = Dtype::F32;
            s.v_mag = 1.0;
            let b = build(&s);
            let got = run(&b, Simd::best()).unwrap();
            let e = check(&b, &b.p, &got).unwrap_or_else(|e| panic!("{e}\n{s:?}"));
            max_abs = max_abs.max(e.max_abs);
            nmse = nmse.max(e.nmse);
            let (naive, _) = b.p.reference();
            let (exact, _) = b.exact.reference();
            naive_abs = naive_abs.max(errors(&naive, &exact).max_abs);
            kernel_exact_abs = kernel_exact_abs.max(errors(&got.out, &exact).max_abs);
        }
        println!(
            "{name:>4} storage: vs reference on stored inputs max-abs {max_abs:.2e}, nmse {nmse:.2e}; \
             vs unrounded inputs kernel {kernel_exact_abs:.2e}, naive same-precision {naive_abs:.2e}"
        );
        assert!(max_abs <= MAX_ABS && nmse <= NMSE);
    }
}
