//! Packing for the int8 GEMM: B into VNNI's layout (once), A into MR-row micro-panels.
//!
//! VNNI's `vpdpbusd` multiplies, in each 32-bit lane, 4 consecutive bytes of one operand by 4
//! bytes of the other and adds the 4 products to the lane. So both operands are packed with
//! **4 consecutive k of one row or column in one 32-bit lane** ("c4", XNNPACK's `16x16c4`):
//!
//! ```text
//! packed B, panel p (columns p·NR ..+NR), group g (k = 4g ..+4): 64 bytes = one zmm
//!   [ b[4g][j0] b[4g+1][j0] b[4g+2][j0] b[4g+3][j0] | b[4g][j0+1] ... | ... b[4g+3][j0+15] ]
//!      lane 0 (column j0)                             lane 1             lane 15
//!
//! packed A micro-panel (rows r ..+MR), group g: MR x 4 bytes, each row's 4 bytes broadcast
//!   [ a[r][4g] .. a[r][4g+3] | a[r+1][4g] .. a[r+1][4g+3] | ... | a[r+7][4g+3] ]
//! ```
//!
//! k is padded to a multiple of 4 with zeros in both A and B (a zero weight adds nothing),
//! columns past n in the last B panel are zero, rows past m in the last A panel are zero.
//! Packing B also records each column's sum `Σ_k w[k][j]`, for the zero-point correction.

use super::{KR, MR, NR};
use crate::error::{check_len, KernelError, Result};
use crate::quant::I8_MAX_K;

/// Signed-int8 weights packed for the int8 GEMM (built once when the weights load), with
/// their column sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedB {
    k: usize,
    n: usize,
    /// Panels back to back, each `k4 · NR` bytes (`k4` = k rounded up to 4).
    data: Vec<i8>,
    /// `Σ_k b[k][j]` per column, zero past n (one entry per column of every panel).
    col_sums: Vec<i32>,
}

impl PackedB {
    /// Packs the row-major `k x n` matrix `b` (`b[kk·n + j]`); `k <= I8_MAX_K`.
    pub fn pack(b: &[i8], k: usize, n: usize) -> Result<PackedB> {
        if k > I8_MAX_K {
            return Err(KernelError::InvalidParams {
                op: "gemm_i8::PackedB::pack",
                reason: format!("k = {k} > {I8_MAX_K}: the s32 accumulator could overflow"),
            });
        }
        let len = k.checked_mul(n).ok_or_else(|| KernelError::InvalidParams {
            op: "gemm_i8::PackedB::pack",
            reason: format!("{k} x {n} overflows"),
        })?;
        check_len("gemm_i8::PackedB::pack", "b", len, b.len())?;
        let (panels, k4) = (n.div_ceil(NR), k.next_multiple_of(KR));
        let mut data = vec![0i8; panels * k4 * NR];
        let mut col_sums = vec![0i32; panels * NR];
        for (kk, row) in b.chunks_exact(n.max(1)).enumerate().take(k) {
            for (j, &v) in row.iter().enumerate() {
                // panel j / NR, group kk / 4, lane j % NR, byte kk % 4
                let (p, jj) = (j / NR, j % NR);
                data[p * k4 * NR + ((kk / KR) * NR + jj) * KR + kk % KR] = v;
                col_sums[j] += v as i32;
            }
        }
        Ok(PackedB { k, n, data, col_sums })
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

    /// Groups of 4 k per panel (`ceil(k / 4)`).
    pub(crate) fn groups(&self) -> usize {
        self.k.div_ceil(KR)
    }

    /// Panel `p`: `groups() · NR · 4` bytes.
    #[inline]
    pub(crate) fn panel(&self, p: usize) -> &[i8] {
        let len = self.groups() * NR * KR;
        &self.data[p * len..][..len]
    }

    /// The column sums of panel `p` (NR entries, zero past n).
    #[inline]
    pub(crate) fn col_sums(&self, p: usize) -> &[i32] {
        &self.col_sums[p * NR..][..NR]
    }

    /// Unpacks back to the row-major `k x n` matrix (allocates; for the reference tier and tests).
    pub fn to_row_major(&self) -> Vec<i8> {
        let mut b = vec![0i8; self.k * self.n];
        for (kk, row) in b.chunks_exact_mut(self.n.max(1)).enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = self.panel(j / NR)[((kk / KR) * NR + j % NR) * KR + kk % KR];
            }
        }
        b
    }
}

/// Something that can write the c4 micro-panels of an `m x k` u8 matrix A with zero point
/// [`zero_point`](PackA::zero_point).
///
/// `pack_panel(row0, rows, dst)` writes `dst[(g·MR + i)·4 + t] = A[row0 + i][4g + t]` for
/// `i < rows`, `4g + t < k`, and zero elsewhere; `dst.len() == MR · 4 · ceil(k / 4)`,
/// `rows <= MR`, `row0 + rows <= m`. A convolution implements it to pack image patches
/// straight into panels (its padding must then be the zero point, the code of real 0.0).
pub trait PackA: Sync {
    /// Rows of A.
    fn m(&self) -> usize;
    /// Columns of A (the reduction length).
    fn k(&self) -> usize;
    /// The code of real 0.0 in A.
    fn zero_point(&self) -> u8;
    /// Writes one micro-panel; see the trait docs.
    fn pack_panel(&self, row0: usize, rows: usize, dst: &mut [u8]);
}

/// A dense row-major u8 A: row `i` is `data[i·lda ..][..k]`.
#[derive(Debug, Clone, Copy)]
pub struct MatrixA<'a> {
    data: &'a [u8],
    m: usize,
    k: usize,
    lda: usize,
    zero_point: u8,
}

impl<'a> MatrixA<'a> {
    /// Wraps `data` as an `m x k` matrix with leading dimension `lda >= k` and zero point
    /// `zero_point`.
    pub fn new(data: &'a [u8], m: usize, k: usize, lda: usize, zero_point: u8) -> Result<MatrixA<'a>> {
        if lda < k {
            return Err(KernelError::InvalidParams {
                op: "gemm_i8::MatrixA",
                reason: format!("lda = {lda} < k = {k}"),
            });
        }
        let needed = if m == 0 || k == 0 { 0 } else { (m - 1) * lda + k };
        if data.len() < needed {
            return Err(KernelError::LengthMismatch {
                op: "gemm_i8::MatrixA",
                what: "a",
                expected: needed,
                got: data.len(),
            });
        }
        Ok(MatrixA {
            data,
            m,
            k,
            lda,
            zero_point,
        })
    }
}

impl PackA for MatrixA<'_> {
    fn m(&self) -> usize {
        self.m
    }

    fn k(&self) -> usize {
        self.k
    }

    fn zero_point(&self) -> u8 {
        self.zero_point
    }

    fn pack_panel(&self, row0: usize, rows: usize, dst: &mut [u8]) {
        let k = self.k;
        let full = k / KR * KR;
        if rows < MR || full < k {
            dst.fill(0);
        }
        for i in 0..rows {
            let src = &self.data[(row0 + i) * self.lda..][..k];
            // Whole groups: 4 bytes of row i go to lane i of group g.
            for (g, quad) in src[..full].chunks_exact(KR).enumerate() {
                dst[(g * MR + i) * KR..][..KR].copy_from_slice(quad);
            }
            // The last, partial group; its missing bytes stay zero.
            let tail = &src[full..];
            if !tail.is_empty() {
                dst[((full / KR) * MR + i) * KR..][..tail.len()].copy_from_slice(tail);
            }
        }
    }
}

/// Rows `row0 .. row0 + rows` of `a` as a row-major `rows x k` matrix (for the reference tier).
pub(crate) fn unpack_a_rows(a: &dyn PackA, row0: usize, rows: usize) -> Vec<u8> {
    let (k, groups) = (a.k(), a.k().div_ceil(KR));
    let mut out = vec![0u8; rows * k];
    let mut panel = vec![0u8; MR * KR * groups];
    for r0 in (0..rows).step_by(MR) {
        let panel_rows = MR.min(rows - r0);
        a.pack_panel(row0 + r0, panel_rows, &mut panel);
        for i in 0..panel_rows {
            for kk in 0..k {
                out[(r0 + i) * k + kk] = panel[((kk / KR) * MR + i) * KR + kk % KR];
            }
        }
    }
    out
}
