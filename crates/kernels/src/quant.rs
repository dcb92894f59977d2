//! Int8 quantization: scales, zero points, and the requantizing epilogue of the int8 kernels.
//!
//! # Scales and zero points (gemmlowp's `doc/quantization.md`, ONNX `QuantizeLinear`)
//!
//! An 8-bit tensor stands for real numbers through an affine map with one `scale` (a positive
//! f32) and one `zero_point` (an integer of the 8-bit type):
//!
//! ```text
//! real = scale · (q − zero_point)          q = saturate(round_half_even(real / scale) + zero_point)
//! ```
//!
//! - **Activations** are `u8` with a per-tensor scale and zero point chosen from the range a
//!   calibration run saw (`[min, max]` maps onto `[0, 255]`; 0.0 is always exactly
//!   representable, as `q = zero_point`, so zero padding stays exact). After ReLU the range
//!   starts at 0, so the zero point is 0 and all 256 codes hold non-negative values.
//! - **Weights** are `i8`, *symmetric* (zero point 0) with one scale per output channel:
//!   `scale[j] = max_k |w[k][j]| / 127` ([`quantize_per_column_symmetric`]). Per-channel scales
//!   matter after BatchNorm folding, which multiplies each channel by a different factor;
//!   symmetry (no weight zero point) keeps the correction below to one term.
//!
//! # Why the products are summed in s32
//!
//! One product of a `u8` and an `i8` fits in 16 bits (|255 · −128| = 32640), but a dot
//! product of k of them needs `log2(32640·k)` bits: 28 bits for the decoder's k = 6912. An
//! `i32` accumulator holds every partial sum exactly, so the sum is the same integer whatever
//! the order of the additions (integer addition is associative): every tier and thread count
//! gives the same bits, and rounding happens exactly once, in the epilogue. The kernels
//! refuse `k > I8_MAX_K`, where the bound could be exceeded.
//!
//! # The zero-point correction (computed once per column)
//!
//! With a weight zero point of 0, the product of the *real* values is
//!
//! ```text
//! Σ_k sa·(a[i][k] − za) · sw[j]·w[k][j] = sa·sw[j] · ( Σ_k a[i][k]·w[k][j]  −  za · Σ_k w[k][j] )
//! ```
//!
//! The first sum is what the hardware computes on raw `u8 x i8` pairs (VNNI's `vpdpbusd`);
//! the column sums `Σ_k w[k][j]` are computed once when the weights are packed, so the
//! correction costs one multiply-subtract per output, not per product.
//!
//! # Requantization ([`Requantize`]): exact on every tier
//!
//! The corrected s32 accumulator `acc` of column `j` becomes an output in f32, one correctly
//! rounded IEEE operation at a time, never fused:
//!
//! ```text
//! v = f32(acc) · scale[j] + bias[j]            scale = sa·sw[j] / s_out, bias = b[j] / s_out
//! v = min(max(v, lo), hi)                      the activation: ReLU6 is [0, 6/s_out], ReLU [0, ∞)
//! v = v · post.scale[j] + post.shift[j]        optional: a BN after a ReLU (bn_scale, bn_shift / s_out)
//! q = round_half_even(min(max(v, −z_out), 255 − z_out)) + z_out        (u8 output)
//! ```
//!
//! `v` is the real output in units of `s_out` (before the zero point), so a BatchNorm folded
//! into the weights and bias needs nothing more, and the activation clamps at 0 and `6/s_out`.
//! The f32-output variant stores `v` itself (the classifier's logits: `s_out = 1`).
//!
//! We chose f32 over gemmlowp's fixed-point multiplier + shift because each step is one IEEE
//! operation with round-to-nearest-even, which scalar Rust (`as f32`, `*`, `+`,
//! `round_ties_even`) and every SIMD instruction set compute identically, so the oracle is a
//! few readable lines and the SIMD tiers match it bit for bit; it is also what ONNX's
//! `QLinearConv` specifies (a float multiply, rounding half to even) and what XNNPACK's
//! `fp32` requantization does. The clamp
//! to the u8 range happens *before* the conversion to an integer, so no conversion ever sees
//! an out-of-range value (where scalar `as i32` saturates and `cvtps2dq` returns `i32::MIN`).
//! `max`/`min` are written as `if v > lo { v } else { lo }`: the exact semantics of x86's
//! `maxps(v, lo)`, including NaN (gives `lo`) and signed zeros.

use crate::epilogue::ChannelAffine;
use crate::error::{check_len, KernelError, Result};

/// The longest reduction the int8 kernels accept: `|Σ (a − za)·w| <= 255·128·k` and each of
/// the two terms of the zero-point correction `<= 255·128·k` must fit an `i32`.
pub const I8_MAX_K: usize = (i32::MAX as usize) / (2 * 255 * 128);

/// The affine map of an 8-bit activation tensor: `real = scale · (q − zero_point)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantParams {
    /// Real value of one step of `q` (positive, finite).
    pub scale: f32,
    /// The code of real 0.0.
    pub zero_point: u8,
}

impl QuantParams {
    /// The u8 parameters that cover `[min, max]` (widened to include 0.0, so zero is exact):
    /// `scale = (max − min) / 255`, `zero_point = round_half_even(−min / scale)`.
    pub fn from_range(min: f32, max: f32) -> Result<QuantParams> {
        if !(min.is_finite() && max.is_finite() && min <= max) {
            return Err(KernelError::InvalidParams {
                op: "QuantParams::from_range",
                reason: format!("range [{min}, {max}] is not a finite interval"),
            });
        }
        let (min, max) = (min.min(0.0), max.max(0.0));
        if max == min {
            return Ok(QuantParams {
                scale: 1.0,
                zero_point: 0,
            });
        }
        let scale = (max - min) / 255.0;
        let zero_point = (-min / scale).round_ties_even().clamp(0.0, 255.0) as u8;
        Ok(QuantParams { scale, zero_point })
    }

    /// `saturate(round_half_even(x / scale) + zero_point)` (ONNX `QuantizeLinear`).
    pub fn quantize(&self, x: f32) -> u8 {
        round_to_u8(x / self.scale, self.zero_point)
    }

    /// `scale · (q − zero_point)` (ONNX `DequantizeLinear`).
    pub fn dequantize(&self, q: u8) -> f32 {
        self.scale * (q as i32 - self.zero_point as i32) as f32
    }
}

/// `x > lo ? x : lo`: x86's `maxps(x, lo)` exactly (a NaN `x` gives `lo`).
#[inline(always)]
pub fn max_like_x86(x: f32, lo: f32) -> f32 {
    if x > lo {
        x
    } else {
        lo
    }
}

/// `x < hi ? x : hi`: x86's `minps(x, hi)` exactly (a NaN `x` gives `hi`).
#[inline(always)]
pub fn min_like_x86(x: f32, hi: f32) -> f32 {
    if x < hi {
        x
    } else {
        hi
    }
}

/// `round_half_even(clamp(v, −zp, 255 − zp)) + zp` as a u8: the last step of requantization.
/// The clamp comes first, so the conversion never sees a value outside `[0, 255]`.
#[inline(always)]
pub fn round_to_u8(v: f32, zero_point: u8) -> u8 {
    let zp = zero_point as f32;
    let v = min_like_x86(max_like_x86(v, -zp), 255.0 - zp);
    (v.round_ties_even() as i32 + zero_point as i32) as u8
}

/// How an int8 kernel turns the s32 accumulator of column `j` into its output; see the
/// module docs for the formula and why it is exact on every tier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Requantize<'a> {
    /// Per column: the multiplier of the accumulator (`sa·sw[j] / s_out`, BN folded into sw).
    pub scale: &'a [f32],
    /// Per column: added after the multiply, in output units (`bias[j] / s_out`).
    pub bias: &'a [f32],
    /// `(lo, hi)`: the activation as a clamp in output units (ReLU6: `(0, 6/s_out)`;
    /// ±infinity where unbounded).
    pub clamp: (f32, f32),
    /// Optional per-column affine step after the clamp (a BatchNorm after a ReLU).
    pub post: Option<ChannelAffine<'a>>,
    /// The zero point of a u8 output (unused by the f32-output kernels).
    pub output_zero_point: u8,
}

impl<'a> Requantize<'a> {
    /// `v = f32(acc)·scale + bias` with no clamp, no post step, zero point 0.
    pub fn new(scale: &'a [f32], bias: &'a [f32]) -> Self {
        Requantize {
            scale,
            bias,
            clamp: (f32::NEG_INFINITY, f32::INFINITY),
            post: None,
            output_zero_point: 0,
        }
    }

    /// Checks every per-column slice has `n` entries, every value is finite and the clamp is
    /// an interval (`op` names the caller).
    pub fn validate(&self, op: &'static str, n: usize) -> Result<()> {
        check_len(op, "requantize.scale", n, self.scale.len())?;
        check_len(op, "requantize.bias", n, self.bias.len())?;
        let mut all: Vec<(&'static str, &[f32])> = vec![("scale", self.scale), ("bias", self.bias)];
        if let Some(p) = self.post {
            check_len(op, "requantize.post.scale", n, p.scale.len())?;
            check_len(op, "requantize.post.shift", n, p.shift.len())?;
            all.extend([("post.scale", p.scale), ("post.shift", p.shift)]);
        }
        for (what, values) in all {
            if let Some(j) = values.iter().position(|v| !v.is_finite()) {
                return Err(KernelError::InvalidParams {
                    op,
                    reason: format!("requantize.{what}[{j}] = {} is not finite", values[j]),
                });
            }
        }
        let (lo, hi) = self.clamp;
        if lo.is_nan() || hi.is_nan() || lo > hi {
            return Err(KernelError::InvalidParams {
                op,
                reason: format!("requantize.clamp ({lo}, {hi}) is not an interval"),
            });
        }
        Ok(())
    }

    /// The f32 value `v` of the module docs for accumulator `acc` of column `j` (what the
    /// f32-output kernels store).
    #[inline(always)]
    pub fn apply_f32(&self, j: usize, acc: i32) -> f32 {
        let mut v = acc as f32 * self.scale[j] + self.bias[j];
        v = min_like_x86(max_like_x86(v, self.clamp.0), self.clamp.1);
        if let Some(p) = self.post {
            v = v * p.scale[j] + p.shift[j];
        }
        v
    }

    /// The u8 output for accumulator `acc` of column `j` (the scalar definition every SIMD
    /// path matches).
    #[inline(always)]
    pub fn apply_u8(&self, j: usize, acc: i32) -> u8 {
        round_to_u8(self.apply_f32(j, acc), self.output_zero_point)
    }
}

/// Symmetric per-column quantization of a row-major `k x n` weight matrix: `scale[j] =
/// max_k |w[k][j]| / 127` (1 for an all-zero column) and `q = round_half_even(w / scale)`,
/// in `[−127, 127]`. Returns `(q, scale)`.
pub fn quantize_per_column_symmetric(w: &[f32], k: usize, n: usize) -> Result<(Vec<i8>, Vec<f32>)> {
    let len = k.checked_mul(n).ok_or_else(|| KernelError::InvalidParams {
        op: "quantize_per_column_symmetric",
        reason: format!("{k} x {n} overflows"),
    })?;
    check_len("quantize_per_column_symmetric", "w", len, w.len())?;
    if let Some(i) = w.iter().position(|v| !v.is_finite()) {
        return Err(KernelError::InvalidParams {
            op: "quantize_per_column_symmetric",
            reason: format!("w[{i}] = {} is not finite", w[i]),
        });
    }
    let mut scale = vec![0.0f32; n];
    for row in w.chunks_exact(n.max(1)) {
        for (s, &v) in scale.iter_mut().zip(row) {
            *s = s.max(v.abs());
        }
    }
    scale
        .iter_mut()
        .for_each(|s| *s = if *s > 0.0 { *s / 127.0 } else { 1.0 });
    let q = w
        .iter()
        .enumerate()
        .map(|(i, &v)| (v / scale[i % n]).round_ties_even().clamp(-127.0, 127.0) as i8)
        .collect();
    Ok((q, scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_round_trips_and_keeps_zero_exact() {
        let p = QuantParams::from_range(-1.0, 3.0).unwrap();
        assert_eq!(p.dequantize(p.zero_point), 0.0);
        assert_eq!(p.quantize(0.0), p.zero_point);
        assert_eq!(p.quantize(-5.0), 0);
        assert_eq!(p.quantize(50.0), 255);
        for q in [0u8, 1, 17, 200, 255] {
            assert_eq!(p.quantize(p.dequantize(q)), q);
        }
        // A range above 0 is widened to include it: zero point 0.
        assert_eq!(QuantParams::from_range(2.0, 6.0).unwrap().zero_point, 0);
        assert!(QuantParams::from_range(1.0, f32::NAN).is_err());
        assert!(QuantParams::from_range(1.0, 0.0).is_err());
    }

    #[test]
    fn round_to_u8_rounds_half_to_even_and_saturates() {
        assert_eq!(round_to_u8(2.5, 0), 2);
        assert_eq!(round_to_u8(3.5, 0), 4);
        assert_eq!(round_to_u8(-0.5, 10), 10);
        assert_eq!(round_to_u8(-1e30, 10), 0);
        assert_eq!(round_to_u8(f32::INFINITY, 10), 255);
        assert_eq!(round_to_u8(f32::NAN, 10), 0);
        assert_eq!(round_to_u8(254.6, 0), 255);
    }

    #[test]
    fn requantize_order_is_scale_bias_clamp_post() {
        let (s, b, ps, pt) = ([0.5f32], [1.0f32], [2.0f32], [3.0f32]);
        let mut r = Requantize::new(&s, &b);
        r.clamp = (0.0, 4.0);
        r.post = Some(ChannelAffine {
            scale: &ps,
            shift: &pt,
        });
        r.output_zero_point = 7;
        assert_eq!(r.apply_f32(0, 4), 9.0); // 4·0.5+1 = 3 -> 3 -> 3·2+3
        assert_eq!(r.apply_f32(0, 100), 11.0); // clamps to 4
        assert_eq!(r.apply_u8(0, -100), 10); // clamps to 0 -> 3 -> +7
        assert!(r.validate("t", 1).is_ok());
        r.clamp = (1.0, 0.0);
        assert!(r.validate("t", 1).is_err());
        let inf = [f32::INFINITY];
        assert!(Requantize::new(&inf, &b).validate("t", 1).is_err());
        assert!(Requantize::new(&s, &b).validate("t", 2).is_err());
    }

    #[test]
    fn per_column_weights_use_the_full_range() {
        let w = [0.5, -2.0, 0.0, -1.0, 1.0, 0.0]; // 2 x 3
        let (q, s) = quantize_per_column_symmetric(&w, 2, 3).unwrap();
        assert_eq!(s, vec![1.0 / 127.0, 2.0 / 127.0, 1.0]);
        assert_eq!(q, vec![64, -127, 0, -127, 64, 0]);
        const { assert!(I8_MAX_K >= 32768) };
        assert!(quantize_per_column_symmetric(&w, 2, 2).is_err());
    }
}
