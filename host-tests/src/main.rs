//! The `emkern` command-line tool.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use emkern_host::bench::{self, Primitive, Timing};
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
    /// Measure every primitive at every available level against the scalar level and the machine's ceilings.
    Bench {
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

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Levels => {
            print!("{}", emkern_host::describe_levels());
            ExitCode::SUCCESS
        }
        Command::Bench {
            quick,
            len,
            primitive,
            level,
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
            let levels: Vec<Simd> = if level.is_empty() {
                Simd::available().collect()
            } else {
                let mut v = Vec::new();
                for name in &level {
                    match Level::from_name(name).and_then(Simd::new) {
                        Some(s) => v.push(s),
                        None => {
                            eprintln!(
                                "error: --level {name}: unknown or not available on this CPU (see `emkern levels`)"
                            );
                            return ExitCode::from(2);
                        }
                    }
                }
                v
            };
            let timing = if quick {
                Timing::QUICK
            } else {
                Timing::DEFAULT
            };
            let bar =
                indicatif::ProgressBar::new((primitives.len() * len.len() * levels.len()) as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "measuring {bar:30} {pos}/{len} [{elapsed_precise}]",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
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
