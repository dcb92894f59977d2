//! Portable tier: rows in blocks, a branch-free polynomial `exp` over each whole block.
//!
//! The `exp` is the scalar twin of the AVX2 one in `x86_64.rs` (Cephes `expf`: range
//! reduction `x = n·ln2 + r` with `ln2` split in two, a degree-5 polynomial for `e^r`, and
//! `2^n` built in the exponent bits). Written without branches so LLVM vectorises the block
//! loop even for 2 or 3 channels, which a per-row loop could not.

use super::BLOCK;

/// Inputs above this are clamped (`e^88 ≈ 1.65e38`, so `2^n` stays a normal float).
pub(crate) const EXP_HI: f32 = 88.0;
/// Inputs below `ln(f32::MIN_POSITIVE)` give exactly 0 (no denormal results).
pub(crate) const EXP_CUTOFF: f32 = -87.336_55;
pub(crate) const LOG2E: f32 = std::f32::consts::LOG2_E;
/// `ln 2 = LN2_HI + LN2_LO`; `LN2_HI` has 9 significant bits, so `n · LN2_HI` is exact.
pub(crate) const LN2_HI: f32 = 0.693_359_4;
pub(crate) const LN2_LO: f32 = -2.121_944_4e-4;
/// Cephes `expf` polynomial: `e^r ≈ 1 + r + r²·(P0·r⁵ … + P5)` on `|r| ≤ ln2 / 2`.
pub(crate) const EXP_P: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    0.166_666_65,
    0.5,
];

/// `e^x` with a relative error of a few ulp for `x ∈ [-87.3, 88]`, exactly 0 below, NaN for NaN.
#[inline(always)]
pub fn exp_poly(x: f32) -> f32 {
    let xc = x.clamp(-EXP_HI, EXP_HI); // NaN stays NaN
    let n = (xc * LOG2E).round_ties_even();
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let mut p = EXP_P[0];
    for &k in &EXP_P[1..] {
        p = p * r + k;
    }
    let y = p * (r * r) + r + 1.0;
    let pow2n = f32::from_bits(((n as i32 + 127) as u32) << 23);
    if x < EXP_CUTOFF {
        0.0
    } else {
        y * pow2n
    }
}

/// Softmax of each `c`-float row of `x` (`x.len() % c == 0`).
pub fn softmax_rows(x: &mut [f32], c: usize) {
    let block = (BLOCK / c).max(1) * c;
    for blk in x.chunks_mut(block) {
        // pass 1, per row: subtract the row max
        for row in blk.chunks_exact_mut(c) {
            let m = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            row.iter_mut().for_each(|v| *v -= m);
        }
        // pass 2, the whole block at once: exp (vectorisable whatever c is)
        blk.iter_mut().for_each(|v| *v = exp_poly(*v));
        // pass 3, per row: normalise
        for row in blk.chunks_exact_mut(c) {
            let sum: f32 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= sum);
        }
    }
}
