//! Softmax over the channel (last, fastest) axis of an NHWC tensor, in place: Keras's
//! `Softmax(axis=-1)` / `Activation('softmax')`, the last layer of the segmentation head.
//!
//! ```text
//! for every pixel row x[0 .. C):   m = max_j x[j]
//!                                   e[j] = exp(x[j] − m)          (every e ≤ 1: no overflow)
//!                                   y[j] = e[j] / Σ_k e[k]
//! ```
//!
//! Subtracting the row maximum (the "safe softmax") keeps `exp` in `(0, 1]`, so rows of
//! logits of any magnitude neither overflow nor turn into NaN; at least one `e` is exactly 1, so
//! the sum is ≥ 1. The tiers:
//!
//! - `Reference`: the three loops above with `f32::exp`;
//! - `Portable`: a branch-free polynomial `exp`; for `C < 8`, rows are transposed in groups of
//!   8 (`t[channel][row]`) so max, exp, sum and division run across 8 rows at once, which is
//!   what vectorises when `C` is 2 or 3; for `C ≥ 8`, row by row;
//! - `Avx2`: the same with an 8-lane Cephes-style `exp` (see `x86_64.rs`): one vector per
//!   channel of a group of 8 rows when `C < 8`; when `C ≥ 8`, each row vectorised across its
//!   channels, the `C % 8` tail through masked loads and stores.
//!
//! Rows are independent and rayon splits over fixed blocks of whole rows, so results are
//! bit-identical for any thread count.

use crate::error::{check_len, KernelError, Result};
use crate::tier::Tier;
use ndarray::{Array4, ArrayView4};
use rayon::prelude::*;

mod portable;
pub mod reference;
#[cfg(target_arch = "x86_64")]
mod x86_64;

const OP: &str = "softmax_channels";

/// Floats per rayon task, rounded down to whole rows (at least one row).
pub const PAR_CHUNK: usize = 16 * 1024;

pub use portable::{GROUP, SMALL_C};

/// The name of the kernel a tier runs for `c` channels.
pub fn kernel_name(tier: Tier, c: usize) -> &'static str {
    match tier {
        Tier::Reference => "f32_softmax_libm_reference",
        Tier::Portable if c < SMALL_C => "f32_softmax_8rows_polyexp_portable",
        Tier::Portable => "f32_softmax_row_polyexp_portable",
        Tier::Avx2 | Tier::Avx512 if c < SMALL_C => "f32_softmax_8rows_avx2",
        Tier::Avx2 | Tier::Avx512 => "f32_softmax_row_8c_avx2",
    }
}

/// Softmax of every `c`-float row of `x`, in place, explicit tier. `c >= 1` and
/// `x.len() % c == 0`.
pub fn softmax_channels_inplace_with_tier(tier: Tier, x: &mut [f32], c: usize) -> Result<()> {
    tier.ensure_available()?;
    if c == 0 {
        return Err(KernelError::InvalidParams {
            op: OP,
            reason: "zero channels".into(),
        });
    }
    check_len(OP, "x", x.len().div_ceil(c) * c, x.len())?;
    let task = (PAR_CHUNK / c).max(1) * c;
    match tier {
        Tier::Reference => reference::softmax_channels_inplace(x, c),
        Tier::Portable => x
            .par_chunks_mut(task)
            .for_each(|rows| portable::softmax_rows(rows, c)),
        Tier::Avx2 | Tier::Avx512 => run_avx2(x, c, task)?,
    }
    Ok(())
}

#[cfg(target_arch = "x86_64")]
fn run_avx2(x: &mut [f32], c: usize, task: usize) -> Result<()> {
    let isa = x86_64::Avx2::detect()?;
    x.par_chunks_mut(task)
        .for_each(|rows| x86_64::softmax_rows_avx2(isa, rows, c));
    Ok(())
}

#[cfg(not(target_arch = "x86_64"))]
fn run_avx2(_: &mut [f32], _: usize, _: usize) -> Result<()> {
    Tier::Avx2.ensure_available().map(|_| ())
}

/// `out[i] = e^{x[i]}` with the exponential a tier's softmax uses: `f32::exp` (Reference), the
/// scalar polynomial (Portable) or the 8-lane polynomial (Avx2). Exposed so the polynomials can
/// be tested and benchmarked on their own. Relative error: a few ulp on `[-87.3, 88]`; exactly
/// 0 below `ln(f32::MIN_POSITIVE)`; the polynomials clamp inputs above 88 (softmax only feeds
/// them `x − max ≤ 0`).
pub fn exp_with_tier(tier: Tier, x: &[f32], out: &mut [f32]) -> Result<()> {
    tier.ensure_available()?;
    check_len("exp", "out", x.len(), out.len())?;
    match tier {
        Tier::Reference => out.iter_mut().zip(x).for_each(|(o, &v)| *o = v.exp()),
        Tier::Portable => out
            .iter_mut()
            .zip(x)
            .for_each(|(o, &v)| *o = portable::exp_poly(v)),
        Tier::Avx2 | Tier::Avx512 => exp_avx2(x, out)?,
    }
    Ok(())
}

#[cfg(target_arch = "x86_64")]
fn exp_avx2(x: &[f32], out: &mut [f32]) -> Result<()> {
    x86_64::exp_slice_avx2(x86_64::Avx2::detect()?, x, out);
    Ok(())
}

#[cfg(not(target_arch = "x86_64"))]
fn exp_avx2(_: &[f32], _: &mut [f32]) -> Result<()> {
    Tier::Avx2.ensure_available().map(|_| ())
}

/// [`softmax_channels_inplace_with_tier`] with [`Tier::active`].
pub fn softmax_channels_inplace(x: &mut [f32], c: usize) -> Result<()> {
    softmax_channels_inplace_with_tier(Tier::active()?, x, c)
}

/// ndarray convenience: softmax over the last axis of `(N, H, W, C)` (any layout).
pub fn softmax_channels(input: ArrayView4<'_, f32>) -> Result<Array4<f32>> {
    let c = input.dim().3;
    let mut out = input.as_standard_layout().into_owned();
    let slice = out
        .as_slice_mut()
        .expect("as_standard_layout returns a contiguous array");
    if slice.is_empty() {
        return Ok(out);
    }
    softmax_channels_inplace(slice, c)?;
    Ok(out)
}
