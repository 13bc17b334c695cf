//! Running a profiling image under QEMU and reading what it printed (the protocol is in
//! `boards/profile/src/main.rs`).

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::target::Target;

/// QEMU's `-icount shift`: 2^10 ns of virtual time per instruction, as the boards' self-test runs
/// (`boards/qemu.sh`), so SysTick gives the same instruction counts.
pub const ICOUNT_SHIFT: u32 = 10;

/// How long one run may take.
pub const TIMEOUT: Duration = Duration::from_secs(300);

/// What an engine image measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Measured {
    /// The engine the image reported.
    pub engine: String,
    /// Instructions per prediction, per row.
    pub instructions: Vec<u64>,
    /// The predictions, `rows × output_len`.
    pub outputs: Vec<f32>,
    /// Stack bytes used while preparing the engine.
    pub init_stack: u64,
    /// Stack bytes used by the predictions (the largest over the rows).
    pub stack: u64,
}

/// Runs `elf` on `target`'s machine and parses its output (`output_len` values per row).
pub fn run(qemu: &Path, target: Target, elf: &Path, output_len: usize) -> Result<Measured, String> {
    let log = elf.with_extension(format!("out{}", std::process::id()));
    let log_file =
        fs::File::create(&log).map_err(|e| format!("{}: cannot create: {e}", log.display()))?;
    let mut cmd = Command::new(qemu);
    if let Some(cpu) = target.cpu() {
        cmd.args(["-cpu", cpu]);
    }
    cmd.args([
        "-machine",
        target.machine(),
        "-nographic",
        "-monitor",
        "none",
        "-serial",
        "null",
    ])
    .args(["-semihosting-config", "enable=on,target=native"])
    .arg("-icount")
    .arg(format!("shift={ICOUNT_SHIFT}"))
    .arg("-kernel")
    .arg(elf)
    .stdin(Stdio::null())
    .stdout(log_file)
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{}: cannot run: {e}", qemu.display()))?;
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = fs::remove_file(&log);
                return Err(format!(
                    "{} on {} did not finish within {} s",
                    elf.display(),
                    target.machine(),
                    TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("{}: {e}", qemu.display())),
        }
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    let text = fs::read_to_string(&log).map_err(|e| format!("{}: cannot read: {e}", log.display()));
    let _ = fs::remove_file(&log);
    let text = text?;
    let parsed = parse(&text, output_len);
    match parsed {
        Ok(m) if status.success() => Ok(m),
        Err(e) => Err(format!(
            "{} on {}: {e}{}",
            elf.display(),
            target.machine(),
            if stderr.trim().is_empty() {
                String::new()
            } else {
                format!(" (QEMU: {})", stderr.trim())
            }
        )),
        Ok(_) => Err(format!(
            "{} on {}: QEMU exited with {status}: {}",
            elf.display(),
            target.machine(),
            stderr.trim()
        )),
    }
}

/// Parses the firmware's output.
pub fn parse(text: &str, output_len: usize) -> Result<Measured, String> {
    let mut m = Measured::default();
    let mut done = None;
    for (i, line) in text.lines().enumerate() {
        let bad = || {
            format!(
                "line {} of the firmware's output is malformed: `{line}`",
                i + 1
            )
        };
        let mut words = line.split_whitespace();
        let number = |w: Option<&str>| w.and_then(|w| w.parse::<u64>().ok()).ok_or_else(bad);
        match words.next() {
            Some("error") => {
                return Err(format!(
                    "the firmware stopped: {}",
                    line["error".len()..].trim()
                ));
            }
            Some("engine") => m.engine = words.next().unwrap_or_default().to_string(),
            Some("init-stack") => m.init_stack = number(words.next())?,
            Some("stack") => m.stack = number(words.next())?,
            Some("done") => done = Some(number(words.next())?),
            Some("row") => {
                let r = number(words.next())?;
                if r != m.instructions.len() as u64 {
                    return Err(bad());
                }
                m.instructions.push(number(words.next())?);
                for _ in 0..output_len {
                    let bits = words
                        .next()
                        .and_then(|w| u32::from_str_radix(w, 16).ok())
                        .ok_or_else(bad)?;
                    m.outputs.push(f32::from_bits(bits));
                }
                if words.next().is_some() {
                    return Err(bad());
                }
            }
            // Calibration and anything QEMU itself printed.
            _ => {}
        }
    }
    match done {
        Some(n) if n == m.instructions.len() as u64 => Ok(m),
        Some(_) => Err("the firmware's row count does not match its rows".into()),
        None => Err("the firmware ended without reporting all rows".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_and_reports_errors() {
        let text = "engine blob\ncalibration 51201 128\ninit-stack 184\nrow 0 17571 3f800000 00000000\n\
                    row 1 18624 bf800000 7fc00000\nstack 2016\ndone 2\n";
        let m = parse(text, 2).unwrap();
        assert_eq!(m.engine, "blob");
        assert_eq!(m.instructions, vec![17571, 18624]);
        assert_eq!(m.outputs[..3], [1.0, 0.0, -1.0]);
        assert!(m.outputs[3].is_nan());
        assert_eq!((m.init_stack, m.stack), (184, 2016));
        assert!(
            parse("engine c\nerror HardFault at pc=0x00000000\n", 1)
                .unwrap_err()
                .contains("HardFault")
        );
        assert!(
            parse("row 0 10 3f800000\n", 1)
                .unwrap_err()
                .contains("without reporting")
        );
        assert!(
            parse("row 1 10 3f800000\ndone 1\n", 1)
                .unwrap_err()
                .contains("malformed")
        );
    }
}
