//! The loops around the bf16 micro-kernel, and the thread split. Shared by every tier.
//!
//! ```text
//! threads: m in row blocks (work items), one per rayon task
//!  loop 3  ic: rows in blocks of mc    round A[ic.., all k] to bf16 MR-row c2 micro-panels
//!   loop 2  p: NR panels of B          the whole-k bf16 sliver of panel p
//!    loop 1  ir: MR panels of A
//!     micro-kernel: C[ir..ir+MR, p·NR..+NR] = epilogue(A panel · B panel)
//!
//! register tile (AVX-512 BF16), MR x NR = 12 x 16 f32 lanes, one zmm per row:
//!
//!                 b[2g..2g+2][0..16]  (one zmm: 16 lanes x 2 bf16)
//!   a[0][2g..2g+2]   [ c0  ] = vdpbf16ps(c0, broadcast(a0 pair), b)
//!   ...
//!   a[11][2g..2g+2]  [ c11 ]
//! ```
//!
//! Every output is one f32 accumulator that starts at +0.0 and takes the pairs g = 0, 1, 2,
//! ... in order, each through [`crate::bf16::dpbf16_lane`]'s rounding; there is no K blocking
//! (a block boundary would add a rounding the other tiers would have to copy), so the order of
//! additions is the same in every tier and every thread split: the tiers agree bit for bit.
//! The f32 [`Epilogue`] runs once at the end; edge tiles are stored by its scalar `apply`.

use super::pack::{pack_a_panel, PackedB};
use super::{KR, MC, MR, NR};
use crate::epilogue::Epilogue;
use crate::gemm::PackA;
use rayon::prelude::*;
use std::cell::RefCell;

/// Bytes of packed A per block: it stays in L2 next to the B panels.
const A_BLOCK_BYTES: usize = 256 << 10;

/// Where a micro-kernel puts its tile.
pub(crate) enum TileDst<'a, 'e> {
    /// The sums, `t[i·NR + j]` (an edge tile; the frame stores the valid part).
    Sums(&'a mut [f32; MR * NR]),
    /// `c[i·ldc + j]` for `i < MR`, `j < NR`, through the epilogue of columns `col0 ..`
    /// (`None`: the identity).
    C {
        c: &'a mut [f32],
        ldc: usize,
        epi: Option<(&'a Epilogue<'e>, usize)>,
    },
}

/// The product of one full `MR x NR` tile over the whole reduction.
pub(crate) trait MicroKernel: Copy {
    /// Accumulates `Σ_g dpbf16(a pair (g, i), b pair (g, j))` from +0.0 over `groups` pairs
    /// (`a.len() >= groups·MR·2`, `b.len() >= groups·NR·2`) and stores as `dst` says.
    fn tile(self, groups: usize, a: &[u16], b: &[u16], dst: TileDst);
}

/// Stores `mr x nr` sums through the scalar epilogue (the portable kernel, and edge tiles).
pub(crate) fn store_scalar(t: &[f32; MR * NR], mr: usize, nr: usize, dst: TileDst) {
    match dst {
        TileDst::Sums(out) => out.copy_from_slice(t),
        TileDst::C { c, ldc, epi } => {
            for i in 0..mr {
                for (j, v) in c[i * ldc..][..nr].iter_mut().enumerate() {
                    let y = t[i * NR + j];
                    *v = epi.map_or(y, |(e, col0)| e.apply(col0 + j, y));
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
    /// Row `row0` of C starts at `c[0]`.
    pub c: &'a mut [f32],
    pub ldc: usize,
    pub epilogue: &'a Epilogue<'a>,
    /// Scratch for one packed block of A.
    pub apack: &'a mut [u16],
}

thread_local! {
    /// The packed-A scratch of this thread, grown once and reused by every call.
    static A_SCRATCH: RefCell<Vec<u16>> = const { RefCell::new(Vec::new()) };
}

/// Rows of one A block: as many MR panels as fit [`A_BLOCK_BYTES`], between MR and `MC`.
fn block_rows(groups: usize) -> usize {
    (A_BLOCK_BYTES / (groups * KR * 2).max(1) / MR * MR).clamp(MR, MC)
}

/// Rows per work item: about MC, a multiple of MR, at least as many items as threads when m
/// allows it (rounded up to a multiple of the thread count).
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
    c: &mut [f32],
    ldc: usize,
    epilogue: &Epilogue,
    run_item: impl Fn(ItemArgs) + Sync,
) {
    let m = a.m();
    let rows_per = rows_per_item(m);
    let len = block_rows(b.groups()).min(rows_per) * b.groups() * KR;
    c.par_chunks_mut(rows_per * ldc).enumerate().for_each(|(idx, c)| {
        let row0 = idx * rows_per;
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
                rows: rows_per.min(m - row0),
                c,
                ldc,
                epilogue,
                apack: &mut buf[..len],
            });
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
        c,
        ldc,
        epilogue,
        apack,
    } = args;
    let (n, groups) = (b.n(), b.groups());
    let panel_len = MR * KR * groups;
    let epi = (!epilogue.is_identity()).then_some(epilogue);
    let mc_max = block_rows(groups);
    // loop 3: rows in blocks of mc, rounding A to bf16 panels
    for ic in (0..rows).step_by(mc_max) {
        let mc = mc_max.min(rows - ic);
        // (A range, not `chunks_exact_mut`: k = 0 makes the panels empty.)
        for q in 0..mc.div_ceil(MR) {
            let dst = &mut apack[q * panel_len..][..panel_len];
            pack_a_panel(a, row0 + ic + q * MR, MR.min(mc - q * MR), dst);
        }
        // loop 2: NR panels of B
        for p in 0..b.panels() {
            let (col0, bp) = (p * NR, b.panel(p));
            let nr = NR.min(n - col0);
            // loop 1: MR panels of A
            for ir in (0..mc).step_by(MR) {
                let mr = MR.min(mc - ir);
                let ap = &apack[(ir / MR) * panel_len..][..panel_len];
                let dst = TileDst::C {
                    c: &mut c[(ic + ir) * ldc + col0..],
                    ldc,
                    epi: epi.map(|e| (e, col0)),
                };
                if mr == MR && nr == NR {
                    kernel.tile(groups, ap, bp, dst);
                } else {
                    let mut t = [0.0f32; MR * NR];
                    kernel.tile(groups, ap, bp, TileDst::Sums(&mut t));
                    store_scalar(&t, mr, nr, dst);
                }
            }
        }
    }
}
