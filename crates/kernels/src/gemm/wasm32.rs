//! The WebAssembly SIMD128 tier: `f32_gemm_6x16_simd128`, the 6x16 tile as two 6x8 halves of
//! `f32x4` accumulators.
//!
//! The tile is the one every other tier uses, so this kernel reads the same packed panels
//! (`pack.rs`: B in 16-wide column panels, A in 6-row micro-panels) and the weights packed at
//! load time serve every tier. WebAssembly has no registers of its own: the browser's compiler
//! (V8's TurboFan/Liftoff, SpiderMonkey's Ion) maps `v128` values onto the host's vector
//! registers, and on an x86_64 host that is 16 xmm registers. A whole 6x16 tile (24
//! accumulators, as NEON keeps in its 32 registers) would spill there, so the kernel sweeps the
//! K loop twice, once per 8-column half of the tile:
//!
//! ```text
//!   half h = 0, 1:   b0 = B[k][8h..8h+4]   b1 = B[k][8h+4..8h+8]
//!   a0 = splat(A[0][k])   c00 += a0·b0     c01 += a0·b1
//!   a1 = splat(A[1][k])   c10 += a1·b0     c11 += a1·b1
//!    ...
//!   a5 = splat(A[5][k])   c50 += a5·b0     c51 += a5·b1
//! ```
//!
//! 12 accumulators + 2 B vectors + 1 splat = 15 registers, as in the AVX2 kernel's 6x16 of
//! ymm registers; the A micro-panel (6·kc floats, at most 7.5 KiB) is read twice, from L1.
//! `v128.load32_splat` loads and broadcasts an A value in one instruction.
//!
//! SIMD128 has no fused multiply-add (the relaxed-SIMD proposal's `f32x4.relaxed_madd` may or
//! may not fuse, depending on the host, so results would differ between machines), so every
//! step is a multiply and an add, rounded separately, like the portable tier. The store adds
//! the old C (K blocks after the first) and applies the epilogue in [`Epilogue::apply`]'s
//! order, so a full tile rounds exactly like the scalar edge path.
//!
//! WebAssembly has no run-time CPU detection: a module that contains a SIMD instruction fails
//! to *load* in an engine without SIMD, so the choice is made when the module is built
//! (`-C target-feature=+simd128`), and this file only exists in such builds (see
//! [`crate::tier`]). As on the other tiers, one generic body ([`half_tile_6x8`], run twice
//! per tile) is compiled inside a thin `#[target_feature(enable = "simd128")]` wrapper
//! ([`run_item_simd128`]), and the micro-kernel type [`Simd128x6x16`] is made only by the work
//! item `simd128_kernel()` hands out.

use super::frame::{self, EpilogueCols, ItemArgs, MicroKernel};
use super::{MR, NR};
use crate::dispatch::{kernel, GemmItemFn, Kernel};
use crate::epilogue::{Activation, Epilogue};
use crate::tier::Tier;
use std::arch::wasm32::*;

/// Lanes of one `v128` of f32.
const LANES: usize = 4;
/// Columns of one half of the tile, swept by one pass over K.
const HALF: usize = NR / 2;
/// Vectors per row of a half tile.
const HALF_VECTORS: usize = HALF / LANES;

/// Proof that the module was built with SIMD128, and the micro-kernel that needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Simd128x6x16 {
    _available: (),
}

/// The SIMD128 work item, if the tier is available: the only way out of this module of a
/// function that makes a [`Simd128x6x16`] (see [`crate::dispatch`]).
pub(super) fn simd128_kernel() -> Option<Kernel<GemmItemFn>> {
    Tier::WasmSimd128
        .is_available()
        .then_some(kernel!(f32_gemm_6x16_simd128))
}

impl MicroKernel for Simd128x6x16 {
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
        for half in 0..2 {
            // SAFETY: `self` exists only in a SIMD128 build; the assert above bounds every
            // read of a (kc·MR), b (kc·NR, this half's columns 8h..8h+8 of each row) and every
            // access to c ((MR-1)·ldc + NR).
            unsafe {
                half_tile_6x8(
                    kc,
                    a.as_ptr(),
                    b.as_ptr().add(half * HALF),
                    c.as_mut_ptr().add(half * HALF),
                    ldc,
                    accumulate,
                    epi.as_ref().map(|e| (e, half * HALF)),
                )
            }
        }
    }
}

/// Runs one work item of the blocked GEMM with the SIMD128 micro-kernel.
fn f32_gemm_6x16_simd128(args: ItemArgs) {
    // SAFETY: only `simd128_kernel()` hands this function out, in a SIMD128 build.
    unsafe { run_item_simd128(Simd128x6x16 { _available: () }, args) }
}

/// The blocked loops compiled with SIMD128 enabled, so the micro-kernel inlines into them.
///
/// # Safety
/// The module must be built for (and run by) an engine with SIMD128.
#[target_feature(enable = "simd128")]
unsafe fn run_item_simd128(kernel: Simd128x6x16, args: ItemArgs) {
    frame::run_item(kernel, args)
}

/// One rank-1 update of a half tile: loads `B[k][8h..8h+8]`, splats `A[0..6][k]` one at a
/// time, issues 12 multiplies and 12 adds.
///
/// # Safety
/// SIMD128 must be available; `a` must be readable for `MR` floats and `b` for `HALF`.
#[inline(always)]
unsafe fn step(acc: &mut [[v128; HALF_VECTORS]; MR], a: *const f32, b: *const f32) {
    // SAFETY: the caller upholds this function's `# Safety` contract (SIMD128, and the ranges
    // of `a` and `b` every load below stays within).
    unsafe {
        let bk = [
            v128_load(b.cast::<v128>()),
            v128_load(b.add(LANES).cast::<v128>()),
        ];
        for (i, row) in acc.iter_mut().enumerate() {
            let ai = v128_load32_splat(a.add(i).cast::<u32>());
            for (x, &bj) in row.iter_mut().zip(&bk) {
                *x = f32x4_add(*x, f32x4_mul(ai, bj));
            }
        }
    }
}

/// `C[0..6][0..8] (+)= A·B` for one half of the tile over `kc` steps, then the epilogue of
/// its columns (`epi = (e, j0)`: the half starts at column `j0` of the tile).
///
/// # Safety
/// SIMD128 must be available; `a` must be readable for `kc·MR` floats, `b` at
/// `b[k·NR + j]` for `k < kc`, `j < HALF`, and `c` readable and writable at `c[i·ldc + j]`
/// for `i < MR`, `j < HALF`.
#[inline(always)]
unsafe fn half_tile_6x8(
    kc: usize,
    mut a: *const f32,
    mut b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    epi: Option<(&EpilogueCols, usize)>,
) {
    // SAFETY: the caller upholds this function's `# Safety` contract (SIMD128, and the pointer
    // ranges every `step`, load and store below stays within).
    unsafe {
        let mut acc = [[f32x4_splat(0.0); HALF_VECTORS]; MR];
        // Unrolled by 2 to amortise the loop counter and pointer updates.
        for _ in 0..kc / 2 {
            step(&mut acc, a, b);
            step(&mut acc, a.add(MR), b.add(NR));
            a = a.add(2 * MR);
            b = b.add(2 * NR);
        }
        if kc % 2 == 1 {
            step(&mut acc, a, b);
        }
        for (i, row) in acc.iter().enumerate() {
            for (h, &v) in row.iter().enumerate() {
                let p = c.add(i * ldc + h * LANES).cast::<v128>();
                let mut y = v;
                if accumulate {
                    y = f32x4_add(y, v128_load(p));
                }
                if let Some((e, j0)) = epi {
                    y = epilogue_4(e, j0 + h * LANES, y);
                }
                v128_store(p, y);
            }
        }
    }
}

/// The epilogue of 4 lanes starting at column `j0` of the tile (same rounding and NaN
/// behaviour as [`Epilogue::apply`]: multiply, add, clamp, multiply, add — never fused).
///
/// # Safety
/// SIMD128 must be available. `e`'s slices hold `NR` columns and `j0 + 4 <= NR`; the
/// slicing below checks it.
#[inline(always)]
unsafe fn epilogue_4(e: &EpilogueCols, j0: usize, mut y: v128) -> v128 {
    let load = |s: &[f32]| {
        let s = &s[j0..j0 + LANES];
        // SAFETY: `s` holds 4 floats (bounds-checked above); `v128.load` has no alignment
        // requirement; SIMD128 is available (the caller's contract).
        unsafe { v128_load(s.as_ptr().cast::<v128>()) }
    };
    if let Some(s) = e.scale {
        y = f32x4_mul(y, load(s));
    }
    if let Some(bias) = e.bias {
        y = f32x4_add(y, load(bias));
    }
    match e.activation {
        Activation::None => {}
        // `pmax(0, y)` is `0 < y ? y : 0`: 0 for a NaN `y`, as `f32::max` gives.
        Activation::Relu => y = f32x4_pmax(f32x4_splat(0.0), y),
        // `f32x4.max`/`min` return NaN when an operand is NaN, as `f32::clamp` does.
        Activation::Relu6 => y = f32x4_min(f32x4_max(y, f32x4_splat(0.0)), f32x4_splat(6.0)),
    }
    if let Some((ps, pt)) = e.post {
        y = f32x4_add(f32x4_mul(y, load(ps)), load(pt));
    }
    y
}
