//! The optional metadata section of a version-2 blob (see [`format`](super::format)): validation at load time and
//! the allocation-free [`ClassNames`] iterator.

use super::error::BlobError;
use super::format::{self, get_u32};

/// Where the validated metadata records are, for the accessors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct MetadataIndex {
    /// Byte offset of the first class-name entry (`len: u32` then the bytes).
    pub(super) class_names_off: usize,
    /// Number of class names (0 when the blob has none).
    pub(super) n_class_names: usize,
}

/// Validates the metadata records in `bytes[start..end]` (every record inside the section, known records
/// well-formed, each known tag at most once) and indexes them.
pub(super) fn validate(bytes: &[u8], start: usize, end: usize) -> Result<MetadataIndex, BlobError> {
    let bad = BlobError::BadMetadata;
    let mut index = MetadataIndex::default();
    let mut seen_classes = false;
    let mut at = start;
    while at < end {
        let head_end = at
            .checked_add(format::META_RECORD_HEAD)
            .filter(|&e| e <= end)
            .ok_or(bad("record head runs past the section"))?;
        let tag = get_u32(bytes, at).ok_or(bad("record head runs past the section"))?;
        let len = get_u32(bytes, at + 4).ok_or(bad("record head runs past the section"))? as usize;
        let record_end = head_end
            .checked_add(len)
            .filter(|&e| e <= end)
            .ok_or(bad("record runs past the section"))?;
        if tag == format::TAG_CLASS_NAMES {
            if seen_classes {
                return Err(bad("class names appear twice"));
            }
            seen_classes = true;
            index = class_names(bytes, head_end, record_end)?;
        }
        at = record_end;
    }
    Ok(index)
}

/// Validates a class-names payload in `bytes[start..end]`.
fn class_names(bytes: &[u8], start: usize, end: usize) -> Result<MetadataIndex, BlobError> {
    let bad = BlobError::BadMetadata;
    if end - start < 4 {
        return Err(bad("class-name count runs past the record"));
    }
    let count = get_u32(bytes, start).ok_or(bad("class-name count runs past the record"))? as usize;
    let first = start + 4;
    let mut at = first;
    for _ in 0..count {
        if end - at < 4 {
            return Err(bad("class-name length runs past the record"));
        }
        let len = get_u32(bytes, at).ok_or(bad("class-name length runs past the record"))? as usize;
        let text_end = (at + 4)
            .checked_add(len)
            .filter(|&e| e <= end)
            .ok_or(bad("class name runs past the record"))?;
        let text = bytes
            .get(at + 4..text_end)
            .ok_or(bad("class name runs past the record"))?;
        if core::str::from_utf8(text).is_err() {
            return Err(bad("class name is not UTF-8"));
        }
        at = text_end;
    }
    if at != end {
        return Err(bad("bytes after the last class name"));
    }
    Ok(MetadataIndex {
        class_names_off: first,
        n_class_names: count,
    })
}

/// The class names stored with a model, in class order (see [`Forest::class_names`](super::Forest::class_names)).
/// Validated when the blob was loaded; iterating never allocates and never panics.
#[derive(Clone, Debug)]
pub struct ClassNames<'a> {
    bytes: &'a [u8],
    at: usize,
    left: usize,
}

impl<'a> ClassNames<'a> {
    pub(super) fn new(bytes: &'a [u8], index: MetadataIndex) -> ClassNames<'a> {
        ClassNames {
            bytes,
            at: index.class_names_off,
            left: index.n_class_names,
        }
    }
}

impl<'a> Iterator for ClassNames<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.left == 0 {
            return None;
        }
        // Validated at load: the entry lies in the blob and is UTF-8. Should that not hold, the iterator ends.
        let len = get_u32(self.bytes, self.at)? as usize;
        let start = self.at.checked_add(4)?;
        let text = self.bytes.get(start..start.checked_add(len)?)?;
        let name = core::str::from_utf8(text).ok()?;
        self.at = start + len;
        self.left -= 1;
        Some(name)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for ClassNames<'_> {}
