//! `emkern medusa-tree` and `emkern medusa-accept`: Medusa-style speculative decoding through the no_std core
//! (`emkern::speculative`), with inputs and outputs in the Medusa reference's conventions
//! (FasterDecoding/Medusa, `medusa/model/utils.py`) so that results compare directly.
//!
//! - `medusa-tree --choices '[[0],[0,0],[1]]' [--topk 10] [--max-depth D] [--out tree.json]` writes the buffers of
//!   `generate_medusa_buffers` as JSON: `attn_mask` (`N×N` rows of 0/1), `tree_indices`, `position_ids` and
//!   `retrieve_indices` (rows padded with −1).
//! - `medusa-accept --logits l.npy --candidates c.npy [--temperature T] [--posterior-threshold E]
//!   [--posterior-alpha A] [--entropy reference|exact]` judges the candidates as `evaluate_posterior` does
//!   (its deterministic path) and prints `{"best_candidate": i, "accept_length": n}`. `l.npy` is
//!   `[candidates, length, vocab]` f32 or f64 (f64 values are rounded to f32), `c.npy` is `[candidates, length]`
//!   of non-negative integers; logits `[c, p]` judge token `[c, p + 1]`.

use std::error::Error;
use std::path::{Path, PathBuf};

use emkern::speculative::accept::{self, AcceptError, Entropy, Logits, Rule, Typical};
use emkern::speculative::{Choices, Tree, TreeConfig, TreeError};
use emkern_simd::Simd;
use serde_json::{Value, json};

use crate::io::npy;
use crate::speculative::choices::MC_SIM_7B_63;

/// The arguments of `emkern medusa-tree`.
#[derive(Clone, Debug, clap::Args)]
pub struct TreeRequest {
    /// The candidate paths as a JSON list of lists of top-k indices, e.g. `[[0],[0,0],[1]]` (or `mc_sim_7b_63`).
    #[arg(long)]
    pub choices: String,
    /// Top-k entries per Medusa head (the stride of the tree indices).
    #[arg(long, default_value_t = emkern::speculative::DEFAULT_TOPK)]
    pub topk: u16,
    /// The longest path allowed (normally the number of Medusa heads; default: no limit beyond 63).
    #[arg(long)]
    pub max_depth: Option<usize>,
    /// Output JSON file (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Entropy variant on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EntropyArg {
    /// The reference's `-Σ p·ln(p + 1e-5)`.
    Reference,
    /// The exact entropy `-Σ p·ln p` (one streaming pass).
    Exact,
}

/// The arguments of `emkern medusa-accept`.
#[derive(Clone, Debug, clap::Args)]
pub struct AcceptRequest {
    /// Logits `[candidates, length, vocab]` (f32 or f64).
    #[arg(long)]
    pub logits: PathBuf,
    /// Candidate tokens `[candidates, length]` (integers).
    #[arg(long)]
    pub candidates: PathBuf,
    /// Softmax temperature; 0 selects greedy acceptance.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Typical acceptance: the threshold's upper bound ε.
    #[arg(long, default_value_t = accept::POSTERIOR_THRESHOLD)]
    pub posterior_threshold: f32,
    /// Typical acceptance: the factor α of e^(−H).
    #[arg(long, default_value_t = accept::POSTERIOR_ALPHA)]
    pub posterior_alpha: f32,
    /// Which entropy the typical threshold uses.
    #[arg(long, value_enum, default_value_t = EntropyArg::Reference)]
    pub entropy: EntropyArg,
}

/// Parses `--choices`: a JSON list of lists of integers in `0..65536`, or the name `mc_sim_7b_63`.
pub fn parse_choices(text: &str) -> Result<Vec<Vec<u16>>, String> {
    if text.trim() == "mc_sim_7b_63" {
        return Ok(MC_SIM_7B_63.iter().map(|p| p.to_vec()).collect());
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("--choices: not valid JSON: {e}"))?;
    let list = value
        .as_array()
        .ok_or("--choices: expected a JSON list of paths, e.g. [[0],[0,0],[1]]")?;
    list.iter()
        .enumerate()
        .map(|(i, path)| {
            let bad = || {
                format!("--choices: element {i} ({path}) must be a list of integers in 0..65536")
            };
            path.as_array()
                .ok_or_else(bad)?
                .iter()
                .map(|v| {
                    v.as_u64()
                        .and_then(|v| u16::try_from(v).ok())
                        .ok_or_else(bad)
                })
                .collect()
        })
        .collect()
}

/// The tree of `choices`, with errors that quote the offending path.
pub fn build_tree(choices: &[Vec<u16>], config: TreeConfig) -> Result<Tree, String> {
    let paths: Vec<&[u16]> = choices.iter().map(Vec::as_slice).collect();
    Tree::new(Choices::Paths(&paths), config).map_err(|e| {
        let show = |i: usize| format!("{:?}", choices.get(i).map(Vec::as_slice).unwrap_or(&[]));
        let detail = match e {
            TreeError::EmptyPath { choice } => format!("element {choice} is an empty path"),
            TreeError::TooDeep {
                choice,
                depth,
                limit,
            } => format!(
                "element {choice} {} has {depth} entries, more than --max-depth {limit}",
                show(choice)
            ),
            TreeError::TopkIndex {
                choice,
                value,
                topk,
            } => format!(
                "element {choice} {} holds {value}, not below --topk {topk}",
                show(choice)
            ),
            TreeError::Duplicate { choice, first } => {
                format!("element {choice} {} repeats element {first}", show(choice))
            }
            TreeError::MissingParent { choice } => {
                let p = choices.get(choice).map(Vec::as_slice).unwrap_or(&[]);
                format!(
                    "element {choice} {}: its parent {:?} is not among the choices",
                    show(choice),
                    p.get(..p.len().saturating_sub(1)).unwrap_or(&[])
                )
            }
            other => other.to_string(),
        };
        format!("--choices: {detail}")
    })
}

/// The reference's buffers as JSON: `attn_mask`, `tree_indices`, `position_ids`, `retrieve_indices`.
pub fn tree_json(tree: &Tree) -> Result<Value, TreeError> {
    let n = tree.len();
    let mask: Vec<Vec<u8>> = tree
        .ancestors()
        .iter()
        .map(|&bits| (0..n).map(|u| ((bits >> u) & 1) as u8).collect())
        .collect();
    let width = tree.retrieve_width();
    let mut retrieve = vec![0i32; tree.num_leaves() * width];
    tree.retrieve_indices(&mut retrieve)?;
    let retrieve: Vec<Vec<i32>> = retrieve.chunks(width).map(<[i32]>::to_vec).collect();
    Ok(json!({
        "attn_mask": mask,
        "tree_indices": tree.tree_indices(),
        "position_ids": tree.depths(),
        "retrieve_indices": retrieve,
    }))
}

/// Runs `emkern medusa-tree`.
pub fn run_tree(req: &TreeRequest) -> Result<(), Box<dyn Error>> {
    let choices = parse_choices(&req.choices)?;
    let config = TreeConfig::new(
        req.topk,
        req.max_depth.unwrap_or(TreeConfig::DEFAULT.max_depth),
    );
    let tree = build_tree(&choices, config)?;
    let text = format!("{}\n", tree_json(&tree)?);
    match &req.out {
        Some(path) => {
            let out = crate::output::Outputs::plan(&[("--out", path.as_path())], &[])?;
            out.write(path, text.as_bytes())?;
            out.commit()?;
        }
        None => crate::output::print(&text)?,
    }
    Ok(())
}

/// The acceptance rule the arguments describe, or an error naming the flag.
pub fn rule(req: &AcceptRequest) -> Result<Rule, String> {
    let t = req.temperature;
    if !(t.is_finite() && t >= 0.0) {
        return Err(format!(
            "--temperature {t}: must be finite and non-negative"
        ));
    }
    if t == 0.0 {
        return Ok(Rule::Greedy);
    }
    if !(1.0 / t).is_finite() {
        return Err(format!("--temperature {t}: too small"));
    }
    let e = req.posterior_threshold;
    if !(e.is_finite() && e >= 0.0) {
        return Err(format!(
            "--posterior-threshold {e}: must be finite and non-negative"
        ));
    }
    let a = req.posterior_alpha;
    if !(a.is_finite() && a >= 0.0) {
        return Err(format!(
            "--posterior-alpha {a}: must be finite and non-negative"
        ));
    }
    Ok(Rule::Typical(Typical {
        temperature: t,
        posterior_threshold: e,
        posterior_alpha: a,
        entropy: match req.entropy {
            EntropyArg::Reference => Entropy::Reference,
            EntropyArg::Exact => Entropy::Exact,
        },
    }))
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// Runs the acceptance of `emkern medusa-accept` and returns `(best_candidate, accept_length)`.
pub fn accept(req: &AcceptRequest) -> Result<(usize, usize), Box<dyn Error>> {
    let rule = rule(req)?;
    let logits = npy::read(&req.logits)?;
    if logits.dtype == npy::Dtype::Bool {
        return Err(format!("{}: logits must be floats, not bools", shown(&req.logits)).into());
    }
    let [c, l, vocab] = logits.shape[..] else {
        return Err(format!(
            "{}: logits must be [candidates, length, vocab], got shape {:?}",
            shown(&req.logits),
            logits.shape
        )
        .into());
    };
    let (cshape, tokens) = npy::read_u64(&req.candidates)?;
    if cshape != [c, l] {
        return Err(format!(
            "{}: candidates have shape {cshape:?}, the logits [{c}, {l}, {vocab}] need [{c}, {l}]",
            shown(&req.candidates)
        )
        .into());
    }
    if vocab == 0 || l == 0 {
        return Err(format!(
            "{}: logits shape {:?} has an empty vocabulary or length",
            shown(&req.logits),
            logits.shape
        )
        .into());
    }
    let tokens: Vec<u32> = tokens
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            u32::try_from(t).map_err(|_| {
                format!(
                    "{}: candidate {}, position {}: token {t} is too large",
                    shown(&req.candidates),
                    i / l,
                    i % l
                )
            })
        })
        .collect::<Result<_, _>>()?;
    if c == 0 {
        return Err(format!(
            "{}: logits shape {:?} has no candidates: there is nothing to accept",
            shown(&req.logits),
            logits.shape
        )
        .into());
    }
    let site = |row: usize| format!("candidate {}, position {}", row / l, row % l);
    let decision = accept::evaluate(
        Simd::best(),
        &rule,
        &tokens,
        l,
        Logits::new(&logits.values, vocab),
    )
    .map_err(|e| match e {
        AcceptError::TokenOutOfRange {
            index,
            token,
            vocab,
        } => format!(
            "{}: {}: token {token} is not below the vocabulary size {vocab}",
            shown(&req.candidates),
            site(index)
        ),
        AcceptError::NonFiniteLogit { row } => format!(
            "{}: {}: the logits hold NaN{}",
            shown(&req.logits),
            site(row),
            if matches!(rule, Rule::Greedy) {
                ""
            } else {
                " or +inf"
            }
        ),
        AcceptError::NoFiniteLogit { row } => {
            format!("{}: {}: every logit is -inf", shown(&req.logits), site(row))
        }
        other => format!("{}: {other}", shown(&req.logits)),
    })?;
    Ok((decision.best, decision.accept_length))
}

/// Runs `emkern medusa-accept`: prints `{"best_candidate": i, "accept_length": n}`.
pub fn run_accept(req: &AcceptRequest) -> Result<(), Box<dyn Error>> {
    let (best, length) = accept(req)?;
    crate::output::print(&format!(
        "{{\"best_candidate\": {best}, \"accept_length\": {length}}}\n"
    ))?;
    Ok(())
}
