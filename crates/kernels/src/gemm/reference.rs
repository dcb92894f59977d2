//! The first rungs of the GEMM ladder, on plain row-major matrices (no packing).
//!
//! [`gemm_reference`] is the oracle every faster tier is tested against: one dot product per
//! output element, in the textbook i-j-k order. [`gemm_loop_reordered`] computes the same sums
//! in i-k-j order, so the inner loop walks a row of B and a row of C with unit stride and
//! vectorises; it is the first optimisation step of how-to-optimize-gemm, before blocking.

use super::frame::ItemArgs;
use super::pack::unpack_a_rows;
use crate::epilogue::Epilogue;
use crate::error::{check_len, Result};

/// Validates the plain-matrix arguments of the reference functions.
#[allow(clippy::too_many_arguments)]
fn validate(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &[f32],
    ldc: usize,
    epilogue: &Epilogue,
) -> Result<()> {
    let need = |rows: usize, cols: usize, ld: usize| {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * ld + cols
        }
    };
    for (what, ld, cols) in [("lda", lda, k), ("ldb", ldb, n), ("ldc", ldc, n)] {
        if ld < cols {
            return Err(crate::KernelError::InvalidParams {
                op: "gemm_reference",
                reason: format!("{what} = {ld} < {cols}"),
            });
        }
    }
    for (what, len, needed) in [
        ("a", a.len(), need(m, k, lda)),
        ("b", b.len(), need(k, n, ldb)),
        ("c", c.len(), need(m, n, ldc)),
    ] {
        if len < needed {
            check_len("gemm_reference", what, needed, len)?;
        }
    }
    epilogue.validate("gemm_reference", n)
}

/// `C = epilogue(A · B)`, naively: `C[i][j] = epi_j(Σ_kk A[i][kk] · B[kk][j])`.
///
/// `a[i·lda + kk]` is `A[i][kk]` (m x k), `b[kk·ldb + j]` is `B[kk][j]` (k x n), and
/// `c[i·ldc + j]` receives `C[i][j]`; nothing else of `c` is written.
#[allow(clippy::too_many_arguments)]
pub fn gemm_reference(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    epilogue: &Epilogue,
) -> Result<()> {
    validate(m, k, n, a, lda, b, ldb, c, ldc, epilogue)?;
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for kk in 0..k {
                acc += a[i * lda + kk] * b[kk * ldb + j];
            }
            c[i * ldc + j] = epilogue.apply(j, acc);
        }
    }
    Ok(())
}

/// The same product in i-k-j order: for each row i, `C[i][:] += A[i][kk] · B[kk][:]`.
///
/// Every element is still summed over kk = 0, 1, ... in order (identical results to
/// [`gemm_reference`]); only the loop nest changed, making the inner loop unit-stride.
#[allow(clippy::too_many_arguments)]
pub fn gemm_loop_reordered(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    epilogue: &Epilogue,
) -> Result<()> {
    validate(m, k, n, a, lda, b, ldb, c, ldc, epilogue)?;
    for i in 0..m {
        let c_row = &mut c[i * ldc..][..n];
        c_row.fill(0.0);
        for kk in 0..k {
            let aik = a[i * lda + kk];
            for (cj, &bj) in c_row.iter_mut().zip(&b[kk * ldb..][..n]) {
                *cj += aik * bj;
            }
        }
        epilogue.apply_row(c_row, 0);
    }
    Ok(())
}

/// The oracle as the reference tier's GEMM work item (the kernel table's signature): rows
/// `row0 .. row0 + rows` of C by the naive i-j-k loops of [`gemm_reference`], on A and B
/// unpacked from their packed forms (allocating; this tier is for testing).
pub(crate) fn gemm_item_reference(args: ItemArgs) {
    let (k, n, ldc) = (args.a.k(), args.b.n(), args.ldc);
    let a = unpack_a_rows(args.a, args.row0, args.rows);
    let b = args.b.to_row_major();
    for i in 0..args.rows {
        for j in 0..n {
            let mut acc = 0.0f32;
            for kk in 0..k {
                acc += a[i * k + kk] * b[kk * n + j];
            }
            args.c[i * ldc + j] = args.epilogue.apply(j, acc);
        }
    }
}
