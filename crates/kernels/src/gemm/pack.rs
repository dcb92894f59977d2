//! Packing: B into NR-wide column panels (once), A into MR-row micro-panels (per block).
//!
//! ```text
//! packed B, panel p (columns p·NR .. p·NR+NR)     packed A micro-panel (rows r .. r+MR)
//!   k=0: b[0][p·NR+0] .. b[0][p·NR+15]              k=0: a[r+0][0] .. a[r+5][0]
//!   k=1: b[1][p·NR+0] .. b[1][p·NR+15]              k=1: a[r+0][1] .. a[r+5][1]
//!   ...  (k rows, 16 floats each)                   ...  (kc rows, 6 floats each)
//! ```
//!
//! A panel of B holds all k rows back to back, so *any* KC-long slice of it is a contiguous
//! `kc x NR` sliver: the layout does not depend on KC, and the portable and AVX2 tiers read the
//! same bytes. Columns past n in the last panel and rows past m in the last A panel are zero,
//! so the micro-kernel never sees a ragged edge.

use super::{MR, NR};
use crate::error::{check_len, KernelError, Result};

/// Floats per 32-byte line: packed buffers start on a 32-byte boundary for aligned AVX loads.
const ALIGN_FLOATS: usize = 8;

/// Returns the start of `v` rounded up to a 32-byte boundary, as an index into `v`.
pub(crate) fn align_offset(v: &[f32]) -> usize {
    let misalign = (v.as_ptr() as usize / std::mem::size_of::<f32>()) % ALIGN_FLOATS;
    (ALIGN_FLOATS - misalign) % ALIGN_FLOATS
}

/// Grows `buf` (zero-filled) so that a 32-byte-aligned run of `len` floats fits, and returns it.
pub(crate) fn aligned_scratch(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len + ALIGN_FLOATS {
        *buf = vec![0.0; len + ALIGN_FLOATS];
    }
    let off = align_offset(buf);
    &mut buf[off..off + len]
}

/// B packed into NR-wide column panels, built once when the weights load.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedB {
    k: usize,
    n: usize,
    /// Panels back to back from `offset` (a 32-byte boundary), each `k · NR` floats.
    data: Vec<f32>,
    offset: usize,
}

impl PackedB {
    /// Packs the row-major `k x n` matrix `b` (`b[kk·n + j]`).
    pub fn pack(b: &[f32], k: usize, n: usize) -> Result<PackedB> {
        let len = k.checked_mul(n).ok_or_else(|| KernelError::InvalidParams {
            op: "PackedB::pack",
            reason: format!("{k} x {n} overflows"),
        })?;
        check_len("PackedB::pack", "b", len, b.len())?;
        let panels = n.div_ceil(NR);
        let mut data = vec![0.0f32; panels * k * NR + ALIGN_FLOATS];
        let offset = align_offset(&data);
        for p in 0..panels {
            let (j0, width) = (p * NR, NR.min(n - p * NR));
            let panel = &mut data[offset + p * k * NR..][..k * NR];
            // panel[kk·NR + jj] = b[kk][j0 + jj]
            for (dst, src) in panel.chunks_exact_mut(NR).zip(b.chunks_exact(n.max(1))) {
                dst[..width].copy_from_slice(&src[j0..j0 + width]);
            }
        }
        Ok(PackedB { k, n, data, offset })
    }

    /// An all-zero packed `k x n` matrix, to be filled with [`set`](Self::set): builds B in
    /// place, without a row-major copy (Winograd's 36 matrices would double the memory peak).
    pub(crate) fn zeroed(k: usize, n: usize) -> PackedB {
        let panels = n.div_ceil(NR);
        let data = vec![0.0f32; panels * k * NR + ALIGN_FLOATS];
        let offset = align_offset(&data);
        PackedB { k, n, data, offset }
    }

    /// Sets element `(kk, j)` of B (`kk < k`, `j < n`).
    #[inline]
    pub(crate) fn set(&mut self, kk: usize, j: usize, value: f32) {
        debug_assert!(kk < self.k && j < self.n);
        self.data[self.offset + (j / NR) * self.k * NR + kk * NR + j % NR] = value;
    }

    /// Rows of B (the reduction length).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns of B (output channels).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of NR-wide panels.
    pub fn panels(&self) -> usize {
        self.n.div_ceil(NR)
    }

    /// The `kc x NR` sliver of panel `p` starting at row `k0`.
    #[inline]
    pub(crate) fn sliver(&self, p: usize, k0: usize, kc: usize) -> &[f32] {
        &self.data[self.offset + p * self.k * NR + k0 * NR..][..kc * NR]
    }

    /// Unpacks back to the row-major `k x n` matrix (allocates; for the reference tier and tests).
    pub fn to_row_major(&self) -> Vec<f32> {
        let mut b = vec![0.0; self.k * self.n];
        for (kk, row) in b.chunks_exact_mut(self.n.max(1)).enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = self.sliver(j / NR, kk, 1)[j % NR];
            }
        }
        b
    }
}

/// Something that can write MR-row micro-panels of an `m x k` matrix A.
///
/// `pack_panel(row0, rows, k0, kc, dst)` writes `dst[kk·MR + i] = A[row0 + i][k0 + kk]` for
/// `i < rows`, `kk < kc`, and zero for `rows <= i < MR`. `dst.len() == MR · kc`, `rows <= MR`,
/// and the caller keeps `row0 + rows <= m`, `k0 + kc <= k`.
pub trait PackA: Sync {
    /// Rows of A.
    fn m(&self) -> usize;
    /// Columns of A (the reduction length).
    fn k(&self) -> usize;
    /// Writes one micro-panel; see the trait docs.
    fn pack_panel(&self, row0: usize, rows: usize, k0: usize, kc: usize, dst: &mut [f32]);

    /// This packer as one of the crate's own, so that the blocked loops can call its
    /// `pack_panel` directly and inline it into their `#[target_feature]` region (the
    /// `inline-pack-a` switch, see `gemm/frame.rs`). Packers outside the crate keep the default.
    #[doc(hidden)]
    fn as_own(&self) -> OwnPackA<'_> {
        OwnPackA::Other
    }
}

/// The crate's own A packers, as [`PackA::as_own`] reports them.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub enum OwnPackA<'a> {
    /// A dense matrix.
    Matrix(&'a MatrixA<'a>),
    /// The im2col view of a convolution's input.
    Im2col(&'a crate::conv::Im2col<'a>),
    /// Any other packer: called through `dyn PackA`.
    Other,
}

/// A dense row-major A: row `i` is `data[i·lda ..][..k]`.
#[derive(Debug, Clone, Copy)]
pub struct MatrixA<'a> {
    data: &'a [f32],
    m: usize,
    k: usize,
    lda: usize,
}

impl<'a> MatrixA<'a> {
    /// Wraps `data` as an `m x k` matrix with leading dimension `lda >= k`.
    pub fn new(data: &'a [f32], m: usize, k: usize, lda: usize) -> Result<MatrixA<'a>> {
        if lda < k {
            return Err(KernelError::InvalidParams {
                op: "MatrixA",
                reason: format!("lda = {lda} < k = {k}"),
            });
        }
        let needed = if m == 0 || k == 0 { 0 } else { (m - 1) * lda + k };
        if data.len() < needed {
            return Err(KernelError::LengthMismatch {
                op: "MatrixA",
                what: "a",
                expected: needed,
                got: data.len(),
            });
        }
        Ok(MatrixA { data, m, k, lda })
    }
}

impl PackA for MatrixA<'_> {
    fn m(&self) -> usize {
        self.m
    }

    fn k(&self) -> usize {
        self.k
    }

    #[inline(always)]
    fn pack_panel(&self, row0: usize, rows: usize, k0: usize, kc: usize, dst: &mut [f32]) {
        let row = |i: usize| &self.data[(row0 + i) * self.lda + k0..][..kc];
        interleave_rows(rows, row, dst);
    }

    fn as_own(&self) -> OwnPackA<'_> {
        OwnPackA::Matrix(self)
    }
}

/// Writes `dst[kk·MR + i] = row(i)[kk]` for `i < rows`, zero for the other rows up to MR.
///
/// Full panels take the 6-stream loop ([`interleave6`]); a ragged last panel is zero-filled and
/// written column by column.
#[inline]
pub(crate) fn interleave_rows<'s>(rows: usize, row: impl Fn(usize) -> &'s [f32], dst: &mut [f32]) {
    if rows == MR {
        interleave6(&std::array::from_fn(row), dst);
        return;
    }
    dst.fill(0.0);
    for i in 0..rows {
        for (d, &s) in dst[i..].iter_mut().step_by(MR).zip(row(i)) {
            *d = s;
        }
    }
}

/// Writes `dst[kk·MR + i] = src[i][kk]` for `kk < dst.len() / MR`: six sequential reads, one
/// contiguous write stream. Every source must hold at least `dst.len() / MR` floats.
///
/// The sources are re-sliced to the common length first, so the loop has no bounds checks.
#[inline]
pub(crate) fn interleave6(src: &[&[f32]; MR], dst: &mut [f32]) {
    let len = dst.len() / MR;
    let [r0, r1, r2, r3, r4, r5] = src.map(|r| &r[..len]);
    for (kk, d) in dst.chunks_exact_mut(MR).enumerate().take(len) {
        d[0] = r0[kk];
        d[1] = r1[kk];
        d[2] = r2[kk];
        d[3] = r3[kk];
        d[4] = r4[kk];
        d[5] = r5[kk];
    }
}
/// Rows `row0 .. row0 + rows` of `a` as a row-major `rows x k` matrix.
pub(crate) fn unpack_a_rows(a: &dyn PackA, row0: usize, rows: usize) -> Vec<f32> {
    let k = a.k();
    let mut out = vec![0.0; rows * k];
    let mut panel = vec![0.0; MR * k];
    for r0 in (0..rows).step_by(MR) {
        let panel_rows = MR.min(rows - r0);
        a.pack_panel(row0 + r0, panel_rows, 0, k, &mut panel);
        for i in 0..panel_rows {
            for kk in 0..k {
                out[(r0 + i) * k + kk] = panel[kk * MR + i];
            }
        }
    }
    out
}
