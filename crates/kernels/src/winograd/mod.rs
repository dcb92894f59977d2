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
//!   computed in f64 and packed as 36 GEMM B matrices ([`PackedB`], `Cin x Cout` each). This is
//!   4x the memory of the 3x3 weights (36 floats per filter instead of 9).
//! - **Per block of tiles** (its scratch in a thread-local buffer): the input transform writes
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
//! The transforms are written once over a vector of channels (`transform.rs`) and
//! instantiated per tier (`[f32; 8]` portable, `__m256` AVX2, `__m512` AVX-512); the 36
//! products run on the tier's GEMM micro-kernel.

#[cfg(target_arch = "aarch64")]
mod aarch64;
pub mod reference;
mod transform;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm32;
#[cfg(target_arch = "x86_64")]
mod x86_64;

use crate::concat::copy_channels_into_with_tier;
use crate::dispatch::{kernel, GemmItemFn, Kernel, KernelTable};
use crate::epilogue::Epilogue;
use crate::error::{check_len, KernelError, Result};
use crate::gemm::{self, MatrixA, PackedB, MR};
use crate::params::Conv2dParams;
use crate::tier::Tier;
use crate::upsample::{upsample_nearest_nhwc_with_tier, UpsampleShape};
use rayon::prelude::*;
use std::cell::RefCell;
use transform::{TileOutput, TileWindow};

/// Output tile side: F(4x4, 3x3) computes 4x4 outputs per tile.
pub const TILE: usize = 4;
/// Input tile side (`TILE + 3 - 1`), and the number of frequencies per side.
pub const ALPHA: usize = 6;
/// Frequencies per tile: the number of independent GEMMs.
pub const FREQUENCIES: usize = ALPHA * ALPHA;

const OP: &str = "winograd";

/// Scratch budget for one block's V and M, in floats (8 MiB): bounds the tiles per block.
const SCRATCH_FLOATS: usize = 2 << 20;
/// Largest Winograd weights (floats, 8 MiB) for which [`Schedule::PerThread`] is chosen.
const PER_THREAD_MAX_WEIGHTS: usize = 2 << 20;
/// Most tiles in one output piece (one work item of the output transform).
const PIECE_TILES: usize = 8;
/// Smallest block, in floats of V and M (2 MiB): below this, per-block overheads show.
const MIN_BLOCK_FLOATS: usize = 1 << 19;

/// 3x3 filters transformed to the Winograd domain and packed for the 36 GEMMs.
#[derive(Debug, Clone, PartialEq)]
pub struct WinogradWeights {
    in_c: usize,
    out_c: usize,
    /// `u[ξ]` is `U_ξ`, a `Cin x Cout` matrix packed as GEMM B.
    u: Vec<PackedB>,
}

impl WinogradWeights {
    /// Transforms HWIO weights `[3, 3, in_c, out_c]` (`U = G g Gᵀ` in f64, stored as f32).
    pub fn prepare(in_c: usize, out_c: usize, weights: &[f32]) -> Result<WinogradWeights> {
        if in_c == 0 || out_c == 0 {
            return Err(KernelError::InvalidParams {
                op: OP,
                reason: format!("channels {in_c} -> {out_c} must be at least 1"),
            });
        }
        check_len(OP, "weights", 9 * in_c * out_c, weights.len())?;
        in_c.checked_mul(out_c)
            .and_then(|f| f.checked_mul(FREQUENCIES))
            .ok_or_else(|| KernelError::InvalidParams {
                op: OP,
                reason: format!("{in_c} x {out_c} filters overflow"),
            })?;
        // Written straight into the packed layout: no row-major copy of the 36 matrices.
        let mut u: Vec<PackedB> = (0..FREQUENCIES).map(|_| PackedB::zeroed(in_c, out_c)).collect();
        for ci in 0..in_c {
            for co in 0..out_c {
                let g = std::array::from_fn(|ky| {
                    std::array::from_fn(|kx| weights[((ky * 3 + kx) * in_c + ci) * out_c + co] as f64)
                });
                let t = reference::filter_transform(&g);
                for (xi, ux) in u.iter_mut().enumerate() {
                    ux.set(ci, co, t[xi / ALPHA][xi % ALPHA] as f32);
                }
            }
        }
        Ok(WinogradWeights { in_c, out_c, u })
    }

    /// Input channels.
    pub fn in_c(&self) -> usize {
        self.in_c
    }

    /// Output channels.
    pub fn out_c(&self) -> usize {
        self.out_c
    }

    /// Recovers the HWIO weights (allocates; for the reference tier and tests).
    ///
    /// `G` has full column rank and its first and last rows pick out `g0` and `g2`, so each 1-D
    /// pass inverts as `g0 = 4·u0`, `g2 = u5`, `g1 = -6·u1 - g0 - g2`.
    pub fn to_hwio(&self) -> Vec<f32> {
        let (cin, cout) = (self.in_c, self.out_c);
        let u: Vec<Vec<f32>> = self.u.iter().map(PackedB::to_row_major).collect();
        let invert = |v: [f64; ALPHA]| [4.0 * v[0], -6.0 * v[1] - 4.0 * v[0] - v[5], v[5]];
        let mut hwio = vec![0.0f32; 9 * cin * cout];
        for ci in 0..cin {
            for co in 0..cout {
                let t: [[f64; ALPHA]; ALPHA] =
                    std::array::from_fn(|r| std::array::from_fn(|s| u[r * ALPHA + s][ci * cout + co] as f64));
                // U = G (g Gᵀ): invert the columns, then the rows of g Gᵀ.
                let h: [[f64; ALPHA]; 3] = {
                    let cols: [[f64; 3]; ALPHA] =
                        std::array::from_fn(|s| invert(std::array::from_fn(|r| t[r][s])));
                    std::array::from_fn(|ky| std::array::from_fn(|s| cols[s][ky]))
                };
                for (ky, hrow) in h.iter().enumerate() {
                    for (kx, &v) in invert(*hrow).iter().enumerate() {
                        hwio[((ky * 3 + kx) * cin + ci) * cout + co] = v as f32;
                    }
                }
            }
        }
        hwio
    }
}

/// The decoder's input, `concat(upsample2x(low), skip)` along channels, described instead of
/// materialised: the Winograd input transform reads both tensors where the concatenated,
/// upsampled tensor would have its pixels (saving a pass over memory and the buffer).
///
/// For a convolution over a `batch x H x W x in_c` input (`H`, `W` even): `low` is NHWC
/// `[batch, H/2, W/2, low_c]`, `skip` is NHWC `[batch, H, W, in_c - low_c]` (empty when
/// `low_c == in_c`).
#[derive(Debug, Clone, Copy)]
pub struct UpsampleConcat<'a> {
    /// The tensor upsampled 2x by nearest neighbour: channels `0 .. low_c`.
    pub low: &'a [f32],
    /// Channels of `low`.
    pub low_c: usize,
    /// The skip connection: channels `low_c .. in_c`.
    pub skip: &'a [f32],
}

/// Where a Winograd convolution reads its input.
#[derive(Debug, Clone, Copy)]
enum Source<'a> {
    Nhwc(&'a [f32]),
    UpsampleConcat(UpsampleConcat<'a>),
}

impl Source<'_> {
    /// The source tensors as `(data, channels, upsampling, first channel of V)` parts.
    fn parts(&self, in_c: usize) -> Vec<(&[f32], usize, usize, usize)> {
        match *self {
            Source::Nhwc(x) => vec![(x, in_c, 1, 0)],
            Source::UpsampleConcat(u) if u.low_c == in_c => vec![(u.low, in_c, 2, 0)],
            Source::UpsampleConcat(u) => vec![(u.low, u.low_c, 2, 0), (u.skip, in_c - u.low_c, 1, u.low_c)],
        }
    }

    /// Checks the source against the convolution's input shape.
    fn validate(&self, params: &Conv2dParams) -> Result<()> {
        let Source::UpsampleConcat(u) = self else {
            return Ok(());
        };
        let p = params;
        if !p.in_h.is_multiple_of(2) || !p.in_w.is_multiple_of(2) || u.low_c == 0 || u.low_c > p.in_c {
            return Err(KernelError::InvalidParams {
                op: OP,
                reason: format!(
                    "an upsample-concat input needs an even {}x{} size and 1 ..= {} upsampled channels, got {}",
                    p.in_h, p.in_w, p.in_c, u.low_c
                ),
            });
        }
        check_len(
            OP,
            "low",
            p.batch * (p.in_h / 2) * (p.in_w / 2) * u.low_c,
            u.low.len(),
        )?;
        check_len(
            OP,
            "skip",
            p.batch * p.in_h * p.in_w * (p.in_c - u.low_c),
            u.skip.len(),
        )
    }
}

impl UpsampleConcat<'_> {
    /// The concatenated, upsampled NHWC input `[batch, in_h, in_w, in_c]` of `params`, made
    /// (allocates): for algorithms that cannot read it in place, and for tests.
    pub fn to_nhwc(self, params: &Conv2dParams) -> Result<Vec<f32>> {
        self.to_nhwc_with_tier(Tier::active()?, params)
    }

    /// [`to_nhwc`](Self::to_nhwc) with the upsampling and the channel copy run at `tier`:
    /// the same two kernels the decoder used before it read this input in place.
    pub fn to_nhwc_with_tier(self, tier: Tier, params: &Conv2dParams) -> Result<Vec<f32>> {
        params.validate()?;
        Source::UpsampleConcat(self).validate(params)?;
        let p = params;
        let (h, w, skip_c) = (p.in_h / 2, p.in_w / 2, p.in_c - self.low_c);
        let mut x = vec![0.0f32; p.input_len()];
        let up = UpsampleShape::new(p.batch, h, w, self.low_c, 2, 2).into_channels(p.in_c, 0);
        upsample_nearest_nhwc_with_tier(tier, &up, self.low, &mut x)?;
        if skip_c > 0 {
            let pixels = p.batch * p.in_h * p.in_w;
            copy_channels_into_with_tier(tier, self.skip, pixels, skip_c, &mut x, p.in_c, self.low_c)?;
        }
        Ok(x)
    }
}

/// The shape of one Winograd convolution, checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub in_c: usize,
    pub out_c: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub tiles_h: usize,
    pub tiles_w: usize,
}

impl Geometry {
    /// The 36 input pixel offsets of tile `(ty, tx)` of image `n`: the padded input window
    /// rows `4·ty .. 4·ty + 6`, columns `4·tx .. 4·tx + 6`, in a source tensor of `c` channels
    /// per pixel whose pixels are `up x up` blocks of the input (`up = 2`: the input is that
    /// tensor upsampled by nearest neighbour, input pixel `(y, x)` is source pixel
    /// `(y/2, x/2)`).
    pub fn window(&self, n: usize, ty: usize, tx: usize, up: usize, c: usize) -> TileWindow {
        let (h, w) = (self.in_h / up, self.in_w / up);
        std::array::from_fn(|i| {
            let (r, s) = (i / ALPHA, i % ALPHA);
            let iy = (ty * TILE + r).checked_sub(self.pad_top)?;
            let ix = (tx * TILE + s).checked_sub(self.pad_left)?;
            (iy < self.in_h && ix < self.in_w).then(|| ((n * h + iy / up) * w + ix / up) * c)
        })
    }

    /// Tiles over the whole batch.
    pub fn tiles(&self) -> usize {
        self.batch * self.tiles_h * self.tiles_w
    }
}

/// Checks a Winograd call and returns its geometry.
pub(crate) fn validate(
    params: &Conv2dParams,
    input: Option<&[f32]>,
    output: &[f32],
    out_pixel_stride: usize,
    epilogue: &Epilogue,
) -> Result<Geometry> {
    params.validate()?;
    if !params.winograd_applies() {
        return Err(KernelError::InvalidParams {
            op: OP,
            reason: format!(
                "Winograd F(4x4, 3x3) needs a dense 3x3 stride-1 convolution, got {}x{} stride {}x{} groups {}",
                params.kh, params.kw, params.stride_h, params.stride_w, params.groups
            ),
        });
    }
    if let Some(input) = input {
        check_len(OP, "input", params.input_len(), input.len())?;
    }
    epilogue.validate(OP, params.out_c)?;
    if out_pixel_stride < params.out_c {
        return Err(KernelError::InvalidParams {
            op: OP,
            reason: format!("out_pixel_stride {out_pixel_stride} < out_c {}", params.out_c),
        });
    }
    let (out_h, out_w) = params.out_hw();
    let pixels = params.batch * out_h * out_w;
    let needed = if pixels == 0 {
        0
    } else {
        (pixels - 1) * out_pixel_stride + params.out_c
    };
    if output.len() < needed {
        return Err(KernelError::LengthMismatch {
            op: OP,
            what: "output",
            expected: needed,
            got: output.len(),
        });
    }
    Ok(Geometry {
        batch: params.batch,
        in_h: params.in_h,
        in_w: params.in_w,
        in_c: params.in_c,
        out_c: params.out_c,
        pad_top: params.pad_top,
        pad_left: params.pad_left,
        out_h,
        out_w,
        tiles_h: out_h.div_ceil(TILE),
        tiles_w: out_w.div_ceil(TILE),
    })
}

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

/// [`winograd_conv3x3_nhwc`] with an explicit tier. [`Tier::Reference`] runs the f64
/// textbook algorithm ([`reference::winograd_conv3x3_nhwc`]) on the recovered HWIO weights.
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
    if tier == Tier::Reference {
        let x = match source {
            Source::Nhwc(x) => x.to_vec(),
            Source::UpsampleConcat(u) => u.to_nhwc_with_tier(Tier::Reference, params)?,
        };
        return reference::winograd_conv3x3_nhwc(
            params,
            &x,
            &weights.to_hwio(),
            output,
            out_pixel_stride,
            epilogue,
        );
    }
    if g.tiles() == 0 {
        return Ok(());
    }
    run_scheduled(
        tier,
        &g,
        source,
        weights,
        output,
        out_pixel_stride,
        epilogue,
        schedule(&g, rayon::current_num_threads()),
    )
}

/// The blocks of a checked call, as `schedule` says.
#[allow(clippy::too_many_arguments)]
fn run_scheduled(
    tier: Tier,
    g: &Geometry,
    source: Source,
    weights: &WinogradWeights,
    output: &mut [f32],
    out_pixel_stride: usize,
    epilogue: &Epilogue,
    schedule: Schedule,
) -> Result<()> {
    let g = *g;
    let blocks = split_blocks(&g, output, out_pixel_stride, schedule.tiles_per_block());
    let job = Job {
        g: &g,
        parts: source.parts(g.in_c),
        weights,
        stride: out_pixel_stride,
        epilogue,
    };
    let table = KernelTable::for_tier(tier)?;
    let run =
        |block: &mut Block, parallel: bool| job.run_block(table.gemm.run, block, table.winograd, parallel);
    match schedule {
        Schedule::Phases(_) => blocks.into_iter().try_for_each(|mut b| run(&mut b, true)),
        Schedule::PerThread(_) => blocks.into_par_iter().try_for_each(|mut b| run(&mut b, false)),
    }
}

/// How the blocks share the threads (either way every tile is computed the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Schedule {
    /// Blocks one after the other, each in three parallel phases: for layers with few tiles
    /// and large weights, where each thread should read only its share of the 36 `U_ξ`.
    Phases(usize),
    /// Small blocks, one per thread at a time, all three phases on that thread: for layers
    /// with many tiles, where a block's V and M then stay in its core's cache and the threads
    /// never wait for each other inside a block.
    PerThread(usize),
}

impl Schedule {
    fn tiles_per_block(self) -> usize {
        match self {
            Schedule::Phases(t) | Schedule::PerThread(t) => t,
        }
    }
}

/// [`Schedule::PerThread`] when there are at least 4 small blocks per thread and the 36 `U_ξ`
/// stay in L3 while every block re-reads them (at most [`PER_THREAD_MAX_WEIGHTS`] floats),
/// else [`Schedule::Phases`]. Measured on the seed's decoder: dec3 and dec4 run faster per
/// thread (at 1 thread too: their small blocks stay in L2), dec1 and dec2 (28-36 MiB of
/// weights) faster in phases.
fn schedule(g: &Geometry, threads: usize) -> Schedule {
    let small = (MIN_BLOCK_FLOATS / (FREQUENCIES * (g.in_c + g.out_c)) / MR * MR).max(MR);
    let weights = FREQUENCIES * g.in_c * g.out_c;
    let threads = threads.max(1);
    if weights <= PER_THREAD_MAX_WEIGHTS && g.tiles() >= 4 * threads * small {
        // As many blocks as `small` tiles make, rounded up to a multiple of the threads so
        // that none is left with one block more than the others (196 tiles of dec3 on two
        // threads: 10 blocks of 20, not 9 of 24).
        let blocks = g.tiles().div_ceil(small).next_multiple_of(threads);
        let per = g.tiles().div_ceil(blocks);
        let rounded = per.next_multiple_of(MR);
        let per = if g.tiles().div_ceil(rounded) == blocks {
            rounded
        } else {
            per
        };
        Schedule::PerThread(per)
    } else {
        Schedule::Phases(tiles_per_block(g))
    }
}

/// Tiles per block: about as many as make V and M as large as the weights (`Cin·Cout /
/// (Cin + Cout)` tiles), so that re-reading all 36 `U_ξ` once per block costs no more than
/// the block's own traffic; at least what fills [`MIN_BLOCK_FLOATS`] (small layers: the block
/// stays near L2), at most what fits [`SCRATCH_FLOATS`]; a multiple of the GEMM's MR unless
/// the whole layer fits in one block.
fn tiles_per_block(g: &Geometry) -> usize {
    let per_tile = FREQUENCIES * (g.in_c + g.out_c);
    let balanced = g.in_c * g.out_c / (g.in_c + g.out_c);
    let tiles = balanced.clamp(MIN_BLOCK_FLOATS / per_tile, SCRATCH_FLOATS / per_tile);
    if tiles >= g.tiles() {
        g.tiles()
    } else {
        (tiles / MR * MR).max(MR)
    }
}

/// The output pixels of one tile row that belong to one block: tiles `tx0 .. tx1` of tile row
/// `ty` of image `image`.
pub(crate) struct RowPiece<'a> {
    image: usize,
    ty: usize,
    tx0: usize,
    tx1: usize,
    /// Output rows `4·ty ..` (only those inside the image), each starting at pixel column
    /// `4·tx0`, pixel `j` at `row[j·stride ..]`.
    rows: Vec<&'a mut [f32]>,
}

/// A run of consecutive tiles (in (image, ty, tx) order) and the output it alone writes.
struct Block<'a> {
    pieces: Vec<RowPiece<'a>>,
    tiles: usize,
}

/// Cuts `output` into the disjoint pieces that each block of `per_block` tiles writes, by
/// walking the output pixels in memory order (so no two blocks ever share a slice).
fn split_blocks<'a>(g: &Geometry, output: &'a mut [f32], stride: usize, per_block: usize) -> Vec<Block<'a>> {
    let mut blocks: Vec<Block> = (0..g.tiles().div_ceil(per_block))
        .map(|_| Block {
            pieces: Vec::new(),
            tiles: 0,
        })
        .collect();
    let mut rest = output;
    for image in 0..g.batch {
        for ty in 0..g.tiles_h {
            let first = (image * g.tiles_h + ty) * g.tiles_w;
            // (block, tx0, tx1) segments of this tile row.
            let mut segments = Vec::new();
            let mut tx = 0;
            while tx < g.tiles_w {
                let b = (first + tx) / per_block;
                // Pieces of at most PIECE_TILES tiles, so that the output phase has enough
                // independent items for every thread even when a block spans few tile rows.
                let end = ((b + 1) * per_block - first).min(g.tiles_w).min(tx + PIECE_TILES);
                segments.push((b, tx, end));
                tx = end;
            }
            let rows = TILE.min(g.out_h - ty * TILE);
            let mut pieces: Vec<RowPiece> = segments
                .iter()
                .map(|&(_, tx0, tx1)| RowPiece {
                    image,
                    ty,
                    tx0,
                    tx1,
                    rows: Vec::with_capacity(rows),
                })
                .collect();
            for _ in 0..rows {
                for piece in pieces.iter_mut() {
                    let pixels = (piece.tx1 * TILE).min(g.out_w) - piece.tx0 * TILE;
                    // The very last pixel may own only `out_c` floats, not a whole stride.
                    let take = (pixels * stride).min(rest.len());
                    let (mine, tail) = std::mem::take(&mut rest).split_at_mut(take);
                    piece.rows.push(mine);
                    rest = tail;
                }
            }
            for (piece, &(b, tx0, tx1)) in pieces.into_iter().zip(&segments) {
                blocks[b].tiles += tx1 - tx0;
                blocks[b].pieces.push(piece);
            }
        }
    }
    blocks
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

/// The portable tier's transforms: the generic schedule on `[f32; 8]`.
pub(crate) fn portable_transforms() -> TransformKernels {
    TransformKernels {
        input: kernel!(f32_winograd_f4x4_input_portable),
        output: kernel!(f32_winograd_f4x4_output_portable),
    }
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

/// The portable input transform of one tile.
fn f32_winograd_f4x4_input_portable(
    input: &[f32],
    window: &TileWindow,
    c: usize,
    v: &mut [f32],
    v_stride: usize,
    v_c0: usize,
) {
    transform::input_tile::<transform::Portable>(input, window, c, v, v_stride, v_c0)
}

/// The portable output transform of one tile.
fn f32_winograd_f4x4_output_portable(
    m: &[f32],
    xi_stride: usize,
    c: usize,
    out: &mut TileOutput,
    epilogue: &Epilogue,
) {
    transform::output_tile::<transform::Portable>(m, xi_stride, c, out, epilogue)
}

thread_local! {
    /// V and M of the block the calling thread runs, grown once and reused.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Everything a block needs that is shared by all blocks.
struct Job<'a> {
    g: &'a Geometry,
    /// The input as `(tensor, channels, upsampling, first channel in V)` parts.
    parts: Vec<(&'a [f32], usize, usize, usize)>,
    weights: &'a WinogradWeights,
    stride: usize,
    epilogue: &'a Epilogue<'a>,
}

impl Job<'_> {
    /// One block in three parallel phases, each over independent pieces of work:
    ///
    /// 1. input transform, one tile per item: `V` as `[tile][ξ][in_c]`;
    /// 2. the 36 GEMMs, one frequency per item: `M_ξ = V_ξ · U_ξ` into `M` as
    ///    `[ξ][tile][out_c]` (`V_ξ`'s rows are `36·in_c` apart), so every `U_ξ` is read once
    ///    per block, by one thread;
    /// 3. output transform and epilogue, one tile row piece per item.
    fn run_block(
        &self,
        gemm_item: GemmItemFn,
        block: &mut Block,
        t: TransformKernels,
        parallel: bool,
    ) -> Result<()> {
        let (g, tiles) = (self.g, block.tiles);
        let (vlen, mlen) = (tiles * FREQUENCIES * g.in_c, tiles * FREQUENCIES * g.out_c);
        gemm::with_scratch(&SCRATCH, |buf| {
            if buf.len() < vlen + mlen {
                buf.resize(vlen + mlen, 0.0);
            }
            let (v, rest) = buf.split_at_mut(vlen);
            let m = &mut rest[..mlen];

            let tiles_at: Vec<(usize, usize, usize)> = block
                .pieces
                .iter()
                .flat_map(|p| (p.tx0..p.tx1).map(move |tx| (p.image, p.ty, tx)))
                .collect();
            let input_tile = |(dst, &(n, ty, tx)): (&mut [f32], &(usize, usize, usize))| {
                for &(data, c, up, c0) in &self.parts {
                    (t.input.run)(data, &g.window(n, ty, tx, up, c), c, dst, g.in_c, c0);
                }
            };
            let per_tile = FREQUENCIES * g.in_c;
            if parallel {
                v.par_chunks_mut(per_tile)
                    .zip(tiles_at.par_iter())
                    .with_min_len(4)
                    .for_each(input_tile);
            } else {
                v.chunks_mut(per_tile).zip(tiles_at.iter()).for_each(input_tile);
            }

            let v = &*v;
            let product = |(xi, (mx, u)): (usize, (&mut [f32], &PackedB))| {
                let a = MatrixA::new(&v[xi * g.in_c..], tiles, g.in_c, FREQUENCIES * g.in_c)?;
                gemm::gemm_serial(gemm_item, &a, u, mx, g.out_c, &Epilogue::IDENTITY)
            };
            if parallel {
                m.par_chunks_mut(tiles * g.out_c)
                    .zip(self.weights.u.par_iter())
                    .enumerate()
                    .try_for_each(product)?;
            } else {
                m.chunks_mut(tiles * g.out_c)
                    .zip(self.weights.u.iter())
                    .enumerate()
                    .try_for_each(product)?;
            }

            let m = &*m;
            let mut first = 0;
            let starts: Vec<usize> = block
                .pieces
                .iter()
                .map(|p| {
                    let s = first;
                    first += p.tx1 - p.tx0;
                    s
                })
                .collect();
            let output = |(p, &t0): (&mut RowPiece, &usize)| self.output_piece(t, m, tiles, p, t0);
            if parallel {
                block
                    .pieces
                    .par_iter_mut()
                    .zip(starts.par_iter())
                    .for_each(output);
            } else {
                block.pieces.iter_mut().zip(starts.iter()).for_each(output);
            }
            Ok(())
        })
    }

    /// Output transform and epilogue of one row piece, whose first tile is tile `t0` of a
    /// block of `tiles` (its frequency ξ is at `m[(ξ·tiles + t)·out_c ..]`).
    fn output_piece(&self, t: TransformKernels, m: &[f32], tiles: usize, p: &mut RowPiece, t0: usize) {
        let g = self.g;
        for (k, tx) in (p.tx0..p.tx1).enumerate() {
            let col0 = k * TILE;
            let cols = TILE.min(g.out_w - tx * TILE);
            let m = &m[(t0 + k) * g.out_c..];
            let mut out = TileOutput {
                rows: &mut p.rows,
                col0,
                cols,
                stride: self.stride,
            };
            (t.output.run)(m, tiles * g.out_c, g.out_c, &mut out, self.epilogue);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_take_every_tile_that_fits_the_scratch() {
        let geometry = |h: usize, w: usize, in_c: usize, out_c: usize| {
            let p = Conv2dParams::dense(1, h, w, in_c, out_c, 3, 1, 1);
            validate(&p, None, &vec![0.0; p.output_len()], out_c, &Epilogue::IDENTITY).unwrap()
        };
        // The decoder at 224x224 and 416x608: one block where V and M fit, else MR multiples.
        for (h, w, cin, cout) in [
            (28, 28, 768, 256),
            (56, 56, 384, 128),
            (112, 112, 128, 64),
            (52, 76, 768, 256),
            (208, 304, 128, 64),
        ] {
            let g = geometry(h, w, cin, cout);
            let per = tiles_per_block(&g);
            assert!(per == g.tiles() || per.is_multiple_of(MR), "{h}x{w}: {per}");
            assert!(
                per * FREQUENCIES * (cin + cout) <= SCRATCH_FLOATS,
                "{h}x{w}: {per}"
            );
        }
        assert_eq!(tiles_per_block(&geometry(28, 28, 768, 256)), 49);
        assert_eq!(tiles_per_block(&geometry(56, 56, 384, 128)), 96);
        assert_eq!(tiles_per_block(&geometry(112, 112, 128, 64)), 72);
        // A layer too wide for even MR tiles still makes progress.
        assert_eq!(tiles_per_block(&geometry(8, 8, 40_000, 40_000)), MR);
    }

    #[test]
    fn every_schedule_and_block_size_gives_the_same_bits() {
        let p = Conv2dParams::dense(2, 9, 11, 13, 21, 3, 1, 1);
        let x: Vec<f32> = (0..p.input_len())
            .map(|i| ((i * 7919 % 997) as f32 - 498.0) / 250.0)
            .collect();
        let w: Vec<f32> = (0..p.weight_len())
            .map(|i| ((i * 104_729 % 991) as f32 - 495.0) / 500.0)
            .collect();
        let weights = WinogradWeights::prepare(p.in_c, p.out_c, &w).unwrap();
        let bias: Vec<f32> = (0..p.out_c).map(|c| c as f32 / 10.0).collect();
        let e = Epilogue::bias_act(&bias, crate::Activation::Relu6);
        let g = validate(&p, None, &vec![0.0; p.output_len()], p.out_c, &e).unwrap();
        let tier = Tier::best();
        let run = |schedule: Schedule, threads: usize| {
            let mut out = vec![f32::NAN; p.output_len()];
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                run_scheduled(
                    tier,
                    &g,
                    Source::Nhwc(&x),
                    &weights,
                    &mut out,
                    p.out_c,
                    &e,
                    schedule,
                )
            })
            .unwrap();
            out
        };
        let want = run(Schedule::Phases(g.tiles()), 1);
        assert!(want.iter().all(|v| v.is_finite()));
        for schedule in [
            Schedule::Phases(6),
            Schedule::Phases(12),
            Schedule::PerThread(6),
            Schedule::PerThread(18),
        ] {
            for threads in [1, 2, 3] {
                let got = run(schedule, threads);
                assert!(
                    want.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{schedule:?} on {threads} threads"
                );
            }
        }
    }

    #[test]
    fn recovers_the_filters_it_transformed() {
        let (cin, cout) = (3, 5);
        let w: Vec<f32> = (0..9 * cin * cout)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
            .collect();
        let back = WinogradWeights::prepare(cin, cout, &w).unwrap().to_hwio();
        for (a, b) in w.iter().zip(&back) {
            assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "{a} vs {b}");
        }
    }
}
