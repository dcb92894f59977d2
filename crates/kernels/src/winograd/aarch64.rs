//! The NEON tier's transforms: the generic schedule of `transform.rs` on `float32x4_t`, four
//! channels per vector.
//!
//! Four lanes is half the portable tier's `[f32; 8]`, so a tile's 36 frequencies of a channel
//! run take twice as many vectors, and channel counts that are not a multiple of 4 (rather
//! than 8) take the zero-padded tail path. Nothing in the schedule depends on the width beyond
//! that: the tail buffers hold up to 16 lanes, and V and M are laid out by channel, not by
//! vector.
//!
//! As on x86_64, the generic functions are compiled inside thin `#[target_feature(enable =
//! "neon")]` wrappers. NEON is part of the aarch64 baseline, so the wrappers change no code on
//! our targets, but a function must still list the feature for the intrinsics to be safe to
//! call in it; the lanes type's methods are not such functions, so each wraps its intrinsic
//! in `unsafe`, justified by the constructor: [`neon_transforms`] hands the kernels out only on
//! a NEON build.

use super::transform::{input_tile, output_tile, Lanes, TileOutput, TileWindow};
use super::TransformKernels;
use crate::dispatch::kernel;
use crate::epilogue::Epilogue;
use crate::tier::Tier;
use std::arch::aarch64::*;

/// Four f32 lanes in one q register.
///
/// Private, and only ever created inside the `#[target_feature]` wrappers below, which run only
/// through the kernels [`neon_transforms`] hands out: that is what makes its safe methods' intrinsic calls sound.
#[derive(Clone, Copy)]
struct Neon(float32x4_t);

impl Lanes for Neon {
    const N: usize = 4;

    #[inline(always)]
    fn zero() -> Self {
        // SAFETY: NEON is available (see the type's docs).
        Neon(unsafe { vdupq_n_f32(0.0) })
    }

    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        let src = &src[..4];
        // SAFETY: `src` holds 4 floats (bounds-checked above); `ld1` has no alignment
        // requirement; NEON is available (see the type's docs).
        Neon(unsafe { vld1q_f32(src.as_ptr()) })
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        let dst = &mut dst[..4];
        // SAFETY: `dst` holds 4 writable floats (bounds-checked above); NEON is available.
        unsafe { vst1q_f32(dst.as_mut_ptr(), self.0) }
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: NEON is available (see the type's docs).
        Neon(unsafe { vaddq_f32(self.0, o.0) })
    }

    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        // SAFETY: NEON is available (see the type's docs).
        Neon(unsafe { vsubq_f32(self.0, o.0) })
    }

    #[inline(always)]
    fn mul_add(self, s: f32, o: Self) -> Self {
        // o + self·s, fused (as the AVX2 tier's `fmadd`).
        // SAFETY: NEON is available (see the type's docs).
        Neon(unsafe { vfmaq_n_f32(o.0, self.0, s) })
    }

    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        // SAFETY: NEON is available (see the type's docs).
        Neon(unsafe { vmulq_f32(self.0, o.0) })
    }

    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // `fmaxnm`: a NaN operand yields the other one, as `f32::max` in the portable lanes.
        // SAFETY: NEON is available (see the type's docs).
        Neon(unsafe { vmaxnmq_f32(self.0, o.0) })
    }

    #[inline(always)]
    fn min(self, o: Self) -> Self {
        // `fminnm`, as `f32::min`.
        // SAFETY: NEON is available (see the type's docs).
        Neon(unsafe { vminnmq_f32(self.0, o.0) })
    }

    #[inline(always)]
    fn splat(x: f32) -> Self {
        // SAFETY: as above.
        Neon(unsafe { vdupq_n_f32(x) })
    }
}

/// The NEON transforms, if the NEON tier is available: the only way out of this module of the
/// two kernels below (see [`crate::dispatch`]).
pub(super) fn neon_transforms() -> Option<TransformKernels> {
    Tier::Neon.is_available().then_some(TransformKernels {
        input: kernel!(f32_winograd_f4x4_input_neon),
        output: kernel!(f32_winograd_f4x4_output_neon),
    })
}

/// The input transform of one tile (see [`input_tile`]).
fn f32_winograd_f4x4_input_neon(
    input: &[f32],
    window: &TileWindow,
    c: usize,
    v: &mut [f32],
    v_stride: usize,
    v_c0: usize,
) {
    // SAFETY: only `neon_transforms()` hands this function out, on a NEON build.
    unsafe { input_neon(input, window, c, v, v_stride, v_c0) }
}

/// The output transform of one tile (see [`output_tile`]).
fn f32_winograd_f4x4_output_neon(
    m: &[f32],
    xi_stride: usize,
    c: usize,
    out: &mut TileOutput,
    epilogue: &Epilogue,
) {
    // SAFETY: as above.
    unsafe { output_neon(m, xi_stride, c, out, epilogue) }
}

/// [`input_tile`] compiled with NEON.
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
unsafe fn input_neon(
    input: &[f32],
    window: &TileWindow,
    c: usize,
    v: &mut [f32],
    v_stride: usize,
    v_c0: usize,
) {
    input_tile::<Neon>(input, window, c, v, v_stride, v_c0)
}

/// [`output_tile`] compiled with NEON.
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
unsafe fn output_neon(m: &[f32], xi_stride: usize, c: usize, out: &mut TileOutput, epilogue: &Epilogue) {
    output_tile::<Neon>(m, xi_stride, c, out, epilogue)
}
