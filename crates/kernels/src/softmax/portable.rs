//! Portable tier: small `C` transposed into groups of 8 rows, a branch-free polynomial `exp`.
//!
//! The `exp` is the scalar twin of the AVX2 one in `x86_64.rs` (Cephes `expf`: range
//! reduction `x = n·ln2 + r` with `ln2` split in two, a degree-5 polynomial for `e^r`, and
//! `2^n` built in the exponent bits). It is written without branches or libm calls (rounding
//! by the "magic bias" `1.5·2^23`, as XNNPACK does) so LLVM can vectorise loops over it.
//!
//! A row of 2 or 3 logits leaves nothing to vectorise along the row, so for `C < 8` rows are
//! taken [`GROUP`] at a time and transposed into `t[channel][row]`: every step of the softmax
//! then runs across 8 rows in lock-step, like one 8-lane vector per channel. For `C ≥ 8` each
//! row is processed on its own (max, exp over the row, sum, divide).

/// Rows per transposed group (one 8-lane vector per channel).
pub const GROUP: usize = 8;
/// Rows of fewer channels than this use the transposed groups.
pub const SMALL_C: usize = 8;

/// Inputs above this are clamped (`e^88 ≈ 1.65e38`, so `2^n` stays a normal float).
pub(crate) const EXP_HI: f32 = 88.0;
/// Inputs below `ln(f32::MIN_POSITIVE)` give exactly 0 (no denormal results).
pub(crate) const EXP_CUTOFF: f32 = -87.336_55;
pub(crate) const LOG2E: f32 = std::f32::consts::LOG2_E;
/// Adding then subtracting `1.5·2^23` rounds an `|x| < 2^22` to the nearest integer (ties to
/// even) in the default rounding mode.
pub(crate) const MAGIC_BIAS: f32 = 12_582_912.0;
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
    let n = (xc * LOG2E + MAGIC_BIAS) - MAGIC_BIAS;
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

/// Softmax of each `c`-float row of `x` (`c < SMALL_C`, `x.len() % c == 0`), in groups of
/// [`GROUP`] rows transposed so that every step runs across the rows.
pub fn f32_softmax_8rows_polyexp_portable(x: &mut [f32], c: usize) {
    x.chunks_mut(GROUP * c).for_each(|g| softmax_group(g, c));
}

/// Softmax of each `c`-float row of `x` (`x.len() % c == 0`), one row at a time.
pub fn f32_softmax_row_polyexp_portable(x: &mut [f32], c: usize) {
    x.chunks_exact_mut(c).for_each(softmax_row);
}

/// `out[i] = exp_poly(x[i])`.
pub fn f32_exp_poly_portable(x: &[f32], out: &mut [f32]) {
    out.iter_mut().zip(x).for_each(|(o, &v)| *o = exp_poly(v));
}

/// Up to [`GROUP`] rows of `c < 8` channels, transposed so each step spans the rows.
fn softmax_group(x: &mut [f32], c: usize) {
    let rows = x.len() / c;
    // t[j][k] = channel j of row k; absent rows stay 0 (finite, never written back)
    let mut t = [[0.0f32; GROUP]; SMALL_C - 1];
    for (k, row) in x.chunks_exact(c).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            t[j][k] = v;
        }
    }
    let t = &mut t[..c];
    let mut m = t[0];
    for tj in t[1..].iter() {
        m.iter_mut().zip(tj).for_each(|(m, &v)| *m = m.max(v));
    }
    let mut s = [0.0f32; GROUP];
    for tj in t.iter_mut() {
        for ((v, &m), s) in tj.iter_mut().zip(&m).zip(&mut s) {
            *v = exp_poly(*v - m);
            *s += *v;
        }
    }
    for (k, row) in x.chunks_exact_mut(c).enumerate().take(rows) {
        for (j, v) in row.iter_mut().enumerate() {
            *v = t[j][k] / s[k];
        }
    }
}

/// One row of `c ≥ 8` channels.
fn softmax_row(row: &mut [f32]) {
    let m = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    row.iter_mut().for_each(|v| *v = exp_poly(*v - m));
    let sum: f32 = row.iter().sum();
    row.iter_mut().for_each(|v| *v /= sum);
}
