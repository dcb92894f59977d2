//! Int8 GEMM: u8 activations times per-column symmetric i8 weights, s32 accumulation, and a
//! requantizing epilogue.
//!
//! ```text
//! C[i][j] = requantize_j( Σ_k (A[i][k] − za) · B[k][j] )      A: m x k u8, B: k x n i8
//! ```
//!
//! A is a row-major u8 matrix with one zero point `za` (an activation tensor, see
//! [`crate::quant`] for scales and zero points); B holds the quantized weights, packed once
//! ([`PackedB::pack`]). The sum is exact in i32 (`k <= I8_MAX_K`) and [`Requantize`] turns it
//! into a u8 (the next layer's activation: [`gemm_u8_out`]) or an f32 ([`gemm_f32_out`]: the
//! classifier's logits). `ldc > n` writes into a channel slice of a wider buffer; columns
//! `n..ldc` are never touched.
//!
//! # Why u8 x i8, in groups of 4 (VNNI)
//!
//! AVX-512 VNNI's `vpdpbusd` multiplies *unsigned* bytes by *signed* bytes, 4 pairs per 32-bit
//! lane, and adds the four products to the lane's i32: 64 multiply-adds per instruction. So
//! activations are u8 (after ReLU they are non-negative anyway, and a zero point covers other
//! ranges) and weights i8, and both are packed with 4 consecutive k of one row/column in a
//! 32-bit lane (`pack.rs`). The zero point of A is not subtracted per product: `Σ (a − za)·b
//! = Σ a·b − za·Σ b`, and the column sums `Σ_k b[k][j]` are computed when B is packed.
//!
//! # The ladder (read in this order)
//!
//! 1. [`reference::gemm_u8_out_reference`]: the naive triple loop, the oracle.
//! 2. `frame.rs` + `portable.rs` (`i8_gemm_8x16c4_portable`): packing, blocking and an
//!    8 x 16 register tile in plain Rust.
//! 3. `x86_64.rs`: `i8_gemm_8x16c4_avx2` (widen to i16, `vpmaddwd`) and
//!    `i8_gemm_8x16c4_avx512vnni` (`vpdpbusd`), with the requantization in SIMD.
//! 4. Threads: row blocks over rayon; integer sums make every split give the same bits.
//!
//! A dense convolution runs as this GEMM with [`Im2colA`] as A: image patches (padding read as
//! the zero point) packed straight into the panels, B the HWIO weights as a
//! `[kh·kw·in_c][out_c]` matrix.
//!
//! Every tier is bit-identical to the oracle. The AVX-512 tier runs the VNNI kernel where the
//! CPU has VNNI and the AVX2 kernel otherwise; the NEON tier runs the portable kernel.

mod frame;
mod im2col;
mod pack;
mod portable;
pub mod reference;
#[cfg(target_arch = "x86_64")]
mod x86_64;

pub(crate) use frame::ItemArgs;
pub use im2col::Im2colA;
pub use pack::{MatrixA, PackA, PackedB};

use crate::dispatch::{kernel, Kernel, KernelTable};
use crate::error::{check_len, KernelError, Result};
use crate::quant::Requantize;
use crate::tier::Tier;
use frame::Out;

/// Rows of the register tile (rows of A per micro-panel).
pub const MR: usize = 8;
/// Columns of the register tile (columns of B per packed panel): 16 i32 lanes, one zmm.
pub const NR: usize = 16;
/// Consecutive k in one 32-bit lane of a packed panel (VNNI's 4 bytes).
pub const KR: usize = 4;
/// The most rows of one packed A block (fewer when k is long, to stay in L2).
pub const MC: usize = 192;

/// One thread's share of an int8 GEMM (see `frame.rs`).
pub(crate) type I8GemmItemFn = fn(ItemArgs);

/// The portable work item (every tier without a SIMD one).
pub(crate) fn portable_kernel() -> Kernel<I8GemmItemFn> {
    kernel!(portable::i8_gemm_8x16c4_portable)
}

/// The reference tier's work item.
pub(crate) fn reference_kernel() -> Kernel<I8GemmItemFn> {
    kernel!(reference::i8_gemm_item_reference)
}

/// The AVX2 work item, if this CPU has AVX2.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx2_kernel() -> Option<Kernel<I8GemmItemFn>> {
    x86_64::avx2_kernel()
}

/// The VNNI work item where the CPU has AVX-512 VNNI, else the AVX2 one.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx512_kernel() -> Option<Kernel<I8GemmItemFn>> {
    x86_64::avx512_kernel()
}

/// The name of the int8 micro-kernel a tier runs (`i8_gemm_8x16c4_avx512vnni`, ...).
pub fn kernel_name(tier: Tier) -> Result<&'static str> {
    Ok(KernelTable::for_tier(tier)?.gemm_i8.name)
}

/// `C = requantize(A · B)` as u8, with the tier from [`Tier::active`].
///
/// `c` holds row `i` at `c[i·ldc ..][..n]` and needs at least `(m−1)·ldc + n` elements.
pub fn gemm_u8_out(a: &dyn PackA, b: &PackedB, c: &mut [u8], ldc: usize, rq: &Requantize) -> Result<()> {
    gemm_u8_out_with_tier(Tier::active()?, a, b, c, ldc, rq)
}

/// [`gemm_u8_out`] with an explicit tier.
pub fn gemm_u8_out_with_tier(
    tier: Tier,
    a: &dyn PackA,
    b: &PackedB,
    c: &mut [u8],
    ldc: usize,
    rq: &Requantize,
) -> Result<()> {
    let item = KernelTable::for_tier(tier)?.gemm_i8.run;
    validate(a, b, c.len(), ldc, rq)?;
    if a.m() > 0 && b.n() > 0 {
        let len = (a.m() - 1) * ldc + b.n();
        frame::gemm_parallel(a, b, Out::U8(&mut c[..len]), ldc, rq, item);
    }
    Ok(())
}

/// `C = requantize(A · B)` as f32 (`Requantize::apply_f32`: dequantized, e.g. logits), with
/// the tier from [`Tier::active`].
pub fn gemm_f32_out(a: &dyn PackA, b: &PackedB, c: &mut [f32], ldc: usize, rq: &Requantize) -> Result<()> {
    gemm_f32_out_with_tier(Tier::active()?, a, b, c, ldc, rq)
}

/// [`gemm_f32_out`] with an explicit tier.
pub fn gemm_f32_out_with_tier(
    tier: Tier,
    a: &dyn PackA,
    b: &PackedB,
    c: &mut [f32],
    ldc: usize,
    rq: &Requantize,
) -> Result<()> {
    let item = KernelTable::for_tier(tier)?.gemm_i8.run;
    validate(a, b, c.len(), ldc, rq)?;
    if a.m() > 0 && b.n() > 0 {
        let len = (a.m() - 1) * ldc + b.n();
        frame::gemm_parallel(a, b, Out::F32(&mut c[..len]), ldc, rq, item);
    }
    Ok(())
}

/// Checks the shapes and the requantization parameters.
fn validate(a: &dyn PackA, b: &PackedB, c_len: usize, ldc: usize, rq: &Requantize) -> Result<()> {
    let (m, k, n) = (a.m(), a.k(), b.n());
    if b.k() != k {
        return Err(KernelError::InvalidParams {
            op: "gemm_i8",
            reason: format!("A is {m} x {k} but packed B is {} x {n}", b.k()),
        });
    }
    if ldc < n {
        return Err(KernelError::InvalidParams {
            op: "gemm_i8",
            reason: format!("ldc = {ldc} < n = {n}"),
        });
    }
    rq.validate("gemm_i8", n)?;
    let needed = if m == 0 || n == 0 { 0 } else { (m - 1) * ldc + n };
    if c_len < needed {
        return check_len("gemm_i8", "c", needed, c_len);
    }
    Ok(())
}
