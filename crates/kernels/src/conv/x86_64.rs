//! The AVX2+FMA tier of the small-N convolution (`small_n.rs`): the dot products of one pixel
//! with up to four weight columns as 8-lane fused multiply-adds, each 8-float load of the input
//! shared by the columns; the pixel loop is the safe generic body compiled with AVX2+FMA.

use super::small_n::{self, Dot, SmallN};
use crate::dispatch::{kernel, Kernel, SmallNFn};
use crate::tier::Tier;
use std::arch::x86_64::*;

/// The AVX2+FMA dot products. A value exists only inside this file, made by the kernel that
/// [`kernel`] hands out after checking the CPU, so holding one proves AVX2 and FMA.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DotFma {
    _detected: (),
}

/// The small-N kernel, if this CPU has AVX2 and FMA: the only way out of this module (see
/// [`crate::dispatch`]).
pub(super) fn kernel() -> Option<Kernel<SmallNFn>> {
    Tier::Avx2
        .is_available()
        .then_some(kernel!(f32_conv_small_n_dot8_fma))
}

/// [`small_n::run_pixels`] with the FMA dot products.
fn f32_conv_small_n_dot8_fma(
    s: &SmallN,
    p0: usize,
    count: usize,
    out: &mut [f32],
    stride: usize,
    taps: &mut Vec<(usize, usize)>,
) {
    // SAFETY: only `kernel()` hands this function out, after AVX2 and FMA were detected.
    unsafe { run_pixels_fma(DotFma { _detected: () }, s, p0, count, out, stride, taps) }
}

/// The pixel loop compiled with AVX2+FMA enabled, so the dot products inline into it.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn run_pixels_fma(
    dot: DotFma,
    s: &SmallN,
    p0: usize,
    count: usize,
    out: &mut [f32],
    stride: usize,
    taps: &mut Vec<(usize, usize)>,
) {
    small_n::run_pixels(dot, s, p0, count, out, stride, taps)
}

impl Dot for DotFma {
    #[inline(always)]
    fn cols<const G: usize>(
        self,
        input: &[f32],
        cols: &[f32],
        k: usize,
        cin: usize,
        taps: &[(usize, usize)],
    ) -> [f32; G] {
        // SAFETY: a `DotFma` exists only once AVX2+FMA were detected.
        let mut acc = [[unsafe { _mm256_setzero_ps() }; G]; 2];
        for &(x0, w0) in taps {
            let x = &input[x0..][..cin];
            let w: [*const f32; G] = std::array::from_fn(|jj| cols[jj * k + w0..][..cin].as_ptr());
            // SAFETY: AVX2+FMA are available (see above); `x` and every `w[jj]` were just
            // sliced to `cin` floats, the length `accumulate` reads.
            unsafe { accumulate(&mut acc, x.as_ptr(), w, cin) };
        }
        let [even, odd] = acc;
        std::array::from_fn(|jj| {
            let mut lanes = [0.0f32; 8];
            // SAFETY: AVX is available; `lanes` holds 8 floats.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), _mm256_add_ps(even[jj], odd[jj])) };
            small_n::sum_lanes(&lanes)
        })
    }
}

/// `acc[h][jj] += x[0..cin] · w[jj][0..cin]` lane-wise with fused multiply-adds, 8-float chunk
/// `c` into set `h = c % 2`: two independent chains per column hide the FMA latency when there
/// are only one or two columns. The last `cin % 8` floats are read with a masked load (lanes
/// past `cin` add zero).
///
/// # Safety
/// AVX2 and FMA must be available; `x` and every `w[jj]` readable for `cin` floats.
#[inline(always)]
unsafe fn accumulate<const G: usize>(
    acc: &mut [[__m256; G]; 2],
    x: *const f32,
    w: [*const f32; G],
    cin: usize,
) {
    // SAFETY: the caller upholds the `# Safety` contract: AVX2 and FMA are available and `x`
    // and every `w[jj]` hold `cin` floats, the most any (masked) load below reads.
    unsafe {
        let mut c = 0;
        while c + 16 <= cin {
            let (x0, x1) = (_mm256_loadu_ps(x.add(c)), _mm256_loadu_ps(x.add(c + 8)));
            for (jj, &wj) in w.iter().enumerate() {
                acc[0][jj] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(wj.add(c)), acc[0][jj]);
                acc[1][jj] = _mm256_fmadd_ps(x1, _mm256_loadu_ps(wj.add(c + 8)), acc[1][jj]);
            }
            c += 16;
        }
        if c + 8 <= cin {
            let xv = _mm256_loadu_ps(x.add(c));
            for (a, &wj) in acc[0].iter_mut().zip(&w) {
                *a = _mm256_fmadd_ps(xv, _mm256_loadu_ps(wj.add(c)), *a);
            }
            c += 8;
        }
        let rem = cin - c;
        if rem > 0 {
            let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(rem as i32), lane);
            let xv = _mm256_maskload_ps(x.add(c), mask);
            for (a, &wj) in acc[1].iter_mut().zip(&w) {
                *a = _mm256_fmadd_ps(xv, _mm256_maskload_ps(wj.add(c), mask), *a);
            }
        }
    }
}
