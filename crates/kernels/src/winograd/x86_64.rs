//! The x86_64 tiers' transforms: the generic schedule of `transform.rs` on `__m256` (AVX2,
//! eight channels per vector) and on `__m512` (AVX-512F, sixteen), each compiled inside
//! `#[target_feature]` wrappers.
//!
//! The two tiers differ only in the lanes type (the crate's [`Avx2`] and [`Avx512`]) and the
//! features they need, so one macro, `simd_transforms!`, writes both: the two
//! `#[target_feature]` wrappers that compile `input_tile` / `output_tile` with those features
//! enabled, the two safe kernels that call them, and the constructor that hands the kernels
//! out only after checking the CPU (see `dispatch.rs`).

use super::transform::{input_tile, output_tile, TileOutput, TileWindow};
use super::TransformKernels;
use crate::dispatch::kernel;
use crate::epilogue::Epilogue;
use crate::lanes::x86_64::{Avx2, Avx512};
use crate::tier::Tier;

/// One x86 SIMD instantiation of the Winograd transforms; see the module docs.
///
/// The lanes type appears only as the type argument inside the `#[target_feature]` wrappers,
/// which the safe kernels call only after the constructor saw the tier's features: that is
/// what makes its safe methods' intrinsic calls sound (see `dispatch.rs`).
macro_rules! simd_transforms {
    (
        lanes: $lanes:ty,
        constructor: $constructor:ident,
        tier: $tier:expr,
        features: $features:literal,
        kernels: $input_kernel:ident, $output_kernel:ident,
        wrappers: $input:ident, $output:ident $(,)?
    ) => {
        /// The tier's transforms, if the CPU has its features: the only way out of this
        /// module of the two kernels below.
        pub(super) fn $constructor() -> Option<TransformKernels> {
            $tier.is_available().then_some(TransformKernels {
                input: kernel!($input_kernel),
                output: kernel!($output_kernel),
            })
        }

        /// The input transform of one tile (see [`input_tile`]).
        fn $input_kernel(
            input: &[f32],
            window: &TileWindow,
            c: usize,
            v: &mut [f32],
            v_stride: usize,
            v_c0: usize,
        ) {
            // SAFETY: only the constructor above hands this function out, after checking the
            // tier's features.
            unsafe { $input(input, window, c, v, v_stride, v_c0) }
        }

        /// The output transform of one tile (see [`output_tile`]).
        fn $output_kernel(m: &[f32], xi_stride: usize, c: usize, out: &mut TileOutput, epilogue: &Epilogue) {
            // SAFETY: as above.
            unsafe { $output(m, xi_stride, c, out, epilogue) }
        }

        /// The input transform compiled with the tier's features.
        ///
        /// # Safety
        /// The CPU must support the tier's features.
        #[target_feature(enable = $features)]
        unsafe fn $input(
            input: &[f32],
            window: &TileWindow,
            c: usize,
            v: &mut [f32],
            v_stride: usize,
            v_c0: usize,
        ) {
            input_tile::<$lanes>(input, window, c, v, v_stride, v_c0)
        }

        /// The output transform compiled with the tier's features.
        ///
        /// # Safety
        /// The CPU must support the tier's features.
        #[target_feature(enable = $features)]
        unsafe fn $output(m: &[f32], xi_stride: usize, c: usize, out: &mut TileOutput, epilogue: &Epilogue) {
            output_tile::<$lanes>(m, xi_stride, c, out, epilogue)
        }
    };
}

simd_transforms! {
    lanes: Avx2,
    constructor: avx2_transforms,
    tier: Tier::Avx2,
    features: "avx2,fma",
    kernels: f32_winograd_f4x4_input_avx2, f32_winograd_f4x4_output_avx2,
    wrappers: input_avx2, output_avx2,
}

simd_transforms! {
    lanes: Avx512,
    constructor: avx512_transforms,
    tier: Tier::Avx512,
    features: "avx512f,avx2,fma",
    kernels: f32_winograd_f4x4_input_avx512, f32_winograd_f4x4_output_avx512,
    wrappers: input_avx512, output_avx512,
}
