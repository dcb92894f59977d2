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
//! `C < 8`: rows in blocks (see `portable.rs`): per-row max subtraction, then [`exp8`] over
//! the flat block, the `len % 8` tail padded into one vector with `-inf` (the frame), then
//! per-row sums and divisions. `C ≥ 8`: per row, vector max, vector `exp` stored in place
//! with a running vector sum, vector division; the `C % 8` tail of the row goes through the
//! same padded vector, so each element sees the same arithmetic whatever its position.

use super::portable::{EXP_CUTOFF, EXP_HI, EXP_P, LN2_HI, LN2_LO, LOG2E};
use super::BLOCK;
use crate::error::Result;
use crate::tier::Tier;
use core::arch::x86_64::*;

/// Proof that this CPU has AVX2 and FMA; only [`Avx2::detect`] makes one.
#[derive(Clone, Copy, Debug)]
pub struct Avx2(());

impl Avx2 {
    /// Checks the CPU (cached) and returns the proof, or `TierUnavailable`.
    pub fn detect() -> Result<Self> {
        Tier::Avx2.ensure_available().map(|_| Avx2(()))
    }
}

/// Lanes per vector.
const LANES: usize = 8;

/// Safe entry: softmax of each `c`-float row of `x` (`c >= 1`, `x.len() % c == 0`).
pub fn softmax_rows_avx2(_isa: Avx2, x: &mut [f32], c: usize) {
    assert!(c > 0 && x.len() % c == 0);
    // SAFETY: `_isa` proves AVX2+FMA; `x` is valid for reads and writes of `x.len()` floats,
    // a whole number of `c`-float rows.
    unsafe { softmax_rows_fma(x.as_mut_ptr(), x.len(), c) }
}

/// Safe entry for tests and benches: `out[i] = e^{x[i]}` with [`exp8`].
pub fn exp_slice_avx2(_isa: Avx2, x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), out.len());
    out.copy_from_slice(x);
    // SAFETY: `_isa` proves AVX2+FMA; `out` is valid for `out.len()` reads and writes.
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
    // SAFETY: forwarded from this function's contract.
    unsafe {
        if c < LANES {
            softmax_row_blocks(x, len, c)
        } else {
            for r in 0..len / c {
                softmax_row_wide(x.add(r * c), c);
            }
        }
    }
}

/// `C < 8`: blocks of rows, scalar max/sum per row, vector `exp` over the flat block.
///
/// # Safety
/// AVX2+FMA; `x` valid for `len` reads and writes, `len % c == 0`; inlined into the wrapper.
#[inline(always)]
unsafe fn softmax_row_blocks(x: *mut f32, len: usize, c: usize) {
    let block = (BLOCK / c).max(1) * c;
    let mut start = 0;
    // SAFETY: every access is `x + i` with `i < len` (blocks end at `min(start + block, len)`).
    unsafe {
        while start < len {
            let n = block.min(len - start);
            let b = x.add(start);
            for r in 0..n / c {
                let row = b.add(r * c);
                let mut m = f32::NEG_INFINITY;
                for j in 0..c {
                    m = m.max(*row.add(j));
                }
                for j in 0..c {
                    *row.add(j) -= m;
                }
            }
            exp_inplace(b, n);
            for r in 0..n / c {
                let row = b.add(r * c);
                let mut sum = 0.0f32;
                for j in 0..c {
                    sum += *row.add(j);
                }
                for j in 0..c {
                    *row.add(j) /= sum;
                }
            }
            start += n;
        }
    }
}

/// `C ≥ 8`: one row vectorised across its channels.
///
/// # Safety
/// AVX2+FMA; `row` valid for `c` reads and writes, `c >= 8`; inlined into the wrapper.
#[inline(always)]
unsafe fn softmax_row_wide(row: *mut f32, c: usize) {
    let body = c / LANES * LANES;
    // SAFETY: vector accesses cover `[j, j+8)` with `j + 8 <= body <= c`, scalar ones `j < c`.
    unsafe {
        let mut vmax = _mm256_loadu_ps(row);
        let mut j = LANES;
        while j < body {
            vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(row.add(j)));
            j += LANES;
        }
        let mut m = hmax(vmax);
        for j in body..c {
            m = m.max(*row.add(j));
        }
        let vm = _mm256_set1_ps(m);
        let mut vsum = _mm256_setzero_ps();
        j = 0;
        while j < body {
            let e = exp8(_mm256_sub_ps(_mm256_loadu_ps(row.add(j)), vm));
            _mm256_storeu_ps(row.add(j), e);
            vsum = _mm256_add_ps(vsum, e);
            j += LANES;
        }
        let mut sum = hsum(vsum);
        for k in body..c {
            *row.add(k) -= m;
        }
        exp_tail(row.add(body), c - body);
        for k in body..c {
            sum += *row.add(k);
        }
        let vs = _mm256_set1_ps(sum);
        j = 0;
        while j < body {
            _mm256_storeu_ps(row.add(j), _mm256_div_ps(_mm256_loadu_ps(row.add(j)), vs));
            j += LANES;
        }
        for k in body..c {
            *row.add(k) /= sum;
        }
    }
}

/// `x[i] = e^{x[i]}` for `i < n`: full vectors, then the padded tail.
///
/// # Safety
/// AVX2+FMA; `x` valid for `n` reads and writes.
#[inline(always)]
unsafe fn exp_inplace(x: *mut f32, n: usize) {
    let body = n / LANES * LANES;
    // SAFETY: vector accesses cover `[i, i+8)` with `i + 8 <= body <= n`; the tail call gets
    // the remaining `n - body < 8` floats.
    unsafe {
        let mut i = 0;
        while i < body {
            _mm256_storeu_ps(x.add(i), exp8(_mm256_loadu_ps(x.add(i))));
            i += LANES;
        }
        exp_tail(x.add(body), n - body);
    }
}

/// The frame for `n < 8` leftover floats: copied into a `-inf`-padded vector, one [`exp8`],
/// copied back, so tail elements get exactly the arithmetic of body elements.
///
/// # Safety
/// AVX2+FMA; `x` valid for `n <= 8` reads and writes.
#[inline(always)]
unsafe fn exp_tail(x: *mut f32, n: usize) {
    if n == 0 {
        return;
    }
    let mut buf = [f32::NEG_INFINITY; LANES];
    // SAFETY: `n <= 8` floats are copied each way between `x` and the local `buf`.
    unsafe {
        core::ptr::copy_nonoverlapping(x, buf.as_mut_ptr(), n);
        _mm256_storeu_ps(buf.as_mut_ptr(), exp8(_mm256_loadu_ps(buf.as_ptr())));
        core::ptr::copy_nonoverlapping(buf.as_ptr(), x, n);
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
        let isa = Avx2::detect().expect("caller checked");
        let mut out = vec![f32::NAN; xs.len()];
        exp_slice_avx2(isa, xs, &mut out);
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
        if !Tier::Avx2.is_available() {
            println!("SKIPPED: this CPU has no AVX2+FMA");
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
        if !Tier::Avx2.is_available() {
            println!("SKIPPED: this CPU has no AVX2+FMA");
            return;
        }
        let isa = Avx2::detect().unwrap();
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
        exp_slice_avx2(isa, &xs, &mut out);
        assert_eq!(&out[..8], &[0.0; 8], "{out:?}");
        assert!(out[8].is_nan());
        // just above the cutoff the result is tiny, not zero, and close to libm in absolute terms
        let mut near = [0.0f32; 3];
        exp_slice_avx2(isa, &[-87.33, -87.0, -86.0], &mut near);
        for (x, y) in [-87.33f32, -87.0, -86.0].iter().zip(near) {
            assert!(
                y > 0.0 && (y - x.exp()).abs() <= 2e-6 * x.exp(),
                "{x}: {y} vs {}",
                x.exp()
            );
        }
    }
}
