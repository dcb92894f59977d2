//! Batch normalisation (inference form) on NHWC tensors, and folding it into convolutions.
//!
//! Contract: for channel `c` (the last, fastest axis),
//!
//! ```text
//! y = γ[c] · (x − μ[c]) / √(σ²[c] + ε) + β[c]
//!   = x · scale[c] + shift[c],   scale = γ / √(σ² + ε),   shift = β − μ · scale
//! ```
//!
//! [`BatchNorm::to_scale_shift`] precomputes the second form once (in f64, then rounded), and
//! every tier's kernel applies it with a multiply then an add (no FMA), so all tiers agree bit
//! for bit; [`reference::batchnorm_nhwc`] evaluates the literal first form (the oracle the
//! tests compare against). Work is split into fixed
//! blocks of whole pixels for rayon, so results do not depend on the thread count.
//!
//! Most BatchNormalization layers of the model follow a convolution and disappear at load time
//! through [`fold_into_conv_hwio`] / [`fold_into_depthwise_hwc`] (ncnn's `create_pipeline`
//! habit); the standalone kernel is for the rest.

use crate::dispatch::KernelTable;
#[cfg(target_arch = "x86_64")]
use crate::dispatch::{Kernel, ScaleShiftFn, ScaleShiftInplaceFn};
use crate::error::{check_len, KernelError, Result};
use crate::tier::Tier;
use ndarray::{Array4, ArrayView4};
use rayon::prelude::*;

mod fold;
pub(crate) mod portable;
pub mod reference;
#[cfg(target_arch = "x86_64")]
mod x86_64;

pub use fold::{fold_into_conv_hwio, fold_into_depthwise_hwc};

const OP: &str = "batchnorm";

/// Keras's `BatchNormalization(epsilon=1e-3)` default.
pub const KERAS_EPSILON: f32 = 1e-3;

/// Floats per rayon task, rounded down to whole pixels (at least one pixel per task).
pub const PAR_CHUNK: usize = 32 * 1024;

/// The per-channel statistics of one inference-mode BatchNormalization layer.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    /// Learned multiplier γ (Keras `gamma`), one per channel.
    pub gamma: Vec<f32>,
    /// Learned offset β (Keras `beta`).
    pub beta: Vec<f32>,
    /// Running mean μ (Keras `moving_mean`).
    pub mean: Vec<f32>,
    /// Running variance σ² (Keras `moving_variance`).
    pub var: Vec<f32>,
    /// ε added to the variance (Keras default [`KERAS_EPSILON`]).
    pub eps: f32,
}

impl BatchNorm {
    /// Builds a layer, checking all four vectors have the same length and `var + eps > 0`.
    pub fn new(gamma: Vec<f32>, beta: Vec<f32>, mean: Vec<f32>, var: Vec<f32>, eps: f32) -> Result<Self> {
        let bn = BatchNorm {
            gamma,
            beta,
            mean,
            var,
            eps,
        };
        bn.validate()?;
        Ok(bn)
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.gamma.len()
    }

    /// Re-checks the invariants of [`BatchNorm::new`] (the fields are public).
    pub fn validate(&self) -> Result<()> {
        let c = self.gamma.len();
        check_len(OP, "beta", c, self.beta.len())?;
        check_len(OP, "mean", c, self.mean.len())?;
        check_len(OP, "var", c, self.var.len())?;
        if let Some(i) = self
            .var
            .iter()
            .position(|&v| !(v + self.eps > 0.0 && (v + self.eps).is_finite()))
        {
            let reason = format!(
                "var[{i}] + eps = {} must be positive and finite",
                self.var[i] + self.eps
            );
            return Err(KernelError::InvalidParams { op: OP, reason });
        }
        Ok(())
    }

    /// `(scale, shift)` in f64: `scale = γ/√(σ²+ε)`, `shift = β − μ·scale`.
    pub(crate) fn scale_shift_f64(&self) -> (Vec<f64>, Vec<f64>) {
        let scale: Vec<f64> = self
            .gamma
            .iter()
            .zip(&self.var)
            .map(|(&g, &v)| g as f64 / (v as f64 + self.eps as f64).sqrt())
            .collect();
        let shift = self
            .beta
            .iter()
            .zip(&self.mean)
            .zip(&scale)
            .map(|((&b, &m), &s)| b as f64 - m as f64 * s)
            .collect();
        (scale, shift)
    }

    /// `(scale, shift)` per channel, computed in f64 and rounded once to f32.
    pub fn to_scale_shift(&self) -> (Vec<f32>, Vec<f32>) {
        let (s, t) = self.scale_shift_f64();
        (
            s.iter().map(|&v| v as f32).collect(),
            t.iter().map(|&v| v as f32).collect(),
        )
    }
}

/// The name of the kernel a tier runs.
pub fn kernel_name(tier: Tier) -> Result<&'static str> {
    Ok(KernelTable::for_tier(tier)?.scale_shift.name)
}

/// The AVX2 kernels (out of place, in place), if this CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx2_kernels() -> Option<(Kernel<ScaleShiftFn>, Kernel<ScaleShiftInplaceFn>)> {
    x86_64::kernels()
}

/// Checks `scale`/`shift` agree, `c >= 1` and `len` is a whole number of pixels.
fn check_affine(scale: &[f32], shift: &[f32], what: &'static str, len: usize) -> Result<usize> {
    let c = scale.len();
    check_len(OP, "shift", c, shift.len())?;
    if c == 0 {
        return Err(KernelError::InvalidParams {
            op: OP,
            reason: "zero channels".into(),
        });
    }
    check_len(OP, what, len.div_ceil(c) * c, len)?;
    Ok(c)
}

/// Floats per rayon task for `c` channels: whole pixels, at least one.
fn chunk_len(c: usize) -> usize {
    (PAR_CHUNK / c).max(1) * c
}

/// `output = input · scale[c] + shift[c]` (NHWC, `c = scale.len()`), explicit tier.
/// `Reference` is the naive loop of the same formula.
pub fn scale_shift_nhwc_with_tier(
    tier: Tier,
    scale: &[f32],
    shift: &[f32],
    input: &[f32],
    output: &mut [f32],
) -> Result<()> {
    let kernel = KernelTable::for_tier(tier)?.scale_shift.run;
    check_affine(scale, shift, "input", input.len())?;
    check_len(OP, "output", input.len(), output.len())?;
    let chunk = chunk_len(scale.len());
    output
        .par_chunks_mut(chunk)
        .zip(input.par_chunks(chunk))
        .for_each(|(d, s)| kernel(scale, shift, s, d));
    Ok(())
}

/// In-place [`scale_shift_nhwc_with_tier`].
pub fn scale_shift_nhwc_inplace_with_tier(
    tier: Tier,
    scale: &[f32],
    shift: &[f32],
    x: &mut [f32],
) -> Result<()> {
    let kernel = KernelTable::for_tier(tier)?.scale_shift_inplace.run;
    check_affine(scale, shift, "x", x.len())?;
    let chunk = chunk_len(scale.len());
    x.par_chunks_mut(chunk).for_each(|b| kernel(scale, shift, b));
    Ok(())
}

/// `output = input · scale + shift` with [`Tier::active`].
pub fn scale_shift_nhwc(scale: &[f32], shift: &[f32], input: &[f32], output: &mut [f32]) -> Result<()> {
    scale_shift_nhwc_with_tier(Tier::active()?, scale, shift, input, output)
}

/// In-place `x = x · scale + shift` with [`Tier::active`].
pub fn scale_shift_nhwc_inplace(scale: &[f32], shift: &[f32], x: &mut [f32]) -> Result<()> {
    scale_shift_nhwc_inplace_with_tier(Tier::active()?, scale, shift, x)
}

/// Applies `bn` to the NHWC `input` (channels = `bn.channels()`), explicit tier: folds it
/// into a per-channel scale and shift ([`BatchNorm::to_scale_shift`], which allocates `2·C`
/// floats: for repeated calls, keep those and call [`scale_shift_nhwc_with_tier`]) and runs the
/// tier's scale-shift kernel. Every tier does the same; the literal formula is the oracle
/// [`reference::batchnorm_nhwc`].
pub fn batchnorm_nhwc_with_tier(tier: Tier, bn: &BatchNorm, input: &[f32], output: &mut [f32]) -> Result<()> {
    bn.validate()?;
    let (scale, shift) = bn.to_scale_shift();
    scale_shift_nhwc_with_tier(tier, &scale, &shift, input, output)
}

/// In-place [`batchnorm_nhwc_with_tier`].
pub fn batchnorm_nhwc_inplace_with_tier(tier: Tier, bn: &BatchNorm, x: &mut [f32]) -> Result<()> {
    bn.validate()?;
    let (scale, shift) = bn.to_scale_shift();
    scale_shift_nhwc_inplace_with_tier(tier, &scale, &shift, x)
}

/// [`batchnorm_nhwc_with_tier`] with [`Tier::active`].
pub fn batchnorm_nhwc(bn: &BatchNorm, input: &[f32], output: &mut [f32]) -> Result<()> {
    batchnorm_nhwc_with_tier(Tier::active()?, bn, input, output)
}

/// [`batchnorm_nhwc_inplace_with_tier`] with [`Tier::active`].
pub fn batchnorm_nhwc_inplace(bn: &BatchNorm, x: &mut [f32]) -> Result<()> {
    batchnorm_nhwc_inplace_with_tier(Tier::active()?, bn, x)
}

/// ndarray convenience: `bn(input)` for an `(N, H, W, C)` array of any layout.
pub fn batchnorm(input: ArrayView4<'_, f32>, bn: &BatchNorm) -> Result<Array4<f32>> {
    let mut out = input.as_standard_layout().into_owned();
    let slice = out
        .as_slice_mut()
        .expect("as_standard_layout returns a contiguous array");
    batchnorm_nhwc_inplace(bn, slice)?;
    Ok(out)
}
