//! Elementwise activations applied in place: ReLU, ReLU6 and identity.
//!
//! Contract: `x` is any f32 slice (an NHWC tensor flattened, or one row of it); every element
//! `v` becomes [`Activation::apply`]`(v)`. All tiers agree bit for bit, NaN included (whatever
//! `apply` does with a NaN, the SIMD tier does too: see `x86_64.rs`). Any length is legal, so
//! the only error is a tier the CPU lacks.
//!
//! The portable tier relies on auto-vectorisation of `max`/`min`; the AVX2 tier
//! (`x86_64.rs`) runs `vmaxps`/`vminps` on full 8-lane vectors and leaves the `< 8` tail to a
//! scalar frame. Both split the slice into fixed [`PAR_CHUNK`]-element blocks for rayon, so the
//! result never depends on the thread count (and could not anyway: every element is
//! independent).

use crate::dispatch::KernelTable;
#[cfg(target_arch = "x86_64")]
use crate::dispatch::{ActivationFn, Kernel};
use crate::epilogue::Activation;
use crate::error::Result;
use crate::tier::Tier;
use ndarray::{Array4, ArrayView4};
use rayon::prelude::*;

pub(crate) mod portable;
pub mod reference;
#[cfg(target_arch = "x86_64")]
mod x86_64;

/// Elements per rayon task (128 KiB of f32): large enough to amortise scheduling, small enough
/// to balance two to sixteen cores on a 112x112x64 activation.
pub const PAR_CHUNK: usize = 32 * 1024;

/// The name of the kernel a tier runs (for benchmark ids and logs).
pub fn kernel_name(tier: Tier) -> Result<&'static str> {
    Ok(KernelTable::for_tier(tier)?.activation.name)
}

/// Applies `act` to every element of `x` with an explicit tier.
pub fn activation_inplace_with_tier(tier: Tier, act: Activation, x: &mut [f32]) -> Result<()> {
    let kernel = KernelTable::for_tier(tier)?.activation.run;
    if act == Activation::None {
        return Ok(());
    }
    x.par_chunks_mut(PAR_CHUNK).for_each(|c| kernel(act, c));
    Ok(())
}

/// The AVX2 kernel, if this CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx2_kernel() -> Option<Kernel<ActivationFn>> {
    x86_64::kernel()
}

/// Applies `act` to every element of `x` with [`Tier::active`].
pub fn activation_inplace(act: Activation, x: &mut [f32]) -> Result<()> {
    activation_inplace_with_tier(Tier::active()?, act, x)
}

/// `x = min(max(x, 0), 6)`, MobileNet's activation.
pub fn relu6_inplace(x: &mut [f32]) -> Result<()> {
    activation_inplace(Activation::Relu6, x)
}

/// `x = max(x, 0)`.
pub fn relu_inplace(x: &mut [f32]) -> Result<()> {
    activation_inplace(Activation::Relu, x)
}

/// ndarray convenience: returns `act(input)` as a new standard-layout array (any input layout).
pub fn activation(input: ArrayView4<'_, f32>, act: Activation) -> Result<Array4<f32>> {
    let mut out = input.as_standard_layout().into_owned();
    let slice = out
        .as_slice_mut()
        .expect("as_standard_layout returns a contiguous array");
    activation_inplace(act, slice)?;
    Ok(out)
}
