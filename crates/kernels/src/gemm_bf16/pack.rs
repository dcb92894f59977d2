//! Packing for the bf16 GEMM: B rounded to bf16 in `vdpbf16ps`'s layout (once), A rounded per
//! block from the f32 GEMM's micro-panels.
//!
//! `vdpbf16ps` multiplies, in each 32-bit lane, a *pair* of bf16 from one operand by a pair
//! from the other. So both operands keep **2 consecutive k of one row/column in a 32-bit
//! lane** ("c2"):
//!
//! ```text
//! packed B, panel p (columns p·NR ..+NR), group g (k = 2g, 2g+1): 64 bytes = one zmm
//!   [ b[2g][j0] b[2g+1][j0] | b[2g][j0+1] b[2g+1][j0+1] | ... | b[2g+1][j0+15] ]
//!
//! packed A micro-panel (rows r ..+MR), group g: MR pairs, each broadcast to every lane
//!   [ a[r][2g] a[r][2g+1] | a[r+1][2g] a[r+1][2g+1] | ... | a[r+11][2g+1] ]
//! ```
//!
//! An odd k is padded with a zero element in both (its product, 0·0, adds +0.0); columns past
//! n and rows past m are zero. A comes through the f32 GEMM's [`PackA`] (so every convolution
//! packer — im2col, upsample-concat — serves the bf16 GEMM unchanged): two 6-row f32 panels per
//! 12-row bf16 panel, KC columns at a time, each value rounded by [`f32_to_bf16`].

use super::{KR, MR, NR};
use crate::bf16::f32_to_bf16;
use crate::error::{check_len, KernelError, Result};
use crate::gemm::{PackA, KC, MR as F32_MR};

/// Weights rounded to bf16 and packed for the bf16 GEMM (built once when the weights load):
/// half the bytes of the f32 [`crate::gemm::PackedB`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedB {
    k: usize,
    n: usize,
    /// Panels back to back, each `ceil(k/2) · NR · 2` bf16 bit patterns.
    data: Vec<u16>,
}

impl PackedB {
    /// Rounds the row-major `k x n` f32 matrix `b` (`b[kk·n + j]`) to bf16 and packs it.
    pub fn pack(b: &[f32], k: usize, n: usize) -> Result<PackedB> {
        let len = k.checked_mul(n).ok_or_else(|| KernelError::InvalidParams {
            op: "gemm_bf16::PackedB::pack",
            reason: format!("{k} x {n} overflows"),
        })?;
        check_len("gemm_bf16::PackedB::pack", "b", len, b.len())?;
        let (panels, groups) = (n.div_ceil(NR), k.div_ceil(KR));
        let mut data = vec![0u16; panels * groups * NR * KR];
        for (kk, row) in b.chunks_exact(n.max(1)).enumerate().take(k) {
            for (j, &v) in row.iter().enumerate() {
                let (p, jj) = (j / NR, j % NR);
                data[(p * groups + kk / KR) * NR * KR + jj * KR + kk % KR] = f32_to_bf16(v);
            }
        }
        Ok(PackedB { k, n, data })
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

    /// Pairs of k per panel (`ceil(k / 2)`).
    pub(crate) fn groups(&self) -> usize {
        self.k.div_ceil(KR)
    }

    /// Panel `p`: `groups() · NR · 2` bf16.
    #[inline]
    pub(crate) fn panel(&self, p: usize) -> &[u16] {
        let len = self.groups() * NR * KR;
        &self.data[p * len..][..len]
    }

    /// The bf16 bits of B as a row-major `k x n` matrix (allocates; for the reference tier
    /// and tests).
    pub fn to_row_major_bits(&self) -> Vec<u16> {
        let mut b = vec![0u16; self.k * self.n];
        for (kk, row) in b.chunks_exact_mut(self.n.max(1)).enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = self.panel(j / NR)[((kk / KR) * NR + j % NR) * KR + kk % KR];
            }
        }
        b
    }
}

/// Writes the bf16 micro-panel of rows `row0 .. row0 + rows` (`rows <= MR`) of `a`, all of k:
/// `dst[(g·MR + i)·2 + t] = bf16(A[row0 + i][2g + t])`, zero past k and past `rows`.
/// `dst.len() == MR · 2 · ceil(k / 2)`.
pub(crate) fn pack_a_panel(a: &dyn PackA, row0: usize, rows: usize, dst: &mut [u16]) {
    // Chunks of KC columns start on a pair boundary.
    const { assert!(KC.is_multiple_of(KR)) };
    let k = a.k();
    if rows < MR || !k.is_multiple_of(KR) {
        dst.fill(0);
    }
    // One f32 micro-panel of 6 rows and at most KC (even) columns, tmp[kk·6 + i], and the
    // same rounded to bf16 in a straight (vectorisable) loop.
    let mut tmp = [0.0f32; F32_MR * KC];
    let mut tmp16 = [0u16; F32_MR * KC];
    for half in 0..MR / F32_MR {
        let r = half * F32_MR;
        let half_rows = rows.saturating_sub(r).min(F32_MR);
        if half_rows == 0 {
            continue;
        }
        for k0 in (0..k).step_by(KC) {
            let kc = KC.min(k - k0);
            let (tmp, tmp16) = (&mut tmp[..F32_MR * kc], &mut tmp16[..F32_MR * kc]);
            a.pack_panel(row0 + r, half_rows, k0, kc, tmp);
            for (h, &v) in tmp16.iter_mut().zip(tmp.iter()) {
                *h = f32_to_bf16(v);
            }
            // Interleave k pairs: columns kk = 2q and 2q + 1 of row i become one 32-bit lane.
            // k0 is a multiple of KC (even), so pair q of this chunk is group k0/2 + q.
            for (q, pair) in tmp16.chunks(2 * F32_MR).enumerate() {
                let (even, odd) = pair.split_at(F32_MR.min(pair.len()));
                let lane = ((k0 / KR + q) * MR + r) * KR;
                for i in 0..half_rows {
                    dst[lane + i * KR] = even[i];
                    if let Some(&o) = odd.get(i) {
                        dst[lane + i * KR + 1] = o;
                    }
                }
            }
        }
    }
}

/// Rows `row0 .. row0 + rows` of `a`, rounded to bf16, as a row-major `rows x k` matrix of bit
/// patterns (for the reference tier).
pub(crate) fn unpack_a_rows(a: &dyn PackA, row0: usize, rows: usize) -> Vec<u16> {
    let (k, groups) = (a.k(), a.k().div_ceil(KR));
    let mut out = vec![0u16; rows * k];
    let mut panel = vec![0u16; MR * KR * groups];
    for r0 in (0..rows).step_by(MR) {
        let panel_rows = MR.min(rows - r0);
        pack_a_panel(a, row0 + r0, panel_rows, &mut panel);
        for i in 0..panel_rows {
            for kk in 0..k {
                out[(r0 + i) * k + kk] = panel[((kk / KR) * MR + i) * KR + kk % KR];
            }
        }
    }
    out
}
