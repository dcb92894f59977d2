//! Saying in words what is wrong with a safetensors file that the `safetensors` crate refuses.
//!
//! The crate's errors are bare variant names (`TensorInvalidInfo`, `MetadataIncompleteBuffer`,
//! `InvalidHeaderDeserialization`) that name neither the tensor nor the byte counts. When it
//! refuses a file we read the container again with the same rules and describe the first
//! problem found:
//!
//! ```text
//! [u64 LE: n] [n bytes: JSON header] [data section]
//! header = { "__metadata__": {string: string}, NAME: {dtype, shape, data_offsets: [start, end]}, ... }
//! ```
//!
//! with every tensor's `end - start = product(shape) · size(dtype)`, and the tensors, sorted by
//! `start`, tiling the data section exactly (no gap, no overlap, nothing after the last one).
//! If this reading finds nothing (it should not happen), the crate's own word is kept.

use safetensors::{Dtype, SafeTensorError};
use serde_json::{Map, Value};

/// safetensors' limit on the JSON header's size.
const MAX_HEADER_BYTES: u64 = 100_000_000;

/// What is wrong with `bytes`, which the `safetensors` crate refused with `err`.
pub(super) fn describe(bytes: &[u8], err: SafeTensorError) -> String {
    match diagnose(bytes) {
        Err(reason) => reason,
        Ok(()) => format!("{err}"),
    }
}

/// One tensor's place in the data section.
struct Extent<'a> {
    name: &'a str,
    start: u64,
    end: u64,
}

/// `Err(reason)` for the first problem of the container, `Ok` if none is found.
fn diagnose(bytes: &[u8]) -> Result<(), String> {
    let Some(prefix) = bytes.first_chunk::<8>() else {
        return Err(format!(
            "the file is {} bytes, too short for the 8-byte header length",
            bytes.len()
        ));
    };
    let n = u64::from_le_bytes(*prefix);
    let after_prefix = bytes.len() as u64 - 8;
    if n > MAX_HEADER_BYTES {
        return Err(format!(
            "the header length prefix says {n} bytes, more than safetensors' limit of {MAX_HEADER_BYTES}"
        ));
    }
    if n > after_prefix {
        return Err(format!(
            "the header length prefix says {n} bytes, but only {after_prefix} follow it (truncated?)"
        ));
    }
    let text = std::str::from_utf8(&bytes[8..8 + n as usize]).map_err(|e| {
        format!(
            "the header is not UTF-8 text (bad byte at {})",
            8 + e.valid_up_to()
        )
    })?;
    let header: Map<String, Value> =
        serde_json::from_str(text).map_err(|e| format!("the header is not a JSON object: {e}"))?;
    let mut extents = Vec::with_capacity(header.len());
    for (name, entry) in &header {
        if name == "__metadata__" {
            check_metadata(entry)?;
        } else {
            extents.push(extent(name, entry)?);
        }
    }
    check_tiling(&mut extents, after_prefix - n)
}

/// `__metadata__` must map strings to strings.
fn check_metadata(entry: &Value) -> Result<(), String> {
    let map = entry
        .as_object()
        .ok_or("__metadata__ is not a JSON object of strings")?;
    match map.iter().find(|(_, v)| !v.is_string()) {
        Some((key, v)) => Err(format!(
            "__metadata__ `{key}` is {v}, but metadata values must be strings"
        )),
        None => Ok(()),
    }
}

/// A tensor entry's dtype, shape and offsets, checked against each other.
fn extent<'a>(name: &'a str, entry: &Value) -> Result<Extent<'a>, String> {
    let field = |key: &str| {
        entry
            .get(key)
            .ok_or_else(|| format!("{name}: the header entry has no `{key}`"))
    };
    let dtype_value = field("dtype")?;
    let dtype: Dtype = serde_json::from_value(dtype_value.clone())
        .map_err(|_| format!("{name}: dtype {dtype_value} is not a safetensors dtype"))?;
    let shape_value = field("shape")?;
    let shape: Vec<u64> = serde_json::from_value(shape_value.clone())
        .map_err(|_| format!("{name}: shape {shape_value} is not a list of non-negative integers"))?;
    let offsets_value = field("data_offsets")?;
    let [start, end]: [u64; 2] = serde_json::from_value(offsets_value.clone())
        .map_err(|_| format!("{name}: data_offsets {offsets_value} is not two integers [start, end]"))?;
    if end < start {
        return Err(format!(
            "{name}: data_offsets [{start}, {end}] end before they start"
        ));
    }
    let needed = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .and_then(|count| count.checked_mul(dtype.size() as u64))
        .ok_or_else(|| format!("{name}: shape {shape:?} has more elements than fit in memory"))?;
    if end - start != needed {
        return Err(format!(
            "{name}: shape {shape:?} of {dtype:?} needs {needed} bytes, but data_offsets \
             [{start}, {end}] hold {}",
            end - start
        ));
    }
    Ok(Extent { name, start, end })
}

/// The tensors, in file order, must cover `0..data_len` of the data section exactly once.
fn check_tiling(extents: &mut [Extent], data_len: u64) -> Result<(), String> {
    extents.sort_by_key(|e| (e.start, e.end));
    let mut covered = 0u64;
    let mut previous: Option<&Extent> = None;
    for e in extents.iter() {
        if e.start < covered {
            let p = previous.map(|p| p.name).unwrap_or("?");
            return Err(format!(
                "{}: data_offsets [{}, {}] overlap {p}'s, which end at {covered}",
                e.name, e.start, e.end
            ));
        }
        if e.start > covered {
            return Err(format!(
                "{}: data_offsets start at {}, leaving bytes {covered}..{} of the data section \
                 to no tensor",
                e.name, e.start, e.start
            ));
        }
        covered = e.end;
        previous = Some(e);
    }
    if covered != data_len {
        return Err(format!(
            "the tensors' data_offsets end at {covered}, but the data section after the header \
             has {data_len} bytes (truncated, or extra bytes at the end)"
        ));
    }
    Ok(())
}
