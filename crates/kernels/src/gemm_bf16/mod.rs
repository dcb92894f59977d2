//! bf16 GEMM: f32 matrices multiplied as bfloat16, with f32 accumulation and the f32 epilogue.
//!
//! ```text
//! C[m x n] = epilogue(bf16(A) · bf16(B))      row-major f32 in and out; ldc >= n
//! ```
//!
//! B (the weights) is rounded to bf16 and packed once ([`PackedB::pack`], half the bytes of
//! f32); A comes through the f32 GEMM's [`PackA`] (a dense [`crate::gemm::MatrixA`] or a
//! convolution's patch packer) and is rounded to bf16 as it is packed. The products are
//! summed in f32 exactly as AVX-512 BF16's `vdpbf16ps` does (pairs of k, the odd one first,
//! subnormals flushed: [`crate::bf16`]), and the [`Epilogue`] is the f32 GEMM's.
//!
//! # Why bf16
//!
//! `vdpbf16ps` does 2 multiply-adds per f32 lane where an FMA does 1, and bf16 weights take
//! half the memory traffic; the price is 8 significant bits per operand (relative error ≤
//! 2^-8 on each input), while the accumulation keeps f32's 24.
//!
//! # The ladder
//!
//! 1. [`reference::gemm_bf16_reference`]: the naive loops, one accumulator per output. The
//!    oracle.
//! 2. `frame.rs` + `portable.rs` (`bf16_gemm_12x16c2_portable`): packing and a 12 x 16 tile in
//!    plain Rust, with `vdpbf16ps`'s rounding.
//! 3. `x86_64.rs` (`bf16_gemm_12x16c2_avx512bf16`): the same tile with `vdpbf16ps`.
//!
//! All three give the same bits: every output is summed from +0.0 over the pairs in order,
//! with no K blocking and no thread splitting of a sum. Tiers without AVX512_BF16 (AVX2,
//! AVX-512F without BF16, NEON) run the portable kernel: correct, and slow.

mod frame;
mod pack;
mod portable;
pub mod reference;
#[cfg(target_arch = "x86_64")]
mod x86_64;

pub(crate) use frame::ItemArgs;
pub use pack::PackedB;

use crate::dispatch::{kernel, Kernel, KernelTable};
use crate::epilogue::Epilogue;
use crate::error::{check_len, KernelError, Result};
use crate::gemm::PackA;
use crate::tier::Tier;

/// Rows of the register tile: two of the f32 GEMM's 6-row A panels.
pub const MR: usize = 2 * crate::gemm::MR;
/// Columns of the register tile (columns of B per packed panel): 16 f32 lanes, one zmm.
pub const NR: usize = 16;
/// Consecutive k in one 32-bit lane of a packed panel (a bf16 pair).
pub const KR: usize = 2;
/// The most rows of one packed A block (fewer when k is long, to stay in L2).
pub const MC: usize = 192;

/// One thread's share of a bf16 GEMM (see `frame.rs`).
pub(crate) type Bf16GemmItemFn = fn(ItemArgs);
/// `dst[i] = bf16(src[i])` over equal-length slices.
#[cfg(target_arch = "x86_64")]
pub(crate) type Bf16RoundFn = fn(&[f32], &mut [u16]);

/// The portable work item (every tier without AVX-512 BF16).
pub(crate) fn portable_kernel() -> Kernel<Bf16GemmItemFn> {
    kernel!(portable::bf16_gemm_12x16c2_portable)
}

/// The reference tier's work item.
pub(crate) fn reference_kernel() -> Kernel<Bf16GemmItemFn> {
    kernel!(reference::bf16_gemm_item_reference)
}

/// The AVX-512 BF16 work item where the CPU has it, else the portable one.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx512_kernel() -> Kernel<Bf16GemmItemFn> {
    x86_64::avx512_bf16_kernel().unwrap_or_else(portable_kernel)
}

/// `dst[i] = bf16(src[i])` (bit patterns) at `tier`: `vcvtneps2bf16` on the AVX-512 tier of a
/// CPU with AVX512_BF16, [`crate::bf16::f32_to_bf16`] elsewhere — the same bits (tested).
/// For callers that store activations as bf16, and for checking the rounding against the
/// hardware.
pub fn round_to_bf16_with_tier(tier: Tier, src: &[f32], dst: &mut [u16]) -> Result<()> {
    tier.ensure_available()?;
    check_len("gemm_bf16::round_to_bf16", "dst", src.len(), dst.len())?;
    #[cfg(target_arch = "x86_64")]
    if let (Tier::Avx512, Some(k)) = (tier, x86_64::round_kernel()) {
        (k.run)(src, dst);
        return Ok(());
    }
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = crate::bf16::f32_to_bf16(s);
    }
    Ok(())
}

/// The name of the bf16 micro-kernel a tier runs (`bf16_gemm_12x16c2_avx512bf16`, ...).
pub fn kernel_name(tier: Tier) -> Result<&'static str> {
    Ok(KernelTable::for_tier(tier)?.gemm_bf16.name)
}

/// `C = epilogue(bf16(A) · bf16(B))` with the tier from [`Tier::active`].
///
/// `c` holds row `i` at `c[i·ldc ..][..n]` and needs at least `(m−1)·ldc + n` elements (more
/// is left untouched).
pub fn gemm(a: &dyn PackA, b: &PackedB, c: &mut [f32], ldc: usize, epilogue: &Epilogue) -> Result<()> {
    gemm_with_tier(Tier::active()?, a, b, c, ldc, epilogue)
}

/// [`gemm`] with an explicit tier.
pub fn gemm_with_tier(
    tier: Tier,
    a: &dyn PackA,
    b: &PackedB,
    c: &mut [f32],
    ldc: usize,
    epilogue: &Epilogue,
) -> Result<()> {
    let item = KernelTable::for_tier(tier)?.gemm_bf16.run;
    let (m, k, n) = (a.m(), a.k(), b.n());
    if b.k() != k {
        return Err(KernelError::InvalidParams {
            op: "gemm_bf16",
            reason: format!("A is {m} x {k} but packed B is {} x {n}", b.k()),
        });
    }
    if ldc < n {
        return Err(KernelError::InvalidParams {
            op: "gemm_bf16",
            reason: format!("ldc = {ldc} < n = {n}"),
        });
    }
    epilogue.validate("gemm_bf16", n)?;
    let needed = if m == 0 || n == 0 { 0 } else { (m - 1) * ldc + n };
    if c.len() < needed {
        return check_len("gemm_bf16", "c", needed, c.len());
    }
    if needed > 0 {
        frame::gemm_parallel(a, b, &mut c[..needed], ldc, epilogue, item);
    }
    Ok(())
}
