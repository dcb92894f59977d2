//! The WebAssembly SIMD128 tier's transforms: the generic schedule of `transform.rs` on
//! `v128`, four channels per `f32x4` (as the NEON tier's `float32x4_t`).
//!
//! Four lanes is half the portable tier's `[f32; 8]`, so a tile's 36 frequencies of a channel
//! run take twice as many vectors, and channel counts that are not a multiple of 4 take the
//! zero-padded tail path; nothing else in the schedule depends on the width. SIMD128 has no
//! fused multiply-add, so [`Lanes::mul_add`] is a multiply and an add (the trait allows either).
//! `max`/`min` are IEEE maxNum/minNum, as `f32::max`/`f32::min` in the portable lanes (see
//! `depthwise/wasm32.rs` for how they are built from `pmax`/`pmin`).
//!
//! The generic functions are compiled inside thin `#[target_feature(enable = "simd128")]`
//! wrappers. This file exists only in modules built with SIMD128 (WebAssembly has no run-time
//! detection: an engine without SIMD refuses to load such a module), and [`simd128_transforms`]
//! hands the kernels out only when `Tier::WasmSimd128` is available.

use super::transform::{input_tile, output_tile, Lanes, TileOutput, TileWindow};
use super::TransformKernels;
use crate::dispatch::kernel;
use crate::epilogue::Epilogue;
use crate::tier::Tier;
use std::arch::wasm32::*;

/// Four f32 lanes in one `v128`.
///
/// Private, and only ever created inside the `#[target_feature]` wrappers below, which run
/// only through the kernels [`simd128_transforms`] hands out.
#[derive(Clone, Copy)]
struct Simd128(v128);

impl Lanes for Simd128 {
    const N: usize = 4;

    #[inline(always)]
    fn zero() -> Self {
        Simd128(f32x4_splat(0.0))
    }

    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        let src = &src[..4];
        // SAFETY: `src` holds 4 floats (bounds-checked above); `v128.load` has no alignment
        // requirement; SIMD128 is available.
        Simd128(unsafe { v128_load(src.as_ptr() as *const v128) })
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        let dst = &mut dst[..4];
        // SAFETY: `dst` holds 4 writable floats (bounds-checked above); SIMD128 is available.
        unsafe { v128_store(dst.as_mut_ptr() as *mut v128, self.0) }
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Simd128(f32x4_add(self.0, o.0))
    }

    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Simd128(f32x4_sub(self.0, o.0))
    }

    #[inline(always)]
    fn mul_add(self, s: f32, o: Self) -> Self {
        // o + self·s, rounded twice (SIMD128 has no FMA).
        Simd128(f32x4_add(o.0, f32x4_mul(self.0, f32x4_splat(s))))
    }

    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Simd128(f32x4_mul(self.0, o.0))
    }

    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // maxNum: `pmax(o, x)` yields `o` for a NaN `x`; a NaN `o` is replaced by `x`.
        Simd128(v128_bitselect(
            self.0,
            f32x4_pmax(o.0, self.0),
            f32x4_ne(o.0, o.0),
        ))
    }

    #[inline(always)]
    fn min(self, o: Self) -> Self {
        // minNum, as `max` with `pmin`.
        Simd128(v128_bitselect(
            self.0,
            f32x4_pmin(o.0, self.0),
            f32x4_ne(o.0, o.0),
        ))
    }

    #[inline(always)]
    fn splat(x: f32) -> Self {
        Simd128(f32x4_splat(x))
    }
}

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
