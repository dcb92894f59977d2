//! AVX2 tier for the 2x2 case (every upsampling in MobileNet-UNet): each 8-channel vector of
//! an input pixel is loaded once and stored four times.
//!
//! ```text
//! input row iy:      [ p0 ][ p1 ] ...            p = one pixel, c channels
//! output row 2·iy:   [ p0 ][ p0 ][ p1 ][ p1 ] ...
//! output row 2·iy+1: [ p0 ][ p0 ][ p1 ][ p1 ] ...
//! ```
//!
//! The body handles full 8-channel vectors; the `c % 8` channel tail of each pixel is a
//! scalar frame (four scalar stores). Other factors use the portable row copies, which are
//! `memcpy`s and already memory-bound.

use super::UpsampleShape;
use crate::dispatch::{kernel, Kernel, UpsampleFn};
use crate::tier::Tier;
use core::arch::x86_64::*;

/// The 2x2 kernel, if this CPU has AVX2: the only way out of this module, which is what makes
/// calling it sound (see [`crate::dispatch`]).
pub(super) fn kernel() -> Option<Kernel<UpsampleFn>> {
    Tier::Avx2
        .is_available()
        .then_some(kernel!(f32_upsample_2x2_8c_avx2))
}

/// Channels per vector.
const CHANNEL_TILE: usize = 8;

/// Safe entry: `dst` = the two output rows made from input row `src` (`fy == fx == 2`).
fn f32_upsample_2x2_8c_avx2(s: &UpsampleShape, src: &[f32], dst: &mut [f32]) {
    let (c, stride, off) = (s.c, s.out_pixel_stride, s.out_c_offset);
    let row_len = 2 * s.w * stride;
    assert!(s.fy == 2 && s.fx == 2 && off + c <= stride && src.len() == s.w * c && dst.len() == 2 * row_len);
    // SAFETY: only `kernel()` hands this function out, after checking AVX2; the assert gives the ranges the kernel documents: `src`
    // holds w·c floats and `dst` two rows of 2·w pixels of `stride` floats, the written
    // channels `[off, off + c)` lying inside each pixel.
    unsafe { upsample_2x2_fma(src.as_ptr(), dst.as_mut_ptr(), s.w, c, stride, off) }
}

/// `#[target_feature]` wrapper of [`upsample_2x2`].
///
/// # Safety
/// The CPU must support AVX2; `src` valid for `w·c` reads; `dst` valid for `4·w·stride`
/// writes; `off + c <= stride`; the two regions do not overlap.
#[target_feature(enable = "avx2,fma")]
unsafe fn upsample_2x2_fma(src: *const f32, dst: *mut f32, w: usize, c: usize, stride: usize, off: usize) {
    // SAFETY: forwarded from this function's contract.
    unsafe { upsample_2x2(src, dst, w, c, stride, off) }
}

/// Loop 1 over input pixels, loop 2 over 8-channel vectors (4 stores each), then the tail.
///
/// # Safety
/// As [`upsample_2x2_fma`]; inlined into it so the intrinsics compile with AVX2 enabled.
#[inline(always)]
unsafe fn upsample_2x2(src: *const f32, dst: *mut f32, w: usize, c: usize, stride: usize, off: usize) {
    let body = c / CHANNEL_TILE * CHANNEL_TILE;
    let row = 2 * w * stride; // floats per output row
                              // SAFETY: reads are `x·c + ch < w·c`; writes are `r·row + (2x + k)·stride + off + ch`
                              // with r, k in {0, 1}, x < w and ch < c (vectors end at `body <= c`), so every write
                              // lands in the caller's `2·row` floats, inside the channel slice.
    unsafe {
        for x in 0..w {
            let s = src.add(x * c);
            let d00 = dst.add(2 * x * stride + off);
            let d01 = d00.add(stride);
            let (d10, d11) = (d00.add(row), d01.add(row));
            let mut ch = 0;
            while ch < body {
                let v = _mm256_loadu_ps(s.add(ch));
                _mm256_storeu_ps(d00.add(ch), v);
                _mm256_storeu_ps(d01.add(ch), v);
                _mm256_storeu_ps(d10.add(ch), v);
                _mm256_storeu_ps(d11.add(ch), v);
                ch += CHANNEL_TILE;
            }
            while ch < c {
                let v = *s.add(ch);
                *d00.add(ch) = v;
                *d01.add(ch) = v;
                *d10.add(ch) = v;
                *d11.add(ch) = v;
                ch += 1;
            }
        }
    }
}
