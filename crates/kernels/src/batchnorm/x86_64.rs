//! AVX2 tier: per pixel, `y = x · scale + shift` on 8 channels at a time.
//!
//! ```text
//! pixel p:  x[p·C + 0 .. 8)  x[p·C + 8 .. 16)  ...  x[p·C + C/8·8 .. C)
//!             vmulps+vaddps    vmulps+vaddps         scalar tail (C % 8)
//! ```
//!
//! `scale`/`shift` stay in L1 (C ≤ a few thousand), so each pixel costs one load and one
//! store per 8 channels. A multiply then an add (not `vfmadd`) rounds exactly as the portable
//! tier's `x * a + b`, so the two tiers agree bit for bit; the kernel is memory-bound and FMA
//! would not make it faster.

use crate::dispatch::{kernel, Kernel, ScaleShiftFn, ScaleShiftInplaceFn};
use crate::tier::Tier;
use core::arch::x86_64::*;

/// The kernels (out of place, in place), if this CPU has AVX2 and FMA: the only way out of
/// this module, which is what makes calling them sound (see [`crate::dispatch`]).
pub(super) fn kernels() -> Option<(Kernel<ScaleShiftFn>, Kernel<ScaleShiftInplaceFn>)> {
    Tier::Avx2.is_available().then_some((
        kernel!(f32_scaleshift_8c_avx2),
        kernel!(f32_scaleshift_8c_inplace_avx2),
    ))
}

/// Channels per vector.
const CHANNEL_TILE: usize = 8;

/// Safe entry: `dst = src · scale + shift`; `src.len() == dst.len()`, a multiple of
/// `scale.len() == shift.len() >= 1` (checked by the dispatcher, re-asserted here cheaply).
fn f32_scaleshift_8c_avx2(scale: &[f32], shift: &[f32], src: &[f32], dst: &mut [f32]) {
    let c = scale.len();
    assert!(c > 0 && shift.len() == c && src.len() == dst.len() && src.len().is_multiple_of(c));
    // SAFETY: only `kernels()` hands this function out, after checking AVX2+FMA; the assert gives the pointer ranges the kernel reads
    // (`src`, `scale`, `shift`) and writes (`dst`, disjoint from `src` by borrow rules).
    unsafe {
        scaleshift_fma(
            scale.as_ptr(),
            shift.as_ptr(),
            c,
            src.as_ptr(),
            dst.as_mut_ptr(),
            src.len() / c,
        )
    }
}

/// Safe entry: in-place `x = x · scale + shift`.
fn f32_scaleshift_8c_inplace_avx2(scale: &[f32], shift: &[f32], x: &mut [f32]) {
    let c = scale.len();
    assert!(c > 0 && shift.len() == c && x.len().is_multiple_of(c));
    let p = x.as_mut_ptr();
    // SAFETY: as above with `src == dst`: the kernel reads each element before writing it
    // and touches nothing outside `x`.
    unsafe { scaleshift_fma(scale.as_ptr(), shift.as_ptr(), c, p, p, x.len() / c) }
}

/// `#[target_feature]` wrapper of [`scaleshift`].
///
/// # Safety
/// The CPU must support AVX2 and FMA; `scale`/`shift` valid for `c` reads; `src` valid for
/// `pixels · c` reads and `dst` for as many writes; `src` and `dst` either identical or
/// non-overlapping.
#[target_feature(enable = "avx2,fma")]
unsafe fn scaleshift_fma(
    scale: *const f32,
    shift: *const f32,
    c: usize,
    src: *const f32,
    dst: *mut f32,
    pixels: usize,
) {
    // SAFETY: forwarded from this function's contract.
    unsafe { scaleshift(scale, shift, c, src, dst, pixels) }
}

/// The body: loop 1 over pixels, loop 2 over full 8-channel vectors, then the scalar tail.
///
/// # Safety
/// As [`scaleshift_fma`]; inlined into it so the intrinsics compile with AVX2 enabled.
#[inline(always)]
unsafe fn scaleshift(
    scale: *const f32,
    shift: *const f32,
    c: usize,
    src: *const f32,
    dst: *mut f32,
    pixels: usize,
) {
    let body = c / CHANNEL_TILE * CHANNEL_TILE;
    // SAFETY: offsets are `p·c + ch` with `p < pixels` and `ch < c` (vector loads cover
    // `ch .. ch+8 <= body <= c`), inside the ranges the caller guarantees.
    unsafe {
        for p in 0..pixels {
            let (s, d) = (src.add(p * c), dst.add(p * c));
            let mut ch = 0;
            while ch < body {
                let x = _mm256_loadu_ps(s.add(ch));
                let y = _mm256_add_ps(
                    _mm256_mul_ps(x, _mm256_loadu_ps(scale.add(ch))),
                    _mm256_loadu_ps(shift.add(ch)),
                );
                _mm256_storeu_ps(d.add(ch), y);
                ch += CHANNEL_TILE;
            }
            while ch < c {
                *d.add(ch) = *s.add(ch) * *scale.add(ch) + *shift.add(ch);
                ch += 1;
            }
        }
    }
}
