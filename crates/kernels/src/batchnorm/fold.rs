//! Folding an inference BatchNorm into the convolution before it (done once, at load time).
//!
//! `BN(conv(x))[co] = scale[co] · (Σ w[.., co] · x + b[co]) + shift[co]`
//! `              = Σ (w[.., co] · scale[co]) · x + (b[co] · scale[co] + shift[co])`
//!
//! so every weight whose output channel is `co` is multiplied by `scale[co]` and the bias
//! becomes `b · scale + shift`. The arithmetic is done in f64 and rounded once.

use super::{BatchNorm, OP};
use crate::error::{check_len, KernelError, Result};

/// Folds `bn` into a dense convolution with Keras HWIO weights `(kh, kw, cin, out_c)` and
/// `bias` of length `out_c` (pass zeros when the convolution has `use_bias=False`).
///
/// Only the position of the output channel matters (the last axis), so this works for any
/// kernel size and input channel count: `weights.len()` must be a multiple of `out_c`.
pub fn fold_into_conv_hwio(
    weights: &mut [f32],
    bias: &mut [f32],
    out_c: usize,
    bn: &BatchNorm,
) -> Result<()> {
    bn.validate()?;
    if out_c == 0 {
        return Err(KernelError::InvalidParams {
            op: OP,
            reason: "fold: zero output channels".into(),
        });
    }
    check_len(OP, "bn channels", out_c, bn.channels())?;
    check_len(OP, "bias", out_c, bias.len())?;
    check_len(
        OP,
        "weights",
        weights.len().div_ceil(out_c) * out_c,
        weights.len(),
    )?;
    let (scale, shift) = bn.scale_shift_f64();
    for taps in weights.chunks_exact_mut(out_c) {
        // taps[co] = w[ky, kx, ci, co] for one (ky, kx, ci)
        for (w, &s) in taps.iter_mut().zip(&scale) {
            *w = (*w as f64 * s) as f32;
        }
    }
    for ((b, &s), &t) in bias.iter_mut().zip(&scale).zip(&shift) {
        *b = (*b as f64 * s + t) as f32;
    }
    Ok(())
}

/// Folds `bn` into a depthwise convolution with Keras weights `(kh, kw, c, 1)` (the trailing
/// 1 dropped, as in [`crate::params`]) and `bias` of length `c`.
///
/// The channel is the last axis here as well, so this *is* [`fold_into_conv_hwio`] with
/// `out_c = c`; it exists so the call site says what it folds. (With a depth multiplier `m`,
/// the weights `(kh, kw, c, m)` flattened have output channel `ci·m + j` last too: pass
/// `c·m`.)
pub fn fold_into_depthwise_hwc(
    weights: &mut [f32],
    bias: &mut [f32],
    c: usize,
    bn: &BatchNorm,
) -> Result<()> {
    fold_into_conv_hwio(weights, bias, c, bn)
}
