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

use crate::dispatch::KernelTable;
#[cfg(target_arch = "x86_64")]
use crate::dispatch::{ExpFn, Kernel, SoftmaxFn};
use crate::error::{check_len, KernelError, Result};
use crate::tier::Tier;
use ndarray::{Array4, ArrayView4};
use rayon::prelude::*;

pub(crate) mod portable;
pub mod reference;
#[cfg(target_arch = "x86_64")]
mod x86_64;

const OP: &str = "softmax_channels";

/// Floats per rayon task, rounded down to whole rows (at least one row).
pub const PAR_CHUNK: usize = 16 * 1024;

pub use portable::{GROUP, SMALL_C};

/// The name of the kernel a tier runs for `c` channels.
pub fn kernel_name(tier: Tier, c: usize) -> Result<&'static str> {
    let table = KernelTable::for_tier(tier)?;
    Ok(if c < SMALL_C {
        table.softmax_narrow.name
    } else {
        table.softmax_wide.name
    })
}

/// Softmax of every `c`-float row of `x`, in place, explicit tier. `c >= 1` and
/// `x.len() % c == 0`.
pub fn softmax_channels_inplace_with_tier(tier: Tier, x: &mut [f32], c: usize) -> Result<()> {
    let table = KernelTable::for_tier(tier)?;
    if c == 0 {
        return Err(KernelError::InvalidParams {
            op: OP,
            reason: "zero channels".into(),
        });
    }
    check_len(OP, "x", x.len().div_ceil(c) * c, x.len())?;
    let kernel = if c < SMALL_C {
        table.softmax_narrow.run
    } else {
        table.softmax_wide.run
    };
    let task = (PAR_CHUNK / c).max(1) * c;
    x.par_chunks_mut(task).for_each(|rows| kernel(rows, c));
    Ok(())
}

/// `out[i] = e^{x[i]}` with the exponential a tier's softmax uses: `f32::exp` (Reference), the
/// scalar polynomial (Portable) or the 8-lane polynomial (Avx2). Exposed so the polynomials can
/// be tested and benchmarked on their own. Relative error: a few ulp on `[-87.3, 88]`; exactly
/// 0 below `ln(f32::MIN_POSITIVE)`; the polynomials clamp inputs above 88 (softmax only feeds
/// them `x − max ≤ 0`).
pub fn exp_with_tier(tier: Tier, x: &[f32], out: &mut [f32]) -> Result<()> {
    let kernel = KernelTable::for_tier(tier)?.exp.run;
    check_len("exp", "out", x.len(), out.len())?;
    kernel(x, out);
    Ok(())
}

/// The AVX2 kernels (narrow softmax, wide softmax, exp), if this CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx2_kernels() -> Option<(Kernel<SoftmaxFn>, Kernel<SoftmaxFn>, Kernel<ExpFn>)> {
    x86_64::kernels()
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
