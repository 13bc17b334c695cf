//! `emkern levels`: the SIMD levels and which ones this CPU can run.

use emkern_simd::{Level, Simd};

use super::CliResult;

/// One line per instruction-set level: its name and whether this CPU and build can run it, best level marked.
pub fn describe_levels() -> String {
    let best = Simd::best().level();
    let mut s = String::new();
    for level in Level::ALL {
        let state = if level == best {
            "available (selected)"
        } else if level.is_available() {
            "available"
        } else {
            "not available"
        };
        s.push_str(&format!("{:<7} {state}\n", level.name()));
    }
    s
}

/// Runs `emkern levels`.
pub fn run() -> CliResult {
    Ok(crate::output::print(&describe_levels())?)
}
