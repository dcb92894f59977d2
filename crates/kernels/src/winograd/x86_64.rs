//! The AVX2 tier's transforms: the generic schedule of `transform.rs` on `__m256`, eight
//! channels per vector, compiled inside `#[target_feature(enable = "avx2,fma")]` wrappers.

use super::transform::{input_tile, output_tile, Lanes, TileWindow};
use super::Transforms;
use crate::epilogue::Epilogue;
use crate::error::{KernelError, Result};
use crate::tier::Tier;
use std::arch::x86_64::*;

/// Eight f32 lanes in one ymm register.
///
/// Only ever created inside the `#[target_feature]` functions below, which run only after
/// [`Avx2Transforms::detect`] saw AVX2 and FMA; the type is private to this module.
#[derive(Clone, Copy)]
struct Avx2(__m256);

impl Lanes for Avx2 {
    const N: usize = 8;

    #[inline(always)]
    fn zero() -> Self {
        // SAFETY: reached only from the AVX2 wrappers below (see the type's docs).
        Avx2(unsafe { _mm256_setzero_ps() })
    }

    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        let src = &src[..8];
        // SAFETY: `src` holds 8 floats (the slice above is bounds-checked); AVX is available
        // (see the type's docs). `loadu` has no alignment requirement.
        Avx2(unsafe { _mm256_loadu_ps(src.as_ptr()) })
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        let dst = &mut dst[..8];
        // SAFETY: `dst` holds 8 writable floats; AVX is available (see the type's docs).
        unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), self.0) }
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: AVX is available (see the type's docs).
        Avx2(unsafe { _mm256_add_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        // SAFETY: AVX is available (see the type's docs).
        Avx2(unsafe { _mm256_sub_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn mul_add(self, s: f32, o: Self) -> Self {
        // SAFETY: AVX2 and FMA are available (see the type's docs).
        Avx2(unsafe { _mm256_fmadd_ps(self.0, _mm256_set1_ps(s), o.0) })
    }

    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        // SAFETY: AVX is available (see the type's docs).
        Avx2(unsafe { _mm256_mul_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // SAFETY: AVX is available (see the type's docs).
        Avx2(unsafe { _mm256_max_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn min(self, o: Self) -> Self {
        // SAFETY: AVX is available (see the type's docs).
        Avx2(unsafe { _mm256_min_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn splat(x: f32) -> Self {
        // SAFETY: AVX is available (see the type's docs).
        Avx2(unsafe { _mm256_set1_ps(x) })
    }
}

/// Proof that the CPU has AVX2 and FMA, and the transforms that need them.
#[derive(Clone, Copy)]
pub(crate) struct Avx2Transforms {
    _detected: (),
}

impl Avx2Transforms {
    /// `Ok` only when AVX2 and FMA were detected at run time.
    pub(crate) fn detect() -> Result<Avx2Transforms> {
        if Tier::Avx2.is_available() {
            Ok(Avx2Transforms { _detected: () })
        } else {
            Err(KernelError::TierUnavailable {
                tier: Tier::Avx2,
                reason: "the CPU lacks AVX2 and FMA",
            })
        }
    }
}

impl Transforms for Avx2Transforms {
    fn input(
        self,
        input: &[f32],
        window: &TileWindow,
        c: usize,
        v: &mut [f32],
        v_stride: usize,
        v_c0: usize,
    ) {
        // SAFETY: an `Avx2Transforms` exists only after AVX2 and FMA were detected.
        unsafe { input_avx2(input, window, c, v, v_stride, v_c0) }
    }

    fn output(
        self,
        m: &[f32],
        xi_stride: usize,
        c: usize,
        rows: &mut [&mut [f32]],
        col0: usize,
        cols: usize,
        stride: usize,
        epilogue: &Epilogue,
    ) {
        // SAFETY: as above.
        unsafe { output_avx2(m, xi_stride, c, rows, col0, cols, stride, epilogue) }
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn input_avx2(
    input: &[f32],
    window: &TileWindow,
    c: usize,
    v: &mut [f32],
    v_stride: usize,
    v_c0: usize,
) {
    input_tile::<Avx2>(input, window, c, v, v_stride, v_c0)
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
unsafe fn output_avx2(
    m: &[f32],
    xi_stride: usize,
    c: usize,
    rows: &mut [&mut [f32]],
    col0: usize,
    cols: usize,
    stride: usize,
    epilogue: &Epilogue,
) {
    output_tile::<Avx2>(m, xi_stride, c, rows, col0, cols, stride, epilogue)
}

/// Sixteen f32 lanes in one zmm register: the AVX-512 tier's transforms, twice the channels
/// per instruction of [`Avx2`].
///
/// Only ever created inside the `#[target_feature]` functions below, which run only after
/// [`Avx512Transforms::detect`] saw AVX-512F; the type is private to this module.
#[derive(Clone, Copy)]
struct Avx512(__m512);

impl Lanes for Avx512 {
    const N: usize = 16;

    #[inline(always)]
    fn zero() -> Self {
        // SAFETY: reached only from the AVX-512 wrappers below (see the type's docs).
        Avx512(unsafe { _mm512_setzero_ps() })
    }

    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        let src = &src[..16];
        // SAFETY: `src` holds 16 floats (bounds-checked above); AVX-512F is available.
        Avx512(unsafe { _mm512_loadu_ps(src.as_ptr()) })
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        let dst = &mut dst[..16];
        // SAFETY: `dst` holds 16 writable floats; AVX-512F is available.
        unsafe { _mm512_storeu_ps(dst.as_mut_ptr(), self.0) }
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: AVX-512F is available (see the type's docs).
        Avx512(unsafe { _mm512_add_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        // SAFETY: AVX-512F is available (see the type's docs).
        Avx512(unsafe { _mm512_sub_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn mul_add(self, s: f32, o: Self) -> Self {
        // SAFETY: AVX-512F is available (see the type's docs).
        Avx512(unsafe { _mm512_fmadd_ps(self.0, _mm512_set1_ps(s), o.0) })
    }

    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        // SAFETY: AVX-512F is available (see the type's docs).
        Avx512(unsafe { _mm512_mul_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // SAFETY: AVX-512F is available (see the type's docs).
        Avx512(unsafe { _mm512_max_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn min(self, o: Self) -> Self {
        // SAFETY: AVX-512F is available (see the type's docs).
        Avx512(unsafe { _mm512_min_ps(self.0, o.0) })
    }

    #[inline(always)]
    fn splat(x: f32) -> Self {
        // SAFETY: AVX-512F is available (see the type's docs).
        Avx512(unsafe { _mm512_set1_ps(x) })
    }
}

/// Proof that the CPU has AVX-512F, and the transforms that need it.
#[derive(Clone, Copy)]
pub(crate) struct Avx512Transforms {
    _detected: (),
}

impl Avx512Transforms {
    /// `Ok` only when AVX-512F (and AVX2, FMA) were detected at run time.
    pub(crate) fn detect() -> Result<Avx512Transforms> {
        Tier::Avx512
            .ensure_available()
            .map(|_| Avx512Transforms { _detected: () })
    }
}

impl Transforms for Avx512Transforms {
    fn input(
        self,
        input: &[f32],
        window: &TileWindow,
        c: usize,
        v: &mut [f32],
        v_stride: usize,
        v_c0: usize,
    ) {
        // SAFETY: an `Avx512Transforms` exists only after AVX-512F was detected.
        unsafe { input_avx512(input, window, c, v, v_stride, v_c0) }
    }

    fn output(
        self,
        m: &[f32],
        xi_stride: usize,
        c: usize,
        rows: &mut [&mut [f32]],
        col0: usize,
        cols: usize,
        stride: usize,
        epilogue: &Epilogue,
    ) {
        // SAFETY: as above.
        unsafe { output_avx512(m, xi_stride, c, rows, col0, cols, stride, epilogue) }
    }
}

/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn input_avx512(
    input: &[f32],
    window: &TileWindow,
    c: usize,
    v: &mut [f32],
    v_stride: usize,
    v_c0: usize,
) {
    input_tile::<Avx512>(input, window, c, v, v_stride, v_c0)
}

/// # Safety
/// The CPU must support AVX-512F.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn output_avx512(
    m: &[f32],
    xi_stride: usize,
    c: usize,
    rows: &mut [&mut [f32]],
    col0: usize,
    cols: usize,
    stride: usize,
    epilogue: &Epilogue,
) {
    output_tile::<Avx512>(m, xi_stride, c, rows, col0, cols, stride, epilogue)
}
