//! The x86_64 tiers' depthwise kernels: the schedule of `schedule.rs` on `__m256` (AVX2+FMA,
//! 8 channels per vector) and on `__m512` (AVX-512F, 16), each compiled inside
//! `#[target_feature]` wrappers, and the generic row loop compiled the same way.
//!
//! | tier    | 3x3 stride 1               | 3x3 stride 2               | other kernels               |
//! |---------|----------------------------|----------------------------|-----------------------------|
//! | AVX2    | `f32_dwconv_3x3s1_8c_fma`     | `f32_dwconv_3x3s2_8c_fma`     | `f32_dwconv_generic_avx2`   |
//! | AVX-512 | `f32_dwconv_3x3s1_16c_avx512` | `f32_dwconv_3x3s2_16c_avx512` | `f32_dwconv_generic_avx512` |
//!
//! The channel tail (`c % 8` or `c % 16`) uses masked loads and stores, whose masked-off lanes
//! are neither read nor written, so nothing past the end of a slice is touched.
//!
//! Soundness: the lanes types [`Avx2`] and [`Avx512`] are private to this module and used only
//! inside the `#[target_feature]` wrappers, which are called only from the row functions,
//! which leave this module only through [`avx2_kernels`] / [`avx512_kernels`] after those
//! detected the CPU features. Every load and store checks its slice's length first.

use super::lanes::DwLanes;
use super::portable::dwconv_generic_row;
use super::schedule::dwconv_3x3;
use super::{DepthwiseKernels, Geometry, WindowRows, CHANNEL_TILE, CHANNEL_TILE_AVX512};
use crate::epilogue::Epilogue;
use crate::tier::Tier;
use std::arch::x86_64::*;

simd_depthwise_kernels! {
    constructor: avx2_kernels,
    tier: Tier::Avx2,
    features: "avx2,fma",
    lanes: Avx2,
    row: avx2_row,
    kernels: f32_dwconv_3x3s1_8c_fma, f32_dwconv_3x3s2_8c_fma, f32_dwconv_generic_avx2,
}

simd_depthwise_kernels! {
    constructor: avx512_kernels,
    tier: Tier::Avx512,
    features: "avx512f,avx2,fma",
    lanes: Avx512,
    row: avx512_row,
    kernels: f32_dwconv_3x3s1_16c_avx512, f32_dwconv_3x3s2_16c_avx512, f32_dwconv_generic_avx512,
}

/// Eight f32 lanes in one `ymm` register. Created only inside the AVX2 wrappers above.
#[derive(Clone, Copy)]
struct Avx2(__m256);

/// The lanes `0..n` of an AVX2 tail: a lane mask (all bits set where `lane < n`) and `n`.
#[derive(Clone, Copy)]
struct Avx2Mask {
    lanes: __m256i,
    n: usize,
}

impl DwLanes for Avx2 {
    const N: usize = CHANNEL_TILE;
    type Mask = Avx2Mask;

    #[inline(always)]
    fn first(n: usize) -> Avx2Mask {
        let n = n.min(CHANNEL_TILE);
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
        // SAFETY: as above.
        Avx2(unsafe { _mm256_set1_ps(x) })
    }

    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        let src = &src[..CHANNEL_TILE];
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
        let dst = &mut dst[..CHANNEL_TILE];
        // SAFETY: `dst` holds 8 writable floats; AVX is available.
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
    fn mul_add(self, w: Self, acc: Self) -> Self {
        // SAFETY: FMA is available (see the module docs).
        Avx2(unsafe { _mm256_fmadd_ps(self.0, w.0, acc.0) })
    }

    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        // SAFETY: AVX is available.
        Avx2(unsafe { _mm256_mul_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: AVX is available.
        Avx2(unsafe { _mm256_add_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // SAFETY: AVX is available.
        Avx2(unsafe { _mm256_max_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn min(self, o: Self) -> Self {
        // SAFETY: AVX is available.
        Avx2(unsafe { _mm256_min_ps(self.0, o.0) })
    }
}

/// Sixteen f32 lanes in one `zmm` register. Created only inside the AVX-512 wrappers above.
#[derive(Clone, Copy)]
struct Avx512(__m512);

/// The lanes `0..n` of an AVX-512 tail: bit `l` of `bits` set where `l < n`, and `n`.
#[derive(Clone, Copy)]
struct Avx512Mask {
    bits: __mmask16,
    n: usize,
}

impl DwLanes for Avx512 {
    const N: usize = CHANNEL_TILE_AVX512;
    type Mask = Avx512Mask;

    #[inline(always)]
    fn first(n: usize) -> Avx512Mask {
        let n = n.min(CHANNEL_TILE_AVX512);
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
        // SAFETY: as above.
        Avx512(unsafe { _mm512_set1_ps(x) })
    }

    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        let src = &src[..CHANNEL_TILE_AVX512];
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
        let dst = &mut dst[..CHANNEL_TILE_AVX512];
        // SAFETY: `dst` holds 16 writable floats; AVX-512F is available.
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
    fn mul_add(self, w: Self, acc: Self) -> Self {
        // SAFETY: AVX-512F is available (see the module docs).
        Avx512(unsafe { _mm512_fmadd_ps(self.0, w.0, acc.0) })
    }

    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        // SAFETY: as above.
        Avx512(unsafe { _mm512_mul_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: as above.
        Avx512(unsafe { _mm512_add_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // SAFETY: as above.
        Avx512(unsafe { _mm512_max_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn min(self, o: Self) -> Self {
        // SAFETY: as above.
        Avx512(unsafe { _mm512_min_ps(self.0, o.0) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::depthwise::function_name;

    #[test]
    fn names_are_the_functions_names() {
        // The tables are `None` on a CPU without the features; the names are checked wherever
        // the kernels can run, and the skip is printed.
        match avx2_kernels() {
            Some(k) => {
                assert_eq!(k.name_3x3s1, function_name(&f32_dwconv_3x3s1_8c_fma));
                assert_eq!(k.name_3x3s2, function_name(&f32_dwconv_3x3s2_8c_fma));
                assert_eq!(k.name_generic, function_name(&f32_dwconv_generic_avx2));
            }
            None => println!("SKIPPED avx2 kernel names: AVX2+FMA not available"),
        }
        match avx512_kernels() {
            Some(k) => {
                assert_eq!(k.name_3x3s1, function_name(&f32_dwconv_3x3s1_16c_avx512));
                assert_eq!(k.name_3x3s2, function_name(&f32_dwconv_3x3s2_16c_avx512));
                assert_eq!(k.name_generic, function_name(&f32_dwconv_generic_avx512));
            }
            None => println!("SKIPPED avx512 kernel names: AVX-512F not available"),
        }
    }

    #[test]
    fn tail_masks_cover_exactly_n_lanes() {
        for n in 0..=CHANNEL_TILE_AVX512 {
            let m = Avx512::first(n);
            assert_eq!((m.bits.count_ones() as usize, m.n), (n, n));
            assert_eq!(m.bits.trailing_ones() as usize, n, "lanes 0..{n}");
        }
    }
}
