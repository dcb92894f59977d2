//! Winograd F(4x4, 3x3): dense 3x3 stride-1 convolution with 36 multiplies per 16 outputs
//! instead of 144.
//!
//! # Why it needs fewer multiplies
//!
//! A direct 3x3 convolution spends 9 multiply-adds per output, per input channel: a 4x4 block
//! of outputs costs 16 · 9 = 144. Winograd's minimal filtering algorithm (Lavin & Gray, "Fast
//! Algorithms for Convolutional Neural Networks", 2016) computes the same 4x4 block from the
//! 6x6 input tile around it with 6 · 6 = **36** multiplies, by moving both operands into a
//! domain where convolution is an element-wise product:
//!
//! ```text
//! Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A        d: 6x6 input tile, g: 3x3 filter, Y: 4x4 outputs
//! ```
//!
//! The transforms are additions and multiplications by small constants (see
//! `reference.rs` for the matrices). Summed over input channels, the element-wise products
//! become **36 independent matrix products**, one per tile position ("frequency") ξ:
//!
//! ```text
//! M_ξ [tiles x Cout] = V_ξ [tiles x Cin] · U_ξ [Cin x Cout]       ξ = 0 .. 36
//! ```
//!
//! which is exactly what our GEMM is good at. Per output the arithmetic drops from 9·Cin to
//! 36/16·Cin = 2.25·Cin multiply-adds: **4x fewer**, paid for with the transforms, which cost
//! O(Cin + Cout) per tile rather than O(Cin · Cout).
//!
//! # Where the error comes from
//!
//! The transforms are exact in real arithmetic, but `Bᵀ` and `Aᵀ` have entries up to 8 and
//! `G` has 1/6 and 1/24: in f32, values of very different sizes are added inside the
//! transforms, and the rounding error grows about an order of magnitude above the direct
//! convolution's (the tests measure it against the direct reference: 5-8e-6 of the largest
//! output on the model's decoder shapes, against ~1e-7 for the direct convolution). The points
//! 0, ±1, ±2, ∞ are the classic choice for F(4x4, 3x3). F(6x6, 3x3) needs ±1/2 as well, which
//! puts 32 into `Aᵀ`; `tools/winograd_error.py` measured its f32 error on the decoder's shapes
//! at 1.0-1.6x that of F(4x4) (book chapter 5), acceptable, but it would save only 21% more
//! multiply-adds, so this crate stops at 4x4 tiles.
//!
//! # The schedule
//!
//! - **Once, at load** ([`WinogradWeights::prepare`]): `U_ξ = (G g Gᵀ)_ξ` for every filter,
//!   computed in f64 and packed as 36 GEMM B matrices ([`PackedB`](crate::gemm::PackedB), `Cin x Cout` each). This is
//!   4x the memory of the 3x3 weights (36 floats per filter instead of 9).
//! - **Per block of tiles** (its scratch in a thread-local buffer, like the list of output
//!   pieces: a warmed-up call allocates nothing): the input transform writes
//!   `V` as `[tile][ξ][Cin]`; the 36 GEMMs read it with leading dimension `36·Cin` and write
//!   `M` as `[ξ][tile][Cout]`; the output transform turns each tile's `M` into 16 output pixels
//!   and applies the fused epilogue.
//! - **Threads** (`Schedule`): layers with many tiles and small weights give each thread whole
//!   small blocks (about 2 MiB of V and M, near its core); layers with few tiles and large
//!   weights run one block at a time (up to 8 MiB), each of its three steps split over the
//!   threads, so that each thread reads only its share of the 36 `U_ξ`. Every tile is computed
//!   the same way whichever block it lands in, so results are bit-identical for any thread
//!   count.
//!
//! The transforms are written once over the crate's vector of channels (`crate::lanes`,
//! `transform.rs`) and instantiated per tier (`[f32; 8]` portable, `__m256` AVX2, `__m512`
//! AVX-512, `float32x4_t` NEON, `v128` SIMD128); the 36 products run on the tier's GEMM micro-kernel. The
//! reference tier runs the same schedule with textbook f64 transforms per tile and the naive
//! GEMM.
//!
//! # The files, in reading order
//!
//! - `weights.rs`: the filter transform at load ([`WinogradWeights`]);
//! - `source.rs`: where the input is read from ([`UpsampleConcat`] for the decoder);
//! - `geometry.rs`: the checked shape of a call and each tile's input window;
//! - `schedule.rs`: tiles cut into blocks, blocks given to threads;
//! - `execute.rs`: one block's three phases in the thread-local scratch;
//! - `transform.rs`: the input and output transforms, generic over the lanes; `portable.rs`,
//!   `x86_64.rs`, `aarch64.rs`, `wasm32.rs` instantiate them per tier, `reference.rs` has the textbook
//!   algorithm (the oracle) and the reference tier's per-tile transforms.

#[cfg(target_arch = "aarch64")]
mod aarch64;
mod execute;
mod geometry;
mod portable;
pub mod reference;
mod schedule;
mod source;
mod transform;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm32;
mod weights;
#[cfg(target_arch = "x86_64")]
mod x86_64;

pub(crate) use execute::reserve_scratch;
pub(crate) use portable::portable_transforms;
pub(crate) use reference::reference_transforms;
pub use source::UpsampleConcat;
pub use weights::WinogradWeights;

use crate::dispatch::Kernel;
use crate::epilogue::Epilogue;
use crate::error::{check_len, KernelError, Result};
use crate::params::Conv2dParams;
use crate::tier::Tier;
use geometry::validate;
use source::Source;
use transform::{TileOutput, TileWindow};

/// Output tile side: F(4x4, 3x3) computes 4x4 outputs per tile.
pub const TILE: usize = 4;
/// Input tile side (`TILE + 3 - 1`), and the number of frequencies per side.
pub const ALPHA: usize = 6;
/// Frequencies per tile: the number of independent GEMMs.
pub const FREQUENCIES: usize = ALPHA * ALPHA;

const OP: &str = "winograd";

/// Winograd convolution with the process-wide tier ([`Tier::active`]).
///
/// `params` must be a dense 3x3 stride-1 convolution ([`Conv2dParams::winograd_applies`]) with
/// any zero padding; `input` is NHWC; output pixel `p` (NHWC order) is written at
/// `output[p·out_pixel_stride ..][..out_c]` and nothing else is touched.
pub fn winograd_conv3x3_nhwc(
    params: &Conv2dParams,
    input: &[f32],
    weights: &WinogradWeights,
    output: &mut [f32],
    out_pixel_stride: usize,
    epilogue: &Epilogue,
) -> Result<()> {
    winograd_conv3x3_nhwc_with_tier(
        Tier::active()?,
        params,
        input,
        weights,
        output,
        out_pixel_stride,
        epilogue,
    )
}

/// [`winograd_conv3x3_nhwc`] with an explicit tier. Every tier runs the same schedule with its
/// own transforms and GEMM from the kernel table (the reference tier: per-tile textbook
/// transforms in f64 and the naive GEMM); the f64 algorithm over the whole tensor is the
/// oracle [`reference::winograd_conv3x3_nhwc`].
pub fn winograd_conv3x3_nhwc_with_tier(
    tier: Tier,
    params: &Conv2dParams,
    input: &[f32],
    weights: &WinogradWeights,
    output: &mut [f32],
    out_pixel_stride: usize,
    epilogue: &Epilogue,
) -> Result<()> {
    check_len(OP, "input", params.input_len(), input.len())?;
    run(
        tier,
        params,
        Source::Nhwc(input),
        weights,
        output,
        out_pixel_stride,
        epilogue,
    )
}

/// [`winograd_conv3x3_nhwc_with_tier`] on the input `concat(upsample2x(low), skip)` without
/// materialising it (see [`UpsampleConcat`]); `params` describes the convolution over the
/// concatenated input (`in_h`, `in_w` the upsampled size, `in_c` all channels).
pub fn winograd_conv3x3_upsample_concat_with_tier(
    tier: Tier,
    params: &Conv2dParams,
    input: &UpsampleConcat,
    weights: &WinogradWeights,
    output: &mut [f32],
    out_pixel_stride: usize,
    epilogue: &Epilogue,
) -> Result<()> {
    run(
        tier,
        params,
        Source::UpsampleConcat(*input),
        weights,
        output,
        out_pixel_stride,
        epilogue,
    )
}

/// Both entry points: checks, then the blocks one after the other.
fn run(
    tier: Tier,
    params: &Conv2dParams,
    source: Source,
    weights: &WinogradWeights,
    output: &mut [f32],
    out_pixel_stride: usize,
    epilogue: &Epilogue,
) -> Result<()> {
    let g = validate(params, None, output, out_pixel_stride, epilogue)?;
    source.validate(params)?;
    if (weights.in_c, weights.out_c) != (g.in_c, g.out_c) {
        return Err(KernelError::InvalidParams {
            op: OP,
            reason: format!(
                "weights prepared for {} -> {} channels, convolution has {} -> {}",
                weights.in_c, weights.out_c, g.in_c, g.out_c
            ),
        });
    }
    let tier = tier.ensure_available()?;
    if g.tiles() == 0 {
        return Ok(());
    }
    execute::run_scheduled(
        tier,
        &g,
        source,
        weights,
        output,
        out_pixel_stride,
        epilogue,
        schedule::schedule(&g, rayon::current_num_threads()),
    )
}

/// The input transform of one tile: `v[ξ·v_stride + v_c0 + ch]` = frequency ξ of channel
/// `ch < c` of the tile whose input pixels `window` locates in `input`.
pub(crate) type InputTileFn = fn(&[f32], &TileWindow, usize, &mut [f32], usize, usize);
/// The output transform of one tile: output pixels from `m[ξ·xi_stride + ch]`, epilogue
/// applied; see [`transform::output_tile`] for the arguments.
pub(crate) type OutputTileFn = fn(&[f32], usize, usize, &mut TileOutput, &Epilogue);

/// One tier's input and output transforms (an entry of the kernel table).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TransformKernels {
    /// The input transform.
    pub input: Kernel<InputTileFn>,
    /// The output transform with the fused epilogue.
    pub output: Kernel<OutputTileFn>,
}

/// The AVX2 transforms, if this CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx2_transforms() -> Option<TransformKernels> {
    x86_64::avx2_transforms()
}

/// The NEON transforms (aarch64).
#[cfg(target_arch = "aarch64")]
pub(crate) fn neon_transforms() -> Option<TransformKernels> {
    aarch64::neon_transforms()
}

/// The WebAssembly SIMD128 transforms (wasm32 built with `+simd128`).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) fn simd128_transforms() -> Option<TransformKernels> {
    wasm32::simd128_transforms()
}

/// The AVX-512 transforms, if this CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx512_transforms() -> Option<TransformKernels> {
    x86_64::avx512_transforms()
}
