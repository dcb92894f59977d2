//! Running the blocks: for each block, the input transform into V, the 36 GEMMs into M and the
//! output transform with the fused epilogue, in the thread-local scratch; either each phase
//! split over the threads (`Schedule::Phases`) or whole blocks per thread
//! (`Schedule::PerThread`).

use super::geometry::Geometry;
use super::schedule::{split_pieces, RowPiece, Schedule, SCRATCH_FLOATS};
use super::source::{Part, Source};
use super::transform::TileOutput;
use super::{TransformKernels, WinogradWeights, FREQUENCIES, TILE};
use crate::dispatch::{GemmItemFn, KernelTable};
use crate::epilogue::Epilogue;
use crate::error::Result;
use crate::gemm::{self, MatrixA, PackedB};
use crate::scratch::{recycle, with_scratch, ScratchStack};
use crate::tier::Tier;
use rayon::prelude::*;

/// The blocks of a checked call, as `schedule` says.
#[allow(clippy::too_many_arguments)]
pub(super) fn run_scheduled(
    tier: Tier,
    g: &Geometry,
    source: Source,
    weights: &WinogradWeights,
    output: &mut [f32],
    out_pixel_stride: usize,
    epilogue: &Epilogue,
    schedule: Schedule,
) -> Result<()> {
    let g = *g;
    let per_block = schedule.tiles_per_block();
    let (parts, n_parts) = source.parts(g.in_c);
    let job = Job {
        g: &g,
        parts: &parts[..n_parts],
        weights,
        stride: out_pixel_stride,
        epilogue,
        per_block,
    };
    let table = KernelTable::for_tier(tier)?;
    let run = |block: &mut [RowPiece], parallel: bool| {
        job.run_block(table.gemm.run, block, table.winograd, parallel)
    };
    // The pieces' list keeps its allocation from call to call (it borrows `output`, so it
    // is recycled empty rather than kept).
    weights.pieces.with(|kept| {
        let mut pieces = recycle(std::mem::take(kept));
        split_pieces(&g, output, out_pixel_stride, per_block, &mut pieces);
        // Pieces are in block order: each block is one run of equal `block` numbers.
        let result = match schedule {
            Schedule::Phases(_) => pieces
                .chunk_by_mut(|a, b| a.block == b.block)
                .try_for_each(|b| run(b, true)),
            Schedule::PerThread(_) => pieces
                .par_chunk_by_mut(|a, b| a.block == b.block)
                .try_for_each(|b| run(b, false)),
        };
        *kept = recycle(pieces);
        result
    })
}

thread_local! {
    /// V and M of the block the calling thread runs, grown once and reused.
    static SCRATCH: ScratchStack<f32> = const { ScratchStack::new() };
}

/// Makes this thread's V and M scratch [`SCRATCH_FLOATS`] large now (see
/// [`crate::reserve_thread_scratch`]).
pub(crate) fn reserve_scratch() {
    with_scratch(&SCRATCH, |buf| {
        if buf.len() < SCRATCH_FLOATS {
            buf.resize(SCRATCH_FLOATS, 0.0);
        }
    });
}

/// Everything a block needs that is shared by all blocks.
pub(super) struct Job<'a> {
    pub(super) g: &'a Geometry,
    /// The input's tensors.
    pub(super) parts: &'a [Part<'a>],
    pub(super) weights: &'a WinogradWeights,
    pub(super) stride: usize,
    pub(super) epilogue: &'a Epilogue<'a>,
    /// Tiles per block (the last block may have fewer).
    pub(super) per_block: usize,
}

impl Job<'_> {
    /// One block in three parallel phases, each over independent pieces of work:
    ///
    /// 1. input transform, one tile per item: `V` as `[tile][ξ][in_c]`;
    /// 2. the 36 GEMMs, one frequency per item: `M_ξ = V_ξ · U_ξ` into `M` as
    ///    `[ξ][tile][out_c]` (`V_ξ`'s rows are `36·in_c` apart), so every `U_ξ` is read once
    ///    per block, by one thread;
    /// 3. output transform and epilogue, one tile row piece per item.
    pub(super) fn run_block(
        &self,
        gemm_item: GemmItemFn,
        block: &mut [RowPiece],
        t: TransformKernels,
        parallel: bool,
    ) -> Result<()> {
        let g = self.g;
        // The block's tiles are `first .. first + tiles` in (image, ty, tx) order.
        let first = block[0].block * self.per_block;
        let tiles = self.per_block.min(g.tiles() - first);
        let (vlen, mlen) = (tiles * FREQUENCIES * g.in_c, tiles * FREQUENCIES * g.out_c);
        with_scratch(&SCRATCH, |buf| {
            if buf.len() < vlen + mlen {
                // At least the whole budget the first time, so that later layers fit.
                buf.resize((vlen + mlen).max(SCRATCH_FLOATS), 0.0);
            }
            let (v, rest) = buf.split_at_mut(vlen);
            let m = &mut rest[..mlen];

            let input_tile = |(i, dst): (usize, &mut [f32])| {
                let tile = first + i;
                let (n, ty, tx) = (
                    tile / (g.tiles_h * g.tiles_w),
                    tile / g.tiles_w % g.tiles_h,
                    tile % g.tiles_w,
                );
                for &(data, c, up, c0) in self.parts {
                    (t.input.run)(data, &g.window(n, ty, tx, up, c), c, dst, g.in_c, c0);
                }
            };
            let per_tile = FREQUENCIES * g.in_c;
            if parallel {
                v.par_chunks_mut(per_tile)
                    .enumerate()
                    .with_min_len(4)
                    .for_each(input_tile);
            } else {
                v.chunks_mut(per_tile).enumerate().for_each(input_tile);
            }

            let v = &*v;
            let product = |(xi, (mx, u)): (usize, (&mut [f32], &PackedB))| {
                let a = MatrixA::new(&v[xi * g.in_c..], tiles, g.in_c, FREQUENCIES * g.in_c)?;
                gemm::gemm_serial(gemm_item, &a, u, mx, g.out_c, &Epilogue::IDENTITY)
            };
            if parallel {
                m.par_chunks_mut(tiles * g.out_c)
                    .zip(self.weights.u.par_iter())
                    .enumerate()
                    .try_for_each(product)?;
            } else {
                m.chunks_mut(tiles * g.out_c)
                    .zip(self.weights.u.iter())
                    .enumerate()
                    .try_for_each(product)?;
            }

            let m = &*m;
            let output = |p: &mut RowPiece| self.output_piece(t, m, tiles, p, p.first_tile - first);
            if parallel {
                block.par_iter_mut().for_each(output);
            } else {
                block.iter_mut().for_each(output);
            }
            Ok(())
        })
    }

    /// Output transform and epilogue of one row piece, whose first tile is tile `t0` of a
    /// block of `tiles` (its frequency ξ is at `m[(ξ·tiles + t)·out_c ..]`).
    pub(super) fn output_piece(
        &self,
        t: TransformKernels,
        m: &[f32],
        tiles: usize,
        p: &mut RowPiece,
        t0: usize,
    ) {
        let g = self.g;
        for (k, tx) in (p.tx0..p.tx1).enumerate() {
            let col0 = k * TILE;
            let cols = TILE.min(g.out_w - tx * TILE);
            let m = &m[(t0 + k) * g.out_c..];
            let mut out = TileOutput {
                rows: &mut p.rows[..p.rows_in],
                col0,
                cols,
                stride: self.stride,
            };
            (t.output.run)(m, tiles * g.out_c, g.out_c, &mut out, self.epilogue);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Conv2dParams;
    use crate::winograd::geometry::validate;

    #[test]
    fn every_schedule_and_block_size_gives_the_same_bits() {
        let p = Conv2dParams::dense(2, 9, 11, 13, 21, 3, 1, 1);
        let x: Vec<f32> = (0..p.input_len())
            .map(|i| ((i * 7919 % 997) as f32 - 498.0) / 250.0)
            .collect();
        let w: Vec<f32> = (0..p.weight_len())
            .map(|i| ((i * 104_729 % 991) as f32 - 495.0) / 500.0)
            .collect();
        let weights = WinogradWeights::prepare(p.in_c, p.out_c, &w).unwrap();
        let bias: Vec<f32> = (0..p.out_c).map(|c| c as f32 / 10.0).collect();
        let e = Epilogue::bias_act(&bias, crate::Activation::Relu6);
        let g = validate(&p, None, &vec![0.0; p.output_len()], p.out_c, &e).unwrap();
        let tier = Tier::best();
        let run = |schedule: Schedule, threads: usize| {
            let mut out = vec![f32::NAN; p.output_len()];
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                run_scheduled(
                    tier,
                    &g,
                    Source::Nhwc(&x),
                    &weights,
                    &mut out,
                    p.out_c,
                    &e,
                    schedule,
                )
            })
            .unwrap();
            out
        };
        let want = run(Schedule::Phases(g.tiles()), 1);
        assert!(want.iter().all(|v| v.is_finite()));
        for schedule in [
            Schedule::Phases(6),
            Schedule::Phases(12),
            Schedule::PerThread(6),
            Schedule::PerThread(18),
        ] {
            for threads in [1, 2, 3] {
                let got = run(schedule, threads);
                assert!(
                    want.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{schedule:?} on {threads} threads"
                );
            }
        }
    }
}
