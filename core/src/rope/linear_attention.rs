//! RoPE in linear attention (RoFormer, Su et al. 2021, §3.3).
//!
//! Linear attention replaces `softmax(q·k)` by a feature map `φ` with positive values, here `φ(x) = elu(x) + 1`
//! elementwise (Katharopoulos et al., 2020). RoFormer rotates the features in the numerator only and keeps the
//! denominator unrotated, so that it stays positive:
//!
//! `out = Σ_j (R_m φ(q))·(R_{n_j} φ(k_j)) · v_j  /  Σ_j φ(q)·φ(k_j)`
//!
//! where `R_p` is the rotation of position `p` (cos/sin rows from [`table`](super::table), applied in a
//! [`Layout`]). The numerator weights can be negative, so the output is not a convex combination of the values
//! (the paper notes this). [`attend`] evaluates one query against `n` keys directly (`O(n·(d + d_v))`); a causal
//! or recurrent implementation keeps the running sums `Σ_j R_{n_j}φ(k_j) v_jᵀ` and `Σ_j φ(k_j)` instead, with the
//! same result.

use emkern_simd::Simd;

use super::RopeError;
use super::apply::{self, Direction, Layout, Positions, Rows, Tables};

/// `elu(x) + 1`: `x + 1` for `x > 0`, `e^x` otherwise (always positive, and finite for finite `x`).
#[inline]
pub fn elu_plus_one(x: f32) -> f32 {
    if x > 0.0 { x + 1.0 } else { libm::expf(x) }
}

/// One query against `n` keys (`n = k.len() / d`, the keys' positions given by `key_positions` into the
/// table). Shapes: `q` `[d]`, `k` `[n, d]`, `v` `[n, d_v]` (row-major, packed), `out` `[d_v]`.
#[derive(Clone, Copy, Debug)]
pub struct Query<'a> {
    /// The query, `d` elements.
    pub q: &'a [f32],
    /// The query's row in the table.
    pub q_position: usize,
    /// The keys, `n·d` elements.
    pub k: &'a [f32],
    /// Each key's row in the table (`n` entries).
    pub key_positions: &'a [usize],
    /// The values, `n·d_v` elements.
    pub v: &'a [f32],
    /// Elements per value row.
    pub d_v: usize,
}

/// Scratch f32 elements [`attend`] needs for head dimension `d`: `3·d`.
pub const fn scratch_len(d: usize) -> usize {
    d.saturating_mul(3)
}

/// Linear attention with RoPE in the numerator (see the [module](self) documentation) into `out[..d_v]`.
/// `tables.half·2 ≤ d` elements of each feature vector rotate (partial rotary allowed). With no keys the output
/// is zeros. Accumulates in f32, with the denominator in f64.
pub fn attend(
    simd: Simd,
    layout: Layout,
    query: &Query<'_>,
    tables: &Tables<'_>,
    out: &mut [f32],
    scratch: &mut [f32],
) -> Result<(), RopeError> {
    let d = query.q.len();
    let n = query.key_positions.len();
    let d_v = query.d_v;
    let needed_k = n.saturating_mul(d);
    let needed_v = n.saturating_mul(d_v);
    for (buffer, needed, got) in [
        ("k", needed_k, query.k.len()),
        ("v", needed_v, query.v.len()),
        ("out", d_v, out.len()),
        ("scratch", scratch_len(d), scratch.len()),
    ] {
        if got < needed {
            return Err(RopeError::TooShort {
                buffer,
                needed,
                got,
            });
        }
    }
    // Checked above: scratch holds 3·d elements.
    let (phi_q, rest) = scratch.split_at_mut_checked(d).unwrap_or_default();
    let (rot_q, rest) = rest.split_at_mut_checked(d).unwrap_or_default();
    let phi_k = rest.get_mut(..d).unwrap_or(&mut []);
    for (p, &x) in phi_q.iter_mut().zip(query.q) {
        *p = elu_plus_one(x);
    }
    for (r, &p) in rot_q.iter_mut().zip(phi_q.iter()) {
        *r = p;
    }
    apply::apply(
        simd,
        layout,
        Direction::Forward,
        Rows::new(rot_q, 1, 1, d),
        tables,
        Positions::Consecutive(query.q_position),
        &mut [],
    )?;
    // Check every key's table row before writing `out`.
    let half = tables.half;
    let last = query.key_positions.iter().copied().max().unwrap_or(0);
    let table_needed = last
        .checked_add(1)
        .and_then(|r| r.checked_mul(half))
        .unwrap_or(usize::MAX);
    if n > 0 && half > 0 {
        for (buffer, got) in [("cos", tables.cos.len()), ("sin", tables.sin.len())] {
            if got < table_needed {
                return Err(RopeError::TooShort {
                    buffer,
                    needed: table_needed,
                    got,
                });
            }
        }
    }

    let got = out.len();
    let out = out.get_mut(..d_v).ok_or(RopeError::TooShort {
        buffer: "out",
        needed: d_v,
        got,
    })?;
    out.fill(0.0);
    let mut denominator = 0.0f64;
    for ((k_row, v_row), &position) in query
        .k
        .chunks_exact(d.max(1))
        .zip(query.v.chunks_exact(d_v.max(1)))
        .zip(query.key_positions)
    {
        for (p, &x) in phi_k.iter_mut().zip(k_row) {
            *p = elu_plus_one(x);
        }
        denominator += f64::from(simd.dot(phi_q, phi_k));
        apply::apply(
            simd,
            layout,
            Direction::Forward,
            Rows::new(&mut *phi_k, 1, 1, d),
            tables,
            Positions::Consecutive(position),
            &mut [],
        )?;
        let weight = simd.dot(rot_q, phi_k);
        simd.axpy(weight, v_row, out);
    }
    if n > 0 && denominator > 0.0 {
        simd.scale((1.0 / denominator) as f32, out);
    } else {
        out.fill(0.0);
    }
    Ok(())
}
