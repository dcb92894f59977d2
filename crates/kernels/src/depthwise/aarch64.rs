//! The NEON tier's depthwise kernels: the schedule of `schedule.rs` on `float32x4_t` (4
//! channels per vector), compiled inside `#[target_feature(enable = "neon")]` wrappers, and
//! the generic row loop compiled the same way.
//!
//! | tier | 3x3 stride 1               | 3x3 stride 2               | other kernels             |
//! |------|----------------------------|----------------------------|---------------------------|
//! | NEON | `f32_dwconv_3x3s1_4c_neon` | `f32_dwconv_3x3s2_4c_neon` | `f32_dwconv_generic_neon` |
//!
//! NEON has no masked loads, so the channel tail (`c % 4`) goes through a 4-float buffer:
//! `n` floats copied in (the rest zero) and `n` copied out. The clamp uses `vmaxnmq_f32` /
//! `vminnmq_f32` (IEEE maxNum/minNum: a NaN operand yields the other one), which is what the
//! scalar `f32::max` / `f32::min` of the portable tier do.
//!
//! Soundness: NEON is part of every aarch64 Linux target's baseline, and the lanes type
//! [`Neon`] is private to this module and used only inside the `#[target_feature]` wrappers,
//! which leave this module only through [`neon_kernels`] (which checks `Tier::Neon`). Every
//! load and store checks its slice's length first.

use super::lanes::DwLanes;
use super::portable::dwconv_generic_row;
use super::schedule::dwconv_3x3;
use super::{DepthwiseKernels, Geometry, WindowRows};
use crate::epilogue::Epilogue;
use crate::tier::Tier;
use std::arch::aarch64::*;

/// Channels per NEON vector.
const LANES: usize = 4;

simd_depthwise_kernels! {
    constructor: neon_kernels,
    tier: Tier::Neon,
    features: "neon",
    lanes: Neon,
    row: neon_row,
    kernels: f32_dwconv_3x3s1_4c_neon, f32_dwconv_3x3s2_4c_neon, f32_dwconv_generic_neon,
}

/// Four f32 lanes in one q register.
#[derive(Clone, Copy)]
struct Neon(float32x4_t);

impl DwLanes for Neon {
    const N: usize = LANES;
    /// The tail's lane count.
    type Mask = usize;

    #[inline(always)]
    fn first(n: usize) -> usize {
        n.min(LANES)
    }

    #[inline(always)]
    fn zero() -> Self {
        // SAFETY: NEON is available (see the module docs).
        Neon(unsafe { vdupq_n_f32(0.0) })
    }

    #[inline(always)]
    fn splat(x: f32) -> Self {
        // SAFETY: as above.
        Neon(unsafe { vdupq_n_f32(x) })
    }

    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        let src = &src[..LANES];
        // SAFETY: `src` holds 4 floats (bounds-checked above); NEON is available.
        Neon(unsafe { vld1q_f32(src.as_ptr()) })
    }

    #[inline(always)]
    fn load_masked(src: &[f32], n: usize) -> Self {
        let mut buf = [0.0f32; LANES];
        buf[..n].copy_from_slice(&src[..n]);
        Self::load(&buf)
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        let dst = &mut dst[..LANES];
        // SAFETY: `dst` holds 4 writable floats; NEON is available.
        unsafe { vst1q_f32(dst.as_mut_ptr(), self.0) }
    }

    #[inline(always)]
    fn store_masked(self, dst: &mut [f32], n: usize) {
        let mut buf = [0.0f32; LANES];
        self.store(&mut buf);
        dst[..n].copy_from_slice(&buf[..n]);
    }

    #[inline(always)]
    fn mul_add(self, w: Self, acc: Self) -> Self {
        // SAFETY: NEON is available. `vfmaq_f32(a, b, c)` is `a + b·c`, rounded once.
        Neon(unsafe { vfmaq_f32(acc.0, self.0, w.0) })
    }

    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        // SAFETY: NEON is available.
        Neon(unsafe { vmulq_f32(self.0, o.0) })
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: NEON is available.
        Neon(unsafe { vaddq_f32(self.0, o.0) })
    }

    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // SAFETY: NEON is available.
        Neon(unsafe { vmaxnmq_f32(self.0, o.0) })
    }

    #[inline(always)]
    fn min(self, o: Self) -> Self {
        // SAFETY: NEON is available.
        Neon(unsafe { vminnmq_f32(self.0, o.0) })
    }
}
