//! The tools `emkern profile` needs, checked before any build: it installs nothing itself, and a missing tool is
//! a one-line error naming the command that installs it.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::target::Target;

/// The QEMU system emulator for 32-bit Arm.
pub const QEMU: &str = "qemu-system-arm";
/// The C cross-compiler (engine `c`).
pub const GCC: &str = "arm-none-eabi-gcc";

/// `program` found on `PATH` (a name with a `/` is taken as a path).
pub fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return is_executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// QEMU, checked to have `target`'s machine.
pub fn qemu(target: Target) -> Result<PathBuf, String> {
    let qemu = find_program(QEMU).ok_or_else(|| {
        format!("{QEMU} not found on PATH (install it: apt-get install qemu-system-arm)")
    })?;
    let out = Command::new(&qemu)
        .args(["-machine", "help"])
        .output()
        .map_err(|e| format!("{}: cannot run: {e}", qemu.display()))?;
    let list = String::from_utf8_lossy(&out.stdout);
    let machine = target.machine();
    if !list
        .lines()
        .any(|l| l.split_whitespace().next() == Some(machine))
    {
        return Err(format!(
            "{} has no machine {machine} (needs QEMU 7.2 or newer: apt-get install qemu-system-arm)",
            qemu.display()
        ));
    }
    Ok(qemu)
}

/// The C cross-compiler and the newlib archives (`libm.a`, `libc_nano.a` or `libc.a`) of `target`'s multilib,
/// which the generated C's `expf`/`exp` need.
pub struct CToolchain {
    /// `arm-none-eabi-gcc`.
    pub gcc: PathBuf,
    /// Archives to link, absolute paths.
    pub libraries: Vec<PathBuf>,
}

/// Finds `arm-none-eabi-gcc` and its newlib for `target`.
pub fn c_toolchain(target: Target) -> Result<CToolchain, String> {
    let gcc = find_program(GCC).ok_or_else(|| {
        format!("{GCC} not found on PATH (install it: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)")
    })?;
    let library = |name: &str| -> Option<PathBuf> {
        let out = Command::new(&gcc)
            .args(target.cflags())
            .arg(format!("-print-file-name={name}"))
            .output()
            .ok()?;
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        (p.is_absolute() && p.is_file()).then_some(p)
    };
    let missing = || {
        format!(
            "{}: newlib for {} not found (install it: apt-get install libnewlib-arm-none-eabi)",
            gcc.display(),
            target.name()
        )
    };
    let libm = library("libm.a").ok_or_else(missing)?;
    let libc = library("libc_nano.a")
        .or_else(|| library("libc.a"))
        .ok_or_else(missing)?;
    Ok(CToolchain {
        gcc,
        libraries: vec![libm, libc],
    })
}

/// Checks that the Rust standard library for `target` is installed (in the sysroot of the `rustc` cargo uses).
pub fn rust_target(target: Target) -> Result<(), String> {
    let triple = target.triple();
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| {
            format!("rustc not found ({e}): install Rust with rustup (https://rustup.rs)")
        })?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !out.status.success()
        || !sysroot
            .join("lib/rustlib")
            .join(triple)
            .join("lib")
            .is_dir()
    {
        return Err(format!(
            "the Rust target {triple} is not installed (install it: rustup target add {triple})"
        ));
    }
    Ok(())
}
