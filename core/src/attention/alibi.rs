//! ALiBi (attention with linear biases; Press, Smith and Lewis, "Train Short, Test Long", ICLR 2022).
//!
//! The bias added to the score of query position `p` and key position `k` (positions per
//! [`Align`](super::Align)) is `−slope_h·(p − k) = slope_h·(k − p)`: zero on the diagonal, negative and growing
//! with distance for past keys. Under a causal mask this is exactly the `−slope·|p − k|` of llama.cpp and the
//! `slope·(k − p)` of the paper's reference code; implementations that add `slope·k` only (e.g. BLOOM) differ by
//! a per-row constant, which leaves the attention output unchanged and shifts the log-sum-exp by `slope·p`.
//! Without a causal mask, keys after the query receive a positive bias (the signed form, not `−|p − k|`).

/// The standard ALiBi slope of query head `head` (0-based) out of `heads`.
///
/// For `heads = n` a power of two, head `h` (1-based) gets `2^(−8h/n)`. Otherwise, with `n' = 2^⌊log₂ n⌋`, the
/// first `n'` heads get the slopes for `n'` heads and the remaining `n − n'` heads get every other slope of the
/// sequence for `2n'` heads (the odd-numbered ones: `2^(−4·(2i+1)/n')` for the `i`-th extra head, 0-based).
/// Returns 0 when `heads == 0`. Computed in f64 and rounded once.
pub fn slope(head: usize, heads: usize) -> f32 {
    if heads == 0 {
        return 0.0;
    }
    // n' = 2^floor(log2 n).
    let base = 1usize << (usize::BITS - 1 - heads.leading_zeros());
    let exponent = if head < base {
        -8.0 * (head as f64 + 1.0) / base as f64
    } else {
        let extra = (head - base) as f64;
        -4.0 * (2.0 * extra + 1.0) / base as f64
    };
    libm::exp2(exponent) as f32
}

/// Writes the standard slopes of `out.len()` heads into `out` (`out[h] = slope(h, out.len())`).
pub fn slopes(out: &mut [f32]) {
    let n = out.len();
    for (h, s) in out.iter_mut().enumerate() {
        *s = slope(h, n);
    }
}
