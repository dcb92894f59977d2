//! The AVX2+FMA tier: `f32_gemm_6x16_fma`, a 6x16 register tile of 12 ymm accumulators.
//!
//! Per step k of the reduction the kernel loads one 16-float row of the packed B sliver (two
//! ymm), broadcasts each of the 6 packed A values in turn and issues 12 FMAs:
//!
//! ```text
//!            b0 = B[k][0..8]   b1 = B[k][8..16]
//!   A[0][k]  c00 += a0·b0      c01 += a0·b1
//!   A[1][k]  c10 += a1·b0      c11 += a1·b1
//!    ...
//!   A[5][k]  c50 += a5·b0      c51 += a5·b1
//! ```
//!
//! 12 accumulators + 2 B vectors + 1 broadcast = 15 of the 16 ymm registers. Zen 3 retires two
//! FMAs per cycle with a 4-cycle latency, so 12 independent chains keep both pipes busy.
//! The store adds the old C (K blocks after the first) and applies the epilogue with separate
//! multiplies and adds, so a full tile rounds exactly like the scalar edge path.
//!
//! One generic `#[inline(always)]` body ([`tile_6x16`]) is compiled inside the thin
//! `#[target_feature(enable = "avx2,fma")]` wrapper [`run_item_fma`] (matrixmultiply's
//! `kernel_x86_avx` -> `kernel_target_fma` pattern). The micro-kernel type [`Fma6x16`] is made
//! only inside this file, by the work item that `avx2_kernel()` hands out after checking the
//! CPU, so a value of it proves the CPU has the features.

use super::frame::{self, EpilogueCols, ItemArgs, MicroKernel};
use super::{MR, NR};
use crate::dispatch::{kernel, GemmItemFn, Kernel};
use crate::epilogue::{Activation, Epilogue};
use crate::tier::Tier;
use std::arch::x86_64::*;

/// Proof that the CPU has AVX2 and FMA, and the micro-kernel that needs them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fma6x16 {
    _detected: (),
}

/// The AVX2+FMA work item, if this CPU has AVX2 and FMA: the only way out of this module of
/// a function that makes an [`Fma6x16`] (see [`crate::dispatch`]).
pub(super) fn avx2_kernel() -> Option<Kernel<GemmItemFn>> {
    Tier::Avx2.is_available().then_some(kernel!(f32_gemm_6x16_fma))
}

impl MicroKernel for Fma6x16 {
    #[inline(always)]
    fn tile(
        self,
        kc: usize,
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
        ldc: usize,
        accumulate: bool,
        epi: Option<(&Epilogue, usize)>,
        prefetch: &[f32],
    ) {
        assert!(a.len() >= kc * MR && b.len() >= kc * NR && c.len() >= (MR - 1) * ldc + NR);
        let epi = epi.map(|(e, col0)| EpilogueCols::new(e, col0));
        let prefetch = next_sliver(prefetch, kc);
        // SAFETY: `self` exists only if AVX2+FMA were detected; the assert above bounds every
        // read of a (kc·MR), b (kc·NR) and every access to c ((MR-1)·ldc + NR). `prefetch` is
        // null or points at kc·NR readable floats (prefetches never fault anyway).
        unsafe {
            tile_6x16(
                kc,
                a.as_ptr(),
                b.as_ptr(),
                c.as_mut_ptr(),
                ldc,
                accumulate,
                epi.as_ref(),
                prefetch,
            )
        }
    }
}

/// The start of the next panel's sliver if `prefetch` holds a whole one (kc rows of NR
/// floats, prefetched one 64-byte row per k step), else null: no prefetching.
#[inline(always)]
fn next_sliver(prefetch: &[f32], kc: usize) -> *const f32 {
    if prefetch.len() >= kc * NR {
        prefetch.as_ptr()
    } else {
        std::ptr::null()
    }
}

/// Runs one work item of the blocked GEMM with the FMA micro-kernel.
fn f32_gemm_6x16_fma(args: ItemArgs) {
    // SAFETY: only `avx2_kernel()` hands this function out, after AVX2 and FMA were detected.
    unsafe { run_item_fma(Fma6x16 { _detected: () }, args) }
}

/// The blocked loops compiled with AVX2+FMA enabled, so the micro-kernel inlines into them.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn run_item_fma(kernel: Fma6x16, args: ItemArgs) {
    frame::run_item(kernel, args)
}

/// `C[0..6][0..16] (+)= A·B` over `kc` steps, then the epilogue; see the module docs.
///
/// # Safety
/// AVX2 and FMA must be available; `a` must be readable for `kc·MR` floats, `b` for `kc·NR`,
/// and `c` readable and writable at `c[i·ldc + j]` for `i < MR`, `j < NR`. `next` is null or
/// the next panel's `kc·NR` sliver, prefetched into L2 one row per k step.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn tile_6x16(
    kc: usize,
    mut a: *const f32,
    mut b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    epi: Option<&EpilogueCols>,
    mut next: *const f32,
) {
    // SAFETY: the caller upholds this function's `# Safety` contract (the features, and the
    // pointer ranges every load, store and prefetch below stays within).
    unsafe {
        // Start pulling the C tile towards L1 now; it is only touched after the k loop.
        for i in 0..MR {
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc) as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc + NR - 1) as *const i8);
        }
        let mut acc = [[_mm256_setzero_ps(); 2]; MR];
        // One rank-1 update: 2 loads of B, 6 broadcasts of A, 12 FMAs.
        let step = |acc: &mut [[__m256; 2]; MR], a: *const f32, b: *const f32| {
            let b0 = _mm256_loadu_ps(b);
            let b1 = _mm256_loadu_ps(b.add(8));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm256_broadcast_ss(&*a.add(i));
                row[0] = _mm256_fmadd_ps(ai, b0, row[0]);
                row[1] = _mm256_fmadd_ps(ai, b1, row[1]);
            }
        };
        // Unrolled by 4 to amortise the loop counter and pointer updates.
        for _ in 0..kc / 4 {
            if !next.is_null() {
                // Four k steps read four 64-byte rows of B: ask for the same four of the next sliver.
                for u in 0..4 {
                    _mm_prefetch::<_MM_HINT_T1>(next.add(u * NR) as *const i8);
                }
                next = next.add(4 * NR);
            }
            for u in 0..4 {
                step(&mut acc, a.add(u * MR), b.add(u * NR));
            }
            a = a.add(4 * MR);
            b = b.add(4 * NR);
        }
        for _ in 0..kc % 4 {
            step(&mut acc, a, b);
            a = a.add(MR);
            b = b.add(NR);
        }
        for (i, row) in acc.iter().enumerate() {
            for (h, &v) in row.iter().enumerate() {
                let p = c.add(i * ldc + h * 8);
                let mut y = v;
                if accumulate {
                    y = _mm256_add_ps(y, _mm256_loadu_ps(p));
                }
                if let Some(e) = epi {
                    y = epilogue_8(e, h * 8, y);
                }
                _mm256_storeu_ps(p, y);
            }
        }
    }
}

/// The epilogue of 8 lanes starting at column `j0` of the tile (same rounding as
/// [`Epilogue::apply`]: multiply, add, clamp, multiply, add — never fused).
///
/// # Safety
/// AVX2 must be available; `e`'s slices hold `NR` columns, so `j0 + 8 <= NR` keeps loads in bounds.
#[inline(always)]
unsafe fn epilogue_8(e: &EpilogueCols, j0: usize, mut y: __m256) -> __m256 {
    // SAFETY: the caller upholds the `# Safety` contract: AVX2 is available; the loads are
    // of slices bounds-checked to 8 floats.
    unsafe {
        let load = |s: &[f32]| _mm256_loadu_ps(s[j0..j0 + 8].as_ptr());
        if let Some(s) = e.scale {
            y = _mm256_mul_ps(y, load(s));
        }
        if let Some(bias) = e.bias {
            y = _mm256_add_ps(y, load(bias));
        }
        match e.activation {
            Activation::None => {}
            Activation::Relu => y = _mm256_max_ps(y, _mm256_setzero_ps()),
            // `maxps`/`minps` return their second operand when one is NaN: this order keeps NaN, as
            // `f32::clamp` in `Activation::apply` does (ReLU above turns NaN into 0, as `f32::max`).
            Activation::Relu6 => {
                y = _mm256_min_ps(_mm256_set1_ps(6.0), _mm256_max_ps(_mm256_setzero_ps(), y))
            }
        }
        if let Some((ps, pt)) = e.post {
            y = _mm256_add_ps(_mm256_mul_ps(y, load(ps)), load(pt));
        }
        y
    }
}

/// Proof that the CPU has AVX-512F, and the 6x16 micro-kernel that uses it: one zmm per row
/// of the tile (16 columns), so a k step is one load of B, six broadcasts of A and six FMAs,
/// the same FLOPs as the AVX2 kernel's twelve in half the instructions. On Zen 4 each zmm FMA
/// occupies both 256-bit pipes, so the peak is the same; the gain is front-end and load-port
/// headroom (and 26 free registers a larger tile could use, which needs a wider packing).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx512x6x16 {
    _detected: (),
}

/// The AVX-512 work item, if this CPU has AVX-512F, AVX2 and FMA: the only way out of this
/// module of a function that makes an [`Avx512x6x16`].
pub(super) fn avx512_kernel() -> Option<Kernel<GemmItemFn>> {
    Tier::Avx512
        .is_available()
        .then_some(kernel!(f32_gemm_6x16_avx512))
}

impl MicroKernel for Avx512x6x16 {
    #[inline(always)]
    fn tile(
        self,
        kc: usize,
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
        ldc: usize,
        accumulate: bool,
        epi: Option<(&Epilogue, usize)>,
        prefetch: &[f32],
    ) {
        assert!(a.len() >= kc * MR && b.len() >= kc * NR && c.len() >= (MR - 1) * ldc + NR);
        let epi = epi.map(|(e, col0)| EpilogueCols::new(e, col0));
        let prefetch = next_sliver(prefetch, kc);
        // SAFETY: `self` exists only if AVX-512F was detected; the assert above bounds every
        // read of a (kc·MR), b (kc·NR) and every access to c ((MR-1)·ldc + NR). `prefetch` is
        // null or points at kc·NR readable floats.
        unsafe {
            tile_6x16_avx512(
                kc,
                a.as_ptr(),
                b.as_ptr(),
                c.as_mut_ptr(),
                ldc,
                accumulate,
                epi.as_ref(),
                prefetch,
            )
        }
    }
}

/// Runs one work item of the blocked GEMM with the AVX-512 micro-kernel.
fn f32_gemm_6x16_avx512(args: ItemArgs) {
    // SAFETY: only `avx512_kernel()` hands this function out, after AVX-512F was detected.
    unsafe { run_item_avx512f(Avx512x6x16 { _detected: () }, args) }
}

/// The blocked loops compiled with AVX-512F enabled.
///
/// # Safety
/// The CPU must support AVX-512F, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn run_item_avx512f(kernel: Avx512x6x16, args: ItemArgs) {
    frame::run_item(kernel, args)
}

/// [`tile_6x16`] with one zmm per tile row.
///
/// # Safety
/// AVX-512F must be available; the pointers as for [`tile_6x16`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn tile_6x16_avx512(
    kc: usize,
    mut a: *const f32,
    mut b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    epi: Option<&EpilogueCols>,
    mut next: *const f32,
) {
    // SAFETY: the caller upholds this function's `# Safety` contract (the features, and the
    // pointer ranges every load, store and prefetch below stays within).
    unsafe {
        for i in 0..MR {
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc) as *const i8);
        }
        let mut acc = [_mm512_setzero_ps(); MR];
        // One rank-1 update: 1 load of B, 6 broadcasts of A, 6 FMAs.
        let step = |acc: &mut [__m512; MR], a: *const f32, b: *const f32| {
            let bk = _mm512_loadu_ps(b);
            for (i, row) in acc.iter_mut().enumerate() {
                *row = _mm512_fmadd_ps(_mm512_set1_ps(*a.add(i)), bk, *row);
            }
        };
        for _ in 0..kc / 4 {
            if !next.is_null() {
                for u in 0..4 {
                    _mm_prefetch::<_MM_HINT_T1>(next.add(u * NR) as *const i8);
                }
                next = next.add(4 * NR);
            }
            for u in 0..4 {
                step(&mut acc, a.add(u * MR), b.add(u * NR));
            }
            a = a.add(4 * MR);
            b = b.add(4 * NR);
        }
        for _ in 0..kc % 4 {
            step(&mut acc, a, b);
            a = a.add(MR);
            b = b.add(NR);
        }
        for (i, &v) in acc.iter().enumerate() {
            let p = c.add(i * ldc);
            let mut y = v;
            if accumulate {
                y = _mm512_add_ps(y, _mm512_loadu_ps(p));
            }
            if let Some(e) = epi {
                y = epilogue_16(e, y);
            }
            _mm512_storeu_ps(p, y);
        }
    }
}

/// The epilogue of the tile's 16 columns (the rounding of [`Epilogue::apply`]).
///
/// # Safety
/// AVX-512F must be available; `e`'s slices hold `NR` = 16 columns.
#[inline(always)]
unsafe fn epilogue_16(e: &EpilogueCols, mut y: __m512) -> __m512 {
    // SAFETY: the caller upholds the `# Safety` contract: AVX-512F is available; the loads
    // are of slices bounds-checked to 16 floats.
    unsafe {
        let load = |s: &[f32]| _mm512_loadu_ps(s[..16].as_ptr());
        if let Some(s) = e.scale {
            y = _mm512_mul_ps(y, load(s));
        }
        if let Some(bias) = e.bias {
            y = _mm512_add_ps(y, load(bias));
        }
        match e.activation {
            Activation::None => {}
            Activation::Relu => y = _mm512_max_ps(y, _mm512_setzero_ps()),
            // As in `epilogue_8`: this operand order keeps NaN through ReLU6 and turns it into 0
            // through ReLU, as the scalar `clamp` and `max` do.
            Activation::Relu6 => {
                y = _mm512_min_ps(_mm512_set1_ps(6.0), _mm512_max_ps(_mm512_setzero_ps(), y))
            }
        }
        if let Some((ps, pt)) = e.post {
            y = _mm512_add_ps(_mm512_mul_ps(y, load(ps)), load(pt));
        }
        y
    }
}
