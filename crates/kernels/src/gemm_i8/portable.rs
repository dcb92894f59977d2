//! The portable tier: the int8 frame around an 8x16 micro-kernel in plain Rust.
//!
//! The tile is an `[i32; MR·NR]` array; for every group of 4 k the inner loops multiply the
//! 4 bytes of a row of A by the 4 bytes of each of the 16 columns of B (the same c4 layout the
//! VNNI kernel reads) and add them, widened to i32, exactly. The compiler vectorises the
//! 16-column loop for whatever the build target has. Every tile is stored by the scalar
//! requantization, so this tier *is* the definition, blocked.

use super::frame::{self, store_scalar, ItemArgs, MicroKernel, TileDst};
use super::{KR, MR, NR};

/// The portable 8x16 micro-kernel.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Portable8x16;

impl MicroKernel for Portable8x16 {
    #[inline(always)]
    fn tile(self, groups: usize, a: &[u8], b: &[i8], dst: TileDst) {
        let mut t = [0i32; MR * NR];
        let (a, b) = (&a[..groups * MR * KR], &b[..groups * NR * KR]);
        for (ag, bg) in a.chunks_exact(MR * KR).zip(b.chunks_exact(NR * KR)) {
            for (row, aq) in t.chunks_exact_mut(NR).zip(ag.chunks_exact(KR)) {
                // row[j] += Σ_t a[i][4g + t] · b[4g + t][j]
                for (x, bq) in row.iter_mut().zip(bg.chunks_exact(KR)) {
                    *x += (0..KR).map(|u| aq[u] as i32 * bq[u] as i32).sum::<i32>();
                }
            }
        }
        store_scalar(&t, MR, NR, dst);
    }
}

/// Runs one work item with the portable micro-kernel.
pub(crate) fn i8_gemm_8x16c4_portable(args: ItemArgs) {
    frame::run_item(Portable8x16, args)
}
