//! The boards `emkern profile` runs on: for each target name, the Rust target, the QEMU machine and CPU, the C
//! compiler's flags and the memory the firmware may use.

/// A profiling target (a core on an emulated board).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Cortex-M4F on `mps2-an386`.
    CortexM4f,
    /// Cortex-M55 (with Helium) on `mps3-an547`.
    CortexM55,
    /// Cortex-M3 (no FPU) on `mps2-an385`.
    CortexM3,
    /// The `cortex-m0plus` target: QEMU's `microbit` (nRF51822), whose core is a Cortex-M0 (ARMv6-M like the
    /// M0+; QEMU has no M0+ board).
    CortexM0plus,
}

impl Target {
    /// Every target, in the order they are listed.
    pub const ALL: [Target; 4] = [
        Target::CortexM4f,
        Target::CortexM55,
        Target::CortexM3,
        Target::CortexM0plus,
    ];

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Target::CortexM4f => "cortex-m4f",
            Target::CortexM55 => "cortex-m55",
            Target::CortexM3 => "cortex-m3",
            Target::CortexM0plus => "cortex-m0plus",
        }
    }

    /// Parses a target name.
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The Rust target triple.
    pub fn triple(self) -> &'static str {
        match self {
            Target::CortexM4f => "thumbv7em-none-eabihf",
            Target::CortexM55 => "thumbv8m.main-none-eabihf",
            Target::CortexM3 => "thumbv7m-none-eabi",
            Target::CortexM0plus => "thumbv6m-none-eabi",
        }
    }

    /// The QEMU machine (`-machine`).
    pub fn machine(self) -> &'static str {
        match self {
            Target::CortexM4f => "mps2-an386",
            Target::CortexM55 => "mps3-an547",
            Target::CortexM3 => "mps2-an385",
            Target::CortexM0plus => "microbit",
        }
    }

    /// The QEMU CPU (`-cpu`), or `None` for a machine with a fixed core (the micro:bit's Cortex-M0).
    pub fn cpu(self) -> Option<&'static str> {
        match self {
            Target::CortexM4f => Some("cortex-m4"),
            Target::CortexM55 => Some("cortex-m55"),
            Target::CortexM3 => Some("cortex-m3"),
            Target::CortexM0plus => None,
        }
    }

    /// The core has a single-precision FPU (the M4F and the M55; the M3 and M0 compute f32 in software).
    pub fn has_fpu(self) -> bool {
        matches!(self, Target::CortexM4f | Target::CortexM55)
    }

    /// The core that actually runs, for reports.
    pub fn core(self) -> &'static str {
        match self {
            Target::CortexM4f => "Cortex-M4F",
            Target::CortexM55 => "Cortex-M55 (Helium)",
            Target::CortexM3 => "Cortex-M3, no FPU",
            Target::CortexM0plus => "Cortex-M0 (nRF51, stands in for the M0+), no FPU",
        }
    }

    /// The firmware's cargo features besides the engine.
    pub fn features(self) -> &'static [&'static str] {
        match self {
            Target::CortexM55 => &["helium"],
            _ => &[],
        }
    }

    /// `arm-none-eabi-gcc` flags for the target's core and float ABI (they also select newlib's multilib).
    pub fn cflags(self) -> &'static [&'static str] {
        match self {
            Target::CortexM4f => &[
                "-mthumb",
                "-mcpu=cortex-m4",
                "-mfpu=fpv4-sp-d16",
                "-mfloat-abi=hard",
            ],
            Target::CortexM55 => &[
                "-mthumb",
                "-mcpu=cortex-m55",
                "-mfpu=auto",
                "-mfloat-abi=hard",
            ],
            Target::CortexM3 => &["-mthumb", "-mcpu=cortex-m3", "-mfloat-abi=soft"],
            Target::CortexM0plus => &["-mthumb", "-mcpu=cortex-m0", "-mfloat-abi=soft"],
        }
    }

    /// Flash (code and read-only data) of the firmware's memory layout, in bytes (see `boards/profile/build.rs`).
    pub fn flash_bytes(self) -> u64 {
        match self {
            Target::CortexM4f | Target::CortexM3 => 4 << 20,
            Target::CortexM55 => 512 << 10,
            Target::CortexM0plus => 256 << 10,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
