//! Runs the shared self-test (the one the firmware runs on the Cortex-M boards) at every level this CPU supports
//! and prints the counts per level, so the harness log shows which ISA paths executed. Fails on any failure.

use emkern_simd::{Simd, selftest};

fn main() {
    let mut failed = 0u32;
    let mut passed = 0u32;
    for simd in Simd::available() {
        let level = simd.level();
        let tally = selftest::run(simd, &mut |f| {
            eprintln!("FAIL {level}: {f:?}");
        });
        println!(
            "selftest level {:<7} {:>6} cases passed, {} failed",
            level.name(),
            tally.passed,
            tally.failed
        );
        passed += tally.passed;
        failed += tally.failed;
    }
    println!("selftest: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
