//! The `emkern` command-line tool: the commands and their dispatch. Each command lives in its module of
//! [`emkern_host::cli`].

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use emkern_host::cli::{self, exit};

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
    Demo(cli::demo::Request),
    /// Convert a model (XGBoost JSON/UBJSON, LightGBM text, emkern-sklearn JSON, CatBoost JSON, ONNX-ML) to an
    /// `.emk` blob, and optionally to a Rust source or C header that embeds it.
    Import(cli::import::Request),
    /// Write a model (any supported format, or `.emk`) as C or Rust source with the trees as code: a C99 header
    /// (`NAME_predict`, `NAME_predict_margin`) or a `no_std` Rust module (`predict`, `predict_margin`) giving the
    /// same margins as the blob, bit for bit.
    Codegen(cli::codegen::Request),
    /// Measure a model on an emulated Cortex-M board (QEMU): instructions per prediction, flash, RAM, stack and
    /// agreement with the host, per engine (blob interpreter, generated Rust, generated C). Needs the emkern
    /// source tree, QEMU, the Rust target and, for `c`, arm-none-eabi-gcc.
    Profile(cli::profile::Request),
    /// Predict every row of a CSV file (header optional; empty or `nan` = missing) through the no_std core.
    /// With a LightGBM text model the cells are read as f64 and take LightGBM's f64 decisions.
    Predict(cli::predict::Request),
    /// Streaming softmax attention over NumPy `.npy` inputs through the no_std core (Q `[heads_q, len_q, d_k]`,
    /// K `[heads_kv, len_kv, d_k]`, V `[heads_kv, len_kv, d_v]`); writes the output `[heads_q, len_q, d_v]`.
    Attention(cli::attention::Request),
    /// Rotary position encoding of NumPy `.npy` rows (`[heads, positions, head_dim]`) through the no_std core,
    /// configured by a Hugging Face `rope_parameters` JSON; optionally dumps inv_freq and the cos/sin tables.
    Rope(cli::rope::Request),
    /// Train a decision tree, a forest or a boosted ensemble on a CSV or Parquet file and export the `.emk` blob
    /// (optionally also as Rust or C source); reports
    /// train/validation metrics computed by the no_std core from the blob.
    Train(Box<cli::train::Request>),
    /// Score a model (any supported format) on a labelled CSV or Parquet file through the no_std core: accuracy, log-loss
    /// and AUC (binary) for classifiers, RMSE/MAE/R² for regressors.
    Eval(cli::eval::EvalRequest),
    /// Medusa tree buffers (attention mask, tree indices, position ids, retrieve indices) for a list of
    /// candidate paths, in the Medusa reference's conventions, as JSON.
    MedusaTree(cli::medusa::TreeRequest),
    /// Medusa acceptance (greedy or typical) of candidates `[candidates, length]` against the base model's
    /// logits `[candidates, length, vocab]`; prints the best candidate and its accept length as JSON.
    MedusaAccept(cli::medusa::AcceptRequest),
    /// Describe a model: trees, nodes, depth, bytes per node, flash and RAM needs, worst-case node visits.
    Inspect(cli::inspect::Request),
    /// Measure every primitive at every available level against the scalar level and the machine's ceilings;
    /// with `--model` and `--input`, measure a model's ns per row instead.
    Bench(cli::bench::Request),
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
        Command::Levels => exit(cli::levels::run()),
        Command::Demo(req) => exit(cli::demo::run(&req)),
        Command::Import(req) => exit(cli::import::run(&req)),
        Command::Codegen(req) => exit(cli::codegen::run(&req)),
        Command::Profile(req) => exit(cli::profile::run(&req)),
        Command::Predict(req) => exit(cli::predict::run(&req)),
        Command::Inspect(req) => exit(cli::inspect::run(&req)),
        Command::Attention(req) => exit(cli::attention::run(&req)),
        Command::Rope(req) => exit(cli::rope::run(&req)),
        Command::Train(req) => exit(cli::train::run(&req)),
        Command::Eval(req) => exit(cli::eval::run(&req)),
        Command::MedusaTree(req) => exit(cli::medusa::run_tree(&req)),
        Command::MedusaAccept(req) => exit(cli::medusa::run_accept(&req)),
        Command::Bench(req) => cli::bench::run(&req),
    }
}
