//! Integer comparisons for generated code on cores without an FPU (and, in Rust, the size form).
//!
//! A float test on a Cortex-M with an FPU loads the threshold from a literal pool, compares (`vcmpe`) and copies
//! the FPU's flags to the core (`vmrs`) before it branches: about 22 bytes a node. Mapped once per row to integer
//! keys that order as the floats do, the same test is an integer load, a literal and `cmp`: about 12 bytes. The
//! mapping costs a few instructions per feature and per prediction, so the generated header uses it for software
//! floating point and float tests otherwise (ranks, [`ranks`](super::ranks), when compiling for size); a macro
//! chooses any way.
//!
//! The key of a float with bits `b` is `b & 0x7fffffff`, negated when the sign bit is set: -0.0 and 0.0 share
//! the key 0, and for any two non-NaN floats `x < y` exactly when `key(x) < key(y)` (and `<=` alike). Keys of
//! non-NaN floats lie in `[-0x7f800000, 0x7f800000]`, so a NaN is given `INT32_MAX` in the row's "NaN goes
//! right" keys (it fails every `<` and `<=` test against a threshold's key) and `INT32_MIN` in its "NaN goes
//! left" keys (it passes every one). Every decision is the float test's, for every f32 including NaNs of either
//! sign and any payload.

use emkern::forest::Compare;

use super::cond::{self, Cond};
use super::model::{Model, Test};

/// Which key arrays a model's tests read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyUse {
    /// Some test sends NaN right (reads `kr`).
    pub right: bool,
    /// Some test sends NaN left (reads `kl`).
    pub left: bool,
}

impl KeyUse {
    /// The key arrays `m`'s trees need, or `None` when some test is not a plain threshold test (categorical
    /// sets, LightGBM's zero band), a threshold is NaN, a leaf is linear (it reads the floats), the model keeps
    /// f64 values, or there is no test at all.
    pub fn of(m: &Model) -> Option<KeyUse> {
        if m.wide {
            return None;
        }
        let mut used = KeyUse {
            right: false,
            left: false,
        };
        for t in &m.trees {
            if t.leaves.iter().any(|l| l.linear.is_some()) {
                return None;
            }
            for node in &t.nodes {
                if let Test::Numeric { threshold, .. } = node.test
                    && threshold.is_nan()
                {
                    return None;
                }
                match cond::condition(m, node) {
                    Cond::Numeric {
                        nan_left,
                        zero_band: None,
                        ..
                    } => {
                        if nan_left {
                            used.left = true;
                        } else {
                            used.right = true;
                        }
                    }
                    _ => return None,
                }
            }
        }
        (used.left || used.right).then_some(used)
    }

    /// The parameter list of a tree function.
    pub fn params(self) -> String {
        self.names()
            .iter()
            .map(|n| format!("const int32_t *{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The argument list of a call to a tree function.
    pub fn args(self) -> String {
        self.names().join(", ")
    }

    /// The arrays' names, `kr` before `kl`.
    pub fn names(self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.right {
            v.push("kr");
        }
        if self.left {
            v.push("kl");
        }
        v
    }
}

/// The test `x[feature] < threshold` (or `<=`) on the row's keys: `kr` when a NaN goes right, `kl` when it goes
/// left; the same text in C and Rust.
pub fn test(feature: usize, compare: Compare, threshold: f32, nan_left: bool) -> String {
    let (k, op) = match (nan_left, compare) {
        (false, Compare::Less) => ("kr", "<"),
        (false, Compare::LessEqual) => ("kr", "<="),
        (true, Compare::Less) => ("kl", "<"),
        (true, Compare::LessEqual) => ("kl", "<="),
    };
    format!("{k}[{feature}] {op} {}", key(threshold))
}

/// The key of a non-NaN float (see the module's documentation).
pub fn key(x: f32) -> i32 {
    let b = x.to_bits();
    let k = (b & 0x7fff_ffff) as i32;
    if b >> 31 == 1 { -k } else { k }
}

#[cfg(test)]
mod tests {
    use super::key;

    #[test]
    fn keys_order_as_the_floats() {
        let mut v = vec![
            f32::NEG_INFINITY,
            -f32::MAX,
            -1.5,
            -1.0,
            -f32::MIN_POSITIVE,
            -1.0e-45,
            -0.0,
            0.0,
            1.0e-45,
            f32::MIN_POSITIVE,
            0.1,
            1.0,
            3.0e38,
            f32::MAX,
            f32::INFINITY,
        ];
        let mut x = 0x1234_5678u32;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let f = f32::from_bits(x);
            if !f.is_nan() {
                v.push(f);
            }
        }
        for &a in &v {
            for &b in v.iter().step_by(7) {
                assert_eq!(a < b, key(a) < key(b), "{a:e} < {b:e}");
                assert_eq!(a <= b, key(a) <= key(b), "{a:e} <= {b:e}");
                assert!(key(a) > i32::MIN && key(a) < i32::MAX);
            }
        }
    }
}
