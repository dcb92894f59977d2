//! The NEON tier: `f32_gemm_6x16_neon`, a 6x16 register tile of 24 `float32x4_t` accumulators.
//!
//! The tile is the one every other tier uses, so this kernel reads the same packed panels
//! (`pack.rs`: B in 16-wide column panels, A in 6-row micro-panels) and the weights packed at
//! load time serve every tier. Per step k of the reduction it loads one 16-float row of the B
//! sliver (four q registers) and the six packed A values (one q and one d register), then
//! issues 24 FMAs, each multiplying a B vector by one *lane* of the A registers
//! (`fmla v.4s, b.4s, a.s[lane]`), so A is never broadcast with a separate instruction:
//!
//! ```text
//!                  b0 = B[k][0..4]  b1 = B[k][4..8]  b2 = B[k][8..12]  b3 = B[k][12..16]
//!   a03.s[0] = A[0][k]   c00 += ·b0   c01 += ·b1       c02 += ·b2        c03 += ·b3
//!   a03.s[1] = A[1][k]   c10 ...
//!   a03.s[2] = A[2][k]   c20 ...
//!   a03.s[3] = A[3][k]   c30 ...
//!   a45.s[0] = A[4][k]   c40 ...
//!   a45.s[1] = A[5][k]   c50 += ·b0   c51 += ·b1       c52 += ·b2        c53 += ·b3
//! ```
//!
//! 24 accumulators + 4 B vectors + 2 A registers = 30 of the 32 vector registers. A 4-cycle
//! FMA latency on two pipes (Cortex-A76 and later, Neoverse N1) needs at least 8 independent
//! chains; the tile has 24. An 8x12 tile (the shape of OpenBLAS's and BLIS's Cortex-A57
//! kernels) would load 5 registers per 24 FMAs instead of 6, but needs its own packing of B
//! and A, and B is packed once, when the weights load, for whichever tier runs: keeping 6x16
//! keeps one packed layout for every tier.
//!
//! The store adds the old C (K blocks after the first) and applies the epilogue with separate
//! multiplies and adds, so a full tile rounds exactly like the scalar edge path. No software
//! prefetch: the next sliver is the next stretch of the same packed stream, which the
//! hardware prefetchers of these cores follow (this was not measured; under qemu it cannot be).
//!
//! As on x86_64, one generic body ([`tile_6x16`]) is compiled inside a thin
//! `#[target_feature(enable = "neon")]` wrapper ([`run_item_neon`]). NEON is part of the
//! aarch64 baseline (every `aarch64-*-linux` target enables it), so the wrapper changes no code
//! there, but Rust only treats the intrinsics as callable where a function lists the feature,
//! and the micro-kernel type [`Neon6x16`] keeps the rule the x86 tiers follow: it is made only
//! by the work item that `neon_kernel()` hands out, so holding one proves the features are there.

use super::frame::{self, EpilogueCols, ItemArgs, MicroKernel};
use super::{MR, NR};
use crate::dispatch::{kernel, GemmItemFn, Kernel};
use crate::epilogue::{Activation, Epilogue};
use crate::tier::Tier;
use std::arch::aarch64::*;

/// Lanes of one `float32x4_t`.
const LANES: usize = 4;
/// Vectors per tile row.
const ROW_VECTORS: usize = NR / LANES;

/// Proof that the build has NEON (always true on the aarch64 targets we build for), and the
/// micro-kernel that needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Neon6x16 {
    _available: (),
}

/// The NEON work item, if the NEON tier is available: the only way out of this module of a
/// function that makes a [`Neon6x16`] (see [`crate::dispatch`]).
pub(super) fn neon_kernel() -> Option<Kernel<GemmItemFn>> {
    Tier::Neon.is_available().then_some(kernel!(f32_gemm_6x16_neon))
}

impl MicroKernel for Neon6x16 {
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
        _prefetch: &[f32],
    ) {
        assert!(a.len() >= kc * MR && b.len() >= kc * NR && c.len() >= (MR - 1) * ldc + NR);
        let epi = epi.map(|(e, col0)| EpilogueCols::new(e, col0));
        // SAFETY: `self` exists only on a NEON build; the assert above bounds every read of
        // a (kc·MR), b (kc·NR) and every access to c ((MR-1)·ldc + NR).
        unsafe {
            tile_6x16(
                kc,
                a.as_ptr(),
                b.as_ptr(),
                c.as_mut_ptr(),
                ldc,
                accumulate,
                epi.as_ref(),
            )
        }
    }
}

/// Runs one work item of the blocked GEMM with the NEON micro-kernel.
fn f32_gemm_6x16_neon(args: ItemArgs) {
    // SAFETY: only `neon_kernel()` hands this function out, on a build with NEON.
    unsafe { run_item_neon(Neon6x16 { _available: () }, args) }
}

/// The blocked loops compiled with NEON enabled, so the micro-kernel inlines into them.
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
unsafe fn run_item_neon(kernel: Neon6x16, args: ItemArgs) {
    frame::run_item(kernel, args)
}

/// One tile row's update: `acc[j] += b[j] · a[LANE]` for the row's four vectors.
///
/// # Safety
/// NEON must be available.
#[inline(always)]
unsafe fn fma_row_laneq<const LANE: i32>(
    acc: &mut [float32x4_t; ROW_VECTORS],
    b: &[float32x4_t; ROW_VECTORS],
    a: float32x4_t,
) {
    // SAFETY: the caller upholds the `# Safety` contract: NEON is available.
    unsafe {
        for (x, &bj) in acc.iter_mut().zip(b) {
            *x = vfmaq_laneq_f32::<LANE>(*x, bj, a);
        }
    }
}

/// [`fma_row_laneq`] with the A value in a 2-lane (d) register.
///
/// # Safety
/// NEON must be available.
#[inline(always)]
unsafe fn fma_row_lane<const LANE: i32>(
    acc: &mut [float32x4_t; ROW_VECTORS],
    b: &[float32x4_t; ROW_VECTORS],
    a: float32x2_t,
) {
    // SAFETY: the caller upholds the `# Safety` contract: NEON is available.
    unsafe {
        for (x, &bj) in acc.iter_mut().zip(b) {
            *x = vfmaq_lane_f32::<LANE>(*x, bj, a);
        }
    }
}

/// One rank-1 update of the tile: loads `B[k][0..16]` and `A[0..6][k]`, issues 24 FMAs.
///
/// # Safety
/// NEON must be available; `a` must be readable for `MR` floats and `b` for `NR`.
#[inline(always)]
unsafe fn step(acc: &mut [[float32x4_t; ROW_VECTORS]; MR], a: *const f32, b: *const f32) {
    // SAFETY: the caller upholds this function's `# Safety` contract (NEON, and the pointer
    // ranges every load and store below stays within).
    unsafe {
        let bk = [
            vld1q_f32(b),
            vld1q_f32(b.add(LANES)),
            vld1q_f32(b.add(2 * LANES)),
            vld1q_f32(b.add(3 * LANES)),
        ];
        let a03 = vld1q_f32(a);
        let a45 = vld1_f32(a.add(4));
        let [r0, r1, r2, r3, r4, r5] = acc;
        fma_row_laneq::<0>(r0, &bk, a03);
        fma_row_laneq::<1>(r1, &bk, a03);
        fma_row_laneq::<2>(r2, &bk, a03);
        fma_row_laneq::<3>(r3, &bk, a03);
        fma_row_lane::<0>(r4, &bk, a45);
        fma_row_lane::<1>(r5, &bk, a45);
    }
}

/// `C[0..6][0..16] (+)= A·B` over `kc` steps, then the epilogue; see the module docs.
///
/// # Safety
/// NEON must be available; `a` must be readable for `kc·MR` floats, `b` for `kc·NR`, and `c`
/// readable and writable at
/// `c[i·ldc + j]` for `i < MR`, `j < NR`.
#[inline(always)]
unsafe fn tile_6x16(
    kc: usize,
    mut a: *const f32,
    mut b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    epi: Option<&EpilogueCols>,
) {
    // SAFETY: the caller upholds this function's `# Safety` contract (NEON, and the pointer
    // ranges every load and store below stays within).
    unsafe {
        let mut acc = [[vdupq_n_f32(0.0); ROW_VECTORS]; MR];
        // Unrolled by 4 to amortise the loop counter and pointer updates.
        for _ in 0..kc / 4 {
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
                let p = c.add(i * ldc + h * LANES);
                let mut y = v;
                if accumulate {
                    y = vaddq_f32(y, vld1q_f32(p));
                }
                if let Some(e) = epi {
                    y = epilogue_4(e, h * LANES, y);
                }
                vst1q_f32(p, y);
            }
        }
    }
}

/// The epilogue of 4 lanes starting at column `j0` of the tile (same rounding as
/// [`Epilogue::apply`]: multiply, add, clamp, multiply, add — never fused).
///
/// # Safety
/// NEON must be available; `e`'s slices hold `NR` columns, so `j0 + 4 <= NR` keeps loads in
/// bounds.
#[inline(always)]
unsafe fn epilogue_4(e: &EpilogueCols, j0: usize, mut y: float32x4_t) -> float32x4_t {
    // SAFETY: the caller upholds the `# Safety` contract: NEON is available; the loads
    // are of slices bounds-checked to 4 floats.
    unsafe {
        let load = |s: &[f32]| vld1q_f32(s[j0..j0 + LANES].as_ptr());
        if let Some(s) = e.scale {
            y = vmulq_f32(y, load(s));
        }
        if let Some(bias) = e.bias {
            y = vaddq_f32(y, load(bias));
        }
        match e.activation {
            Activation::None => {}
            // `fmaxnm` returns the number when one operand is NaN, as `f32::max` does.
            Activation::Relu => y = vmaxnmq_f32(y, vdupq_n_f32(0.0)),
            // `fmax`/`fmin` return NaN when an operand is NaN, as `f32::clamp` does.
            Activation::Relu6 => y = vminq_f32(vmaxq_f32(y, vdupq_n_f32(0.0)), vdupq_n_f32(6.0)),
        }
        if let Some((ps, pt)) = e.post {
            y = vaddq_f32(vmulq_f32(y, load(ps)), load(pt));
        }
        y
    }
}
