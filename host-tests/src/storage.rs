//! How a device holds a tensor's values: the storage types the attention and RoPE commands round their inputs
//! to.

/// Storage type for an input, as the device would hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// f32.
    F32,
    /// IEEE binary16 (values rounded to nearest even on load).
    F16,
    /// bfloat16 (values rounded to nearest even on load).
    Bf16,
}

impl std::str::FromStr for Storage {
    type Err = String;
    fn from_str(s: &str) -> Result<Storage, String> {
        match s {
            "f32" => Ok(Storage::F32),
            "f16" => Ok(Storage::F16),
            "bf16" => Ok(Storage::Bf16),
            _ => Err(format!("`{s}`: expected f32, f16 or bf16")),
        }
    }
}
