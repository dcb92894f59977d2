//! Single-precision GEMM with a packed right-hand side and a fused epilogue.
//!
//! ```text
//! C[m x n] = epilogue(A[m x k] · B[k x n])      row-major; A has leading dim lda, C has ldc >= n
//! ```
//!
//! The epilogue ([`Epilogue`]) works per output *column* (= output channel of a convolution) and
//! is applied exactly once per element, after the whole K reduction. `ldc > n` lets a
//! convolution write into a channel slice of a wider NHWC buffer (a concatenation for free);
//! columns `n..ldc` of every row are never touched.
//!
//! # How it is computed (Goto & van de Geijn, "Anatomy of High-Performance Matrix
//! Multiplication", 2008; the BLIS loop numbering of Van Zee & van de Geijn, 2015)
//!
//! - **B is packed once** ([`PackedB::pack`]), when the weights load, into NR-wide column
//!   panels. Every KC-long slice of a panel is a contiguous `kc x NR` sliver, in the order the
//!   micro-kernel reads it.
//! - **A is packed per block** into MR-row micro-panels through the [`PackA`] trait, so a
//!   convolution packs image patches straight into the panels (im2col without ever
//!   materialising the im2col matrix); [`MatrixA`] is the dense-matrix packer.
//! - Five loops around a micro-kernel (see `frame.rs`): loop 5 splits n into NC blocks, loop 4
//!   splits k into KC blocks, loop 3 splits m into MC blocks (packing A), loop 2 walks NR
//!   panels of B, loop 1 walks MR panels of A, and the micro-kernel does a rank-kc update of one
//!   `MR x NR` register tile.
//! - Threads (rayon, the caller's pool) split **M into row blocks only** — never K — so every
//!   element is reduced in the same order whatever the thread count: results are bit-identical
//!   for 1 or 2 threads.
//!
//! # The ladder (read in this order)
//!
//! 1. [`reference::gemm_reference`]: the naive triple loop, the oracle.
//! 2. [`reference::gemm_loop_reordered`]: the same sum in i-k-j order (unit-stride inner loop).
//! 3. `frame.rs` + `portable.rs`: cache blocking, packing and a 6x16 register tile in plain Rust.
//! 4. `x86_64.rs`: the same tile with AVX2+FMA intrinsics (`f32_gemm_6x16_fma`), and with
//!    one zmm per row under AVX-512F (`f32_gemm_6x16_avx512`); `aarch64.rs`: the same tile as
//!    24 NEON accumulators (`f32_gemm_6x16_neon`).
//! 5. Threads: row blocks over rayon ([`gemm_with_tier`]).
//!
//! # Scratch memory
//!
//! The packed A block (at most `MC x KC` floats, 150 KiB) lives in a thread-local buffer
//! (`crate::scratch`) that grows once per thread and is reused by every later call: no
//! allocation on the hot path and no workspace argument to thread through the callers.

#[cfg(target_arch = "aarch64")]
mod aarch64;
mod frame;
mod pack;
pub(crate) mod portable;
pub mod reference;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm32;
#[cfg(target_arch = "x86_64")]
mod x86_64;

/// The epilogue's columns, shared with the bf16 GEMM's AVX-512 tile.
#[cfg(target_arch = "x86_64")]
pub(crate) use frame::EpilogueCols;
pub(crate) use frame::{reserve_a_scratch, ItemArgs};
pub(crate) use pack::interleave6;
#[doc(hidden)]
pub use pack::OwnPackA;
pub use pack::{MatrixA, PackA, PackedB};
/// The AVX-512 epilogue of 16 columns, shared with the bf16 GEMM (one definition of the
/// epilogue's SIMD rounding).
#[cfg(target_arch = "x86_64")]
pub(crate) use x86_64::epilogue_16;

#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    all(target_arch = "wasm32", target_feature = "simd128")
))]
use crate::dispatch::Kernel;
use crate::dispatch::{GemmItemFn, KernelTable};
use crate::epilogue::Epilogue;
use crate::error::{check_len, KernelError, Result};
use crate::tier::Tier;
use ndarray::{Array2, ArrayView2};

/// Rows of the register tile (rows of A per micro-panel).
pub const MR: usize = 6;
/// Columns of the register tile (columns of B per packed panel); two 8-lane AVX vectors.
pub const NR: usize = 16;
/// Depth of one K block: a `KC x NR` sliver of B (20 KiB) and an `MR x KC` panel of A (7.5 KiB)
/// stay in the 32 KiB L1. The K blocks are balanced (`k = 1152` runs as 4 x 288), see `frame.rs`.
pub const KC: usize = 320;
/// Rows of one M block (a multiple of MR): a packed `MC x KC` block of A (150 KiB) stays in L2.
pub const MC: usize = 120;
/// Columns of one N block. B is packed ahead of time, so this only bounds the slab of B that is
/// streamed from L3 per K block; our layers have n <= 512, i.e. one block.
pub const NC: usize = 2048;

/// The name of the micro-kernel a tier runs (`f32_gemm_6x16_fma`, ...), for benchmark logs.
pub fn kernel_name(tier: Tier) -> Result<&'static str> {
    Ok(KernelTable::for_tier(tier)?.gemm.name)
}

/// The AVX2+FMA work item, if this CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx2_kernel() -> Option<Kernel<GemmItemFn>> {
    x86_64::avx2_kernel()
}

/// The NEON work item (aarch64).
#[cfg(target_arch = "aarch64")]
pub(crate) fn neon_kernel() -> Option<Kernel<GemmItemFn>> {
    aarch64::neon_kernel()
}

/// The WebAssembly SIMD128 work item (wasm32 built with `+simd128`).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) fn simd128_kernel() -> Option<Kernel<GemmItemFn>> {
    wasm32::simd128_kernel()
}

/// The AVX-512 work item, if this CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx512_kernel() -> Option<Kernel<GemmItemFn>> {
    x86_64::avx512_kernel()
}

/// `C = epilogue(A · B)` with the tier from [`Tier::active`].
///
/// `c` holds row `i` at `c[i·ldc ..][..n]`; it needs at least `(m-1)·ldc + n` elements (more is
/// fine and left untouched). Writes only those `m x n` elements.
pub fn gemm(a: &dyn PackA, b: &PackedB, c: &mut [f32], ldc: usize, epilogue: &Epilogue) -> Result<()> {
    gemm_with_tier(Tier::active()?, a, b, c, ldc, epilogue)
}

/// [`gemm`] with an explicit tier.
///
/// The reference tier only receives packed operands here, so its work item unpacks them
/// (allocating) and runs the naive loops; tests call [`reference::gemm_reference`] on the plain
/// matrices instead, so the packers are tested too.
pub fn gemm_with_tier(
    tier: Tier,
    a: &dyn PackA,
    b: &PackedB,
    c: &mut [f32],
    ldc: usize,
    epilogue: &Epilogue,
) -> Result<()> {
    let item = KernelTable::for_tier(tier)?.gemm.run;
    let Some(c) = checked_c(a, b, c, ldc, epilogue)? else {
        return Ok(());
    };
    frame::gemm_parallel(a, b, c, ldc, epilogue, item);
    Ok(())
}

/// [`gemm_with_tier`] on the calling thread only, without splitting rows over rayon.
///
/// For kernels that parallelise over their own independent work (Winograd runs 36 small
/// products per block of tiles, one block per thread). Same results as [`gemm_with_tier`]:
/// the row split never changes the order of a reduction.
pub(crate) fn gemm_serial(
    item: GemmItemFn,
    a: &dyn PackA,
    b: &PackedB,
    c: &mut [f32],
    ldc: usize,
    epilogue: &Epilogue,
) -> Result<()> {
    let Some(c) = checked_c(a, b, c, ldc, epilogue)? else {
        return Ok(());
    };
    frame::gemm_serial(a, b, c, ldc, epilogue, item);
    Ok(())
}

/// Validates a GEMM and handles the empty cases: `Some(c)`, trimmed to the `m x n` elements
/// it covers, when there are products to compute; `None` when there is nothing left to do
/// (m or n is 0, or k is 0 and every element became the epilogue of 0).
fn checked_c<'c>(
    a: &dyn PackA,
    b: &PackedB,
    c: &'c mut [f32],
    ldc: usize,
    epilogue: &Epilogue,
) -> Result<Option<&'c mut [f32]>> {
    let (m, k, n) = (a.m(), a.k(), b.n());
    validate(m, k, n, b.k(), c.len(), ldc, epilogue)?;
    if m == 0 || n == 0 {
        return Ok(None);
    }
    let c = &mut c[..(m - 1) * ldc + n];
    if k == 0 {
        // An empty sum: every element is the epilogue of 0.
        c.chunks_mut(ldc).for_each(|row| {
            row[..n]
                .iter_mut()
                .enumerate()
                .for_each(|(j, v)| *v = epilogue.apply(j, 0.0))
        });
        return Ok(None);
    }
    Ok(Some(c))
}

/// Checks the shapes shared by every GEMM entry point.
pub(crate) fn validate(
    m: usize,
    k: usize,
    n: usize,
    b_k: usize,
    c_len: usize,
    ldc: usize,
    epilogue: &Epilogue,
) -> Result<()> {
    if b_k != k {
        return Err(KernelError::InvalidParams {
            op: "gemm",
            reason: format!("A is {m} x {k} but packed B is {b_k} x {n}"),
        });
    }
    if ldc < n {
        return Err(KernelError::InvalidParams {
            op: "gemm",
            reason: format!("ldc = {ldc} < n = {n}"),
        });
    }
    epilogue.validate("gemm", n)?;
    let needed = if m == 0 || n == 0 { 0 } else { (m - 1) * ldc + n };
    if c_len < needed {
        return check_len("gemm", "c", needed, c_len);
    }
    Ok(())
}

/// `epilogue(a · b)` as a new array: the ndarray face of [`gemm`].
///
/// A row-major `a` is used in place; any other layout is copied to row-major first.
pub fn matmul(a: ArrayView2<f32>, b: &PackedB, epilogue: &Epilogue) -> Result<Array2<f32>> {
    let (m, k) = a.dim();
    let mut c = Array2::<f32>::zeros((m, b.n()));
    let a = a.as_standard_layout(); // borrows when already row-major, copies otherwise
    let data = a.as_slice().expect("standard layout is contiguous");
    let a = MatrixA::new(data, m, k, k)?;
    let ldc = b.n();
    gemm(
        &a,
        b,
        c.as_slice_mut().expect("fresh array is contiguous"),
        ldc,
        epilogue,
    )?;
    Ok(c)
}
