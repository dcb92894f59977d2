//! The x86_64 tiers' transforms: the generic schedule of `transform.rs` on `__m256` (AVX2,
//! eight channels per vector) and on `__m512` (AVX-512F, sixteen), each compiled inside
//! `#[target_feature]` wrappers.
//!
//! The two tiers differ only in the vector type, the intrinsics' prefix and the features they
//! need, so one macro, `simd_transforms!`, writes both: a lanes type implementing [`Lanes`]
//! with the intrinsics, the two `#[target_feature]` wrappers that compile `input_tile` /
//! `output_tile` with those features enabled, the two safe kernels that call them, and the
//! constructor that hands the kernels out only after checking the CPU (see
//! [`crate::dispatch`]).

use super::transform::{input_tile, output_tile, Lanes, TileOutput, TileWindow};
use super::TransformKernels;
use crate::dispatch::kernel;
use crate::epilogue::Epilogue;
use crate::tier::Tier;
use std::arch::x86_64::*;

/// One x86 SIMD instantiation of the Winograd transforms; see the module docs.
///
/// The lanes type is private to this module and only ever created inside the
/// `#[target_feature]` wrappers, which the safe kernels call only after the constructor saw the
/// tier's features: that is what makes its safe methods' intrinsic calls sound.
macro_rules! simd_transforms {
    (
        $(#[$doc:meta])*
        lanes: $lanes:ident($vec:ty, $n:literal),
        constructor: $constructor:ident,
        tier: $tier:expr,
        features: $features:literal,
        kernels: $input_kernel:ident, $output_kernel:ident,
        wrappers: $input:ident, $output:ident,
        intrinsics: $setzero:ident, $loadu:ident, $storeu:ident, $add:ident, $sub:ident,
            $fmadd:ident, $mul:ident, $max:ident, $min:ident, $set1:ident $(,)?
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        struct $lanes($vec);

        impl Lanes for $lanes {
            const N: usize = $n;

            #[inline(always)]
            fn zero() -> Self {
                // SAFETY: reached only from the wrappers below (see the macro's docs).
                $lanes(unsafe { $setzero() })
            }

            #[inline(always)]
            fn load(src: &[f32]) -> Self {
                let src = &src[..$n];
                // SAFETY: `src` holds N floats (bounds-checked above); the features are
                // available (see the macro's docs). `loadu` has no alignment requirement.
                $lanes(unsafe { $loadu(src.as_ptr()) })
            }

            #[inline(always)]
            fn store(self, dst: &mut [f32]) {
                let dst = &mut dst[..$n];
                // SAFETY: `dst` holds N writable floats; the features are available.
                unsafe { $storeu(dst.as_mut_ptr(), self.0) }
            }

            #[inline(always)]
            fn add(self, o: Self) -> Self {
                // SAFETY: the features are available (see the macro's docs).
                $lanes(unsafe { $add(self.0, o.0) })
            }

            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                // SAFETY: as above.
                $lanes(unsafe { $sub(self.0, o.0) })
            }

            #[inline(always)]
            fn mul_add(self, s: f32, o: Self) -> Self {
                // SAFETY: as above.
                $lanes(unsafe { $fmadd(self.0, $set1(s), o.0) })
            }

            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                // SAFETY: as above.
                $lanes(unsafe { $mul(self.0, o.0) })
            }

            #[inline(always)]
            fn max(self, o: Self) -> Self {
                // SAFETY: as above.
                $lanes(unsafe { $max(self.0, o.0) })
            }

            #[inline(always)]
            fn min(self, o: Self) -> Self {
                // SAFETY: as above.
                $lanes(unsafe { $min(self.0, o.0) })
            }

            #[inline(always)]
            fn splat(x: f32) -> Self {
                // SAFETY: as above.
                $lanes(unsafe { $set1(x) })
            }
        }

        /// The tier's transforms, if the CPU has its features: the only way out of this
        /// module of the two kernels below.
        pub(super) fn $constructor() -> Option<TransformKernels> {
            $tier.is_available().then_some(TransformKernels {
                input: kernel!($input_kernel),
                output: kernel!($output_kernel),
            })
        }

        /// The input transform of one tile (see [`input_tile`]).
        fn $input_kernel(input: &[f32], window: &TileWindow, c: usize, v: &mut [f32], v_stride: usize, v_c0: usize) {
            // SAFETY: only the constructor above hands this function out, after checking the
            // tier's features.
            unsafe { $input(input, window, c, v, v_stride, v_c0) }
        }

        /// The output transform of one tile (see [`output_tile`]).
        fn $output_kernel(m: &[f32], xi_stride: usize, c: usize, out: &mut TileOutput, epilogue: &Epilogue) {
            // SAFETY: as above.
            unsafe { $output(m, xi_stride, c, out, epilogue) }
        }

        /// # Safety
        /// The CPU must support the tier's features.
        #[target_feature(enable = $features)]
        unsafe fn $input(input: &[f32], window: &TileWindow, c: usize, v: &mut [f32], v_stride: usize, v_c0: usize) {
            input_tile::<$lanes>(input, window, c, v, v_stride, v_c0)
        }

        /// # Safety
        /// The CPU must support the tier's features.
        #[target_feature(enable = $features)]
        unsafe fn $output(m: &[f32], xi_stride: usize, c: usize, out: &mut TileOutput, epilogue: &Epilogue) {
            output_tile::<$lanes>(m, xi_stride, c, out, epilogue)
        }
    };
}

simd_transforms! {
    /// Eight f32 lanes in one ymm register.
    lanes: Avx2(__m256, 8),
    constructor: avx2_transforms,
    tier: Tier::Avx2,
    features: "avx2,fma",
    kernels: f32_winograd_f4x4_input_avx2, f32_winograd_f4x4_output_avx2,
    wrappers: input_avx2, output_avx2,
    intrinsics: _mm256_setzero_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_add_ps, _mm256_sub_ps,
        _mm256_fmadd_ps, _mm256_mul_ps, _mm256_max_ps, _mm256_min_ps, _mm256_set1_ps,
}

simd_transforms! {
    /// Sixteen f32 lanes in one zmm register: twice the channels per instruction of [`Avx2`].
    lanes: Avx512(__m512, 16),
    constructor: avx512_transforms,
    tier: Tier::Avx512,
    features: "avx512f,avx2,fma",
    kernels: f32_winograd_f4x4_input_avx512, f32_winograd_f4x4_output_avx512,
    wrappers: input_avx512, output_avx512,
    intrinsics: _mm512_setzero_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_add_ps, _mm512_sub_ps,
        _mm512_fmadd_ps, _mm512_mul_ps, _mm512_max_ps, _mm512_min_ps, _mm512_set1_ps,
}
