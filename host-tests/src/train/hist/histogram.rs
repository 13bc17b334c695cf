//! Gradient histograms: for a node, the sums of gradients and hessians of its rows in every bin of every feature.
//!
//! A histogram has one slot per bin of every feature (value bins, then the missing bin; see
//! [`BinnedMatrix::offsets`]), each slot an `f64` pair, as XGBoost's `GradientPairPrecise`. Building one reads
//! each of the node's rows once: its bin of every feature (contiguous in the row-major bin matrix) and its
//! gradient pair, added to `n_features` slots.
//!
//! **Determinism.** Rows are taken in fixed blocks of [`BLOCK_ROWS`] consecutive entries of the node's row list;
//! each block is summed into its own histogram in row order, and the blocks are added in block order. Blocks and
//! nodes run in parallel (rayon), but the arithmetic — and so every bit of the result — depends only on the
//! rows, never on the number of threads. A node of at most one block is summed in plain row order, as XGBoost
//! sums it on one thread.
//!
//! **Subtraction.** The caller builds the histogram of one child of a split (the one with fewer rows) and
//! derives its sibling's as parent − child ([`subtract`]), which halves the work of every level.

use std::ops::{Add, AddAssign, Sub};

use rayon::prelude::*;

use super::bins::BinnedMatrix;
use super::objective::GradPair;

/// Rows per block of a parallel histogram (fixed, so results do not depend on the thread count).
pub const BLOCK_ROWS: usize = 8192;

/// A sum of gradients and hessians in `f64`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C, align(16))]
pub struct GradSum {
    /// Sum of gradients.
    pub g: f64,
    /// Sum of hessians.
    pub h: f64,
}

impl GradSum {
    /// The empty sum.
    pub const ZERO: GradSum = GradSum { g: 0.0, h: 0.0 };

    /// A sum of one pair.
    pub fn of(p: GradPair) -> GradSum {
        GradSum {
            g: p.g as f64,
            h: p.h as f64,
        }
    }
}

impl Add for GradSum {
    type Output = GradSum;
    fn add(self, o: GradSum) -> GradSum {
        GradSum {
            g: self.g + o.g,
            h: self.h + o.h,
        }
    }
}

impl AddAssign for GradSum {
    fn add_assign(&mut self, o: GradSum) {
        self.g += o.g;
        self.h += o.h;
    }
}

impl Sub for GradSum {
    type Output = GradSum;
    fn sub(self, o: GradSum) -> GradSum {
        GradSum {
            g: self.g - o.g,
            h: self.h - o.h,
        }
    }
}

/// How many rows ahead [`accumulate`] prefetches (a node's rows are scattered over the matrix).
const PREFETCH_AHEAD: usize = 12;

/// Hints the CPU to load the cache line at `p` (no effect on other targets; never faults).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 CPU has; a prefetch is a hint that cannot fault or
    // change memory, whatever the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Adds the rows `rows` (indices into the matrix) to `hist`, in order.
#[inline(never)]
fn accumulate(m: &BinnedMatrix, gpair: &[GradPair], rows: &[u32], hist: &mut [GradSum]) {
    let nf = m.n_features();
    let offsets = &m.offsets()[..nf];
    let codes = m.codes();
    assert_eq!(hist.len(), m.n_slots(), "histogram size");
    assert!(gpair.len() >= m.n_rows(), "one gradient pair per row");
    for (i, &r) in rows.iter().enumerate() {
        if let Some(&ahead) = rows.get(i + PREFETCH_AHEAD) {
            let a = ahead as usize;
            prefetch(codes.as_ptr().wrapping_add(a * nf));
            prefetch(codes.as_ptr().wrapping_add(a * nf + nf - 1));
            prefetch(gpair.as_ptr().wrapping_add(a));
        }
        let r = r as usize;
        let p = gpair[r];
        let (g, h) = (p.g as f64, p.h as f64);
        let row = &codes[r * nf..r * nf + nf];
        add_row(row, offsets, hist, g, h);
    }
}

/// Adds the contiguous rows `first .. first + count` to `hist`, in order.
#[inline(never)]
fn accumulate_contiguous(
    m: &BinnedMatrix,
    gpair: &[GradPair],
    first: usize,
    count: usize,
    hist: &mut [GradSum],
) {
    let nf = m.n_features();
    let offsets = &m.offsets()[..nf];
    assert_eq!(hist.len(), m.n_slots(), "histogram size");
    let codes = &m.codes()[first * nf..(first + count) * nf];
    for (row, p) in codes.chunks_exact(nf).zip(&gpair[first..first + count]) {
        add_row(row, offsets, hist, p.g as f64, p.h as f64);
    }
}

/// Adds one row's pair to the slot of each of its bins.
#[inline(always)]
fn add_row(row: &[u8], offsets: &[u32], hist: &mut [GradSum], g: f64, h: f64) {
    debug_assert_eq!(row.len(), offsets.len());
    for (&code, &off) in row.iter().zip(offsets) {
        let s = &mut hist[off as usize + code as usize];
        s.g += g;
        s.h += h;
    }
}

/// Which rows a histogram sums.
#[derive(Clone, Copy, Debug)]
pub enum RowSet<'a> {
    /// These rows (indices into the matrix), in this order.
    List(&'a [u32]),
    /// Every row of the matrix, in order.
    All,
}

impl RowSet<'_> {
    fn len(&self, m: &BinnedMatrix) -> usize {
        match self {
            RowSet::List(r) => r.len(),
            RowSet::All => m.n_rows(),
        }
    }
}

/// Builds histograms with reusable scratch space.
#[derive(Debug, Default)]
pub struct HistBuilder {
    scratch: Vec<GradSum>,
}

impl HistBuilder {
    /// A builder without scratch space yet.
    pub fn new() -> HistBuilder {
        HistBuilder::default()
    }

    /// Overwrites `outs[i]` with the histogram of `sets[i]` for every `i`, in parallel over nodes and fixed
    /// row blocks (see the module documentation). Every `outs[i]` has [`BinnedMatrix::n_slots`] slots.
    pub fn build(
        &mut self,
        m: &BinnedMatrix,
        gpair: &[GradPair],
        sets: &[RowSet<'_>],
        outs: &mut [&mut [GradSum]],
    ) {
        assert_eq!(sets.len(), outs.len(), "one output per row set");
        let n_slots = m.n_slots();
        // Nodes of several blocks sum each block into scratch first.
        let blocks: Vec<usize> = sets
            .iter()
            .map(|s| s.len(m).div_ceil(BLOCK_ROWS).max(1))
            .collect();
        let scratch_hists: usize = blocks.iter().filter(|&&b| b > 1).sum();
        if self.scratch.len() < scratch_hists * n_slots {
            self.scratch.resize(scratch_hists * n_slots, GradSum::ZERO);
        }
        // One task per (node, block): a destination slice, the rows.
        struct Task<'a, 'b> {
            out: &'b mut [GradSum],
            set: RowSet<'a>,
            first: usize,
            count: usize,
        }
        let mut tasks: Vec<Task<'_, '_>> = Vec::new();
        let mut scratch = &mut self.scratch[..scratch_hists * n_slots];
        for ((set, out), &nb) in sets.iter().zip(outs.iter_mut()).zip(&blocks) {
            let len = set.len(m);
            if nb == 1 {
                tasks.push(Task {
                    out: &mut out[..],
                    set: *set,
                    first: 0,
                    count: len,
                });
            } else {
                for b in 0..nb {
                    let (head, rest) = std::mem::take(&mut scratch).split_at_mut(n_slots);
                    scratch = rest;
                    let first = b * BLOCK_ROWS;
                    tasks.push(Task {
                        out: head,
                        set: *set,
                        first,
                        count: BLOCK_ROWS.min(len - first),
                    });
                }
            }
        }
        tasks.into_par_iter().for_each(|t| {
            t.out.fill(GradSum::ZERO);
            match t.set {
                RowSet::List(rows) => {
                    accumulate(m, gpair, &rows[t.first..t.first + t.count], t.out)
                }
                RowSet::All => accumulate_contiguous(m, gpair, t.first, t.count, t.out),
            }
        });
        // Reduce multi-block nodes in block order, in parallel over slot ranges.
        let mut at = 0usize;
        for (out, &nb) in outs.iter_mut().zip(&blocks) {
            if nb == 1 {
                continue;
            }
            let parts = &self.scratch[at * n_slots..(at + nb) * n_slots];
            out.par_chunks_mut(1024).enumerate().for_each(|(c, dst)| {
                let base = c * 1024;
                for (j, d) in dst.iter_mut().enumerate() {
                    let mut s = parts[base + j];
                    for b in 1..nb {
                        s += parts[b * n_slots + base + j];
                    }
                    *d = s;
                }
            });
            at += nb;
        }
    }
}

/// `out = parent − child`, slot by slot.
pub fn subtract(parent: &[GradSum], child: &[GradSum], out: &mut [GradSum]) {
    for ((o, p), c) in out.iter_mut().zip(parent).zip(child) {
        *o = *p - *c;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(n: usize) -> (BinnedMatrix, Vec<GradPair>) {
        let a: Vec<f32> = (0..n).map(|i| (i % 7) as f32).collect();
        let b: Vec<f32> = (0..n)
            .map(|i| if i % 5 == 0 { f32::NAN } else { (i % 3) as f32 })
            .collect();
        let names = vec!["a".to_string(), "b".to_string()];
        let m = BinnedMatrix::build(&[&a, &b], &[false, false], &names, None, 256).unwrap();
        let g = (0..n)
            .map(|i| GradPair {
                g: (i as f32 * 0.37).sin(),
                h: 1.0 + (i % 4) as f32 * 0.25,
            })
            .collect();
        (m, g)
    }

    #[test]
    fn histograms_sum_rows_and_do_not_depend_on_threads() {
        let n = 3 * BLOCK_ROWS + 77;
        let (m, g) = matrix(n);
        let rows: Vec<u32> = (0..n as u32).filter(|r| r % 3 != 1).collect();
        let mut naive = vec![GradSum::ZERO; m.n_slots()];
        for &r in &rows {
            for (f, &c) in m.row(r as usize).iter().enumerate() {
                naive[m.offsets()[f] as usize + c as usize] += GradSum::of(g[r as usize]);
            }
        }
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut b = HistBuilder::new();
                let mut h1 = vec![GradSum::ZERO; m.n_slots()];
                let mut h2 = vec![GradSum::ZERO; m.n_slots()];
                let small: Vec<u32> = rows[..100].to_vec();
                b.build(
                    &m,
                    &g,
                    &[RowSet::List(&rows), RowSet::List(&small)],
                    &mut [&mut h1, &mut h2],
                );
                (h1, h2)
            })
        };
        let (a1, a2) = run(1);
        let (b1, b2) = run(3);
        assert_eq!(a1, b1);
        assert_eq!(a2, b2);
        for (x, y) in a1.iter().zip(&naive) {
            assert!((x.g - y.g).abs() < 1e-9 && (x.h - y.h).abs() < 1e-9);
        }
        // Missing values land in feature b's missing slot.
        let miss = m.offsets()[2] as usize - 1;
        let expect: f64 = rows
            .iter()
            .filter(|&&r| r % 5 == 0)
            .map(|&r| g[r as usize].h as f64)
            .sum();
        assert!((a1[miss].h - expect).abs() < 1e-9);
        // All rows, contiguous, equal the list of all rows.
        let all: Vec<u32> = (0..n as u32).collect();
        let mut h1 = vec![GradSum::ZERO; m.n_slots()];
        let mut h2 = vec![GradSum::ZERO; m.n_slots()];
        HistBuilder::new().build(
            &m,
            &g,
            &[RowSet::All, RowSet::List(&all)],
            &mut [&mut h1, &mut h2],
        );
        assert_eq!(h1, h2);
        let mut d = vec![GradSum::ZERO; m.n_slots()];
        subtract(&h1, &a1, &mut d);
        assert!((d[0].h + a1[0].h - h1[0].h).abs() < 1e-9);
    }
}
