//! The table of vector leaves the generated code reads: every distinct row once.
//!
//! A random forest classifier's leaves are mostly the same few probability vectors (`[1, 0]` and `[0, 1]` for a
//! pure leaf), so one row per distinct vector instead of one per leaf is most of its flash. Rows are compared
//! by the bits of the values the source states (after the tree's weight), so a tree reading the shared row adds
//! exactly what it added before.

use super::cond;
use super::model::Model;
use std::collections::HashMap;

/// The distinct leaf rows and, per tree, each leaf's row.
pub struct LeafTable {
    /// The distinct rows (values times their tree's weight, in the model's precision), in first-use order.
    pub rows: Vec<Vec<f64>>,
    /// `index[t][l]`: the row of leaf `l` of tree `t`.
    pub index: Vec<Vec<usize>>,
}

impl LeafTable {
    /// The table of `m`'s vector leaves (empty when its leaves are scalars).
    pub fn of(m: &Model) -> LeafTable {
        let mut rows = Vec::new();
        let mut seen: HashMap<Vec<u64>, usize> = HashMap::new();
        let mut index = Vec::with_capacity(m.trees.len());
        for t in &m.trees {
            let mut ix = Vec::new();
            if t.output.is_none() {
                for l in &t.leaves {
                    let row: Vec<f64> = l
                        .values
                        .iter()
                        .map(|&x| cond::weighted(x, t.weight, m.wide))
                        .collect();
                    let key = row.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    let next = rows.len();
                    let r = *seen.entry(key).or_insert(next);
                    if r == next {
                        rows.push(row);
                    }
                    ix.push(r);
                }
            }
            index.push(ix);
        }
        LeafTable { rows, index }
    }

    /// Each row's values as literals (`lit`), comma-separated.
    pub fn lines(&self, lit: impl Fn(f64) -> String) -> Vec<String> {
        self.rows
            .iter()
            .map(|r| r.iter().map(|&x| lit(x)).collect::<Vec<_>>().join(", "))
            .collect()
    }

    /// The narrowest C unsigned type that holds every row index.
    pub fn c_index_type(&self) -> &'static str {
        match self.rows.len() {
            0..=256 => "uint8_t",
            257..=65_536 => "uint16_t",
            _ => "uint32_t",
        }
    }
}
