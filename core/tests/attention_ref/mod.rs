//! A naive f64 attention reference for the streaming kernel's tests: every score materialized, masks tested key
//! by key, softmax with the sink in the denominator, then P·V. Written for obviousness, not speed.

/// One attention problem with every input as the kernel sees it (already rounded to its storage type), stored
/// contiguously as `[heads, rows, dim]`.
#[derive(Clone, Debug, Default)]
pub struct Problem {
    pub heads_q: usize,
    pub heads_kv: usize,
    pub len_q: usize,
    pub len_kv: usize,
    pub d_k: usize,
    pub d_v: usize,
    pub q: Vec<f64>,
    pub k: Vec<f64>,
    pub v: Vec<f64>,
    /// `None`: 1/sqrt(d_k) (1 when d_k = 0).
    pub scale: Option<f64>,
    pub softcap: Option<f64>,
    /// One slope per query head.
    pub slopes: Option<Vec<f64>>,
    /// One sink logit per query head.
    pub sinks: Option<Vec<f64>>,
    pub top_left: bool,
    pub causal: bool,
    pub window: Option<usize>,
    /// `[heads_q, len_q, len_kv]`: true = may attend.
    pub bits: Option<Vec<bool>>,
    /// `[heads_q, len_q, len_kv]`, added to the scores; -inf hides the key.
    pub additive: Option<Vec<f64>>,
    /// Ancestor bits of the last `T` queries over the last `T` keys.
    pub tree: Option<Vec<u64>>,
}

/// The slopes of the ALiBi reference code (Press et al.), written as there: a geometric sequence starting at
/// `2^(-8/n)` for a power of two, otherwise the closest lower power of two followed by every other slope of the
/// doubled count.
pub fn alibi_slopes(n: usize) -> Vec<f64> {
    fn power_of_two(n: usize) -> Vec<f64> {
        let start = 2f64.powf(-(2f64.powf(-((n as f64).log2() - 3.0))));
        (0..n).map(|i| start * start.powi(i as i32)).collect()
    }
    if n == 0 {
        return Vec::new();
    }
    if n.is_power_of_two() {
        return power_of_two(n);
    }
    let closest = 1usize << (n as f64).log2().floor() as u32;
    let mut s = power_of_two(closest);
    s.extend(
        alibi_slopes(2 * closest)
            .into_iter()
            .step_by(2)
            .take(n - closest),
    );
    s
}

impl Problem {
    pub fn group(&self) -> usize {
        self.heads_q / self.heads_kv
    }

    /// Position of query `i`.
    pub fn q_pos(&self, i: usize) -> i64 {
        if self.top_left {
            i as i64
        } else {
            i as i64 + self.len_kv as i64 - self.len_q as i64
        }
    }

    /// Whether query head `h`, row `i` may attend to key `j`.
    pub fn visible(&self, h: usize, i: usize, j: usize) -> bool {
        let p = self.q_pos(i);
        let kp = j as i64;
        if self.causal && kp > p {
            return false;
        }
        if let Some(w) = self.window
            && kp < p - w as i64 + 1
        {
            return false;
        }
        let at = (h * self.len_q + i) * self.len_kv + j;
        if let Some(b) = &self.bits
            && !b[at]
        {
            return false;
        }
        if let Some(a) = &self.additive
            && a[at] == f64::NEG_INFINITY
        {
            return false;
        }
        if let Some(t) = &self.tree {
            let n = t.len();
            if i >= self.len_q - n && j >= self.len_kv - n {
                let (tq, tk) = (i - (self.len_q - n), j - (self.len_kv - n));
                if (t[tq] >> tk) & 1 == 0 {
                    return false;
                }
            }
        }
        true
    }

    /// The score of query head `h`, row `i` against key `j` (masks aside).
    pub fn score(&self, h: usize, i: usize, j: usize) -> f64 {
        let g = h / self.group();
        let q = &self.q[(h * self.len_q + i) * self.d_k..][..self.d_k];
        let k = &self.k[(g * self.len_kv + j) * self.d_k..][..self.d_k];
        let dot: f64 = q.iter().zip(k).map(|(a, b)| a * b).sum();
        let scale = self.scale.unwrap_or(if self.d_k == 0 {
            1.0
        } else {
            1.0 / (self.d_k as f64).sqrt()
        });
        let mut s = dot * scale;
        if let Some(c) = self.softcap {
            s = c * (s / c).tanh();
        }
        if let Some(sl) = &self.slopes {
            s += -sl[h] * (self.q_pos(i) - j as i64) as f64;
        }
        if let Some(a) = &self.additive {
            s += a[(h * self.len_q + i) * self.len_kv + j];
        }
        s
    }

    /// Output `[heads_q, len_q, d_v]` and log-sum-exp `[heads_q, len_q]`.
    pub fn reference(&self) -> (Vec<f64>, Vec<f64>) {
        let mut out = vec![0.0; self.heads_q * self.len_q * self.d_v];
        let mut lse = vec![f64::NEG_INFINITY; self.heads_q * self.len_q];
        for h in 0..self.heads_q {
            let g = h / self.group();
            let sink = self.sinks.as_ref().map(|s| s[h]);
            for i in 0..self.len_q {
                let keys: Vec<(usize, f64)> = (0..self.len_kv)
                    .filter(|&j| self.visible(h, i, j))
                    .map(|j| (j, self.score(h, i, j)))
                    .collect();
                let row = h * self.len_q + i;
                if keys.is_empty() {
                    lse[row] = sink.unwrap_or(f64::NEG_INFINITY);
                    continue;
                }
                let mut m = keys
                    .iter()
                    .map(|&(_, s)| s)
                    .fold(f64::NEG_INFINITY, f64::max);
                if let Some(s) = sink {
                    m = m.max(s);
                }
                let mut den: f64 = keys.iter().map(|&(_, s)| (s - m).exp()).sum();
                if let Some(s) = sink {
                    den += (s - m).exp();
                }
                let o = &mut out[row * self.d_v..][..self.d_v];
                for &(j, s) in &keys {
                    let p = (s - m).exp() / den;
                    let vr = &self.v[(g * self.len_kv + j) * self.d_v..][..self.d_v];
                    for (x, &y) in o.iter_mut().zip(vr) {
                        *x += p * y;
                    }
                }
                lse[row] = m + den.ln();
            }
        }
        (out, lse)
    }

    /// The largest |score| over visible keys (0 when nothing is visible).
    pub fn max_abs_score(&self) -> f64 {
        let mut m = 0.0f64;
        for h in 0..self.heads_q {
            for i in 0..self.len_q {
                for j in 0..self.len_kv {
                    if self.visible(h, i, j) {
                        m = m.max(self.score(h, i, j).abs());
                    }
                }
            }
        }
        m
    }

    /// Whether no query row of any head of key/value group `g` sees key `j`.
    pub fn hidden_from_group(&self, g: usize, j: usize) -> bool {
        let group = self.group();
        (g * group..(g + 1) * group).all(|h| (0..self.len_q).all(|i| !self.visible(h, i, j)))
    }
}

/// Error figures of `got` against `want`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Errors {
    pub max_abs: f64,
    /// Σ(got − want)² / Σ want² (or the plain sum of squares when `want` is all zero).
    pub nmse: f64,
}

pub fn errors(got: &[f64], want: &[f64]) -> Errors {
    assert_eq!(got.len(), want.len());
    let mut max_abs = 0.0f64;
    let (mut num, mut den) = (0.0, 0.0);
    for (&g, &w) in got.iter().zip(want) {
        let d = if g == w { 0.0 } else { (g - w).abs() };
        max_abs = max_abs.max(if d.is_nan() { f64::INFINITY } else { d });
        num += d * d;
        den += w * w;
    }
    let nmse = if den > 0.0 { num / den } else { num };
    Errors {
        max_abs,
        nmse: if nmse.is_nan() { f64::INFINITY } else { nmse },
    }
}
