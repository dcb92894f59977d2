//! The portable tier: the bf16 frame around a 12x16 micro-kernel in plain Rust, bit-identical
//! to `vdpbf16ps`.
//!
//! Each accumulator takes the pairs in order through [`dpbf16_lane`] — the odd element first,
//! each product exact, one rounding per addition, subnormals flushed — so this kernel computes
//! exactly what the AVX-512 BF16 one does, on any CPU (at a fraction of its speed: it is the
//! fallback of the tiers without AVX512_BF16, and the oracle's blocked twin).

use super::frame::{self, store_scalar, ItemArgs, MicroKernel, TileDst};
use super::{KR, MR, NR};
use crate::bf16::dpbf16_lane;

/// The portable 12x16 micro-kernel.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Portable12x16;

impl MicroKernel for Portable12x16 {
    #[inline(always)]
    fn tile(self, groups: usize, a: &[u16], b: &[u16], dst: TileDst) {
        let mut t = [0.0f32; MR * NR];
        let (a, b) = (&a[..groups * MR * KR], &b[..groups * NR * KR]);
        for (ag, bg) in a.chunks_exact(MR * KR).zip(b.chunks_exact(NR * KR)) {
            for (row, ap) in t.chunks_exact_mut(NR).zip(ag.chunks_exact(KR)) {
                // row[j] = dpbf16(row[j], A pair (g, i), B pair (g, j))
                for (x, bp) in row.iter_mut().zip(bg.chunks_exact(KR)) {
                    *x = dpbf16_lane(*x, [ap[0], ap[1]], [bp[0], bp[1]]);
                }
            }
        }
        store_scalar(&t, MR, NR, dst);
    }
}

/// Runs one work item with the portable micro-kernel.
pub(crate) fn bf16_gemm_12x16c2_portable(args: ItemArgs) {
    frame::run_item(Portable12x16, args)
}
