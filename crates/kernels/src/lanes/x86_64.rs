//! The x86_64 tiers' lanes: [`Avx2`] (eight f32 in a `ymm` register, AVX2+FMA) and
//! [`Avx512`] (sixteen in a `zmm`, AVX-512F).
//!
//! Their safe methods call intrinsics, which is sound only on a CPU with the features: these
//! types are named only as the type argument of a generic kernel body inside a
//! `#[target_feature]` function of the same ISA, which runs only through a kernel the table
//! handed out after detecting it (the crate's soundness argument, in `dispatch.rs`). Every
//! `// SAFETY:` comment below says "the features are available" in that sense.
//!
//! The channel tail uses masked loads and stores, whose masked-off lanes are neither read nor
//! written, so nothing past the end of a slice is touched.

use super::Lanes;
use std::arch::x86_64::*;

/// Eight f32 lanes in one `ymm` register (AVX2+FMA).
#[derive(Clone, Copy)]
pub(crate) struct Avx2(__m256);

/// The lanes `0..n` of an AVX2 tail: a lane mask (all bits set where `lane < n`) and `n`.
#[derive(Clone, Copy)]
pub(crate) struct Avx2Mask {
    lanes: __m256i,
    n: usize,
}

impl Lanes for Avx2 {
    const N: usize = 8;
    type Mask = Avx2Mask;

    #[inline(always)]
    fn first(n: usize) -> Avx2Mask {
        let n = n.min(8);
        // SAFETY: AVX2 is available (see the module docs).
        let lanes = unsafe {
            _mm256_cmpgt_epi32(
                _mm256_set1_epi32(n as i32),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            )
        };
        Avx2Mask { lanes, n }
    }

    #[inline(always)]
    fn zero() -> Self {
        // SAFETY: AVX is available (see the module docs).
        Avx2(unsafe { _mm256_setzero_ps() })
    }

    #[inline(always)]
    fn splat(x: f32) -> Self {
        // SAFETY: AVX is available (see the module docs).
        Avx2(unsafe { _mm256_set1_ps(x) })
    }

    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        let src = &src[..8];
        // SAFETY: `src` holds 8 floats (bounds-checked above); AVX is available. `loadu` has
        // no alignment requirement.
        Avx2(unsafe { _mm256_loadu_ps(src.as_ptr()) })
    }

    #[inline(always)]
    fn load_masked(src: &[f32], mask: Avx2Mask) -> Self {
        let src = &src[..mask.n];
        // SAFETY: the mask enables exactly lanes `0..n` (it was built by `first`), and `src`
        // holds those `n` floats; masked-off lanes are not read. AVX is available.
        Avx2(unsafe { _mm256_maskload_ps(src.as_ptr(), mask.lanes) })
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        let dst = &mut dst[..8];
        // SAFETY: `dst` holds 8 writable floats (bounds-checked above); AVX is available.
        unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), self.0) }
    }

    #[inline(always)]
    fn store_masked(self, dst: &mut [f32], mask: Avx2Mask) {
        let dst = &mut dst[..mask.n];
        // SAFETY: the mask enables exactly lanes `0..n`, which `dst` holds; masked-off lanes
        // are not written. AVX is available.
        unsafe { _mm256_maskstore_ps(dst.as_mut_ptr(), mask.lanes, self.0) }
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: AVX is available (see the module docs).
        Avx2(unsafe { _mm256_add_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        // SAFETY: AVX is available (see the module docs).
        Avx2(unsafe { _mm256_sub_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        // SAFETY: AVX is available (see the module docs).
        Avx2(unsafe { _mm256_mul_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn mul_add(self, b: Self, acc: Self) -> Self {
        // SAFETY: FMA is available (see the module docs).
        Avx2(unsafe { _mm256_fmadd_ps(self.0, b.0, acc.0) })
    }

    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // SAFETY: AVX is available (see the module docs).
        Avx2(unsafe { _mm256_max_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn min(self, o: Self) -> Self {
        // SAFETY: AVX is available (see the module docs).
        Avx2(unsafe { _mm256_min_ps(self.0, o.0) })
    }
}

/// Sixteen f32 lanes in one `zmm` register (AVX-512F).
#[derive(Clone, Copy)]
pub(crate) struct Avx512(__m512);

/// The lanes `0..n` of an AVX-512 tail: bit `l` of `bits` set where `l < n`, and `n`.
#[derive(Clone, Copy)]
pub(crate) struct Avx512Mask {
    bits: __mmask16,
    n: usize,
}

impl Lanes for Avx512 {
    const N: usize = 16;
    type Mask = Avx512Mask;

    #[inline(always)]
    fn first(n: usize) -> Avx512Mask {
        let n = n.min(16);
        let bits = ((1u32 << n) - 1) as __mmask16; // n <= 16: no overflow in 32 bits
        Avx512Mask { bits, n }
    }

    #[inline(always)]
    fn zero() -> Self {
        // SAFETY: AVX-512F is available (see the module docs).
        Avx512(unsafe { _mm512_setzero_ps() })
    }

    #[inline(always)]
    fn splat(x: f32) -> Self {
        // SAFETY: AVX-512F is available (see the module docs).
        Avx512(unsafe { _mm512_set1_ps(x) })
    }

    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        let src = &src[..16];
        // SAFETY: `src` holds 16 floats (bounds-checked above); AVX-512F is available.
        // `loadu` has no alignment requirement.
        Avx512(unsafe { _mm512_loadu_ps(src.as_ptr()) })
    }

    #[inline(always)]
    fn load_masked(src: &[f32], mask: Avx512Mask) -> Self {
        let src = &src[..mask.n];
        // SAFETY: the mask enables exactly lanes `0..n` (it was built by `first`), and `src`
        // holds those `n` floats; masked-off lanes are neither read nor faulted on.
        Avx512(unsafe { _mm512_maskz_loadu_ps(mask.bits, src.as_ptr()) })
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        let dst = &mut dst[..16];
        // SAFETY: `dst` holds 16 writable floats (bounds-checked above); AVX-512F is available.
        unsafe { _mm512_storeu_ps(dst.as_mut_ptr(), self.0) }
    }

    #[inline(always)]
    fn store_masked(self, dst: &mut [f32], mask: Avx512Mask) {
        let dst = &mut dst[..mask.n];
        // SAFETY: the mask enables exactly lanes `0..n`, which `dst` holds; masked-off lanes
        // are not written. AVX-512F is available.
        unsafe { _mm512_mask_storeu_ps(dst.as_mut_ptr(), mask.bits, self.0) }
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: AVX-512F is available (see the module docs).
        Avx512(unsafe { _mm512_add_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        // SAFETY: AVX-512F is available (see the module docs).
        Avx512(unsafe { _mm512_sub_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        // SAFETY: AVX-512F is available (see the module docs).
        Avx512(unsafe { _mm512_mul_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn mul_add(self, b: Self, acc: Self) -> Self {
        // SAFETY: AVX-512F is available (see the module docs).
        Avx512(unsafe { _mm512_fmadd_ps(self.0, b.0, acc.0) })
    }

    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // SAFETY: AVX-512F is available (see the module docs).
        Avx512(unsafe { _mm512_max_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn min(self, o: Self) -> Self {
        // SAFETY: AVX-512F is available (see the module docs).
        Avx512(unsafe { _mm512_min_ps(self.0, o.0) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avx512_tail_masks_cover_exactly_n_lanes() {
        // `first` is plain integer arithmetic for AVX-512: testable on any x86_64 CPU.
        for n in 0..=16 {
            let m = Avx512::first(n);
            assert_eq!((m.bits.count_ones() as usize, m.n), (n, n));
            assert_eq!(m.bits.trailing_ones() as usize, n, "lanes 0..{n}");
        }
    }
}
