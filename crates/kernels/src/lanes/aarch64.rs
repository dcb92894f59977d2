//! The NEON tier's lanes: [`Neon`], four f32 in a `q` register.
//!
//! NEON has no masked loads, so the channel tail (`c % 4`) goes through a 4-float buffer: `n`
//! floats copied in (the rest zero) and `n` copied out. `max`/`min` use `vmaxnmq_f32` /
//! `vminnmq_f32` (IEEE maxNum/minNum: a NaN operand yields the other one), which is what the
//! scalar `f32::max` / `f32::min` of the portable tier do.
//!
//! NEON is part of the aarch64 baseline, but a function must still enable the feature for the
//! intrinsics to be safe to call in it; these methods are not such functions, so each wraps
//! its intrinsic in `unsafe`, justified as on x86_64: the type is named only inside
//! `#[target_feature(enable = "neon")]` wrappers that run only through a kernel the table
//! handed out for the NEON tier (the crate's soundness argument, in `dispatch.rs`).

use super::Lanes;
use std::arch::aarch64::*;

/// Four f32 lanes in one `q` register.
#[derive(Clone, Copy)]
pub(crate) struct Neon(float32x4_t);

impl Lanes for Neon {
    const N: usize = 4;
    /// The tail's lane count.
    type Mask = usize;

    #[inline(always)]
    fn first(n: usize) -> usize {
        n.min(4)
    }

    #[inline(always)]
    fn zero() -> Self {
        // SAFETY: NEON is available (see the module docs).
        Neon(unsafe { vdupq_n_f32(0.0) })
    }

    #[inline(always)]
    fn splat(x: f32) -> Self {
        // SAFETY: NEON is available (see the module docs).
        Neon(unsafe { vdupq_n_f32(x) })
    }

    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        let src = &src[..4];
        // SAFETY: `src` holds 4 floats (bounds-checked above); `ld1` has no alignment
        // requirement; NEON is available.
        Neon(unsafe { vld1q_f32(src.as_ptr()) })
    }

    #[inline(always)]
    fn load_masked(src: &[f32], n: usize) -> Self {
        let mut buf = [0.0f32; 4];
        buf[..n].copy_from_slice(&src[..n]);
        Self::load(&buf)
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        let dst = &mut dst[..4];
        // SAFETY: `dst` holds 4 writable floats (bounds-checked above); NEON is available.
        unsafe { vst1q_f32(dst.as_mut_ptr(), self.0) }
    }

    #[inline(always)]
    fn store_masked(self, dst: &mut [f32], n: usize) {
        let mut buf = [0.0f32; 4];
        self.store(&mut buf);
        dst[..n].copy_from_slice(&buf[..n]);
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: NEON is available (see the module docs).
        Neon(unsafe { vaddq_f32(self.0, o.0) })
    }

    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        // SAFETY: NEON is available (see the module docs).
        Neon(unsafe { vsubq_f32(self.0, o.0) })
    }

    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        // SAFETY: NEON is available (see the module docs).
        Neon(unsafe { vmulq_f32(self.0, o.0) })
    }

    #[inline(always)]
    fn mul_add(self, b: Self, acc: Self) -> Self {
        // SAFETY: NEON is available. `vfmaq_f32(a, b, c)` is `a + b·c`, rounded once.
        Neon(unsafe { vfmaq_f32(acc.0, self.0, b.0) })
    }

    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // SAFETY: NEON is available (see the module docs).
        Neon(unsafe { vmaxnmq_f32(self.0, o.0) })
    }

    #[inline(always)]
    fn min(self, o: Self) -> Self {
        // SAFETY: NEON is available (see the module docs).
        Neon(unsafe { vminnmq_f32(self.0, o.0) })
    }
}
