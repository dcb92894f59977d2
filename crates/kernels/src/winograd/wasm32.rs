//! The WebAssembly SIMD128 tier's transforms: the generic schedule of `transform.rs` on
//! `v128`, four channels per `f32x4` (as the NEON tier's `float32x4_t`).
//!
//! Four lanes is half the portable tier's `[f32; 8]`, so a tile's 36 frequencies of a channel
//! run take twice as many vectors, and channel counts that are not a multiple of 4 take the
//! partial-vector tail path; nothing else in the schedule depends on the width. SIMD128 has no
//! fused multiply-add, so the lanes' `mul_add` is a multiply and an add (see
//! `lanes/wasm32.rs`).
//!
//! The generic functions are compiled inside thin `#[target_feature(enable = "simd128")]`
//! wrappers, the only place the crate's lanes type [`Simd128`] is named. This file exists
//! only in modules built with SIMD128 (WebAssembly has no run-time detection: an engine
//! without SIMD refuses to load such a module), and the wrappers run only through the kernels
//! [`simd128_transforms`] hands out when `Tier::WasmSimd128` is available (see `dispatch.rs`).

use super::transform::{input_tile, output_tile, TileOutput, TileWindow};
use super::TransformKernels;
use crate::dispatch::kernel;
use crate::epilogue::Epilogue;
use crate::lanes::wasm32::Simd128;
use crate::tier::Tier;

/// The SIMD128 transforms, if the tier is available: the only way out of this module of the
/// two kernels below (see [`crate::dispatch`]).
pub(super) fn simd128_transforms() -> Option<TransformKernels> {
    Tier::WasmSimd128.is_available().then_some(TransformKernels {
        input: kernel!(f32_winograd_f4x4_input_simd128),
        output: kernel!(f32_winograd_f4x4_output_simd128),
    })
}

/// The input transform of one tile (see [`input_tile`]).
fn f32_winograd_f4x4_input_simd128(
    input: &[f32],
    window: &TileWindow,
    c: usize,
    v: &mut [f32],
    v_stride: usize,
    v_c0: usize,
) {
    // SAFETY: only `simd128_transforms()` hands this function out, in a SIMD128 build.
    unsafe { input_simd128(input, window, c, v, v_stride, v_c0) }
}

/// The output transform of one tile (see [`output_tile`]).
fn f32_winograd_f4x4_output_simd128(
    m: &[f32],
    xi_stride: usize,
    c: usize,
    out: &mut TileOutput,
    epilogue: &Epilogue,
) {
    // SAFETY: as above.
    unsafe { output_simd128(m, xi_stride, c, out, epilogue) }
}

/// [`input_tile`] compiled with SIMD128.
///
/// # Safety
/// The engine must support SIMD128.
#[target_feature(enable = "simd128")]
unsafe fn input_simd128(
    input: &[f32],
    window: &TileWindow,
    c: usize,
    v: &mut [f32],
    v_stride: usize,
    v_c0: usize,
) {
    input_tile::<Simd128>(input, window, c, v, v_stride, v_c0)
}

/// [`output_tile`] compiled with SIMD128.
///
/// # Safety
/// The engine must support SIMD128.
#[target_feature(enable = "simd128")]
unsafe fn output_simd128(m: &[f32], xi_stride: usize, c: usize, out: &mut TileOutput, epilogue: &Epilogue) {
    output_tile::<Simd128>(m, xi_stride, c, out, epilogue)
}
