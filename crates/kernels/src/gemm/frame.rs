//! The BLIS loops around a micro-kernel, and the thread split. Shared by every fast tier.
//!
//! ```text
//! loop 5  jc: n in NC blocks          (B slab KC x NC streams from L3)
//!  loop 4  pc: k in KC blocks         (first block stores, later blocks accumulate,
//!                                      the last one applies the epilogue)
//!   loop 3  ic: m in MC blocks        pack A[ic.., pc..] into MR-row micro-panels (L2)
//!    loop 2  jr: NR panels of B       the kc x NR sliver stays in L1
//!     loop 1  ir: MR panels of A
//!      micro-kernel: C[ir..ir+MR, jr..jr+NR] (+)= Apanel · Bsliver
//!
//! register tile, MR x NR = 6 x 16 (each row two 8-lane vectors, 12 accumulators):
//!
//!            b[k][0..8]  b[k][8..16]
//!   a[0][k]  [ c00 ]     [ c01 ]
//!   a[1][k]  [ c10 ]     [ c11 ]
//!    ...       ...         ...
//!   a[5][k]  [ c50 ]     [ c51 ]
//! ```
//!
//! The micro-kernel only ever sees full tiles. An edge tile (fewer than MR rows or NR columns
//! left) is computed into a local `MR x NR` array and only its valid part is stored, with the
//! scalar epilogue, so nothing outside the `m x n` window of C is written.

use super::pack::{aligned_scratch, OwnPackA, PackA, PackedB};
use super::{KC, MC, MR, NC, NR};
use crate::epilogue::Epilogue;
use crate::scratch::{with_scratch, ScratchStack};
use rayon::prelude::*;

/// A rank-kc update of one full `MR x NR` tile of C.
pub(crate) trait MicroKernel: Copy {
    /// `C[i][j] = (accumulate ? C[i][j] : 0) + Σ_kk a[kk·MR + i] · b[kk·NR + j]` for the full
    /// tile, where `C[i][j]` is `c[i·ldc + j]`; then, if `epi = Some((e, col0))`, applies
    /// `e` to column `col0 + j`. Needs `a.len() >= kc·MR`, `b.len() >= kc·NR`,
    /// `c.len() >= (MR-1)·ldc + NR`.
    ///
    /// `prefetch` is the B sliver the next panel will read (empty if none): a kernel may ask
    /// for it to be brought into cache while it computes this tile. When B comes from L3 or
    /// DRAM (Winograd's 36 different B matrices, wide pointwise layers), this hides the wait
    /// at the start of every panel.
    #[allow(clippy::too_many_arguments)]
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
    );
}

/// The epilogue slices of one tile's `NR` columns, sliced (and so bounds-checked) once per
/// tile: what the SIMD micro-kernels read when they store a finished tile.
pub(crate) struct EpilogueCols<'a> {
    pub scale: Option<&'a [f32]>,
    pub bias: Option<&'a [f32]>,
    pub activation: crate::epilogue::Activation,
    pub post: Option<(&'a [f32], &'a [f32])>,
}

impl<'a> EpilogueCols<'a> {
    /// Columns `col0 .. col0 + NR` of `e`'s per-column vectors.
    #[inline(always)]
    pub fn new(e: &Epilogue<'a>, col0: usize) -> Self {
        let cols = |s: &'a [f32]| &s[col0..col0 + NR];
        EpilogueCols {
            scale: e.scale.map(cols),
            bias: e.bias.map(cols),
            activation: e.activation,
            post: e.post.map(|p| (cols(p.scale), cols(p.shift))),
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
    /// Scratch for one packed `MC x KC` block of A.
    pub apack: &'a mut [f32],
}

thread_local! {
    /// The packed-A scratch of this thread, grown once and reused by every call.
    static A_SCRATCH: ScratchStack<f32> = const { ScratchStack::new() };
}

/// Floats of the largest packed A block (`MC x KC`): the A scratch is made this large the first
/// time, so that it never grows again whatever GEMM this thread meets later.
const A_SCRATCH_FLOATS: usize = MC * KC;

/// Makes this thread's A scratch its full size now (see [`crate::reserve_thread_scratch`]).
pub(crate) fn reserve_a_scratch() {
    with_scratch(&A_SCRATCH, |buf| {
        aligned_scratch(buf, A_SCRATCH_FLOATS);
    });
}

/// K block boundaries: `ceil(k / KC)` blocks of (almost) equal depth, so there is no sliver of
/// a last block. Depends on k only, never on the thread count.
fn kc_step(k: usize) -> usize {
    k.div_ceil(k.div_ceil(KC).max(1)).max(1)
}

/// Rows per work item: about MC rows, chosen so the busiest thread has as few rows as possible
/// when the items are dealt out evenly. A few item counts from `ceil(m / MC)` rounded up to a
/// multiple of the thread count are tried (on one thread only the first): m = 196 on 2 threads
/// becomes two items of 102 and 94 rows; m = 784 becomes 12 items of 66 rows, not 7 of 114;
/// m = 3136 becomes 28 items of 114 rows, not 27 of 120, which left one thread a whole item
/// behind. Always a multiple of MR, so the same rows form
/// edge tiles whatever the thread count.
fn rows_per_item(m: usize) -> usize {
    let panels = m.div_ceil(MR).max(1);
    let threads = rayon::current_num_threads().max(1);
    let first = m.div_ceil(MC).max(1).next_multiple_of(threads);
    let rows_for = |items: usize| panels.div_ceil(items.min(panels)) * MR;
    if threads == 1 {
        return rows_for(first);
    }
    let busiest = |rows: usize| m.div_ceil(rows).div_ceil(threads) * rows;
    (0..4)
        .map(|i| rows_for(first + i * threads))
        .min_by_key(|&rows| (busiest(rows), usize::MAX - rows))
        .unwrap_or(MR)
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
    let work = |(idx, chunk): (usize, &mut [f32])| {
        let row0 = idx * rows_per;
        run_rows(
            a,
            b,
            row0,
            rows_per.min(m - row0),
            chunk,
            ldc,
            epilogue,
            &run_item,
        );
    };
    if rows_per >= m {
        work((0, c));
    } else {
        c.par_chunks_mut(rows_per * ldc).enumerate().for_each(work);
    }
}

/// The whole GEMM as one work item on the calling thread: for callers that already run many
/// independent GEMMs in parallel (Winograd's 36 products per block of tiles).
pub(crate) fn gemm_serial(
    a: &dyn PackA,
    b: &PackedB,
    c: &mut [f32],
    ldc: usize,
    epilogue: &Epilogue,
    run_item: impl Fn(ItemArgs),
) {
    run_rows(a, b, 0, a.m(), c, ldc, epilogue, &run_item);
}

/// Runs rows `row0 .. row0 + rows` of C (row `row0` at `c[0]`) with this thread's A scratch.
#[allow(clippy::too_many_arguments)]
fn run_rows(
    a: &dyn PackA,
    b: &PackedB,
    row0: usize,
    rows: usize,
    c: &mut [f32],
    ldc: usize,
    epilogue: &Epilogue,
    run_item: &impl Fn(ItemArgs),
) {
    let scratch_len = MC.min(rows.next_multiple_of(MR)) * kc_step(a.k());
    debug_assert!(scratch_len <= A_SCRATCH_FLOATS);
    with_scratch(&A_SCRATCH, |buf| {
        if buf.is_empty() {
            aligned_scratch(buf, A_SCRATCH_FLOATS);
        }
        run_item(ItemArgs {
            a,
            b,
            row0,
            rows,
            c,
            ldc,
            epilogue,
            apack: aligned_scratch(buf, scratch_len),
        });
    });
}

/// Loops 5 to 3 for one work item. `#[inline(always)]` so each tier's wrapper compiles it with
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
    let (k, n) = (a.k(), b.n());
    let kc_max = kc_step(k);
    let epi_last = if epilogue.is_identity() {
        None
    } else {
        Some(epilogue)
    };
    // loop 5: n in NC blocks
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        // loop 4: k in KC blocks
        for k0 in (0..k).step_by(kc_max) {
            let kc = kc_max.min(k - k0);
            let accumulate = k0 > 0;
            let epi = if k0 + kc == k { epi_last } else { None };
            // loop 3: m in MC blocks, packing A
            for ic in (0..rows).step_by(MC) {
                let mc = MC.min(rows - ic);
                if INLINE_PACK_A {
                    match a.as_own() {
                        OwnPackA::Matrix(m) => pack_block(m, apack, row0 + ic, mc, k0, kc),
                        OwnPackA::Im2col(x) => pack_block(x, apack, row0 + ic, mc, k0, kc),
                        OwnPackA::Other => pack_block(a, apack, row0 + ic, mc, k0, kc),
                    }
                } else {
                    pack_block(a, apack, row0 + ic, mc, k0, kc);
                }
                let block = Block {
                    jc,
                    nc,
                    k0,
                    kc,
                    mc,
                    accumulate,
                    epi,
                };
                macro_kernel(kernel, &block, apack, b, &mut c[ic * ldc..], ldc);
            }
        }
    }
}

/// Whether loop 3 packs A with a direct call into the crate's own packers ([`MatrixA`],
/// [`crate::conv::Im2col`]), inlined into each tier's `#[target_feature]` region, instead of a
/// virtual call through `dyn PackA` compiled without the tier's features. The cargo feature
/// `inline-pack-a` turns it on: an A/B switch until a quiet machine has measured it (keep it if
/// it is not slower).
const INLINE_PACK_A: bool = cfg!(feature = "inline-pack-a");

/// Packs rows `row0 .. row0 + mc` of A, columns `k0 .. k0 + kc`, into MR-row micro-panels at
/// the start of `apack`. Generic so that a concrete packer is called directly (and inlined).
#[inline(always)]
fn pack_block<P: PackA + ?Sized>(a: &P, apack: &mut [f32], row0: usize, mc: usize, k0: usize, kc: usize) {
    let panels = mc.div_ceil(MR);
    for (p, dst) in apack[..panels * MR * kc].chunks_exact_mut(MR * kc).enumerate() {
        let r = p * MR;
        a.pack_panel(row0 + r, MR.min(mc - r), k0, kc, dst);
    }
}

/// Where one macro-kernel call works.
struct Block<'e> {
    jc: usize,
    nc: usize,
    k0: usize,
    kc: usize,
    mc: usize,
    accumulate: bool,
    epi: Option<&'e Epilogue<'e>>,
}

/// Loops 2 and 1: every register tile of an `mc x nc` block of C (row 0 at `c[0]`).
#[inline(always)]
fn macro_kernel<K: MicroKernel>(
    kernel: K,
    blk: &Block,
    apack: &[f32],
    b: &PackedB,
    c: &mut [f32],
    ldc: usize,
) {
    let kc = blk.kc;
    // loop 2: NR panels of B
    for jr in (0..blk.nc).step_by(NR) {
        let col = blk.jc + jr;
        let nr = NR.min(blk.nc - jr);
        let bs = b.sliver(col / NR, blk.k0, kc);
        // The first tile of a panel prefetches the next panel's sliver.
        let next = if jr + NR < blk.nc {
            b.sliver(col / NR + 1, blk.k0, kc)
        } else {
            &[]
        };
        // loop 1: MR panels of A
        for ir in (0..blk.mc).step_by(MR) {
            let mr = MR.min(blk.mc - ir);
            let ap = &apack[ir * kc..][..MR * kc];
            let prefetch = if ir == 0 { next } else { &[] };
            if mr == MR && nr == NR {
                let epi = blk.epi.map(|e| (e, col));
                kernel.tile(
                    kc,
                    ap,
                    bs,
                    &mut c[ir * ldc + col..],
                    ldc,
                    blk.accumulate,
                    epi,
                    prefetch,
                );
            } else {
                let mut t = [0.0f32; MR * NR];
                kernel.tile(kc, ap, bs, &mut t, NR, false, None, prefetch);
                store_edge(
                    &t,
                    mr,
                    nr,
                    &mut c[ir * ldc + col..],
                    ldc,
                    blk.accumulate,
                    blk.epi.map(|e| (e, col)),
                );
            }
        }
    }
}

/// Stores the valid `mr x nr` corner of a local tile, exactly as a full tile would be stored.
fn store_edge(
    t: &[f32; MR * NR],
    mr: usize,
    nr: usize,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
    epi: Option<(&Epilogue, usize)>,
) {
    for i in 0..mr {
        let row = &mut c[i * ldc..][..nr];
        for (j, v) in row.iter_mut().enumerate() {
            let mut y = t[i * NR + j];
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows each of `threads` threads gets when the items are dealt out evenly.
    fn busiest(m: usize, threads: usize) -> usize {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let rows = pool.install(|| rows_per_item(m));
        assert_eq!(rows % MR, 0);
        let items = m.div_ceil(rows);
        // The busiest thread runs ceil(items / threads) items, the last one possibly short.
        (items.div_ceil(threads) * rows).min(m)
    }

    #[test]
    fn two_threads_get_nearly_equal_rows() {
        // The decoder's m at 224x224 and 416x608.
        for m in [784, 3136, 12544, 988, 3952, 15808, 63232] {
            let worst = busiest(m, 2);
            assert!(
                worst as f64 <= 0.52 * m as f64 + MR as f64,
                "m {m}: busiest thread has {worst} rows"
            );
        }
        assert!(busiest(196, 2) <= 102);
        for m in [1, 5, 6, 7, 13, 120, 121] {
            assert!(busiest(m, 1) >= m && busiest(m, 2) <= m);
        }
    }
}
