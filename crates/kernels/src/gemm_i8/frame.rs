//! The loops around the int8 micro-kernel, and the thread split. Shared by every fast tier.
//!
//! ```text
//! threads: m in row blocks (work items), one per rayon task
//!  loop 3  ic: rows in blocks of mc    pack A[ic.., all k] into MR-row c4 micro-panels (L2)
//!   loop 2  p: NR panels of B          the whole-k sliver of panel p (L1/L2)
//!    loop 1  ir: MR panels of A
//!     micro-kernel: C[ir..ir+MR, p·NR..+NR] = requantize(A panel · B panel)
//!
//! register tile (AVX-512 VNNI), MR x NR = 8 x 16 s32 lanes, one zmm per row:
//!
//!              b[4g..4g+4][0..16]  (one zmm: 16 lanes x 4 bytes)
//!   a[0][4g..4g+4]  [ c0 ] += vpdpbusd(broadcast(a0), b)
//!   ...
//!   a[7][4g..4g+4]  [ c7 ]
//! ```
//!
//! Unlike the f32 GEMM there is no K blocking: the s32 accumulators stay in registers for the
//! whole reduction and the requantizing epilogue runs once, at the end (a u8 output cannot
//! hold a partial sum). The k x NR sliver of B is at most 110 KB (k = 6912), read from L2 once
//! per tile; the A block is sized to stay in L2 ([`block_rows`]).
//!
//! Full tiles are stored by the micro-kernel itself (SIMD requantization); an edge tile (fewer
//! than MR rows or NR columns left) comes back as raw sums and is stored by the scalar
//! [`Requantize`], so nothing outside the `m x n` window of C is written. Integer sums do not
//! depend on how the work is split, so any thread count gives the same bits.

use super::pack::{PackA, PackedB};
use super::{KR, MC, MR, NR};
use crate::quant::Requantize;
use rayon::prelude::*;
use std::cell::RefCell;

/// Bytes of packed A per block: it stays in L2 next to the B panels.
const A_BLOCK_BYTES: usize = 256 << 10;

/// The output of a whole GEMM or one work item: u8 (requantized) or f32 (dequantized).
pub(crate) enum Out<'a> {
    U8(&'a mut [u8]),
    F32(&'a mut [f32]),
}

impl Out<'_> {
    /// The tile of C whose top-left element is at index `at`, stored through `epi`.
    #[inline(always)]
    fn tile_at<'a, 'e>(&'a mut self, at: usize, ldc: usize, epi: &'a TileEpilogue<'e>) -> TileDst<'a, 'e> {
        match self {
            Out::U8(c) => TileDst::U8 {
                c: &mut c[at..],
                ldc,
                epi,
            },
            Out::F32(c) => TileDst::F32 {
                c: &mut c[at..],
                ldc,
                epi,
            },
        }
    }
}

/// The requantization of one panel's NR columns: the zero-point corrections `za · Σ_k b[k][j]`
/// and the columns' parameters (`rq`'s columns `col0 .. col0 + NR`).
pub(crate) struct TileEpilogue<'a> {
    pub rq: &'a Requantize<'a>,
    pub col0: usize,
    pub corr: [i32; NR],
}

impl TileEpilogue<'_> {
    /// The f32 value of raw sum `raw` in tile column `j`.
    #[inline(always)]
    pub fn f32_at(&self, j: usize, raw: i32) -> f32 {
        self.rq.apply_f32(self.col0 + j, raw - self.corr[j])
    }

    /// The u8 output of raw sum `raw` in tile column `j`.
    #[inline(always)]
    pub fn u8_at(&self, j: usize, raw: i32) -> u8 {
        self.rq.apply_u8(self.col0 + j, raw - self.corr[j])
    }
}

/// Where a micro-kernel puts its tile.
pub(crate) enum TileDst<'a, 'e> {
    /// The raw sums, `t[i·NR + j]` (an edge tile; the frame stores the valid part).
    S32(&'a mut [i32; MR * NR]),
    /// Requantized into `c[i·ldc + j]`, `i < MR`, `j < NR`.
    U8 {
        c: &'a mut [u8],
        ldc: usize,
        epi: &'a TileEpilogue<'e>,
    },
    /// Dequantized into `c[i·ldc + j]`, `i < MR`, `j < NR`.
    F32 {
        c: &'a mut [f32],
        ldc: usize,
        epi: &'a TileEpilogue<'e>,
    },
}

/// The product of one full `MR x NR` tile over the whole reduction.
pub(crate) trait MicroKernel: Copy {
    /// Computes the raw sums `Σ_g Σ_t a[(g·MR + i)·4 + t] · b[(g·NR + j)·4 + t]` over `groups`
    /// groups of 4 (`a.len() >= groups·MR·4`, `b.len() >= groups·NR·4`) and stores them as
    /// `dst` says.
    fn tile(self, groups: usize, a: &[u8], b: &[i8], dst: TileDst);
}

/// Stores raw sums through the scalar epilogue: what the portable kernel does for every tile
/// and the frame for edge tiles (`mr x nr` of them).
pub(crate) fn store_scalar(t: &[i32; MR * NR], mr: usize, nr: usize, dst: TileDst) {
    match dst {
        TileDst::S32(out) => out.copy_from_slice(t),
        TileDst::U8 { c, ldc, epi } => {
            for i in 0..mr {
                for (j, v) in c[i * ldc..][..nr].iter_mut().enumerate() {
                    *v = epi.u8_at(j, t[i * NR + j]);
                }
            }
        }
        TileDst::F32 { c, ldc, epi } => {
            for i in 0..mr {
                for (j, v) in c[i * ldc..][..nr].iter_mut().enumerate() {
                    *v = epi.f32_at(j, t[i * NR + j]);
                }
            }
        }
    }
}

/// One thread's share of the work: rows `row0 .. row0 + rows` of C, all columns.
pub(crate) struct ItemArgs<'a> {
    pub a: &'a dyn PackA,
    pub b: &'a PackedB,
    pub row0: usize,
    pub rows: usize,
    /// Row `row0` of C starts at index 0.
    pub c: Out<'a>,
    pub ldc: usize,
    pub rq: &'a Requantize<'a>,
    /// Scratch for one packed block of A.
    pub apack: &'a mut [u8],
}

thread_local! {
    /// The packed-A scratch of this thread, grown once and reused by every call.
    static A_SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Rows of one A block: as many MR panels as fit [`A_BLOCK_BYTES`] with the whole reduction,
/// at least one, at most `MC` rows.
pub(crate) fn block_rows(groups: usize) -> usize {
    (A_BLOCK_BYTES / (groups * KR).max(1) / MR * MR).clamp(MR, MC)
}

/// Rows per work item: about MC, a multiple of MR, and at least as many items as threads
/// (rounded up to a multiple of the thread count) when m allows it.
fn rows_per_item(m: usize) -> usize {
    let panels = m.div_ceil(MR).max(1);
    let threads = rayon::current_num_threads().max(1);
    let items = m.div_ceil(MC).max(1).next_multiple_of(threads).min(panels);
    panels.div_ceil(items) * MR
}

/// Splits C into row blocks and runs `run_item` on each, in parallel on the current rayon pool.
pub(crate) fn gemm_parallel(
    a: &dyn PackA,
    b: &PackedB,
    c: Out,
    ldc: usize,
    rq: &Requantize,
    run_item: impl Fn(ItemArgs) + Sync,
) {
    let m = a.m();
    let rows_per = rows_per_item(m);
    let work = |idx: usize, chunk: Out| {
        let row0 = idx * rows_per;
        run_rows(a, b, row0, rows_per.min(m - row0), chunk, ldc, rq, &run_item);
    };
    match c {
        Out::U8(c) => c
            .par_chunks_mut(rows_per * ldc)
            .enumerate()
            .for_each(|(i, ch)| work(i, Out::U8(ch))),
        Out::F32(c) => c
            .par_chunks_mut(rows_per * ldc)
            .enumerate()
            .for_each(|(i, ch)| work(i, Out::F32(ch))),
    }
}

/// Runs rows `row0 .. row0 + rows` of C with this thread's A scratch.
#[allow(clippy::too_many_arguments)]
fn run_rows(
    a: &dyn PackA,
    b: &PackedB,
    row0: usize,
    rows: usize,
    c: Out,
    ldc: usize,
    rq: &Requantize,
    run_item: &impl Fn(ItemArgs),
) {
    let len = block_rows(b.groups()).min(rows.next_multiple_of(MR)) * b.groups() * KR;
    A_SCRATCH.with(|cell| {
        // A nested call on this thread (rayon may run another task here) gets its own buffer.
        let mut fresh = Vec::new();
        let mut borrowed = cell.try_borrow_mut();
        let buf = match borrowed.as_deref_mut() {
            Ok(buf) => buf,
            Err(_) => &mut fresh,
        };
        if buf.len() < len {
            buf.resize(len, 0);
        }
        run_item(ItemArgs {
            a,
            b,
            row0,
            rows,
            c,
            ldc,
            rq,
            apack: &mut buf[..len],
        });
    });
}

/// Loops 3 to 1 for one work item. `#[inline(always)]` so each tier's wrapper compiles it with
/// its own target features.
#[inline(always)]
pub(crate) fn run_item<K: MicroKernel>(kernel: K, args: ItemArgs) {
    let ItemArgs {
        a,
        b,
        row0,
        rows,
        mut c,
        ldc,
        rq,
        apack,
    } = args;
    let (n, groups) = (b.n(), b.groups());
    let panel_len = MR * KR * groups;
    let za = a.zero_point() as i32;
    let mc_max = block_rows(groups);
    // loop 3: rows in blocks of mc, packing A
    for ic in (0..rows).step_by(mc_max) {
        let mc = mc_max.min(rows - ic);
        // (A range, not `chunks_exact_mut`: k = 0 makes the panels empty.)
        for q in 0..mc.div_ceil(MR) {
            let dst = &mut apack[q * panel_len..][..panel_len];
            a.pack_panel(row0 + ic + q * MR, MR.min(mc - q * MR), dst);
        }
        // loop 2: NR panels of B
        for p in 0..b.panels() {
            let (col0, bp) = (p * NR, b.panel(p));
            let nr = NR.min(n - col0);
            let sums = b.col_sums(p);
            let epi = TileEpilogue {
                rq,
                col0,
                corr: std::array::from_fn(|j| za * sums[j]),
            };
            // loop 1: MR panels of A
            for ir in (0..mc).step_by(MR) {
                let (mr, at) = (MR.min(mc - ir), (ic + ir) * ldc + col0);
                let ap = &apack[(ir / MR) * panel_len..][..panel_len];
                if mr == MR && nr == NR {
                    kernel.tile(groups, ap, bp, c.tile_at(at, ldc, &epi));
                } else {
                    let mut t = [0i32; MR * NR];
                    kernel.tile(groups, ap, bp, TileDst::S32(&mut t));
                    store_scalar(&t, mr, nr, c.tile_at(at, ldc, &epi));
                }
            }
        }
    }
}
