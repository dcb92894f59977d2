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
//! in `unsafe`, justified by the token: [`NeonTransforms`] exists only on a NEON build.

use super::transform::{input_tile, output_tile, Lanes, TileWindow};
use super::Transforms;
use crate::epilogue::Epilogue;
use crate::error::Result;
use crate::tier::Tier;
use std::arch::aarch64::*;

/// Four f32 lanes in one q register.
///
/// Private, and only ever created inside the `#[target_feature]` wrappers below, which run only
/// through a [`NeonTransforms`]: that is what makes its safe methods' intrinsic calls sound.
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

/// Proof that the build has NEON, and the transforms that use it.
#[derive(Clone, Copy)]
pub(crate) struct NeonTransforms {
    _available: (),
}

impl NeonTransforms {
    /// `Ok` when the NEON tier is available (an aarch64 build with NEON).
    pub(crate) fn detect() -> Result<NeonTransforms> {
        Tier::Neon
            .ensure_available()
            .map(|_| NeonTransforms { _available: () })
    }
}

impl Transforms for NeonTransforms {
    fn input(
        self,
        input: &[f32],
        window: &TileWindow,
        c: usize,
        v: &mut [f32],
        v_stride: usize,
        v_c0: usize,
    ) {
        // SAFETY: a token exists only on a NEON build.
        unsafe { input_neon(input, window, c, v, v_stride, v_c0) }
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
        unsafe { output_neon(m, xi_stride, c, rows, col0, cols, stride, epilogue) }
    }
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
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "neon")]
unsafe fn output_neon(
    m: &[f32],
    xi_stride: usize,
    c: usize,
    rows: &mut [&mut [f32]],
    col0: usize,
    cols: usize,
    stride: usize,
    epilogue: &Epilogue,
) {
    output_tile::<Neon>(m, xi_stride, c, rows, col0, cols, stride, epilogue)
}
