//! `emkern predict`: every row of a CSV or Parquet file through the no_std core, streamed in chunks (memory is
//! bounded by a chunk, not by the file) and predicted on several threads.

use std::io::Write;
use std::path::{Path, PathBuf};

use emkern::forest::Forest;
use emkern_simd::Simd;
use rayon::prelude::*;

use super::{CliResult, forest, load};
use crate::f64_inputs::F64Inputs;
use crate::io::csv_stream::CsvRowStream;
use crate::io::parquet::ParquetRowStream;
use crate::output::Outputs;
use crate::{io, progress};

/// Cells read per chunk: a chunk of a CSV file holds at most this many values (about 48 MB with the f32 rows
/// and the outputs), whatever the number of columns.
const CHUNK_CELLS: usize = 1 << 22;

/// Rows one thread predicts per batch call: small enough to share a chunk between threads, large enough for the
/// SIMD walker's blocks.
const ROWS_PER_TASK: usize = 2048;

/// Arguments of `emkern predict`.
#[derive(Clone, Debug, clap::Args)]
pub struct Request {
    /// The model (any supported format, or `.emk`).
    #[arg(long)]
    pub model: PathBuf,
    /// Input rows: CSV (optional header; empty or nan = missing), or Parquet (`.parquet`, `.parq`; null =
    /// missing).
    #[arg(long)]
    pub input: PathBuf,
    /// Write raw margins instead of transformed predictions.
    #[arg(long)]
    pub margin: bool,
    /// Output CSV (default: standard output).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Worker threads (default: every core). The predictions do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Rows per chunk of the input (default: as many as hold about four million values). For tests of the
    /// streaming itself.
    #[arg(long, hide = true)]
    pub chunk_rows: Option<usize>,
}

/// Where rows come from: a CSV or a Parquet file, each streamed in chunks.
enum Rows {
    Csv(CsvRowStream<std::io::BufReader<std::fs::File>>),
    Parquet(ParquetRowStream),
}

impl Rows {
    fn open(path: &Path) -> Result<Rows, io::DataError> {
        if io::is_parquet(path) {
            return Ok(Rows::Parquet(ParquetRowStream::open(path)?));
        }
        Ok(Rows::Csv(CsvRowStream::open(path)?))
    }

    fn columns(&self) -> usize {
        match self {
            Rows::Csv(s) => s.columns().len(),
            Rows::Parquet(s) => s.columns().len(),
        }
    }

    /// Progress: bytes read of a CSV file, rows of a Parquet file.
    fn done(&self) -> u64 {
        match self {
            Rows::Csv(s) => s.bytes_read(),
            Rows::Parquet(s) => s.rows_read(),
        }
    }

    /// The progress bar's end: the CSV file's size, or the Parquet file's rows.
    fn total(&self, path: &Path) -> u64 {
        match self {
            Rows::Csv(_) => std::fs::metadata(path).map_or(0, |m| m.len()),
            Rows::Parquet(s) => s.total_rows(),
        }
    }

    /// The next up to `max_rows` rows as f64 into `out`; the number read.
    fn next_chunk(&mut self, max_rows: usize, out: &mut Vec<f64>) -> Result<usize, io::DataError> {
        match self {
            Rows::Csv(s) => s.next_chunk(max_rows, out),
            Rows::Parquet(s) => s.next_chunk(max_rows, out),
        }
    }
}

/// Runs `emkern predict`.
pub fn run(req: &Request) -> CliResult {
    let Request {
        model,
        input,
        margin,
        output,
        threads,
        quiet,
        chunk_rows,
    } = req;
    let margin = *margin;
    if let Some(t) = threads
        && !(1..=crate::train::run::MAX_THREADS).contains(t)
    {
        return Err(format!("--threads {t}: 1 to {}", crate::train::run::MAX_THREADS).into());
    }
    let targets: Vec<(&str, &Path)> = output
        .as_deref()
        .map(|p| ("--output", p))
        .into_iter()
        .collect();
    let out = Outputs::plan(
        &targets,
        &[("--model", model.as_path()), ("--input", input.as_path())],
    )?;
    let loaded = load(model, false)?;
    let f = forest(model, &loaded.blob)?;
    // LightGBM (and the other models that compare in f64) read rows as f64, mapped to f32 values with the same
    // decisions; the others round to f32 as their frameworks do.
    let inputs = F64Inputs::for_model(&loaded);
    let mut rows = Rows::open(input)?;
    let width_in = rows.columns();
    if width_in == 0 {
        return Err(format!("{}: no data rows", input.display()).into());
    }
    io::check_columns(input, width_in, f.n_features())?;
    let width = if margin {
        f.n_outputs()
    } else {
        f.output_len()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|e| format!("--threads: {e}"))?;
    let mut plan_words = f.simd_plan_len().map(|n| vec![0u32; n]).unwrap_or_default();
    let plan = f.simd_plan(&mut plan_words).ok();
    let total = rows.total(input);
    let bar = progress::bar(
        *quiet,
        total,
        "{spinner} predict {bar:30} {percent}% {elapsed} ({eta} left)",
    );
    let chunk_rows = chunk_rows.unwrap_or(CHUNK_CELLS / width_in).max(1);
    let mut cells = Vec::new();
    let mut values = Vec::new();
    let mut predicted = Vec::new();
    let (mut n_rows, mut inexact, mut first_inexact) = (0usize, 0usize, None);
    let mut file = output.as_deref().map(|p| out.writer(p)).transpose()?;
    let mut stdout = crate::output::stdout();
    loop {
        cells.clear();
        let n = rows.next_chunk(chunk_rows, &mut cells)?;
        if n == 0 {
            break;
        }
        values.clear();
        values.resize(cells.len(), 0.0f32);
        for (r, (row, outr)) in cells
            .chunks_exact(width_in)
            .zip(values.chunks_exact_mut(width_in))
            .enumerate()
        {
            for (j, (o, &x)) in outr.iter_mut().zip(row).enumerate() {
                match &inputs {
                    Some(m) => {
                        let v = m.map(j, x);
                        *o = v.value;
                        if !v.exact {
                            inexact += 1;
                            first_inexact.get_or_insert((n_rows + r + 1, j + 1));
                        }
                    }
                    None => *o = x as f32,
                }
            }
        }
        predicted.clear();
        predicted.resize(n * width, 0.0f32);
        predict_chunk(
            &pool,
            &f,
            plan.as_ref(),
            &values,
            width_in,
            &mut predicted,
            width,
            margin,
        )
        .map_err(|e| format!("{}: {e}", input.display()))?;
        match file.as_mut() {
            Some(w) => write_rows(w, &predicted, width)?,
            None => write_rows(&mut stdout, &predicted, width)?,
        }
        n_rows += n;
        bar.set_position(rows.done());
    }
    bar.finish_and_clear();
    if n_rows == 0 {
        return Err(format!("{}: no data rows", input.display()).into());
    }
    if let Some(w) = crate::f64_inputs::inexact_warning(input, inexact, first_inexact) {
        eprintln!("{w}");
    }
    match file.as_mut() {
        Some(w) => w.finish()?,
        None => stdout.finish()?,
    }
    out.commit()?;
    Ok(())
}

/// Predicts the rows of a chunk on the pool's threads, each a slice of [`ROWS_PER_TASK`] rows through the core's
/// batch path (the SIMD walker when the model has a plan); rows are independent, so the values do not depend
/// on the threads.
#[allow(clippy::too_many_arguments)]
fn predict_chunk(
    pool: &rayon::ThreadPool,
    f: &Forest,
    plan: Option<&emkern_simd::forest::Plan<'_>>,
    rows: &[f32],
    width_in: usize,
    out: &mut [f32],
    width: usize,
    margin: bool,
) -> Result<(), emkern::forest::ShapeError> {
    let simd = Simd::best();
    pool.install(|| {
        rows.par_chunks(ROWS_PER_TASK * width_in)
            .zip(out.par_chunks_mut(ROWS_PER_TASK * width.max(1)))
            .try_for_each(|(r, o)| {
                let n = r.len() / width_in;
                f.predict_batch_simd(simd, plan, r, width_in, n, o, margin)
                    .map(|_| ())
            })
    })
}

/// Writes predicted rows (`width` values each) as CSV lines.
fn write_rows(w: &mut dyn Write, values: &[f32], width: usize) -> CliResult {
    for row in values.chunks_exact(width.max(1)) {
        writeln!(w, "{}", io::csv_line(row))?;
    }
    Ok(())
}
