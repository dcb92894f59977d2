//! AVX2+FMA tier of the channel softmax, and the 8-lane `exp` it is built on.
//!
//! # The exponential
//!
//! [`exp8`] is the Cephes `expf` algorithm (S. L. Moshier, Cephes Math Library, `expf.c`) in
//! the vector form of J. Pommier's `sse_mathfun`/`avx_mathfun` and of XNNPACK's
//! `f32-raddstoreexpminusmax` kernels:
//!
//! ```text
//! n = round(x · log2 e)                    x = n·ln2 + r,  |r| ≤ ln2/2
//! r = (x − n·LN2_HI) − n·LN2_LO            ln2 split in two: n·LN2_HI is exact (Cody–Waite)
//! e^r ≈ 1 + r + r²·P(r)                    P of degree 5, Horner with FMA
//! e^x = e^r · 2^n                          2^n built as (n + 127) << 23 in the exponent bits
//! ```
//!
//! Inputs are clamped to `[-88, 88]` first so `2^n` is a normal float; inputs below
//! `ln(f32::MIN_POSITIVE) ≈ -87.3365` give exactly 0 (as XNNPACK's denormal cutoff), which is
//! also what `-inf` gives; NaN propagates. The relative error is a few ulp (tested against
//! `f32::exp` below). The constants are shared with the portable scalar twin.
//!
//! # The softmax
//!
//! `C < 8` (the model's 2-class heads): 8 rows at a time are transposed into `t[channel][row]`
//! (see `portable.rs`), so each channel is one vector across 8 rows:
//!
//! ```text
//!            row 0  row 1 ...  row 7
//! t[0] = [  x00    x10   ...  x70 ]     m = max_j t[j]          (lane-wise)
//! t[1] = [  x01    x11   ...  x71 ]     t[j] = exp8(t[j] − m)
//!  ...                                  s = Σ_j t[j];  t[j] /= s
//! ```
//!
//! `C ≥ 8`: each row is vectorised across its channels (vector max, `exp8` stored in place
//! with a running vector sum, vector division). The `C % 8` tail is the frame: one masked
//! load (missing lanes read as `-inf` for the max, masked out of the sum) and one masked
//! store, so tail elements get exactly the arithmetic of body elements.

use super::portable::{EXP_CUTOFF, EXP_HI, EXP_P, GROUP, LN2_HI, LN2_LO, LOG2E, SMALL_C};
use crate::dispatch::{kernel, ExpFn, Kernel, SoftmaxFn};
use crate::tier::Tier;
use core::arch::x86_64::*;

/// The kernels (narrow softmax, wide softmax, exp), if this CPU has AVX2 and FMA: the only
/// way out of this module, which is what makes calling them sound (see [`crate::dispatch`]).
pub(super) fn kernels() -> Option<(Kernel<SoftmaxFn>, Kernel<SoftmaxFn>, Kernel<ExpFn>)> {
    Tier::Avx2.is_available().then_some((
        kernel!(f32_softmax_8rows_avx2),
        kernel!(f32_softmax_row_8c_avx2),
        kernel!(exp_slice_avx2),
    ))
}

/// Lanes per vector.
const LANES: usize = 8;

/// Safe entry: softmax of each `c`-float row of `x` (`1 <= c < 8`, `x.len() % c == 0`),
/// groups of 8 rows transposed into one vector per channel.
fn f32_softmax_8rows_avx2(x: &mut [f32], c: usize) {
    assert!(c > 0 && c < SMALL_C && x.len().is_multiple_of(c));
    // SAFETY: only `kernels()` hands this function out, after checking AVX2+FMA; `x` is valid
    // for reads and writes of `x.len()` floats, a whole number of `c`-float rows.
    unsafe { softmax_rows_fma(x.as_mut_ptr(), x.len(), c) }
}

/// Safe entry: softmax of each `c`-float row of `x` (`c >= 8`, `x.len() % c == 0`), each row
/// vectorised across its channels.
fn f32_softmax_row_8c_avx2(x: &mut [f32], c: usize) {
    assert!(c >= SMALL_C && x.len().is_multiple_of(c));
    // SAFETY: as in `f32_softmax_8rows_avx2`.
    unsafe { softmax_rows_fma(x.as_mut_ptr(), x.len(), c) }
}

/// Safe entry for tests and benches: `out[i] = e^{x[i]}` with [`exp8`].
fn exp_slice_avx2(x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), out.len());
    out.copy_from_slice(x);
    // SAFETY: only `kernels()` hands this function out, after checking AVX2+FMA; `out` is valid for `out.len()` reads and writes.
    unsafe { exp_inplace_fma(out.as_mut_ptr(), out.len()) }
}

/// `#[target_feature]` wrapper of [`exp_inplace`].
///
/// # Safety
/// The CPU must support AVX2 and FMA; `x` valid for `n` reads and writes.
#[target_feature(enable = "avx2,fma")]
unsafe fn exp_inplace_fma(x: *mut f32, n: usize) {
    // SAFETY: forwarded from this function's contract.
    unsafe { exp_inplace(x, n) }
}

/// `#[target_feature]` wrapper of the two softmax bodies.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `x` valid for `len` reads and writes, `len % c == 0`.
#[target_feature(enable = "avx2,fma")]
unsafe fn softmax_rows_fma(x: *mut f32, len: usize, c: usize) {
    // SAFETY: groups and rows partition `[0, len)`; forwarded from this function's contract.
    unsafe {
        if c < SMALL_C {
            let mut start = 0;
            while start < len {
                let rows = GROUP.min((len - start) / c);
                softmax_group(x.add(start), rows, c);
                start += rows * c;
            }
        } else {
            for r in 0..len / c {
                softmax_row_wide(x.add(r * c), c);
            }
        }
    }
}

/// `C < 8`: `rows <= 8` rows transposed into one vector per channel.
///
/// # Safety
/// AVX2+FMA; `x` valid for `rows · c` reads and writes, `c < 8`; inlined into the wrapper.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // the transposes read clearest with both indices
unsafe fn softmax_group(x: *mut f32, rows: usize, c: usize) {
    // absent rows stay 0 (finite) and are never written back
    let mut t = [[0.0f32; GROUP]; SMALL_C - 1];
    // SAFETY: scalar accesses are `x + k·c + j` with `k < rows`, `j < c`; vector accesses are
    // the 8 floats of `t[j]`, `j < c < 8`.
    unsafe {
        for k in 0..rows {
            for j in 0..c {
                t[j][k] = *x.add(k * c + j);
            }
        }
        let mut m = _mm256_loadu_ps(t[0].as_ptr());
        for tj in &t[1..c] {
            m = _mm256_max_ps(m, _mm256_loadu_ps(tj.as_ptr()));
        }
        let mut s = _mm256_setzero_ps();
        for tj in &mut t[..c] {
            let e = exp8(_mm256_sub_ps(_mm256_loadu_ps(tj.as_ptr()), m));
            _mm256_storeu_ps(tj.as_mut_ptr(), e);
            s = _mm256_add_ps(s, e);
        }
        for tj in &mut t[..c] {
            _mm256_storeu_ps(tj.as_mut_ptr(), _mm256_div_ps(_mm256_loadu_ps(tj.as_ptr()), s));
        }
        for k in 0..rows {
            for j in 0..c {
                *x.add(k * c + j) = t[j][k];
            }
        }
    }
}

/// `[-1; 8]` then `[0; 8]`: `loadu(MASKS[8 - n..])` enables the first `n` lanes.
static MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// Lane mask enabling the first `n <= 8` lanes.
///
/// # Safety
/// AVX; `n <= 8`.
#[inline(always)]
unsafe fn first_lanes(n: usize) -> __m256i {
    // SAFETY: `8 - n + 8 <= 16`: the load stays inside `MASKS`.
    unsafe { _mm256_loadu_si256(MASKS.as_ptr().add(LANES - n) as *const __m256i) }
}

/// The first lanes of `p` enabled by `mask`, the others `-inf`.
///
/// # Safety
/// AVX2; `p` valid for reading the lanes `mask` enables.
#[inline(always)]
unsafe fn load_tail(p: *const f32, mask: __m256i) -> __m256 {
    // SAFETY: the masked load reads only enabled lanes (the caller's contract).
    unsafe {
        _mm256_blendv_ps(
            _mm256_set1_ps(f32::NEG_INFINITY),
            _mm256_maskload_ps(p, mask),
            _mm256_castsi256_ps(mask),
        )
    }
}

/// `C ≥ 8`: one row vectorised across its channels, the tail by masked loads/stores.
///
/// # Safety
/// AVX2+FMA; `row` valid for `c` reads and writes, `c >= 8`; inlined into the wrapper.
#[inline(always)]
unsafe fn softmax_row_wide(row: *mut f32, c: usize) {
    let body = c / LANES * LANES;
    let tail = c - body;
    // SAFETY: full vectors cover `[j, j+8)` with `j + 8 <= body <= c`; the masked accesses at
    // `body` touch only its first `tail = c − body` floats.
    unsafe {
        let mask = first_lanes(tail);
        let mut vmax = load_tail(row.add(body), mask);
        let mut j = 0;
        while j < body {
            vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(row.add(j)));
            j += LANES;
        }
        let vm = _mm256_set1_ps(hmax(vmax));
        let mut vsum = _mm256_setzero_ps();
        j = 0;
        while j < body {
            let e = exp8(_mm256_sub_ps(_mm256_loadu_ps(row.add(j)), vm));
            _mm256_storeu_ps(row.add(j), e);
            vsum = _mm256_add_ps(vsum, e);
            j += LANES;
        }
        // tail: -inf lanes give e = 0, so they add nothing
        let e = exp8(_mm256_sub_ps(load_tail(row.add(body), mask), vm));
        _mm256_maskstore_ps(row.add(body), mask, e);
        let vs = _mm256_set1_ps(hsum(_mm256_add_ps(vsum, e)));
        j = 0;
        while j < body {
            _mm256_storeu_ps(row.add(j), _mm256_div_ps(_mm256_loadu_ps(row.add(j)), vs));
            j += LANES;
        }
        let q = _mm256_div_ps(_mm256_maskload_ps(row.add(body), mask), vs);
        _mm256_maskstore_ps(row.add(body), mask, q);
    }
}

/// `x[i] = e^{x[i]}` for `i < n`: full vectors, then one masked vector for the tail.
///
/// # Safety
/// AVX2+FMA; `x` valid for `n` reads and writes.
#[inline(always)]
unsafe fn exp_inplace(x: *mut f32, n: usize) {
    let body = n / LANES * LANES;
    // SAFETY: vector accesses cover `[i, i+8)` with `i + 8 <= body <= n`; the masked ones
    // touch only the `n − body < 8` floats after `body`.
    unsafe {
        let mut i = 0;
        while i < body {
            _mm256_storeu_ps(x.add(i), exp8(_mm256_loadu_ps(x.add(i))));
            i += LANES;
        }
        let mask = first_lanes(n - body);
        _mm256_maskstore_ps(x.add(body), mask, exp8(_mm256_maskload_ps(x.add(body), mask)));
    }
}

/// Eight `e^x` at once (see the module docs for the algorithm and its range).
///
/// # Safety
/// The CPU must support AVX2 and FMA (register-only otherwise).
#[inline(always)]
unsafe fn exp8(x: __m256) -> __m256 {
    // SAFETY: register-only intrinsics; AVX2+FMA guaranteed by the caller.
    unsafe {
        // min/max return their second operand when one is NaN: x second keeps NaN.
        let xc = _mm256_max_ps(_mm256_set1_ps(-EXP_HI), _mm256_min_ps(_mm256_set1_ps(EXP_HI), x));
        let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
            xc,
            _mm256_set1_ps(LOG2E),
        ));
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), xc);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
        let mut p = _mm256_set1_ps(EXP_P[0]);
        for &k in &EXP_P[1..] {
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(k));
        }
        let y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0));
        let pow2n = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
            _mm256_cvtps_epi32(n),
            _mm256_set1_epi32(127),
        )));
        let underflow = _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_set1_ps(EXP_CUTOFF));
        _mm256_andnot_ps(underflow, _mm256_mul_ps(y, pow2n))
    }
}

/// Largest lane.
///
/// # Safety
/// AVX (register-only).
#[inline(always)]
unsafe fn hmax(v: __m256) -> f32 {
    // SAFETY: register-only intrinsics.
    unsafe {
        let m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        let m = _mm_max_ss(m, _mm_shuffle_ps::<0b01>(m, m));
        _mm_cvtss_f32(m)
    }
}

/// Sum of the lanes (fixed pairwise order, so deterministic).
///
/// # Safety
/// AVX (register-only).
#[inline(always)]
unsafe fn hsum(v: __m256) -> f32 {
    // SAFETY: register-only intrinsics.
    unsafe {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
        _mm_cvtss_f32(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn max_rel_err(xs: &[f32]) -> (f32, f32) {
        let exp = kernels().expect("caller checked").2.run;
        let mut out = vec![f32::NAN; xs.len()];
        exp(xs, &mut out);
        let mut worst = (0.0f32, 0.0f32);
        for (&x, &y) in xs.iter().zip(&out) {
            let want = x.exp();
            let err = ((y as f64 - want as f64) / want as f64).abs() as f32;
            if err > worst.0 {
                worst = (err, x);
            }
        }
        worst
    }

    #[test]
    fn exp8_matches_libm_on_the_normal_range() {
        if !crate::tier::testable(Tier::Avx2) {
            return;
        }
        // Every 1/1024 from -87.3 to 88 (179k points, not multiples of 8: the tail runs).
        let xs: Vec<f32> = (0..179_507).map(|i| -87.3 + i as f32 / 1024.0).collect();
        let (err, at) = max_rel_err(&xs);
        println!("exp8 max relative error {err:e} at x = {at}");
        assert!(err < 1e-6, "exp8 relative error {err:e} at x = {at}");
        assert_eq!(max_rel_err(&[0.0]).0, 0.0, "e^0 must be exactly 1");
    }

    #[test]
    fn exp8_underflows_to_zero_and_propagates_nan() {
        if !crate::tier::testable(Tier::Avx2) {
            return;
        }
        let exp = kernels().unwrap().2.run;
        let xs = [
            -87.4,
            -88.0,
            -100.0,
            -1e4,
            -1e30,
            f32::NEG_INFINITY,
            f32::MIN,
            -160.0,
            f32::NAN,
        ];
        let mut out = [1.0f32; 9];
        exp(&xs, &mut out);
        assert_eq!(&out[..8], &[0.0; 8], "{out:?}");
        assert!(out[8].is_nan());
        // just above the cutoff the result is tiny, not zero, and close to libm in absolute terms
        let mut near = [0.0f32; 3];
        exp(&[-87.33, -87.0, -86.0], &mut near);
        for (x, y) in [-87.33f32, -87.0, -86.0].iter().zip(near) {
            assert!(
                y > 0.0 && (y - x.exp()).abs() <= 2e-6 * x.exp(),
                "{x}: {y} vs {}",
                x.exp()
            );
        }
    }
}
