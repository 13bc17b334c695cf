//! RoPE and speculative-decoding checks on the device.
//!
//! - RoPE: Llama-3.1 frequencies (llama3 scaling, base 500 000, head 64); exact cos/sin tables at positions up to
//!   2²⁰ − 1 against an independent f64 evaluation (≤ 1e-7); both rotation layouts at every level against an f64
//!   rotation of the same rows (≤ 2e-6 relative to the row's magnitude).
//! - Speculative decoding: a Medusa tree from five candidate paths (six nodes), verified with tree-masked
//!   attention over a 12-token prefix at every level; each node's output must equal the last row of causal
//!   attention over the prefix followed by the node's root-to-node path (≤ 1e-5).

use emkern::attention::{self, Dims, Dtypes, Params, Qkv, Tensor, TensorMut, Tiles};
use emkern::rope::apply::{self, Direction, Layout, Positions, Rows, Tables};
use emkern::rope::{Llama3, RopeConfig, Scaling, freq, table};
use emkern::speculative::tree::{Choices, Tree, TreeConfig};
use emkern::speculative::verify;
use emkern_simd::{Level, Simd};

const HALF: usize = 32;
const D: usize = 2 * HALF;
const POSITIONS: [u64; 6] = [0, 1, 8191, 65_535, 131_071, 1_048_575];

/// xorshift32 values in [-1, 1).
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        (self.0 >> 8) as f32 * (2.0 / 16_777_216.0) - 1.0
    }
}

/// Runs both checks; returns (passed, failed) comparisons.
pub fn run() -> (u32, u32) {
    let (a, b) = rope();
    let (c, d) = speculative();
    (a + c, b + d)
}

fn rope() -> (u32, u32) {
    let (mut passed, mut failed) = (0u32, 0u32);
    let mut config = RopeConfig::new(500_000.0, D);
    config.scaling = Scaling::Llama3(Llama3 {
        factor: 8.0,
        low_freq_factor: 1.0,
        high_freq_factor: 4.0,
        original_max_position_embeddings: 8192,
    });
    let mut inv = [0.0f64; HALF];
    let Ok(scale) = freq::inv_freq(&config, None, &mut inv) else {
        defmt::println!("FAIL rope: llama3 frequencies rejected");
        return (0, 1);
    };
    let (mut cos, mut sin) = (
        [0.0f32; POSITIONS.len() * HALF],
        [0.0f32; POSITIONS.len() * HALF],
    );
    if table::fill_positions(&inv, &POSITIONS, scale, &mut cos, &mut sin).is_err() {
        defmt::println!("FAIL rope: table rejected");
        return (0, 1);
    }
    let mut worst = 0.0f64;
    for (r, &p) in POSITIONS.iter().enumerate() {
        for (i, &w) in inv.iter().enumerate() {
            // p·ω in f64 is within 2⁻⁵³·2²⁰ rad of exact here: far below the f32 rounding being checked.
            let angle = p as f64 * w;
            let (c, s) = (libm::cos(angle) * scale, libm::sin(angle) * scale);
            let e = (cos[r * HALF + i] as f64 - c)
                .abs()
                .max((sin[r * HALF + i] as f64 - s).abs());
            worst = worst.max(e);
        }
    }
    if worst <= 1.0e-7 {
        passed += 1;
    } else {
        failed += 1;
    }
    defmt::println!(
        "rope: llama3 exact tables up to position 2^20 - 1, max error {=f64} (bound 1e-7)",
        worst
    );
    let tables = Tables {
        cos: &cos,
        sin: &sin,
        half: HALF,
    };
    const HEADS: usize = 2;
    const ROWS: usize = POSITIONS.len();
    let mut rng = Rng(0x1357_9BDF);
    let mut x0 = [0.0f32; HEADS * ROWS * D];
    x0.iter_mut().for_each(|v| *v = rng.next());
    for simd in Simd::available() {
        for (layout, name) in [
            (Layout::HalfSplit, "half-split"),
            (Layout::Interleaved, "interleaved"),
        ] {
            let mut x = x0;
            let rows = Rows::new(&mut x[..], HEADS, ROWS, D);
            let ok = apply::apply(
                simd,
                layout,
                Direction::Forward,
                rows,
                &tables,
                Positions::Consecutive(0),
                &mut [],
            )
            .is_ok();
            let mut bad = u32::from(!ok);
            for (row, (got, src)) in x.chunks_exact(D).zip(x0.chunks_exact(D)).enumerate() {
                let t = row % ROWS;
                for i in 0..HALF {
                    let (a, b) = match layout {
                        Layout::HalfSplit => (i, i + HALF),
                        Layout::Interleaved => (2 * i, 2 * i + 1),
                    };
                    let (c, s) = (cos[t * HALF + i] as f64, sin[t * HALF + i] as f64);
                    let (xa, xb) = (src[a] as f64, src[b] as f64);
                    let (wa, wb) = (xa * c - xb * s, xa * s + xb * c);
                    let tol = 2.0e-6 * (xa.abs() + xb.abs());
                    if (got[a] as f64 - wa).abs() > tol || (got[b] as f64 - wb).abs() > tol {
                        bad += 1;
                    }
                }
            }
            defmt::println!(
                "rope apply {=str}, level {=str}: {=u32} failed of {=u32}",
                name,
                simd.level().name(),
                bad,
                (HEADS * ROWS * HALF) as u32
            );
            if bad == 0 {
                passed += 1;
            } else {
                failed += 1;
            }
        }
    }
    (passed, failed)
}

const PREFIX: usize = 12;
const NODES: usize = 6;
const HQ: usize = 2;
const HKV: usize = 1;
const DH: usize = 16;
const KEYS: usize = PREFIX + NODES;
const TILES: Tiles = Tiles::for_level(Level::Scalar);
const SCRATCH: usize = attention::scratch_len(
    Dims {
        heads_q: HQ,
        heads_kv: HKV,
        len_q: NODES,
        len_kv: KEYS,
        d_k: DH,
        d_v: DH,
    },
    Dtypes::F32,
    TILES,
);

fn speculative() -> (u32, u32) {
    let (mut passed, mut failed) = (0u32, 0u32);
    let paths: [&[u16]; 5] = [&[0], &[1], &[0, 0], &[0, 1], &[1, 0]];
    let Ok(tree) = Tree::new(Choices::Paths(&paths), TreeConfig::DEFAULT) else {
        defmt::println!("FAIL speculative: tree rejected");
        return (0, 1);
    };
    let mut rng = Rng(0x0BAD_5EED);
    let mut q = [0.0f32; HQ * NODES * DH];
    let mut k = [0.0f32; HKV * KEYS * DH];
    let mut v = [0.0f32; HKV * KEYS * DH];
    q.iter_mut()
        .chain(k.iter_mut())
        .chain(v.iter_mut())
        .for_each(|x| *x = rng.next());
    let mut params = Params::new();
    params.tiles = TILES;
    for simd in Simd::available() {
        let mut out = [0.0f32; HQ * NODES * DH];
        let mut scratch = [0.0f32; SCRATCH];
        let qkv = Qkv {
            q: Tensor::new(&q[..], HQ, NODES, DH),
            k: Tensor::new(&k[..], HKV, KEYS, DH),
            v: Tensor::new(&v[..], HKV, KEYS, DH),
        };
        let out_view = TensorMut::new(&mut out[..], HQ, NODES, DH);
        if verify::attend(simd, &tree, &params, &qkv, out_view, None, &mut scratch).is_err() {
            failed += 1;
            continue;
        }
        let mut bad = 0u32;
        for node in 0..NODES {
            // The node's path: its ancestors (bits of its ancestor row, root first) in node order.
            let bits = tree.ancestors().get(node).copied().unwrap_or(0);
            let mut path_k = [0.0f32; KEYS * DH];
            let mut path_v = [0.0f32; KEYS * DH];
            path_k[..PREFIX * DH].copy_from_slice(&k[..PREFIX * DH]);
            path_v[..PREFIX * DH].copy_from_slice(&v[..PREFIX * DH]);
            let mut len = PREFIX;
            for u in 0..NODES {
                if (bits >> u) & 1 == 1 {
                    let src = (PREFIX + u) * DH;
                    path_k[len * DH..(len + 1) * DH].copy_from_slice(&k[src..src + DH]);
                    path_v[len * DH..(len + 1) * DH].copy_from_slice(&v[src..src + DH]);
                    len += 1;
                }
            }
            // The node's query alone against its path (it is the last token there).
            let mut qn = [0.0f32; HQ * DH];
            for h in 0..HQ {
                let src = (h * NODES + node) * DH;
                qn[h * DH..(h + 1) * DH].copy_from_slice(&q[src..src + DH]);
            }
            let path = Qkv {
                q: Tensor::new(&qn[..], HQ, 1, DH),
                k: Tensor::new(&path_k[..len * DH], HKV, len, DH),
                v: Tensor::new(&path_v[..len * DH], HKV, len, DH),
            };
            let mut want = [0.0f32; HQ * DH];
            let mut scratch = [0.0f32; SCRATCH];
            let ok = attention::attention(
                simd,
                &path,
                &params,
                TensorMut::new(&mut want[..], HQ, 1, DH),
                None,
                &mut scratch,
            )
            .is_ok();
            for h in 0..HQ {
                for c in 0..DH {
                    let got = out[(h * NODES + node) * DH + c];
                    if !ok || (got - want[h * DH + c]).abs() > 1.0e-5 {
                        bad += 1;
                    }
                }
            }
        }
        defmt::println!(
            "speculative: tree of {=u32} nodes over a {=u32}-token prefix, level {=str}: {=u32} failed of {=u32}",
            NODES as u32,
            PREFIX as u32,
            simd.level().name(),
            bad,
            (NODES * HQ * DH) as u32
        );
        if bad == 0 {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    (passed, failed)
}
