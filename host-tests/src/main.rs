//! The `emkern` command-line tool.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use emkern::forest::Forest;
use emkern_host::bench::{self, Primitive, Timing};
use emkern_host::export::source;
use emkern_host::output::{self, Outputs};
use emkern_host::{attend, f64_inputs, io, model};
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
    /// Convert a model (XGBoost JSON/UBJSON, LightGBM text, emkern-sklearn JSON, CatBoost JSON, ONNX-ML) to an `.emk`
    /// blob, and optionally to a Rust source or C header that embeds it.
    Import {
        /// The model file (format detected from its content).
        model: PathBuf,
        /// Where to write the blob.
        #[arg(short, long)]
        output: PathBuf,
        /// Also write a Rust source with the blob as an aligned `static`.
        #[arg(long)]
        rust: Option<PathBuf>,
        /// Also write a C header with the blob as a byte array: with `--c-source`, a header of declarations and
        /// size macros (`NAME_LEN`, `NAME_N_FEATURES`, `NAME_OUTPUT_LEN`, …) that any number of C files include;
        /// alone, a self-contained header with a `static const` copy of the blob.
        #[arg(long)]
        c_header: Option<PathBuf>,
        /// Also write the C source that defines the blob (aligned, read-only) and its class names once, for the
        /// `--c-header` it includes.
        #[arg(long, requires = "c_header")]
        c_source: Option<PathBuf>,
        /// Identifier for the generated sources: a C identifier (letters, digits, `_`; not a keyword).
        #[arg(long, default_value = "model")]
        name: String,
        /// Store leaves and sums in f32 even when the source computes in f64 (smaller, faster on an FPU
        /// without double precision; results may differ in the last bits).
        #[arg(long)]
        f32: bool,
        /// The blob's layout: `general` (every model), `compact` (smaller and faster on Cortex-M; numeric
        /// splits, f32 values, scalar or vector leaves: an error says what does not fit), or `auto` (compact
        /// when the model fits; `emkern inspect` says which). A compact blob loads with
        /// `emkern::forest::CompactForest`. `int`: the integer layout for cores without an FPU
        /// (`emkern::forest::IntForest`; numeric splits, scalar leaves, identity, sigmoid or argmax: an error
        /// says what does not fit).
        #[arg(long, default_value = "general", value_parser = emkern_host::export::int::LAYOUT_NAMES)]
        layout: String,
    },
    /// Write a model (any supported format, or `.emk`) as C or Rust source with the trees as code: a C99 header
    /// (`NAME_predict`, `NAME_predict_margin`) or a `no_std` Rust module (`predict`, `predict_margin`) giving the
    /// same margins as the blob, bit for bit.
    Codegen(emkern_host::codegen_cli::Request),
    /// Measure a model on an emulated Cortex-M board (QEMU): instructions per prediction, flash, RAM, stack and
    /// agreement with the host, per engine (blob interpreter, generated Rust, generated C). Needs the emkern
    /// source tree, QEMU, the Rust target and, for `c`, arm-none-eabi-gcc.
    Profile(emkern_host::profile::cli::Request),
    /// Predict every row of a CSV file (header optional; empty or `nan` = missing) through the no_std core.
    /// With a LightGBM text model the cells are read as f64 and take LightGBM's f64 decisions.
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
        /// Also measure what the model costs a firmware on this board (cortex-m4f, cortex-m55, cortex-m3,
        /// cortex-m0plus): flash and RAM per layout from a link, the stack of a prediction and instructions
        /// from a run under QEMU (as `emkern profile`, on synthetic rows).
        #[arg(long)]
        target: Option<String>,
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
    // Past a file size limit (`ulimit -f`) the kernel sends SIGXFSZ, whose default action kills the process
    // mid-write; ignored, the write fails with EFBIG instead, which the output path reports and cleans up.
    #[cfg(unix)]
    // SAFETY: `signal` with `SIG_IGN` installs no handler code; it runs before any other thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    match Cli::parse().command {
        Command::Levels => run(|| Ok(output::print(&emkern_host::describe_levels())?)),
        Command::Demo { data } => run(|| demo(data)),
        Command::Import {
            model,
            output,
            rust,
            c_header,
            c_source,
            name,
            f32,
            layout,
        } => run(|| {
            let sources = [rust, c_header, c_source];
            import(model, output, sources, &name, f32, &layout)
        }),
        Command::Codegen(req) => run(|| emkern_host::codegen_cli::run(&req)),
        Command::Profile(req) => run(|| emkern_host::profile::cli::run(&req)),
        Command::Predict {
            model,
            input,
            margin,
            output,
        } => run(|| predict(model, input, margin, output)),
        Command::Inspect { model, target } => run(|| inspect(model, target)),
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
        } => run(|| {
            Ok(output::print(&emkern_host::bench_speculative::report(
                quick,
            ))?)
        }),
        Command::Bench {
            train: true, quick, ..
        } => run(|| Ok(output::print(&emkern_host::bench_train::report(quick))?)),
        Command::Bench {
            rope: true,
            quick,
            level,
            ..
        } => {
            let Some(levels) = parse_levels(&level) else {
                return ExitCode::from(2);
            };
            run(|| print_lines(|emit| emkern_host::bench_rope::report(&levels, quick, emit)))
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
            run(|| print_lines(|emit| emkern_host::bench_attention::report(&levels, quick, emit)))
        }
        Command::Bench {
            quick,
            len,
            primitive,
            level,
            ..
        } => {
            let primitives: Vec<Primitive> = if primitive.is_empty() {
                bench::primitives().collect()
            } else {
                let mut v = Vec::new();
                for name in &primitive {
                    match Primitive::from_name(name).filter(|p| p.is_streaming()) {
                        Some(p) => v.push(p),
                        None => {
                            let names: Vec<&str> = bench::primitives().map(|p| p.name()).collect();
                            eprintln!(
                                "error: --primitive {name}: unknown primitive (one of {}; gemm and transpose \
                                 are timed by `bench --attention`)",
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
            if let Err(e) = bench::check_lengths(&len) {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
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
            run(|| Ok(output::print(&table)?))
        }
    }
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

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

fn run(f: impl FnOnce() -> CliResult) -> ExitCode {
    // A line that could not be printed fails the command, though the command went on.
    match f().and_then(|()| output::stdout_error().map_or(Ok(()), |e| Err(e.into()))) {
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
    emkern_host::describe::open_blob(path, blob)
}

/// `import`: `sources` are the `--rust`, `--c-header` and `--c-source` paths.
fn import(
    model: PathBuf,
    output: PathBuf,
    sources: [Option<PathBuf>; 3],
    name: &str,
    f32: bool,
    layout: &str,
) -> CliResult {
    let int_layout = layout == "int";
    let layout =
        emkern_host::export::compact::Layout::parse(if int_layout { "general" } else { layout })
            .ok_or_else(|| format!("--layout {layout}: expected general, compact, auto or int"))?;
    let [rust, c_header, c_source] = sources;
    if rust.is_some() || c_header.is_some() {
        source::check_c_name(name).map_err(|e| format!("--name: {e}"))?;
    }
    let mut targets = vec![("--output", output.as_path())];
    targets.extend(rust.as_deref().map(|p| ("--rust", p)));
    targets.extend(c_header.as_deref().map(|p| ("--c-header", p)));
    targets.extend(c_source.as_deref().map(|p| ("--c-source", p)));
    let out = Outputs::plan(&targets, &[("the model", model.as_path())])?;
    let loaded = load(&model, f32)?;
    let f = forest(&model, &loaded.blob)?;
    let (blob, compact) = layout
        .bytes(loaded.ensemble.as_ref(), &loaded.blob)
        .map_err(|e| format!("{}: {e}", model.display()))?;
    let (blob, note) = if int_layout {
        let e = loaded.ensemble.as_ref().ok_or_else(|| {
            format!(
                "{}: --layout int needs the model file (XGBoost, LightGBM, scikit-learn), not an .emk blob",
                model.display()
            )
        })?;
        let bytes = emkern_host::export::int::write(e).map_err(|why| {
            format!(
                "{}: the model does not fit the integer layout: {why}",
                model.display()
            )
        })?;
        (bytes, " (integer layout)")
    } else {
        (blob, if compact { " (compact layout)" } else { "" })
    };
    let origin = model
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.write(&output, &blob)?;
    if let Some(p) = &rust {
        out.write(p, source::rust_source(name, &blob, &origin).as_bytes())?;
    }
    for (p, text) in source::c_files(
        name,
        c_header.as_deref(),
        c_source.as_deref(),
        &blob,
        &origin,
    )? {
        out.write(&p, text.as_bytes())?;
    }
    let s = f.summary();
    output::print(&format!(
        "{} ({}) -> {}: {} trees, {} nodes, {} bytes{}\n",
        model.display(),
        loaded.format.name(),
        output.display(),
        s.trees,
        s.nodes,
        blob.len(),
        note
    ))?;
    out.commit()?;
    Ok(())
}

fn predict(model: PathBuf, input: PathBuf, margin: bool, output: Option<PathBuf>) -> CliResult {
    let targets: Vec<(&str, &Path)> = output
        .as_deref()
        .map(|p| ("--output", p))
        .into_iter()
        .collect();
    let out = Outputs::plan(
        &targets,
        &[("--model", model.as_path()), ("--input", input.as_path())],
    )?;
    let loaded = load(&model, false)?;
    let f = forest(&model, &loaded.blob)?;
    // LightGBM compares in f64: its rows are read as f64 and mapped to f32 values with the same decisions.
    let rows = f64_inputs::read_csv(&input, &loaded)?;
    if let Some(w) = rows.warning(&input) {
        eprintln!("{w}");
    }
    let table = rows.table;
    if table.rows == 0 {
        return Err(format!("{}: no data rows", input.display()).into());
    }
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
    let write_rows = |w: &mut dyn Write| -> CliResult {
        let mut values = vec![0.0f32; width];
        for r in 0..table.rows {
            let row = table.row(r);
            if margin {
                f.predict_margin(row, &mut values)
            } else {
                f.predict(row, &mut values)
            }
            .map_err(|e| format!("{}: row {}: {e}", input.display(), r + 1))?;
            writeln!(w, "{}", io::csv_line(&values))?;
        }
        Ok(())
    };
    match &output {
        Some(p) => {
            let mut w = out.writer(p)?;
            write_rows(&mut w)?;
            w.finish()?;
        }
        None => {
            let mut w = output::stdout();
            write_rows(&mut w)?;
            w.finish()?;
        }
    }
    out.commit()?;
    Ok(())
}

fn inspect(model: PathBuf, target: Option<String>) -> CliResult {
    let loaded = load(&model, false)?;
    let f = forest(&model, &loaded.blob)?;
    let mut text =
        emkern_host::describe::model(&model, loaded.format, loaded.ensemble.as_ref(), &f);
    text.push_str(&emkern_host::describe::layout_choice(
        loaded.ensemble.as_ref(),
        &loaded.blob,
    ));
    if let Some(name) = target {
        use emkern_host::profile::{Target, footprint, source_root};
        let target = Target::from_name(&name).ok_or_else(|| {
            let names: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
            format!(
                "--target {name}: unknown target (one of {})",
                names.join(", ")
            )
        })?;
        text.push_str(&footprint::report(
            &model,
            f.n_features(),
            f.worst_case_visits(),
            target,
            &source_root()?,
            &mut |line| eprintln!("inspect: {line}"),
        )?);
    }
    output::print(&text)?;
    Ok(())
}

fn bench_model(model: PathBuf, input: PathBuf, quick: bool) -> CliResult {
    let loaded = load(&model, false)?;
    let f = forest(&model, &loaded.blob)?;
    let table = io::read_csv(&input)?;
    if table.rows == 0 {
        return Err(format!("{}: no data rows to time", input.display()).into());
    }
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
    output::print(&format!(
        "{}: {} rows, {} trees, depth ≤ {}\nsingle row   {single:>10.1} ns/row   {:>6.2} ns/row·tree\n\
         batch        {batch:>10.1} ns/row   {:>6.2} ns/row·tree\n",
        model.display(),
        table.rows,
        s.trees,
        s.max_depth,
        single / s.trees.max(1) as f64,
        batch / s.trees.max(1) as f64
    ))?;
    Ok(())
}

fn demo(dir: PathBuf) -> CliResult {
    let model_path = dir.join("breast_cancer_xgboost.json");
    let test_path = dir.join("breast_cancer_test.csv");
    let proba_path = dir.join("breast_cancer_xgboost_test_proba.csv");
    emkern_host::say!("emkern demo: XGBoost model -> .emk blob -> no_std core");
    let loaded = load(&model_path, false)?;
    let f = forest(&model_path, &loaded.blob)?;
    let s = f.summary();
    emkern_host::say!(
        "  model     {} ({}), {} trees, {} nodes, depth <= {}",
        model_path.display(),
        loaded.format.name(),
        s.trees,
        s.nodes,
        s.max_depth
    );
    emkern_host::say!(
        "  blob      {} bytes ({} bytes/node), worst case {} node visits per row",
        s.blob_bytes,
        s.node_bytes,
        emkern_host::describe::Cost::of(&f).node_visits
    );
    let table = io::read_csv(&test_path)?;
    let label = table
        .columns
        .iter()
        .position(|c| c == "label")
        .ok_or_else(|| format!("{}: no `label` column", test_path.display()))?;
    let reference = io::read_csv(&proba_path)?;
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
    emkern_host::say!(
        "  accuracy  {:.4} on {} test rows ({} correct)",
        correct as f64 / table.rows as f64,
        table.rows,
        correct
    );
    emkern_host::say!(
        "  vs XGBoost max |p_emkern - p_xgboost| = {max_diff:.2e} over {} rows",
        reference.rows
    );
    let (single, batch) = bench::forest_ns_per_row(&f, &rows, table.rows, Timing::DEFAULT);
    emkern_host::say!(
        "  speed     {single:.0} ns/row single-row ({:.1} ns/row·tree), {batch:.0} ns/row batched, one core, {} level",
        single / s.trees.max(1) as f64,
        emkern_simd::Simd::best().level()
    );
    Ok(())
}
