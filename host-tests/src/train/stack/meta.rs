//! The meta-learner: an L2-regularized linear model over the base models' outputs, in f64.
//!
//! - Classification: logistic regression, binary (one margin, the sigmoid link) or multinomial (one margin per
//!   class, the softmax link), minimizing `C · Σᵢ sᵢ · ℓᵢ + ½‖W‖²` with the intercepts unpenalized — the
//!   problem scikit-learn's `LogisticRegression(C=C)` solves (its default `lbfgs` solver stops at `tol=1e-4`;
//!   we solve to convergence). `ℓᵢ` is the log-loss of row `i`, `sᵢ` its sample weight (1 without weights).
//!   Solved by Newton's method with a backtracking line search: the problems are small (the features are the
//!   base models' outputs), so the full Hessian is cheap. The multinomial model is over-parameterized (adding
//!   the same vector to every class's coefficients changes nothing); we keep the representative scikit-learn's
//!   penalty selects — every feature's coefficients sum to zero over the classes — and center the intercepts
//!   (which the penalty leaves free) to sum to zero.
//! - Regression: ridge regression, minimizing `Σᵢ sᵢ (yᵢ − w·xᵢ − b)² + ‖w‖² / C` (scikit-learn's
//!   `Ridge(alpha=1/C)`), solved in closed form on weight-centered data; `C = ∞` is ordinary least squares.

/// How a meta-model's margins become predictions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// The margin is the prediction (regression).
    Identity,
    /// One margin, `P(class 1) = 1 / (1 + e^−m)` (binary classification).
    Sigmoid,
    /// One margin per class, probabilities by softmax (multi-class).
    Softmax,
}

/// A fitted linear meta-model: `margin = coef · z + intercept`, then the link.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearMeta {
    /// One row of coefficients per margin, each as long as the input.
    pub coef: Vec<Vec<f64>>,
    /// One intercept per margin.
    pub intercept: Vec<f64>,
    /// The link.
    pub link: Link,
    /// Newton iterations taken (0 for the closed-form ridge).
    pub iterations: usize,
}

impl LinearMeta {
    /// The margins for input `z`.
    pub fn margin(&self, z: &[f64]) -> Vec<f64> {
        self.coef
            .iter()
            .zip(&self.intercept)
            .map(|(w, b)| b + w.iter().zip(z).map(|(w, x)| w * x).sum::<f64>())
            .collect()
    }

    /// The prediction for input `z`: the regression value, `P(class 1)`, or the class probabilities.
    pub fn predict(&self, z: &[f64]) -> Vec<f64> {
        let m = self.margin(z);
        match self.link {
            Link::Identity => m,
            Link::Sigmoid => vec![sigmoid(m[0])],
            Link::Softmax => softmax(&m),
        }
    }
}

fn sigmoid(m: f64) -> f64 {
    1.0 / (1.0 + (-m).exp())
}

fn softmax(m: &[f64]) -> Vec<f64> {
    let max = m.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = m.iter().map(|v| (v - max).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// `ln(1 + e^m)` without overflow.
fn softplus(m: f64) -> f64 {
    m.max(0.0) + (-m.abs()).exp().ln_1p()
}

/// The rows of a design matrix: `x` is row-major, `n × p`.
struct Design<'a> {
    x: &'a [f64],
    p: usize,
    n: usize,
}

impl<'a> Design<'a> {
    fn new(x: &'a [f64], p: usize, n: usize) -> Result<Design<'a>, String> {
        if x.len() != n * p {
            return Err(format!(
                "{} meta inputs for {n} rows × {p} features",
                x.len()
            ));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "meta input row {}, feature {} is not finite",
                i / p.max(1),
                i % p.max(1)
            ));
        }
        Ok(Design { x, p, n })
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.p..(i + 1) * self.p]
    }
}

fn check_weights(w: Option<&[f64]>, n: usize) -> Result<Vec<f64>, String> {
    match w {
        None => Ok(vec![1.0; n]),
        Some(w) if w.len() != n => Err(format!("{} sample weights for {n} rows", w.len())),
        Some(w) => {
            if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(format!(
                    "sample weight of row {i} is negative or not finite"
                ));
            }
            Ok(w.to_vec())
        }
    }
}

fn penalty_of(c: f64) -> Result<f64, String> {
    if c.is_nan() || c <= 0.0 {
        return Err(format!(
            "--meta-c {c}: expected a positive number (inf for no penalty)"
        ));
    }
    Ok(if c.is_infinite() { 0.0 } else { 1.0 / c })
}

/// Solves `a · x = b` for symmetric positive definite `a` (`n × n`, row-major) by Cholesky; `b` becomes `x`.
/// `None` when `a` is not positive definite.
fn cholesky_solve(a: &[f64], n: usize, b: &mut [f64]) -> Option<()> {
    let mut l = vec![0.0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * n + k] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= l[k * n + i] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
    Some(())
}

/// Logistic regression state: parameters `theta[k·(p+1) + j]` (coefficient `j < p` of margin `k`, then its
/// intercept at `j = p`).
struct Logistic<'a> {
    d: Design<'a>,
    y: &'a [usize],
    s: Vec<f64>,
    n_out: usize,
    lambda: f64,
}

impl Logistic<'_> {
    fn dim(&self) -> usize {
        self.n_out * (self.d.p + 1)
    }

    fn margins(&self, theta: &[f64], i: usize, eta: &mut [f64]) {
        let p = self.d.p;
        let x = self.d.row(i);
        for (k, e) in eta.iter_mut().enumerate() {
            let t = &theta[k * (p + 1)..(k + 1) * (p + 1)];
            *e = t[p] + t[..p].iter().zip(x).map(|(w, v)| w * v).sum::<f64>();
        }
    }

    fn penalty(&self, theta: &[f64]) -> f64 {
        let p = self.d.p;
        let mut r = 0.0;
        for k in 0..self.n_out {
            r += theta[k * (p + 1)..k * (p + 1) + p]
                .iter()
                .map(|v| v * v)
                .sum::<f64>();
        }
        0.5 * self.lambda * r
    }

    /// The objective `Σ sᵢ ℓᵢ + λ/2 ‖W‖²` (the scaled form of `C Σ sᵢ ℓᵢ + ½‖W‖²`, λ = 1/C).
    fn objective(&self, theta: &[f64]) -> f64 {
        let mut eta = vec![0.0; self.n_out];
        let mut f = 0.0;
        for i in 0..self.d.n {
            self.margins(theta, i, &mut eta);
            let l = if self.n_out == 1 {
                softplus(eta[0]) - if self.y[i] == 1 { eta[0] } else { 0.0 }
            } else {
                let max = eta.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let lse = max + eta.iter().map(|e| (e - max).exp()).sum::<f64>().ln();
                lse - eta[self.y[i]]
            };
            f += self.s[i] * l;
        }
        f + self.penalty(theta)
    }

    /// Gradient and Hessian (row-major `dim × dim`).
    fn derivatives(&self, theta: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (p, q, m) = (self.d.p, self.d.p + 1, self.dim());
        let mut g = vec![0.0; m];
        let mut h = vec![0.0; m * m];
        let mut eta = vec![0.0; self.n_out];
        let mut xt = vec![1.0; q];
        let mut gk = vec![0.0; self.n_out];
        let mut hk = vec![0.0; self.n_out * self.n_out];
        for i in 0..self.d.n {
            self.margins(theta, i, &mut eta);
            xt[..p].copy_from_slice(self.d.row(i));
            if self.n_out == 1 {
                let mu = sigmoid(eta[0]);
                gk[0] = mu - if self.y[i] == 1 { 1.0 } else { 0.0 };
                hk[0] = mu * (1.0 - mu);
            } else {
                let pr = softmax(&eta);
                for k in 0..self.n_out {
                    gk[k] = pr[k] - if self.y[i] == k { 1.0 } else { 0.0 };
                    for l in 0..self.n_out {
                        hk[k * self.n_out + l] = if k == l { pr[k] } else { 0.0 } - pr[k] * pr[l];
                    }
                }
            }
            let s = self.s[i];
            for k in 0..self.n_out {
                for (j, &xj) in xt.iter().enumerate() {
                    g[k * q + j] += s * gk[k] * xj;
                }
                for l in 0..self.n_out {
                    let c = s * hk[k * self.n_out + l];
                    if c == 0.0 {
                        continue;
                    }
                    for (j, &xj) in xt.iter().enumerate() {
                        let row = (k * q + j) * m + l * q;
                        for (mm, &xm) in xt.iter().enumerate() {
                            h[row + mm] += c * xj * xm;
                        }
                    }
                }
            }
        }
        for k in 0..self.n_out {
            for j in 0..p {
                let a = k * q + j;
                g[a] += self.lambda * theta[a];
                h[a * m + a] += self.lambda;
            }
        }
        (g, h)
    }

    /// Multinomial models: every feature's coefficients and the intercepts centered over the classes (the loss
    /// does not change; the penalty can only drop).
    fn center(&self, theta: &mut [f64]) {
        if self.n_out == 1 {
            return;
        }
        let q = self.d.p + 1;
        for j in 0..q {
            let mean = (0..self.n_out).map(|k| theta[k * q + j]).sum::<f64>() / self.n_out as f64;
            for k in 0..self.n_out {
                theta[k * q + j] -= mean;
            }
        }
    }
}

/// Newton iterations at most.
const MAX_NEWTON: usize = 200;

/// Fits logistic regression to rows `x` (row-major, `p` features) and class indices `y` (below `n_classes`),
/// with sample weights `w` and inverse regularization strength `c` (`f64::INFINITY`: none).
pub fn fit_logistic(
    x: &[f64],
    p: usize,
    y: &[usize],
    n_classes: usize,
    w: Option<&[f64]>,
    c: f64,
) -> Result<LinearMeta, String> {
    let n = y.len();
    let d = Design::new(x, p, n)?;
    if n_classes < 2 {
        return Err(format!(
            "logistic regression needs 2 or more classes, got {n_classes}"
        ));
    }
    if let Some(i) = y.iter().position(|&v| v >= n_classes) {
        return Err(format!("row {i}: class {} ≥ {n_classes}", y[i]));
    }
    let s = check_weights(w, n)?;
    let lambda = penalty_of(c)?;
    let n_out = if n_classes == 2 { 1 } else { n_classes };
    let problem = Logistic {
        d,
        y,
        s,
        n_out,
        lambda,
    };
    let m = problem.dim();
    let total: f64 = problem.s.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return Err("the sample weights sum to zero".into());
    }
    let mut theta = vec![0.0; m];
    let mut f = problem.objective(&theta);
    let mut iterations = 0;
    let tol = 1e-12 * total.max(1.0);
    loop {
        let (g, mut h) = problem.derivatives(&theta);
        let gmax = g.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        if gmax <= tol {
            break;
        }
        if iterations == MAX_NEWTON {
            if gmax <= 1e-7 * total.max(1.0) {
                break;
            }
            return Err(format!(
                "logistic regression did not converge in {MAX_NEWTON} Newton steps (gradient {gmax:.3e}); \
                 the classes may be separable by the base models' outputs: give a finite --meta-c"
            ));
        }
        iterations += 1;
        // A tiny ridge keeps the step defined along directions the loss ignores (the multinomial intercepts'
        // common shift); the gradient has no component there, so neither has the step.
        let scale = (0..m).map(|a| h[a * m + a]).fold(1.0f64, f64::max);
        for a in 0..m {
            h[a * m + a] += 1e-12 * scale;
        }
        let mut step: Vec<f64> = g.iter().map(|v| -v).collect();
        cholesky_solve(&h, m, &mut step)
            .ok_or("logistic regression: the Hessian is not positive definite")?;
        let slope: f64 = g.iter().zip(&step).map(|(a, b)| a * b).sum();
        // Near the optimum the decrease is below the objective's rounding: take the full Newton step.
        if -slope <= 1e-12 * f.abs().max(1.0) {
            for (a, b) in theta.iter_mut().zip(&step) {
                *a += b;
            }
            problem.center(&mut theta);
            f = problem.objective(&theta);
            continue;
        }
        let mut t = 1.0;
        let mut accepted = false;
        while t > 1e-12 {
            let mut trial: Vec<f64> = theta.iter().zip(&step).map(|(a, b)| a + t * b).collect();
            problem.center(&mut trial);
            let ft = problem.objective(&trial);
            if ft <= f + 1e-4 * t * slope {
                theta = trial;
                f = ft;
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted {
            // No further decrease is representable: converged to rounding.
            if gmax <= 1e-7 * total.max(1.0) {
                break;
            }
            return Err(format!(
                "logistic regression stalled with gradient {gmax:.3e} (no step decreases the loss)"
            ));
        }
    }
    let q = p + 1;
    Ok(LinearMeta {
        coef: (0..n_out)
            .map(|k| theta[k * q..k * q + p].to_vec())
            .collect(),
        intercept: (0..n_out).map(|k| theta[k * q + p]).collect(),
        link: if n_out == 1 {
            Link::Sigmoid
        } else {
            Link::Softmax
        },
        iterations,
    })
}

/// Fits ridge regression (`Ridge(alpha = 1/c)`, intercept unpenalized) to rows `x` (row-major, `p` features)
/// and targets `y`, with sample weights `w`; `c = ∞` is ordinary least squares.
pub fn fit_ridge(
    x: &[f64],
    p: usize,
    y: &[f64],
    w: Option<&[f64]>,
    c: f64,
) -> Result<LinearMeta, String> {
    let n = y.len();
    let d = Design::new(x, p, n)?;
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(format!("row {i}: the target is not finite"));
    }
    let s = check_weights(w, n)?;
    let lambda = penalty_of(c)?;
    let total: f64 = s.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return Err("the sample weights sum to zero".into());
    }
    let mut mean = vec![0.0; p];
    let mut ymean = 0.0;
    for i in 0..n {
        for (m, v) in mean.iter_mut().zip(d.row(i)) {
            *m += s[i] * v;
        }
        ymean += s[i] * y[i];
    }
    mean.iter_mut().for_each(|m| *m /= total);
    ymean /= total;
    let mut a = vec![0.0; p * p];
    let mut coef = vec![0.0; p];
    for i in 0..n {
        let xc: Vec<f64> = d.row(i).iter().zip(&mean).map(|(v, m)| v - m).collect();
        let yc = y[i] - ymean;
        for j in 0..p {
            coef[j] += s[i] * xc[j] * yc;
            for k in 0..p {
                a[j * p + k] += s[i] * xc[j] * xc[k];
            }
        }
    }
    for j in 0..p {
        a[j * p + j] += lambda;
    }
    cholesky_solve(&a, p, &mut coef).ok_or(
        "ridge regression: the meta inputs are collinear (a base model's outputs repeat another's); give a \
         finite --meta-c",
    )?;
    let intercept = ymean - coef.iter().zip(&mean).map(|(w, m)| w * m).sum::<f64>();
    Ok(LinearMeta {
        coef: vec![coef],
        intercept: vec![intercept],
        link: Link::Identity,
        iterations: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows on a grid with labels from a noisy linear rule (deterministic).
    fn toy(n: usize, k: usize) -> (Vec<f64>, Vec<usize>) {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let a = (i as f64 * 0.37).sin() * 2.0;
            let b = (i as f64 * 0.11).cos() * 3.0;
            x.extend([a, b]);
            let score = a + 0.5 * b + (i as f64 * 1.7).sin();
            y.push(((score + 3.0) / 6.0 * k as f64).clamp(0.0, k as f64 - 1.0) as usize);
        }
        (x, y)
    }

    /// The gradient of the objective at the solution is zero, checked by finite differences of the objective.
    #[test]
    fn logistic_solution_is_stationary() {
        for k in [2, 3] {
            let (x, y) = toy(120, k);
            let m = fit_logistic(&x, 2, &y, k, None, 0.7).unwrap();
            let problem = Logistic {
                d: Design::new(&x, 2, y.len()).unwrap(),
                y: &y,
                s: vec![1.0; y.len()],
                n_out: m.coef.len(),
                lambda: 1.0 / 0.7,
            };
            let mut theta = Vec::new();
            for (w, b) in m.coef.iter().zip(&m.intercept) {
                theta.extend(w);
                theta.push(*b);
            }
            let f0 = problem.objective(&theta);
            for a in 0..theta.len() {
                let h = 1e-5;
                let mut t = theta.clone();
                t[a] += h;
                let up = problem.objective(&t);
                t[a] -= 2.0 * h;
                let down = problem.objective(&t);
                assert!(
                    ((up - down) / (2.0 * h)).abs() < 1e-6,
                    "k {k}, parameter {a}"
                );
                assert!(up >= f0 - 1e-9 && down >= f0 - 1e-9);
            }
            if k > 2 {
                for j in 0..2 {
                    let s: f64 = m.coef.iter().map(|w| w[j]).sum();
                    assert!(s.abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn ridge_with_no_penalty_is_least_squares() {
        let x: Vec<f64> = (0..30)
            .flat_map(|i| [i as f64, ((i * i) % 7) as f64])
            .collect();
        let y: Vec<f64> = (0..30)
            .map(|i| 2.0 * i as f64 - 3.0 * ((i * i) % 7) as f64 + 5.0)
            .collect();
        let m = fit_ridge(&x, 2, &y, None, f64::INFINITY).unwrap();
        assert!((m.coef[0][0] - 2.0).abs() < 1e-10);
        assert!((m.coef[0][1] + 3.0).abs() < 1e-10);
        assert!((m.intercept[0] - 5.0).abs() < 1e-9);
        // A penalty shrinks the coefficients.
        let r = fit_ridge(&x, 2, &y, None, 0.001).unwrap();
        assert!(r.coef[0][0].abs() < 2.0);
    }

    #[test]
    fn weights_act_as_repetition() {
        let (x, y) = toy(40, 2);
        let w: Vec<f64> = (0..40).map(|i| (i % 3) as f64).collect();
        let mut xr = Vec::new();
        let mut yr = Vec::new();
        for i in 0..40 {
            for _ in 0..(i % 3) {
                xr.extend(&x[2 * i..2 * i + 2]);
                yr.push(y[i]);
            }
        }
        let a = fit_logistic(&x, 2, &y, 2, Some(&w), 2.0).unwrap();
        let b = fit_logistic(&xr, 2, &yr, 2, None, 2.0).unwrap();
        for (u, v) in a.coef[0].iter().zip(&b.coef[0]) {
            assert!((u - v).abs() < 1e-9);
        }
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(fit_logistic(&[1.0, f64::NAN], 1, &[0, 1], 2, None, 1.0).is_err());
        assert!(fit_logistic(&[1.0, 2.0], 1, &[0, 1], 2, None, 0.0).is_err());
        assert!(fit_ridge(&[1.0, 1.0, 1.0], 1, &[1.0, 2.0, 3.0], None, f64::INFINITY).is_err());
    }
}
