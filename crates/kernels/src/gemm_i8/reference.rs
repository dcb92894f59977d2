//! The int8 GEMM's oracle, on plain row-major matrices (no packing, no column sums).
//!
//! `C[i][j] = requantize_j( Σ_k (A[i][k] − za) · B[k][j] )`: the zero point is subtracted from
//! every activation, as the definition says, so the tests also check the column-sum algebra
//! of the fast tiers.

use super::frame::{ItemArgs, Out};
use super::pack::unpack_a_rows;
use crate::error::{check_len, KernelError, Result};
use crate::quant::{Requantize, I8_MAX_K};

/// `Σ_kk (a[kk] − za) · b[kk·ldb + j]` over `a.len()` terms, exactly (see [`I8_MAX_K`]).
fn dot(a: &[u8], za: u8, b: &[i8], ldb: usize, j: usize) -> i32 {
    a.iter()
        .enumerate()
        .map(|(kk, &x)| (x as i32 - za as i32) * b[kk * ldb + j] as i32)
        .sum()
}

/// Validates the plain-matrix arguments of the reference functions.
#[allow(clippy::too_many_arguments)]
fn validate(
    (m, k, n): (usize, usize, usize),
    (a, lda): (&[u8], usize),
    (b, ldb): (&[i8], usize),
    (c_len, ldc): (usize, usize),
    rq: &Requantize,
) -> Result<()> {
    let op = "gemm_i8_reference";
    if k > I8_MAX_K {
        return Err(KernelError::InvalidParams {
            op,
            reason: format!("k = {k} > {I8_MAX_K}"),
        });
    }
    let need = |rows: usize, cols: usize, ld: usize| {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * ld + cols
        }
    };
    for (what, ld, cols) in [("lda", lda, k), ("ldb", ldb, n), ("ldc", ldc, n)] {
        if ld < cols {
            return Err(KernelError::InvalidParams {
                op,
                reason: format!("{what} = {ld} < {cols}"),
            });
        }
    }
    for (what, len, needed) in [
        ("a", a.len(), need(m, k, lda)),
        ("b", b.len(), need(k, n, ldb)),
        ("c", c_len, need(m, n, ldc)),
    ] {
        if len < needed {
            check_len(op, what, needed, len)?;
        }
    }
    rq.validate(op, n)
}

/// `C = requantize(A · B)` to u8, naively: `c[i·ldc + j] = rq.apply_u8(j, Σ_k (a[i·lda + k] −
/// za) · b[k·ldb + j])` for an `m x k` u8 `a` and a `k x n` i8 `b`; nothing else of `c` is
/// written.
#[allow(clippy::too_many_arguments)]
pub fn gemm_u8_out_reference(
    (m, k, n): (usize, usize, usize),
    a: &[u8],
    lda: usize,
    za: u8,
    b: &[i8],
    ldb: usize,
    c: &mut [u8],
    ldc: usize,
    rq: &Requantize,
) -> Result<()> {
    validate((m, k, n), (a, lda), (b, ldb), (c.len(), ldc), rq)?;
    for i in 0..m {
        for j in 0..n {
            c[i * ldc + j] = rq.apply_u8(j, dot(&a[i * lda..][..k], za, b, ldb, j));
        }
    }
    Ok(())
}

/// [`gemm_u8_out_reference`] with f32 outputs `rq.apply_f32(j, acc)` (dequantized, for the
/// classifier).
#[allow(clippy::too_many_arguments)]
pub fn gemm_f32_out_reference(
    (m, k, n): (usize, usize, usize),
    a: &[u8],
    lda: usize,
    za: u8,
    b: &[i8],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    rq: &Requantize,
) -> Result<()> {
    validate((m, k, n), (a, lda), (b, ldb), (c.len(), ldc), rq)?;
    for i in 0..m {
        for j in 0..n {
            c[i * ldc + j] = rq.apply_f32(j, dot(&a[i * lda..][..k], za, b, ldb, j));
        }
    }
    Ok(())
}

/// The oracle as the reference tier's work item: rows `row0 .. row0 + rows` of C by the naive
/// loops, on A and B unpacked from their packed forms (allocating; this tier is for testing).
pub(crate) fn i8_gemm_item_reference(args: ItemArgs) {
    let (k, n, ldc, za) = (args.a.k(), args.b.n(), args.ldc, args.a.zero_point());
    let a = unpack_a_rows(args.a, args.row0, args.rows);
    let b = args.b.to_row_major();
    let mut c = args.c;
    for i in 0..args.rows {
        for j in 0..n {
            let acc = dot(&a[i * k..][..k], za, &b, n, j);
            match &mut c {
                Out::U8(c) => c[i * ldc + j] = args.rq.apply_u8(j, acc),
                Out::F32(c) => c[i * ldc + j] = args.rq.apply_f32(j, acc),
            }
        }
    }
}
