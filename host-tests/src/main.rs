//! The `emkern` command-line tool.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use emkern::forest::Forest;
use emkern_host::bench::{self, Primitive, Timing};
use emkern_host::export::source;
use emkern_host::{attend, data, model};
use emkern_simd::{Level, Simd};

#[derive(Parser)]
#[command(
    name = "emkern",
    version,
    about = "emkern: ML inference kernels for microcontrollers and small CPUs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the SIMD levels and which ones this CPU can run.
    Levels,
    /// The end-to-end demo: import the bundled XGBoost model, run the bundled test split through the no_std
    /// core, and report accuracy, agreement with XGBoost, bytes and time per row.
    Demo {
        /// Folder with the bundled data (`breast_cancer_*`).
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
    /// Convert a model (XGBoost JSON/UBJSON, LightGBM text, emkern-sklearn JSON) to an `.emk` blob, and
    /// optionally to a Rust source or C header that embeds it.
    Import {
        /// The model file (format detected from its content).
        model: PathBuf,
        /// Where to write the blob.
        #[arg(short, long)]
        output: PathBuf,
        /// Also write a Rust source with the blob as an aligned `static`.
        #[arg(long)]
        rust: Option<PathBuf>,
        /// Also write a C header with the blob as a byte array.
        #[arg(long)]
        c_header: Option<PathBuf>,
        /// Identifier for the generated sources.
        #[arg(long, default_value = "model")]
        name: String,
        /// Store leaves and sums in f32 even when the source computes in f64 (smaller, faster on an FPU
        /// without double precision; results may differ in the last bits).
        #[arg(long)]
        f32: bool,
    },
    /// Write a model (any supported format, or `.emk`) as C or Rust source with the trees as code: a C99 header
    /// (`NAME_predict`, `NAME_predict_margin`) or a `no_std` Rust module (`predict`, `predict_margin`) giving the
    /// same margins as the blob, bit for bit.
    Codegen(emkern_host::codegen_cli::Request),
    /// Predict every row of a CSV file (header optional; empty or `nan` = missing) through the no_std core.
    Predict {
        /// The model (any supported format, or `.emk`).
        #[arg(long)]
        model: PathBuf,
        /// Input rows.
        #[arg(long)]
        input: PathBuf,
        /// Write raw margins instead of transformed predictions.
        #[arg(long)]
        margin: bool,
        /// Output CSV (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Streaming softmax attention over NumPy `.npy` inputs through the no_std core (Q `[heads_q, len_q, d_k]`,
    /// K `[heads_kv, len_kv, d_k]`, V `[heads_kv, len_kv, d_v]`); writes the output `[heads_q, len_q, d_v]`.
    Attention(attend::Request),
    /// Rotary position encoding of NumPy `.npy` rows (`[heads, positions, head_dim]`) through the no_std core,
    /// configured by a Hugging Face `rope_parameters` JSON; optionally dumps inv_freq and the cos/sin tables.
    Rope(emkern_host::rope_cli::Request),
    /// Train a decision tree, a forest or a boosted ensemble on a CSV or Parquet file and export the `.emk` blob
    /// (optionally also as Rust or C source); reports
    /// train/validation metrics computed by the no_std core from the blob.
    Train(Box<emkern_host::train::cli::TrainRequest>),
    /// Score a model (any supported format) on a labelled CSV or Parquet file through the no_std core: accuracy, log-loss
    /// and AUC (binary) for classifiers, RMSE/MAE/R² for regressors.
    Eval(emkern_host::evaluate::EvalRequest),
    /// Medusa tree buffers (attention mask, tree indices, position ids, retrieve indices) for a list of
    /// candidate paths, in the Medusa reference's conventions, as JSON.
    MedusaTree(emkern_host::medusa_cli::TreeRequest),
    /// Medusa acceptance (greedy or typical) of candidates `[candidates, length]` against the base model's
    /// logits `[candidates, length, vocab]`; prints the best candidate and its accept length as JSON.
    MedusaAccept(emkern_host::medusa_cli::AcceptRequest),
    /// Describe a model: trees, nodes, depth, bytes per node, flash and RAM needs, worst-case node visits.
    Inspect {
        /// The model (any supported format, or `.emk`).
        model: PathBuf,
    },
    /// Measure every primitive at every available level against the scalar level and the machine's ceilings;
    /// with `--model` and `--input`, measure a model's ns per row instead.
    Bench {
        /// A model to benchmark (any supported format).
        #[arg(long, requires = "input")]
        model: Option<PathBuf>,
        /// Rows for the model benchmark.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Benchmark one Medusa verification step (tree-masked attention and acceptance) instead of the
        /// primitives.
        #[arg(long)]
        speculative: bool,
        /// Benchmark the histogram booster's training (synthetic 200k × 50 and a bundled dataset, one thread
        /// and all threads) instead of the primitives.
        #[arg(long)]
        train: bool,
        /// Benchmark RoPE (rotation in place, table construction) instead of the primitives.
        #[arg(long)]
        rope: bool,
        /// Benchmark attention (prefill and decode) instead of the primitives.
        #[arg(long)]
        attention: bool,
        /// Short samples (a smoke test of the benchmark rather than a measurement).
        #[arg(long)]
        quick: bool,
        /// Element counts to measure.
        #[arg(long, value_delimiter = ',', default_values_t = [64usize, 1024, 65536])]
        len: Vec<usize>,
        /// Primitives to measure (default: all), e.g. `dot,exp`.
        #[arg(long, value_delimiter = ',')]
        primitive: Vec<String>,
        /// Levels to measure (default: every available one), e.g. `scalar,avx2`.
        #[arg(long, value_delimiter = ',')]
        level: Vec<String>,
    },
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

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Levels => {
            print!("{}", emkern_host::describe_levels());
            ExitCode::SUCCESS
        }
        Command::Demo { data } => run(|| demo(data)),
        Command::Import {
            model,
            output,
            rust,
            c_header,
            name,
            f32,
        } => run(|| import(model, output, rust, c_header, &name, f32)),
        Command::Codegen(req) => run(|| emkern_host::codegen_cli::run(&req)),
        Command::Predict {
            model,
            input,
            margin,
            output,
        } => run(|| predict(model, input, margin, output)),
        Command::Inspect { model } => run(|| inspect(model)),
        Command::Attention(req) => run(|| attend::run(&req)),
        Command::Rope(req) => run(|| emkern_host::rope_cli::run(&req)),
        Command::Train(req) => run(|| emkern_host::train::cli::run(&req)),
        Command::Eval(req) => run(|| emkern_host::evaluate::run(&req)),
        Command::MedusaTree(req) => run(|| emkern_host::medusa_cli::run_tree(&req)),
        Command::MedusaAccept(req) => run(|| emkern_host::medusa_cli::run_accept(&req)),
        Command::Bench {
            model: Some(model),
            input: Some(input),
            quick,
            ..
        } => run(|| bench_model(model, input, quick)),
        Command::Bench {
            speculative: true,
            quick,
            ..
        } => {
            print!("{}", emkern_host::bench_speculative::report(quick));
            ExitCode::SUCCESS
        }
        Command::Bench {
            train: true, quick, ..
        } => {
            print!("{}", emkern_host::bench_train::report(quick));
            ExitCode::SUCCESS
        }
        Command::Bench {
            rope: true,
            quick,
            level,
            ..
        } => {
            let Some(levels) = parse_levels(&level) else {
                return ExitCode::from(2);
            };
            emkern_host::bench_rope::report(&levels, quick, &mut |line| println!("{line}"));
            ExitCode::SUCCESS
        }
        Command::Bench {
            attention: true,
            quick,
            level,
            ..
        } => {
            let Some(levels) = parse_levels(&level) else {
                return ExitCode::from(2);
            };
            emkern_host::bench_attention::report(&levels, quick, &mut |line| println!("{line}"));
            ExitCode::SUCCESS
        }
        Command::Bench {
            quick,
            len,
            primitive,
            level,
            ..
        } => {
            let primitives: Vec<Primitive> = if primitive.is_empty() {
                Primitive::ALL.to_vec()
            } else {
                let mut v = Vec::new();
                for name in &primitive {
                    match Primitive::ALL.iter().find(|p| p.name() == name) {
                        Some(&p) => v.push(p),
                        None => {
                            let names: Vec<&str> =
                                Primitive::ALL.iter().map(|p| p.name()).collect();
                            eprintln!(
                                "error: --primitive {name}: unknown primitive (one of {})",
                                names.join(", ")
                            );
                            return ExitCode::from(2);
                        }
                    }
                }
                v
            };
            let Some(levels) = parse_levels(&level) else {
                return ExitCode::from(2);
            };
            let timing = Timing::new(quick);
            let bar = emkern_host::progress::bar(
                false,
                (primitives.len() * len.len() * levels.len()) as u64,
                "measuring {bar:30} {pos}/{len} [{elapsed_precise}]",
            );
            let table = bench::report(&levels, &len, &primitives, timing, |done, _| {
                bar.set_position(done as u64)
            });
            bar.finish_and_clear();
            print!("{table}");
            ExitCode::SUCCESS
        }
    }
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

fn run(f: impl FnOnce() -> CliResult) -> ExitCode {
    match f() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load(
    path: &std::path::Path,
    force_f32: bool,
) -> Result<model::Loaded, Box<dyn std::error::Error>> {
    let mut loaded = model::load(path)?;
    if let (true, Some(e)) = (force_f32, loaded.ensemble.as_mut()) {
        e.precision = emkern_host::ir::Precision::F32;
        loaded.blob = emkern_host::export::blob::write(e)?;
    }
    Ok(loaded)
}

fn forest<'a>(path: &std::path::Path, blob: &'a [u8]) -> Result<Forest<'a>, String> {
    Forest::new(blob).map_err(|e| format!("{}: {e}", path.display()))
}

fn import(
    model: PathBuf,
    output: PathBuf,
    rust: Option<PathBuf>,
    c_header: Option<PathBuf>,
    name: &str,
    f32: bool,
) -> CliResult {
    let loaded = load(&model, f32)?;
    let f = forest(&model, &loaded.blob)?;
    std::fs::write(&output, &loaded.blob).map_err(|e| format!("{}: {e}", output.display()))?;
    let origin = model
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(p) = rust {
        std::fs::write(&p, source::rust_source(name, &loaded.blob, &origin))
            .map_err(|e| format!("{}: {e}", p.display()))?;
    }
    if let Some(p) = c_header {
        std::fs::write(&p, source::c_header(name, &loaded.blob, &origin))
            .map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let s = f.summary();
    println!(
        "{} ({}) -> {}: {} trees, {} nodes, {} bytes",
        model.display(),
        loaded.format.name(),
        output.display(),
        s.trees,
        s.nodes,
        s.blob_bytes
    );
    Ok(())
}

fn predict(model: PathBuf, input: PathBuf, margin: bool, output: Option<PathBuf>) -> CliResult {
    let loaded = load(&model, false)?;
    let f = forest(&model, &loaded.blob)?;
    let table = data::read_csv(&input)?;
    if table.columns.len() < f.n_features() {
        return Err(format!(
            "{}: rows have {} columns, the model reads {} features",
            input.display(),
            table.columns.len(),
            f.n_features()
        )
        .into());
    }
    let width = if margin {
        f.n_outputs()
    } else {
        f.output_len()
    };
    let mut out: Box<dyn Write> = match &output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut values = vec![0.0f32; width];
    for r in 0..table.rows {
        let row = table.row(r);
        if margin {
            f.predict_margin(row, &mut values)
        } else {
            f.predict(row, &mut values)
        }
        .map_err(|e| format!("{}: row {}: {e}", input.display(), r + 1))?;
        writeln!(out, "{}", data::csv_line(&values))?;
    }
    out.flush()?;
    Ok(())
}

fn inspect(model: PathBuf) -> CliResult {
    let loaded = load(&model, false)?;
    let f = forest(&model, &loaded.blob)?;
    let s = f.summary();
    println!("model            {}", model.display());
    println!("format           {}", loaded.format.name());
    if let Some(e) = &loaded.ensemble {
        println!("source           {}", e.source);
    }
    println!("transform        {:?}", f.transform());
    if f.class_names().len() > 0 {
        println!(
            "classes          {}",
            f.class_names().collect::<Vec<_>>().join(", ")
        );
    }
    println!("trees            {}", s.trees);
    println!("internal nodes   {}", s.nodes);
    println!(
        "leaves           {} ({} value{} each, {})",
        s.leaves,
        s.leaf_width,
        if s.leaf_width == 1 { "" } else { "s" },
        if s.wide_values { "f64" } else { "f32" }
    );
    println!("features         {}", s.features);
    println!(
        "outputs          {} margin column{}, {} prediction value{}",
        s.outputs,
        if s.outputs == 1 { "" } else { "s" },
        f.output_len(),
        if f.output_len() == 1 { "" } else { "s" }
    );
    println!("max depth        {}", s.max_depth);
    println!("bytes per node   {}", s.node_bytes);
    println!(
        "flash            {} bytes (the blob; read in place)",
        s.blob_bytes
    );
    println!(
        "RAM              no heap; stack for one prediction ≈ {} bytes of accumulators",
        32 * if s.wide_values { 8 } else { 4 }
    );
    println!(
        "worst case       {} node visits per row (sum of tree depths) + {} leaf reads",
        s.worst_case_visits, s.trees
    );
    Ok(())
}

fn bench_model(model: PathBuf, input: PathBuf, quick: bool) -> CliResult {
    let loaded = load(&model, false)?;
    let f = forest(&model, &loaded.blob)?;
    let table = data::read_csv(&input)?;
    let nf = f.n_features();
    if table.columns.len() < nf {
        return Err(format!(
            "{}: rows have {} columns, the model reads {nf}",
            input.display(),
            table.columns.len()
        )
        .into());
    }
    let rows: Vec<f32> = (0..table.rows)
        .flat_map(|r| table.row(r)[..nf].to_vec())
        .collect();
    let timing = Timing::new(quick);
    let (single, batch) = bench::forest_ns_per_row(&f, &rows, table.rows, timing);
    let s = f.summary();
    println!(
        "{}: {} rows, {} trees, depth ≤ {}",
        model.display(),
        table.rows,
        s.trees,
        s.max_depth
    );
    println!(
        "single row   {single:>10.1} ns/row   {:>6.2} ns/row·tree",
        single / s.trees.max(1) as f64
    );
    println!(
        "batch        {batch:>10.1} ns/row   {:>6.2} ns/row·tree",
        batch / s.trees.max(1) as f64
    );
    Ok(())
}

fn demo(dir: PathBuf) -> CliResult {
    let model_path = dir.join("breast_cancer_xgboost.json");
    let test_path = dir.join("breast_cancer_test.csv");
    let proba_path = dir.join("breast_cancer_xgboost_test_proba.csv");
    println!("emkern demo: XGBoost model -> .emk blob -> no_std core");
    let loaded = load(&model_path, false)?;
    let f = forest(&model_path, &loaded.blob)?;
    let s = f.summary();
    println!(
        "  model     {} ({}), {} trees, {} nodes, depth <= {}",
        model_path.display(),
        loaded.format.name(),
        s.trees,
        s.nodes,
        s.max_depth
    );
    println!(
        "  blob      {} bytes ({} bytes/node), worst case {} node visits per row",
        s.blob_bytes, s.node_bytes, s.worst_case_visits
    );
    let table = data::read_csv(&test_path)?;
    let label = table
        .columns
        .iter()
        .position(|c| c == "label")
        .ok_or_else(|| format!("{}: no `label` column", test_path.display()))?;
    let reference = data::read_csv(&proba_path)?;
    let nf = f.n_features();
    let mut rows = Vec::with_capacity(table.rows * nf);
    let (mut correct, mut max_diff) = (0usize, 0.0f32);
    let mut p = [0.0f32; 1];
    for r in 0..table.rows {
        let row = table.row(r);
        rows.extend_from_slice(&row[..nf]);
        f.predict(&row[..nf], &mut p)
            .map_err(|e| format!("{}: row {}: {e}", test_path.display(), r + 1))?;
        let predicted = if p[0] > 0.5 { 1.0 } else { 0.0 };
        if predicted == row[label] {
            correct += 1;
        }
        if let Some(&q) = reference.values.get(r) {
            max_diff = max_diff.max((p[0] - q).abs());
        }
    }
    println!(
        "  accuracy  {:.4} on {} test rows ({} correct)",
        correct as f64 / table.rows as f64,
        table.rows,
        correct
    );
    println!(
        "  vs XGBoost max |p_emkern - p_xgboost| = {max_diff:.2e} over {} rows",
        reference.rows
    );
    let (single, batch) = bench::forest_ns_per_row(&f, &rows, table.rows, Timing::DEFAULT);
    println!(
        "  speed     {single:.0} ns/row single-row ({:.1} ns/row·tree), {batch:.0} ns/row batched, one core, {} level",
        single / s.trees.max(1) as f64,
        emkern_simd::Simd::best().level()
    );
    Ok(())
}
