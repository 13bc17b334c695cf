//! The softmax of fixed-point margins in integer arithmetic: `e^-x` from two Q30 tables and a cubic, a Q26 sum
//! and a long division per column (the error budget is in the module documentation of [`super`]). Compiled only
//! with the crate's `int-softmax` feature.

use super::fixed::fixed_to_f32;

/// Largest absolute error of [`softmax_fixed`] against the exact softmax of the margins `v · 2^-s`, for up to
/// [`MAX_OUTPUTS`](super::MAX_OUTPUTS) columns (input truncation to Q20 2.4e-7, `n` columns' Q26 sum 32 · 2.3e-8,
/// the quotient's truncation 9.3e-10, output rounding 3e-8; rounded up).
pub const SOFTMAX_MAX_ERROR: f32 = 1.1e-6;

/// The difference of a margin to the largest is read in Q20, saturated at 20 (`e^-20 < 2^-26`).
const LIMIT_Q20: u32 = 20 << 20;

/// `round(e^-a · 2^30)` for `a = 0 .. 20` (computed in f64).
static EXP_INT: [u32; 20] = [
    1073741824, 395007542, 145315154, 53458458, 19666268, 7234816, 2661540, 979126, 360200, 132510,
    48748, 17933, 6597, 2427, 893, 328, 121, 44, 16, 6,
];

/// `round(e^-(j/64) · 2^30)` for `j = 0 .. 64` (computed in f64).
static EXP_FRAC: [u32; 64] = [
    1073741824, 1057095000, 1040706261, 1024571606, 1008687096, 993048852, 977653056, 962495950,
    947573834, 932883063, 918420052, 904181269, 890163238, 876362536, 862775794, 849399695,
    836230973, 823266414, 810502851, 797937169, 785566300, 773387223, 761396966, 749592600,
    737971244, 726530060, 715266256, 704177080, 693259826, 682511829, 671930464, 661513148,
    651257337, 641160528, 631220255, 621434092, 611799650, 602314575, 592976553, 583783304,
    574732583, 565822180, 557049920, 548413661, 539911296, 531540747, 523299971, 515186957,
    507199724, 499336321, 491594829, 483973358, 476470046, 469083063, 461810604, 454650894,
    447602185, 440662757, 433830914, 427104989, 420483340, 413964350, 407546428, 401228006,
];

/// `a · b · 2^-30` for `a, b ≤ 2^30`, truncated (at most 2 · 2^-30 below the exact product), in 32-bit
/// multiplies only (no 64-bit multiply routine on cores without one).
#[inline(always)]
fn mul_q30(a: u32, b: u32) -> u32 {
    let (ah, al) = (a >> 15, a & 0x7FFF);
    let (bh, bl) = (b >> 15, b & 0x7FFF);
    // ah, bh ≤ 2^15 and al, bl < 2^15: every product and the sum below fit 32 bits.
    ah * bh + ((ah * bl + al * bh + ((al * bl) >> 15)) >> 15)
}

/// `e^-x` in Q30 for `x` in Q20, `0 ≤ x < LIMIT_Q20`: `e^-a · e^-(j/64) · e^-r` with `x = a + j/64 + r`,
/// `0 ≤ r < 1/64`, and `1 − e^-r ≈ r − r²/2 + r³/6` (remainder below `r⁴/24 < 2.5e-9`). One copy, not
/// inlined into an unrolled loop.
#[inline(never)]
fn exp_neg_q20(x: u32) -> u32 {
    let a = (x >> 20) as usize;
    let j = ((x >> 14) & 63) as usize;
    let r = x & 0x3FFF;
    // r < 2^14 in Q20: r² in Q30 below 2^18, r³ in Q30 below 2^12; 21 845 / 2^17 is 1/6 to 1e-5.
    let r2 = (r * r) >> 10;
    let r3 = (r2 * r) >> 20;
    let one_minus = (r << 10) - (r2 >> 1) + ((r3 * 21_845) >> 17);
    let f = EXP_FRAC.get(j).copied().unwrap_or(0);
    let e_frac = f - mul_q30(f, one_minus);
    mul_q30(EXP_INT.get(a).copied().unwrap_or(0), e_frac)
}

/// `(m − v) · 2^-s` in Q20, saturated at `LIMIT_Q20`, for the unsigned difference `d = m − v`.
#[inline(always)]
fn diff_q20(d: u32, s: i32) -> u32 {
    if s >= 20 {
        d.checked_shr((s - 20) as u32).unwrap_or(0).min(LIMIT_Q20)
    } else {
        let sh = (20 - s) as u32;
        if d == 0 {
            0
        } else if sh >= 32 || d > LIMIT_Q20 >> sh {
            LIMIT_Q20
        } else {
            d << sh
        }
    }
}

/// `⌊e · 2^30 / sum⌋` for `e ≤ sum ≤ 2^31`, `sum > 0`, by long division in 32-bit registers (the remainder stays
/// below `sum`, so its double fits); stops early when the remainder is 0. One copy, not inlined, so that the
/// loop is not unrolled per column.
#[inline(never)]
fn div_q30(e: u32, sum: u32) -> u32 {
    let (mut rem, mut q) = if e >= sum { (e - sum, 1u32) } else { (e, 0u32) };
    let mut steps = 30u32;
    while steps > 0 && rem != 0 {
        rem <<= 1;
        q <<= 1;
        if rem >= sum {
            rem -= sum;
            q |= 1;
        }
        steps -= 1;
    }
    q << steps
}

/// The softmax of the margins `margins[k] · 2^-s` into `out[k]`, for `k` below the shorter of the two and at
/// most [`MAX_OUTPUTS`](super::MAX_OUTPUTS); in integer arithmetic (no float instruction, no soft-float call),
/// within [`SOFTMAX_MAX_ERROR`] of the exact value. Every value is in `[0, 1]`.
#[inline(never)]
pub fn softmax_fixed(margins: &[i32], s: i32, out: &mut [f32]) {
    let n = margins.len().min(out.len()).min(super::MAX_OUTPUTS);
    let (margins, out) = (
        margins.get(..n).unwrap_or_default(),
        out.get_mut(..n).unwrap_or_default(),
    );
    let top = margins.iter().copied().max().unwrap_or(0);
    // e^-(top − v) in Q26 (at most 2^26 each, 1 for the largest), and their sum: at most 32 · 2^26 = 2^31.
    let mut e26 = [0u32; super::MAX_OUTPUTS];
    let mut sum = 0u32;
    for (e, v) in e26.iter_mut().zip(margins) {
        // top ≥ v: the wrapping difference is the exact difference, below 2^32.
        let x = diff_q20(top.wrapping_sub(*v) as u32, s);
        *e = if x >= LIMIT_Q20 {
            0
        } else {
            exp_neg_q20(x) >> 4
        };
        sum = sum.wrapping_add(*e);
    }
    if sum == 0 {
        // Only when there are no columns (the largest column's term is 2^26).
        return;
    }
    for (o, e) in out.iter_mut().zip(e26.iter()) {
        // e ≤ sum: the quotient is at most 2^30.
        *o = fixed_to_f32(div_q30(*e, sum) as i32, 30);
    }
}
