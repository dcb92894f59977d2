//! How a call's tiles are cut into blocks and how the blocks share the threads.
//!
//! A block is a run of consecutive tiles whose V and M fit the scratch budget; its output is a
//! set of disjoint row pieces cut from the output buffer in memory order, so no two blocks (and
//! no two pieces) ever share a slice. Every tile is computed the same way whichever block it
//! lands in, so neither the block size nor the schedule changes a result.

use super::geometry::Geometry;
use super::{FREQUENCIES, TILE};
use crate::gemm::MR;

/// Scratch budget for one block's V and M, in floats (8 MiB): bounds the tiles per block.
pub(super) const SCRATCH_FLOATS: usize = 2 << 20;
/// Largest Winograd weights (floats, 8 MiB) for which [`Schedule::PerThread`] is chosen.
pub(super) const PER_THREAD_MAX_WEIGHTS: usize = 2 << 20;
/// Most tiles in one output piece (one work item of the output transform).
pub(super) const PIECE_TILES: usize = 8;
/// Smallest block, in floats of V and M (2 MiB): below this, per-block overheads show.
pub(super) const MIN_BLOCK_FLOATS: usize = 1 << 19;

/// How the blocks share the threads (either way every tile is computed the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Schedule {
    /// Blocks one after the other, each in three parallel phases: for layers with few tiles
    /// and large weights, where each thread should read only its share of the 36 `U_ξ`.
    Phases(usize),
    /// Small blocks, one per thread at a time, all three phases on that thread: for layers
    /// with many tiles, where a block's V and M then stay in its core's cache and the threads
    /// never wait for each other inside a block.
    PerThread(usize),
}

impl Schedule {
    pub(super) fn tiles_per_block(self) -> usize {
        match self {
            Schedule::Phases(t) | Schedule::PerThread(t) => t,
        }
    }
}

/// [`Schedule::PerThread`] when there are at least 4 small blocks per thread and the 36 `U_ξ`
/// stay in L3 while every block re-reads them (at most [`PER_THREAD_MAX_WEIGHTS`] floats),
/// else [`Schedule::Phases`]. Measured on the seed's decoder: dec3 and dec4 run faster per
/// thread (at 1 thread too: their small blocks stay in L2), dec1 and dec2 (28-36 MiB of
/// weights) faster in phases.
pub(super) fn schedule(g: &Geometry, threads: usize) -> Schedule {
    let small = (MIN_BLOCK_FLOATS / (FREQUENCIES * (g.in_c + g.out_c)) / MR * MR).max(MR);
    let weights = FREQUENCIES * g.in_c * g.out_c;
    let threads = threads.max(1);
    if weights <= PER_THREAD_MAX_WEIGHTS && g.tiles() >= 4 * threads * small {
        // As many blocks as `small` tiles make, rounded up to a multiple of the threads so
        // that none is left with one block more than the others (196 tiles of dec3 on two
        // threads: 10 blocks of 20, not 9 of 24).
        let blocks = g.tiles().div_ceil(small).next_multiple_of(threads);
        let per = g.tiles().div_ceil(blocks);
        let rounded = per.next_multiple_of(MR);
        let per = if g.tiles().div_ceil(rounded) == blocks {
            rounded
        } else {
            per
        };
        Schedule::PerThread(per)
    } else {
        Schedule::Phases(tiles_per_block(g))
    }
}

/// Tiles per block: about as many as make V and M as large as the weights (`Cin·Cout /
/// (Cin + Cout)` tiles), so that re-reading all 36 `U_ξ` once per block costs no more than
/// the block's own traffic; at least what fills [`MIN_BLOCK_FLOATS`] (small layers: the block
/// stays near L2), at most what fits [`SCRATCH_FLOATS`]; a multiple of the GEMM's MR unless
/// the whole layer fits in one block.
pub(super) fn tiles_per_block(g: &Geometry) -> usize {
    let per_tile = FREQUENCIES * (g.in_c + g.out_c);
    let balanced = g.in_c * g.out_c / (g.in_c + g.out_c);
    let tiles = balanced.clamp(MIN_BLOCK_FLOATS / per_tile, SCRATCH_FLOATS / per_tile);
    if tiles >= g.tiles() {
        g.tiles()
    } else {
        (tiles / MR * MR).max(MR)
    }
}

/// The output pixels of one tile row that belong to one block: tiles `tx0 .. tx1` of tile row
/// `ty` of image `image`.
pub(crate) struct RowPiece<'a> {
    /// The block this piece belongs to (its tiles' index in (image, ty, tx) order, divided
    /// by the tiles per block).
    pub(super) block: usize,
    /// Index of the piece's first tile in (image, ty, tx) order.
    pub(super) first_tile: usize,
    pub(super) tx0: usize,
    pub(super) tx1: usize,
    /// Output rows `4·ty ..` (the first `rows_in` lie inside the image; the others are
    /// empty), each starting at pixel column `4·tx0`, pixel `j` at `row[j·stride ..]`.
    pub(super) rows: [&'a mut [f32]; TILE],
    pub(super) rows_in: usize,
}

/// Cuts `output` into the disjoint pieces that the blocks of `per_block` consecutive tiles
/// write, by walking the output pixels in memory order (so no two pieces ever share a slice),
/// into `pieces` (cleared first). The pieces come out in block order.
pub(super) fn split_pieces<'a>(
    g: &Geometry,
    output: &'a mut [f32],
    stride: usize,
    per_block: usize,
    pieces: &mut Vec<RowPiece<'a>>,
) {
    pieces.clear();
    let mut rest = output;
    for image in 0..g.batch {
        for ty in 0..g.tiles_h {
            let first = (image * g.tiles_h + ty) * g.tiles_w;
            // This tile row's pieces: cut where a block ends, and after at most PIECE_TILES
            // tiles, so that the output phase has enough independent items for every thread
            // even when a block spans few tile rows.
            let row_start = pieces.len();
            let rows_in = TILE.min(g.out_h - ty * TILE);
            let mut tx = 0;
            while tx < g.tiles_w {
                let b = (first + tx) / per_block;
                let end = ((b + 1) * per_block - first).min(g.tiles_w).min(tx + PIECE_TILES);
                pieces.push(RowPiece {
                    block: b,
                    first_tile: first + tx,
                    tx0: tx,
                    tx1: end,
                    rows: Default::default(),
                    rows_in,
                });
                tx = end;
            }
            for r in 0..rows_in {
                for piece in pieces[row_start..].iter_mut() {
                    let pixels = (piece.tx1 * TILE).min(g.out_w) - piece.tx0 * TILE;
                    // The very last pixel may own only `out_c` floats, not a whole stride.
                    let take = (pixels * stride).min(rest.len());
                    let (mine, tail) = std::mem::take(&mut rest).split_at_mut(take);
                    piece.rows[r] = mine;
                    rest = tail;
                }
            }
        }
    }
}

/// Empty lists of output pieces, one per call of a layer running at the same time, kept with
/// the layer's weights rather than per thread: a call's list is as long as its layer needs,
/// and whichever thread makes the call then finds one of the right capacity.
#[derive(Default)]
pub(super) struct PieceLists(std::sync::Mutex<Vec<Vec<RowPiece<'static>>>>);

impl PieceLists {
    /// Runs `f` with a list (empty), and keeps it afterwards.
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut Vec<RowPiece<'static>>) -> R) -> R {
        let pop = || self.0.lock().ok()?.pop();
        let mut list = pop().unwrap_or_default();
        let result = f(&mut list);
        if let Ok(mut lists) = self.0.lock() {
            lists.push(list);
        }
        result
    }
}

impl Clone for PieceLists {
    /// A new, empty cache: only capacity is ever kept in it.
    fn clone(&self) -> Self {
        PieceLists::default()
    }
}

impl PartialEq for PieceLists {
    /// Always equal: the cache holds no data.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for PieceLists {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PieceLists")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epilogue::Epilogue;
    use crate::params::Conv2dParams;
    use crate::winograd::geometry::validate;

    #[test]
    fn blocks_take_every_tile_that_fits_the_scratch() {
        let geometry = |h: usize, w: usize, in_c: usize, out_c: usize| {
            let p = Conv2dParams::dense(1, h, w, in_c, out_c, 3, 1, 1);
            validate(&p, None, &vec![0.0; p.output_len()], out_c, &Epilogue::IDENTITY).unwrap()
        };
        // The decoder at 224x224 and 416x608: one block where V and M fit, else MR multiples.
        for (h, w, cin, cout) in [
            (28, 28, 768, 256),
            (56, 56, 384, 128),
            (112, 112, 128, 64),
            (52, 76, 768, 256),
            (208, 304, 128, 64),
        ] {
            let g = geometry(h, w, cin, cout);
            let per = tiles_per_block(&g);
            assert!(per == g.tiles() || per.is_multiple_of(MR), "{h}x{w}: {per}");
            assert!(
                per * FREQUENCIES * (cin + cout) <= SCRATCH_FLOATS,
                "{h}x{w}: {per}"
            );
        }
        assert_eq!(tiles_per_block(&geometry(28, 28, 768, 256)), 49);
        assert_eq!(tiles_per_block(&geometry(56, 56, 384, 128)), 96);
        assert_eq!(tiles_per_block(&geometry(112, 112, 128, 64)), 72);
        // A layer too wide for even MR tiles still makes progress.
        assert_eq!(tiles_per_block(&geometry(8, 8, 40_000, 40_000)), MR);
    }
}
