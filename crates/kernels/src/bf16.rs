//! bfloat16: the number format, its rounding, and the exact arithmetic of AVX-512 BF16.
//!
//! A bf16 is the top 16 bits of an f32: the same sign and 8-bit exponent (so the same range,
//! no overflow when converting), and 7 stored mantissa bits instead of 23 (about 2-3 decimal
//! digits). Converting back is a 16-bit shift: exact. Weights and activations survive this
//! rounding well (relative error ≤ 2^-8), and a product of two bf16 has at most 16
//! significant bits, so it is *exact* in f32: the only roundings of a bf16 dot product with f32
//! accumulation are the conversions to bf16 and the additions.
//!
//! # What `vcvtne2ps2bf16` and `vdpbf16ps` compute (measured, and matched here)
//!
//! [`f32_to_bf16`] is Intel's `convert_fp32_to_bfloat16` (SDM, `VCVTNE2PS2BF16`):
//! round to nearest, ties to even, whatever MXCSR says; an f32 subnormal becomes a zero of the
//! same sign; a NaN stays a NaN with its quiet bit set; infinities stay. (So no bf16 made by
//! this function is ever subnormal.) The test
//! `rounding_to_bf16_matches_the_hardware_on_random_bit_patterns` compares it with the
//! instruction (`gemm_bf16::round_to_bf16_with_tier`) on a million random bit patterns and the
//! special values.
//!
//! [`dpbf16_lane`] is one 32-bit lane of `vdpbf16ps acc, a, b`: with `a = (a0, a1)`,
//! `b = (b0, b1)` the bf16 pairs of the lane,
//!
//! ```text
//! t   = flush( round_f32( daz(acc) + a1·b1 ) )     the odd pair first (the SDM's order)
//! acc = flush( round_f32( t + a0·b0 ) )
//! ```
//!
//! each product exact and each addition rounded once to nearest-even (like a fused
//! multiply-add), with subnormal inputs read as zero (`daz`) and subnormal results flushed to
//! a zero of the same sign (`flush`), independent of MXCSR. We checked the candidates on this
//! CPU (an Intel Xeon with AVX512_BF16) against 600 000 random lanes, two thirds of them with
//! operands near the subnormal range: only this one matched every lane; adding the even pair
//! first disagreed on 8% of the lanes, rounding each product to f32 before adding on 0.3% of
//! the near-subnormal ones. The test `products_next_to_the_subnormal_range_flush_like_the_hardware`
//! keeps telling them apart. The f64
//! evaluation below is exact: the product of two bf16 has 16 bits, and the f64 sum is rounded
//! once more to f32 — which gives the correctly rounded f32 sum here, because a 16-bit product
//! and a 24-bit accumulator cannot put a sum within 2^-29 of an f32 rounding midpoint without
//! being exactly on it.
//!
//! A GEMM whose every tier sums the pairs in the same order through this function (the
//! portable kernel) is bit-identical to the one that runs `vdpbf16ps` (see [`crate::gemm_bf16`]).

/// The bf16 whose bits are `h`, as an f32 (exact).
#[inline(always)]
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// `x` rounded to bf16 as `vcvtne2ps2bf16` does: nearest, ties to even; subnormal → signed
/// zero; NaN → quiet NaN; ±infinity stays.
#[inline(always)]
pub fn f32_to_bf16(x: f32) -> u16 {
    let u = x.to_bits();
    let magnitude = u & 0x7FFF_FFFF;
    // Adding 0x7FFF plus the lowest kept bit, then truncating, rounds half to even; a carry
    // into the exponent is the correct rounding up (to infinity past the largest finite).
    let rounded = (u.wrapping_add(0x7FFF + ((u >> 16) & 1)) >> 16) as u16;
    // A NaN is truncated with its top mantissa bit set (a quiet NaN, never infinity).
    let quiet_nan = (u >> 16) as u16 | 0x0040;
    let signed_zero = ((u >> 16) & 0x8000) as u16;
    // Selects rather than early returns, so a loop over a slice vectorises.
    if magnitude > 0x7F80_0000 {
        quiet_nan
    } else if magnitude < 0x0080_0000 {
        signed_zero // zero or subnormal
    } else {
        rounded
    }
}

/// Reads a subnormal as a zero of the same sign (DAZ); other values unchanged.
#[inline(always)]
fn daz(x: f32) -> f32 {
    if x.is_subnormal() {
        0.0f32.copysign(x)
    } else {
        x
    }
}

/// `round_f32(acc + a·b)` with the product exact, then a subnormal result flushed to a
/// signed zero: one half of a `vdpbf16ps` lane (`acc` already read through DAZ).
#[inline(always)]
fn dp_step(acc: f32, a: u16, b: u16) -> f32 {
    let (a, b) = (daz(bf16_to_f32(a)) as f64, daz(bf16_to_f32(b)) as f64);
    daz((acc as f64 + a * b) as f32)
}

/// One lane of `vdpbf16ps`: `acc + a[1]·b[1]`, then `+ a[0]·b[0]`, exactly as the module docs
/// describe (index 0 is the lower, even-k element of the pair).
#[inline(always)]
pub fn dpbf16_lane(acc: f32, a: [u16; 2], b: [u16; 2]) -> f32 {
    dp_step(dp_step(daz(acc), a[1], b[1]), a[0], b[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_rounds_half_to_even_and_keeps_specials() {
        assert_eq!(f32_to_bf16(1.0), 0x3F80);
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0).
        assert_eq!(f32_to_bf16(f32::from_bits(0x3F80_8000)), 0x3F80);
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties to even (up).
        assert_eq!(f32_to_bf16(f32::from_bits(0x3F81_8000)), 0x3F82);
        assert_eq!(f32_to_bf16(f32::from_bits(0x3F80_8001)), 0x3F81);
        assert_eq!(f32_to_bf16(f32::INFINITY), 0x7F80);
        assert_eq!(f32_to_bf16(f32::MAX), 0x7F80); // rounds up past the largest bf16
        assert_eq!(f32_to_bf16(f32::from_bits(0x8000_0001)), 0x8000);
        assert_eq!(f32_to_bf16(f32::from_bits(0x7F80_0001)), 0x7FC0);
        assert!(bf16_to_f32(f32_to_bf16(f32::NAN)).is_nan());
        assert_eq!(bf16_to_f32(0x4040), 3.0);
    }

    #[test]
    fn lane_adds_the_odd_pair_first_and_flushes() {
        let (one, tiny) = (f32_to_bf16(1.0), f32_to_bf16(2f32.powi(-12)));
        // 1 + 2^-24 + 2^-24: rounding after each product keeps 1.0 (each add is a tie to
        // even); one rounding of the whole sum would give 1 + 2^-23.
        assert_eq!(dpbf16_lane(1.0, [tiny, tiny], [tiny, tiny]), 1.0);
        assert_eq!(dpbf16_lane(0.5, [one, one], [one, f32_to_bf16(2.0)]), 3.5);
        // A subnormal result is flushed: 2^-70 · 2^-70 = 2^-140.
        let small = f32_to_bf16(2f32.powi(-70));
        assert_eq!(dpbf16_lane(0.0, [0, small], [0, small]).to_bits(), 0);
    }
}
