//! The sizes of a firmware image, read from its ELF file (32-bit little-endian, as every Cortex-M image is):
//! section sizes as `size` (Berkeley format) counts them, and the symbol table.
//!
//! Parsed here rather than through a crate: the section and symbol headers are two fixed-size records, and this
//! keeps `emkern` free of a dependency for a few dozen lines.

use std::path::Path;

/// The sizes of an image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sizes {
    /// Code and read-only data (allocated, read-only sections with contents: vector table, `.text`, `.rodata`).
    pub text: u64,
    /// Initialised data (allocated, writable sections with contents): in flash, copied to RAM at start-up.
    pub data: u64,
    /// Zeroed or uninitialised data (allocated sections without contents).
    pub bss: u64,
    /// Function and object symbols with their sizes.
    pub symbols: Vec<Symbol>,
}

impl Sizes {
    /// Flash the image takes: `text + data`.
    pub fn flash(&self) -> u64 {
        self.text + self.data
    }

    /// Static RAM the image takes: `data + bss` (the stack comes on top).
    pub fn ram(&self) -> u64 {
        self.data + self.bss
    }

    /// The total size of the symbols whose name satisfies `pick`.
    pub fn symbol_bytes(&self, pick: impl Fn(&str) -> bool) -> u64 {
        self.symbols
            .iter()
            .filter(|s| pick(&s.name))
            .map(|s| s.size)
            .sum()
    }
}

/// A function or object symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    /// The (mangled) name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
}

const SHT_SYMTAB: u32 = 2;
const SHT_NOBITS: u32 = 8;
const SHF_WRITE: u32 = 1;
const SHF_ALLOC: u32 = 2;
const STT_OBJECT: u8 = 1;
const STT_FUNC: u8 = 2;

/// Reads the sizes of the ELF file at `path`.
pub fn read(path: &Path) -> Result<Sizes, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Little-endian reads that fail past the end.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&self, at: usize) -> Result<u8, String> {
        self.0.get(at).copied().ok_or_else(truncated)
    }
    fn u16(&self, at: usize) -> Result<u16, String> {
        let b = self.0.get(at..at + 2).ok_or_else(truncated)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&self, at: usize) -> Result<u32, String> {
        let b = self.0.get(at..at + 4).ok_or_else(truncated)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn slice(&self, at: usize, len: usize) -> Result<&[u8], String> {
        self.0
            .get(at..at.checked_add(len).ok_or_else(truncated)?)
            .ok_or_else(truncated)
    }
}

fn truncated() -> String {
    "truncated ELF file".into()
}

/// A section header's fields this reader uses.
struct Section {
    kind: u32,
    flags: u32,
    offset: usize,
    size: usize,
    link: u32,
}

/// Parses an ELF32 little-endian image.
pub fn parse(bytes: &[u8]) -> Result<Sizes, String> {
    let b = Bytes(bytes);
    if b.slice(0, 4)? != b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    if b.u8(4)? != 1 || b.u8(5)? != 1 {
        return Err("not a 32-bit little-endian ELF file".into());
    }
    let shoff = b.u32(0x20)? as usize;
    let shentsize = b.u16(0x2E)? as usize;
    let shnum = b.u16(0x30)? as usize;
    if shentsize < 40 {
        return Err(format!(
            "section header entries of {shentsize} bytes (expected 40)"
        ));
    }
    let mut sections = Vec::with_capacity(shnum);
    for i in 0..shnum {
        let at = shoff + i * shentsize;
        sections.push(Section {
            kind: b.u32(at + 4)?,
            flags: b.u32(at + 8)?,
            offset: b.u32(at + 16)? as usize,
            size: b.u32(at + 20)? as usize,
            link: b.u32(at + 24)?,
        });
    }
    let mut sizes = Sizes::default();
    for s in &sections {
        if s.flags & SHF_ALLOC == 0 {
            continue;
        }
        let size = s.size as u64;
        if s.kind == SHT_NOBITS {
            sizes.bss += size;
        } else if s.flags & SHF_WRITE != 0 {
            sizes.data += size;
        } else {
            sizes.text += size;
        }
    }
    for s in sections.iter().filter(|s| s.kind == SHT_SYMTAB) {
        let strings = sections
            .get(s.link as usize)
            .ok_or("symbol table without a string table")?;
        let names = b.slice(strings.offset, strings.size)?;
        let table = Bytes(b.slice(s.offset, s.size)?);
        for i in 0..s.size / 16 {
            let at = i * 16;
            let kind = table.u8(at + 12)? & 0xF;
            if kind != STT_FUNC && kind != STT_OBJECT {
                continue;
            }
            let start = table.u32(at)? as usize;
            let name = names
                .get(start..)
                .and_then(|n| n.split(|&c| c == 0).next())
                .ok_or("symbol name outside the string table")?;
            sizes.symbols.push(Symbol {
                name: String::from_utf8_lossy(name).into_owned(),
                size: u64::from(table.u32(at + 8)?),
            });
        }
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_is_not_elf32_le() {
        assert_eq!(parse(b"\x7fEL").unwrap_err(), "truncated ELF file");
        assert_eq!(parse(b"MZ\0\0\0\0").unwrap_err(), "not an ELF file");
        let mut elf64 = b"\x7fELF\x02\x01".to_vec();
        elf64.resize(64, 0);
        assert_eq!(
            parse(&elf64).unwrap_err(),
            "not a 32-bit little-endian ELF file"
        );
    }
}
