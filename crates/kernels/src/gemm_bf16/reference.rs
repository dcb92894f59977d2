//! The bf16 GEMM's oracle, on a plain row-major f32 A and B (no packing).
//!
//! `C[i][j] = epi_j(Σ_g dpbf16(pair g of row i of bf16(A), pair g of column j of bf16(B)))`:
//! both operands rounded to bf16 by [`f32_to_bf16`], then one accumulator per output from
//! +0.0 over the pairs `(2g, 2g+1)` in order (an odd k padded with a zero), each pair through
//! [`dpbf16_lane`], the one-lane model of `vdpbf16ps` (see [`crate::bf16`]).

use super::frame::ItemArgs;
use super::pack::unpack_a_rows;
use crate::bf16::{dpbf16_lane, f32_to_bf16};
use crate::epilogue::Epilogue;
use crate::error::{check_len, KernelError, Result};

/// The bf16 dot product of `a` (k bit patterns) with column `j` of the row-major bit pattern
/// matrix `b` (`ldb` apart), in `vdpbf16ps`'s pair order.
fn dot(a: &[u16], b: &[u16], ldb: usize, j: usize) -> f32 {
    let at = |kk: usize| {
        if kk < a.len() {
            (a[kk], b[kk * ldb + j])
        } else {
            (0, 0)
        }
    };
    (0..a.len().div_ceil(2)).fold(0.0f32, |acc, g| {
        let ((a0, b0), (a1, b1)) = (at(2 * g), at(2 * g + 1));
        dpbf16_lane(acc, [a0, a1], [b0, b1])
    })
}

/// `C = epilogue(bf16(A) · bf16(B))` naively; `a[i·lda + kk]` is `A[i][kk]` (m x k),
/// `b[kk·ldb + j]` is `B[kk][j]` (k x n), and `c[i·ldc + j]` receives `C[i][j]`; nothing else of
/// `c` is written.
#[allow(clippy::too_many_arguments)]
pub fn gemm_bf16_reference(
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    epilogue: &Epilogue,
) -> Result<()> {
    let op = "gemm_bf16_reference";
    for (what, ld, cols) in [("lda", lda, k), ("ldb", ldb, n), ("ldc", ldc, n)] {
        if ld < cols {
            return Err(KernelError::InvalidParams {
                op,
                reason: format!("{what} = {ld} < {cols}"),
            });
        }
    }
    let need = |rows: usize, cols: usize, ld: usize| {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * ld + cols
        }
    };
    for (what, len, needed) in [
        ("a", a.len(), need(m, k, lda)),
        ("b", b.len(), need(k, n, ldb)),
        ("c", c.len(), need(m, n, ldc)),
    ] {
        if len < needed {
            check_len(op, what, needed, len)?;
        }
    }
    epilogue.validate(op, n)?;
    let b16: Vec<u16> = (0..k * n)
        .map(|i| f32_to_bf16(b[(i / n.max(1)) * ldb + i % n.max(1)]))
        .collect();
    for i in 0..m {
        let a16: Vec<u16> = a[i * lda..][..k].iter().map(|&x| f32_to_bf16(x)).collect();
        for j in 0..n {
            c[i * ldc + j] = epilogue.apply(j, dot(&a16, &b16, n, j));
        }
    }
    Ok(())
}

/// The oracle as the reference tier's work item: rows `row0 .. row0 + rows` of C by the naive
/// loops on A and B unpacked from their packed forms (allocating; this tier is for testing).
pub(crate) fn bf16_gemm_item_reference(args: ItemArgs) {
    let (k, n, ldc) = (args.a.k(), args.b.n(), args.ldc);
    let a = unpack_a_rows(args.a, args.row0, args.rows);
    let b = args.b.to_row_major_bits();
    for i in 0..args.rows {
        for j in 0..n {
            args.c[i * ldc + j] = args.epilogue.apply(j, dot(&a[i * k..][..k], &b, n, j));
        }
    }
}
