//! `emkern bench`: every primitive at every available level against the scalar level and the machine's
//! ceilings; a model's ns per row; or one of the Medusa, training, RoPE and attention benchmarks.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use emkern_simd::{Level, Simd};

use super::{CliResult, exit, forest, load};
use crate::bench::{self, Primitive, Timing};
use crate::{bench_attention, bench_rope, bench_speculative, bench_train, io, output};

/// Arguments of `emkern bench`.
#[derive(Clone, Debug, clap::Args)]
pub struct Request {
    /// A model to benchmark (any supported format).
    #[arg(long, requires = "input")]
    pub model: Option<PathBuf>,
    /// Rows for the model benchmark.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Benchmark one Medusa verification step (tree-masked attention and acceptance) instead of the
    /// primitives.
    #[arg(long)]
    pub speculative: bool,
    /// Benchmark the histogram booster's training (synthetic 200k × 50 and a bundled dataset, one thread
    /// and all threads) instead of the primitives.
    #[arg(long)]
    pub train: bool,
    /// Benchmark RoPE (rotation in place, table construction) instead of the primitives.
    #[arg(long)]
    pub rope: bool,
    /// Benchmark attention (prefill and decode) instead of the primitives.
    #[arg(long)]
    pub attention: bool,
    /// Short samples (a smoke test of the benchmark rather than a measurement).
    #[arg(long)]
    pub quick: bool,
    /// Element counts to measure.
    #[arg(long, value_delimiter = ',', default_values_t = [64usize, 1024, 65536])]
    pub len: Vec<usize>,
    /// Primitives to measure (default: all), e.g. `dot,exp`.
    #[arg(long, value_delimiter = ',')]
    pub primitive: Vec<String>,
    /// Levels to measure (default: every available one), e.g. `scalar,avx2`.
    #[arg(long, value_delimiter = ',')]
    pub level: Vec<String>,
}

/// Runs `emkern bench`; a flag naming an unknown primitive or level exits with status 2.
pub fn run(req: &Request) -> ExitCode {
    let quick = req.quick;
    if let (Some(model), Some(input)) = (&req.model, &req.input) {
        return exit(bench_model(model, input, quick));
    }
    if req.speculative {
        return exit(print(&bench_speculative::report(quick)));
    }
    if req.train {
        return exit(print(&bench_train::report(quick)));
    }
    if req.rope || req.attention {
        let Some(levels) = parse_levels(&req.level) else {
            return ExitCode::from(2);
        };
        return exit(print_lines(|emit| {
            if req.rope {
                bench_rope::report(&levels, quick, emit)
            } else {
                bench_attention::report(&levels, quick, emit)
            }
        }));
    }
    let Some(primitives) = parse_primitives(&req.primitive) else {
        return ExitCode::from(2);
    };
    let Some(levels) = parse_levels(&req.level) else {
        return ExitCode::from(2);
    };
    if let Err(e) = bench::check_lengths(&req.len) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let timing = Timing::new(quick);
    let bar = crate::progress::bar(
        false,
        (primitives.len() * req.len.len() * levels.len()) as u64,
        "measuring {bar:30} {pos}/{len} [{elapsed_precise}]",
    );
    let table = bench::report(&levels, &req.len, &primitives, timing, |done, _| {
        bar.set_position(done as u64)
    });
    bar.finish_and_clear();
    exit(print(&table))
}

fn print(text: &str) -> CliResult {
    Ok(output::print(text)?)
}

/// The primitives named on the command line (all streaming ones if none), or `None` after reporting an unknown
/// name.
fn parse_primitives(names: &[String]) -> Option<Vec<Primitive>> {
    if names.is_empty() {
        return Some(bench::primitives().collect());
    }
    let mut v = Vec::new();
    for name in names {
        match Primitive::from_name(name).filter(|p| p.is_streaming()) {
            Some(p) => v.push(p),
            None => {
                let names: Vec<&str> = bench::primitives().map(|p| p.name()).collect();
                eprintln!(
                    "error: --primitive {name}: unknown primitive (one of {}; gemm and transpose \
                     are timed by `bench --attention`)",
                    names.join(", ")
                );
                return None;
            }
        }
    }
    Some(v)
}

/// The levels named on the command line (every available one if none), or `None` after reporting an unknown or
/// unavailable name.
fn parse_levels(names: &[String]) -> Option<Vec<Simd>> {
    if names.is_empty() {
        return Some(Simd::available().collect());
    }
    let mut v = Vec::new();
    for name in names {
        match Level::from_name(name).and_then(Simd::new) {
            Some(s) => v.push(s),
            None => {
                eprintln!(
                    "error: --level {name}: unknown or not available on this CPU (see `emkern levels`)"
                );
                return None;
            }
        }
    }
    Some(v)
}

/// Runs a report that emits lines as it measures, printing each at once; the first failure to write is the
/// command's error.
fn print_lines(report: impl FnOnce(&mut dyn FnMut(&str))) -> CliResult {
    let mut out = output::stdout();
    let mut failed = None;
    report(&mut |line| {
        if failed.is_none()
            && let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush())
        {
            failed = Some(e);
        }
    });
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(out.finish()?),
    }
}

/// `--model` and `--input`: the model's ns per row, one row at a time (the core's walk, then the single-row
/// walker at each level) and batched.
fn bench_model(model: &Path, input: &Path, quick: bool) -> CliResult {
    let loaded = load(model, false)?;
    let f = forest(model, &loaded.blob)?;
    let table = io::read_table(input)?;
    if table.rows == 0 {
        return Err(format!("{}: no data rows to time", input.display()).into());
    }
    let nf = f.n_features();
    io::check_columns(input, table.columns.len(), nf)?;
    let rows: Vec<f32> = (0..table.rows)
        .flat_map(|r| table.row(r)[..nf].to_vec())
        .collect();
    let timing = Timing::new(quick);
    let (single, batch) = bench::forest_ns_per_row(&f, &rows, table.rows, timing);
    let s = f.summary();
    let trees = s.trees.max(1) as f64;
    let mut text = format!(
        "{}: {} rows, {} trees, depth ≤ {}\nsingle row   {single:>10.1} ns/row   {:>6.2} ns/row·tree\n\
         batch        {batch:>10.1} ns/row   {:>6.2} ns/row·tree\n",
        model.display(),
        table.rows,
        s.trees,
        s.max_depth,
        single / trees,
        batch / trees
    );
    let levels: Vec<Simd> = Simd::available().collect();
    match bench::forest_simd_row_ns_per_row(&f, &rows, table.rows, &levels, timing) {
        Ok(lines) => {
            for (level, ns) in lines {
                text.push_str(&format!(
                    "single row simd {level:<7}{ns:>8.1} ns/row   {:>6.2} ns/row·tree\n",
                    ns / trees
                ));
            }
        }
        Err(why) => text.push_str(&format!(
            "single row simd   not planned ({why}): rows take the scalar path\n"
        )),
    }
    match bench::forest_simd_ns_per_row(&f, &rows, table.rows, &levels, timing) {
        Ok(lines) => {
            for (level, ns) in lines {
                text.push_str(&format!(
                    "batch simd {level:<7}{ns:>8.1} ns/row   {:>6.2} ns/row·tree\n",
                    ns / trees
                ));
            }
        }
        Err(why) => text.push_str(&format!(
            "batch simd   not planned ({why}): batches take the scalar path\n"
        )),
    }
    output::print(&text)?;
    Ok(())
}
