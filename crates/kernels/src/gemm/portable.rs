//! The portable tier: the blocked GEMM of `frame.rs` around a 6x16 micro-kernel in plain Rust.
//!
//! The tile is a `[[f32; NR]; MR]` array; the inner `j` loop has a constant trip count of 16,
//! which the compiler turns into vector multiplies and adds for whatever SIMD the build target
//! has (SSE2 on stock x86_64, NEON on aarch64). It reads the same packed panels as the AVX2
//! tier. Products and sums are rounded separately (no fused multiply-add).

use super::frame::{self, ItemArgs, MicroKernel};
use super::{MR, NR};
use crate::epilogue::Epilogue;

/// The portable 6x16 micro-kernel.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Portable6x16;

impl MicroKernel for Portable6x16 {
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
        // One row of the tile at a time: a 16-float accumulator fits the 16 SSE registers of a
        // stock x86_64 build (all 96 would spill), and the kc x 16 B sliver is re-read from L1.
        let mut acc = [[0.0f32; NR]; MR];
        for (i, row) in acc.iter_mut().enumerate() {
            for (ak, bk) in a[..kc * MR].chunks_exact(MR).zip(b[..kc * NR].chunks_exact(NR)) {
                // row += A[i][kk] · B[kk][:]
                let ai = ak[i];
                for (x, &bj) in row.iter_mut().zip(bk) {
                    *x += ai * bj;
                }
            }
        }
        for (i, row) in acc.iter().enumerate() {
            let dst = &mut c[i * ldc..][..NR];
            for (j, (v, &t)) in dst.iter_mut().zip(row).enumerate() {
                let mut y = t;
                if accumulate {
                    y += *v;
                }
                if let Some((e, col0)) = epi {
                    y = e.apply(col0 + j, y);
                }
                *v = y;
            }
        }
    }
}

/// Runs one work item with the portable micro-kernel.
pub(crate) fn f32_gemm_6x16_portable(args: ItemArgs) {
    frame::run_item(Portable6x16, args)
}
