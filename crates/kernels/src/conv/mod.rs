//! 2-D convolution over NHWC images: the one dispatcher that picks the algorithm.
//!
//! [`Conv2dParams::algorithm`] decides, and [`conv2d_nhwc`] follows:
//!
//! - **Depthwise** (`groups == in_c == out_c`): the per-channel kernel of [`crate::depthwise`].
//! - **Pointwise** (1x1, stride 1, no padding): the NHWC input *is* the GEMM's A matrix,
//!   `(N·H·W, Cin) @ (Cin, Cout) -> (N·H·W, Cout)`, used in place with no copy.
//! - **Im2col + GEMM** (anything else dense): `(N·OH·OW, KH·KW·Cin) @ (KH·KW·Cin, Cout)`, the
//!   image patches packed straight into GEMM panels by [`Im2col`].
//! - **Winograd F(4x4, 3x3)** (dense 3x3 stride 1 with enough channels, the decoder): 36 GEMMs
//!   over transformed tiles, 4x fewer multiplies ([`crate::winograd`]).
//! - **Small N** (dense with `out_c <= `[`SMALL_N`], e.g. the classifier): no GEMM and no
//!   packing; one dot product per output element, vectorised along the reduction (`small_n.rs`).
//!
//! Weights are prepared once ([`ConvWeights::prepare`], "prepare once, run many") for the
//! algorithm [`Conv2dParams::algorithm`] picks: dense HWIO weights are packed into a
//! [`PackedB`] or transformed to the Winograd domain, depthwise HWC weights are kept as they
//! are. The prepared weights then decide what runs. [`ConvWeights::prepare_as`] forces another
//! algorithm that applies, and [`ConvWeights::prepare_with`] follows a [`ConvChoice`]
//! (`Im2col` turns Winograd off, `Winograd` uses it for every 3x3 stride-1 layer it can
//! compute), to compare them on the same model. The kernels read no environment variable: a
//! program may map one ([`CONV_ENV`]) to a [`ConvChoice`] once ([`ConvChoice::from_name`]).
//!
//! # Writing into a channel slice
//!
//! The output of dense convolutions has a pixel stride `out_pixel_stride >= out_c`: output
//! pixel `p` (in NHWC order) is `output[p·out_pixel_stride ..][..out_c]`, and the other
//! `out_pixel_stride - out_c` channels of each pixel are left untouched. To write channels
//! `c0 .. c0 + out_c` of a wider NHWC buffer with `C` channels (a concatenation without a
//! copy), pass `&mut buf[c0..]` and `out_pixel_stride = C`. Depthwise convolutions write a
//! contiguous output only (`out_pixel_stride == out_c`).

mod im2col;
pub mod reference;
pub(crate) mod small_n;
#[cfg(target_arch = "x86_64")]
mod x86_64;

pub use im2col::Im2col;

/// The AVX2+FMA small-N kernel, if this CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx2_small_n_kernel() -> Option<Kernel<SmallNFn>> {
    x86_64::kernel()
}
pub use small_n::{use_small_n, SMALL_N};

use crate::depthwise;
use crate::dispatch::KernelTable;
#[cfg(target_arch = "x86_64")]
use crate::dispatch::{Kernel, SmallNFn};
use crate::epilogue::Epilogue;
use crate::error::{check_len, KernelError, Result};
use crate::gemm::{self, MatrixA, PackedB};
use crate::params::{Conv2dParams, ConvAlgorithm};
use crate::tier::Tier;
use crate::winograd::{self, WinogradWeights};
use ndarray::{Array4, ArrayView4};
use rayon::prelude::*;

const OP: &str = "conv2d";

/// The environment variable the command-line programs read into a [`ConvChoice`]: `auto` (or
/// unset), `im2col` (never Winograd) or `winograd` (Winograd wherever it applies).
pub const CONV_ENV: &str = "MOBILENET_UNET_CONV";

/// How dense convolutions choose between im2col + GEMM and Winograd when their weights are
/// prepared ([`ConvWeights::prepare_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ConvChoice {
    /// The rule of [`Conv2dParams::algorithm`].
    #[default]
    Auto,
    /// Never Winograd: im2col + GEMM where the rule would pick Winograd.
    Im2col,
    /// Winograd for every dense 3x3 stride-1 layer with more than [`SMALL_N`] outputs.
    Winograd,
}

impl ConvChoice {
    /// Parses `auto` (or an empty string), `im2col` or `winograd`, as written in [`CONV_ENV`].
    pub fn from_name(name: &str) -> Result<ConvChoice> {
        match name.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(ConvChoice::Auto),
            "im2col" => Ok(ConvChoice::Im2col),
            "winograd" => Ok(ConvChoice::Winograd),
            _ => Err(KernelError::InvalidParams {
                op: "ConvChoice",
                reason: format!("{name:?} names no choice (expected auto, im2col or winograd)"),
            }),
        }
    }

    /// The algorithm this choice gives `params`.
    pub fn algorithm(self, params: &Conv2dParams) -> ConvAlgorithm {
        let rule = params.algorithm();
        match (self, rule) {
            (ConvChoice::Im2col, ConvAlgorithm::Winograd) => ConvAlgorithm::Im2colGemm,
            (ConvChoice::Winograd, ConvAlgorithm::Im2colGemm) if params.winograd_applies() => {
                ConvAlgorithm::Winograd
            }
            _ => rule,
        }
    }
}

/// Convolution weights prepared for one algorithm.
#[derive(Debug, Clone, PartialEq)]
pub enum ConvWeights {
    /// Dense (pointwise or im2col) weights: HWIO viewed as `(KH·KW·Cin) x Cout`, packed.
    Gemm(PackedB),
    /// Dense 3x3 weights in the Winograd domain: 36 packed `Cin x Cout` matrices.
    Winograd(WinogradWeights),
    /// Dense weights of a layer with few output channels ([`use_small_n`]): `out_c` columns of
    /// `KH·KW·Cin` contiguous floats (HWIO transposed).
    Columns(Vec<f32>),
    /// Depthwise weights in HWC order, as given.
    Depthwise(Vec<f32>),
}

impl ConvWeights {
    /// Prepares `weights` (HWIO for dense, HWC for depthwise) for the algorithm
    /// [`Conv2dParams::algorithm`] picks.
    pub fn prepare(params: &Conv2dParams, weights: &[f32]) -> Result<ConvWeights> {
        Self::prepare_with(params, weights, ConvChoice::Auto)
    }

    /// Prepares `weights` for the algorithm `choice` gives `params` ([`ConvChoice::algorithm`]).
    pub fn prepare_with(params: &Conv2dParams, weights: &[f32], choice: ConvChoice) -> Result<ConvWeights> {
        params.validate()?;
        Self::prepare_as(params, weights, choice.algorithm(params))
    }

    /// Prepares `weights` for `algorithm`, which must apply to `params`
    /// ([`Conv2dParams::supports`]); to compare algorithms on the same layer.
    pub fn prepare_as(
        params: &Conv2dParams,
        weights: &[f32],
        algorithm: ConvAlgorithm,
    ) -> Result<ConvWeights> {
        params.validate()?;
        check_len(OP, "weights", params.weight_len(), weights.len())?;
        if !params.supports(algorithm) {
            return invalid(format!("{algorithm:?} cannot compute {params:?}"));
        }
        let (_, k, n) = params.gemm_mkn();
        Ok(match algorithm {
            ConvAlgorithm::Depthwise => ConvWeights::Depthwise(weights.to_vec()),
            ConvAlgorithm::SmallN => ConvWeights::Columns(small_n::columns(weights, k, n)),
            ConvAlgorithm::Winograd => {
                ConvWeights::Winograd(WinogradWeights::prepare(params.in_c, params.out_c, weights)?)
            }
            ConvAlgorithm::Pointwise | ConvAlgorithm::Im2colGemm => {
                ConvWeights::Gemm(PackedB::pack(weights, k, n)?)
            }
        })
    }

    /// The algorithm these weights run.
    pub fn algorithm(&self, params: &Conv2dParams) -> ConvAlgorithm {
        match self {
            ConvWeights::Depthwise(_) => ConvAlgorithm::Depthwise,
            ConvWeights::Columns(_) => ConvAlgorithm::SmallN,
            ConvWeights::Winograd(_) => ConvAlgorithm::Winograd,
            ConvWeights::Gemm(_) if params.is_pointwise() => ConvAlgorithm::Pointwise,
            ConvWeights::Gemm(_) => ConvAlgorithm::Im2colGemm,
        }
    }
}

/// Convolution with the process-wide tier ([`Tier::active`]); see the module docs.
///
/// `input` is contiguous NHWC (`params.input_len()` floats); `output` needs at least
/// `(pixels - 1)·out_pixel_stride + out_c` floats.
pub fn conv2d_nhwc(
    params: &Conv2dParams,
    input: &[f32],
    weights: &ConvWeights,
    output: &mut [f32],
    out_pixel_stride: usize,
    epilogue: &Epilogue,
) -> Result<()> {
    conv2d_nhwc_with_tier(
        Tier::active()?,
        params,
        input,
        weights,
        output,
        out_pixel_stride,
        epilogue,
    )
}

/// [`conv2d_nhwc`] with an explicit tier.
///
/// Every tier, the reference one included, runs the algorithm the weights were prepared for,
/// with that tier's kernels from the kernel table; the tests give the oracle
/// ([`reference::conv2d_nhwc`]) the original weights instead.
pub fn conv2d_nhwc_with_tier(
    tier: Tier,
    params: &Conv2dParams,
    input: &[f32],
    weights: &ConvWeights,
    output: &mut [f32],
    out_pixel_stride: usize,
    epilogue: &Epilogue,
) -> Result<()> {
    params.validate()?;
    check_len(OP, "input", params.input_len(), input.len())?;
    epilogue.validate(OP, params.out_c)?;
    let (m, k, n) = params.gemm_mkn();
    if out_pixel_stride < n {
        return invalid(format!("out_pixel_stride {out_pixel_stride} < out_c {n}"));
    }
    let needed = if m == 0 { 0 } else { (m - 1) * out_pixel_stride + n };
    if output.len() < needed {
        return check_len(OP, "output", needed, output.len());
    }
    let tier = tier.ensure_available()?;
    let algorithm = weights.algorithm(params);
    if !params.supports(algorithm) {
        return invalid(format!(
            "weights were prepared for {algorithm:?}, which cannot compute {params:?}"
        ));
    }
    match weights {
        ConvWeights::Depthwise(w) => {
            if out_pixel_stride != n {
                return invalid(format!(
                    "depthwise output must be contiguous (stride {out_pixel_stride} != {n})"
                ));
            }
            depthwise::depthwise_conv2d_nhwc_with_tier(
                tier,
                params,
                input,
                w,
                &mut output[..needed],
                epilogue,
            )
        }
        ConvWeights::Winograd(w) => winograd::winograd_conv3x3_nhwc_with_tier(
            tier,
            params,
            input,
            w,
            output,
            out_pixel_stride,
            epilogue,
        ),
        ConvWeights::Columns(cols) => {
            if cols.len() != k * n {
                return invalid(format!(
                    "weights prepared with {} floats, convolution needs {k} x {n}",
                    cols.len()
                ));
            }
            if needed == 0 {
                return Ok(());
            }
            let s = small_n::SmallN {
                params,
                input,
                cols,
                epilogue,
            };
            let kernel = KernelTable::for_tier(tier)?.small_n.run;
            let run = |(idx, chunk): (usize, &mut [f32])| {
                let p0 = idx * small_n::PIXELS_PER_ITEM;
                let count = small_n::PIXELS_PER_ITEM.min(m - p0);
                let taps = params.kh * params.kw;
                small_n::with_taps(taps, |t| kernel(&s, p0, count, chunk, out_pixel_stride, t))
            };
            output[..needed]
                .par_chunks_mut(small_n::PIXELS_PER_ITEM * out_pixel_stride)
                .enumerate()
                .for_each(run);
            Ok(())
        }
        ConvWeights::Gemm(b) => {
            if (b.k(), b.n()) != (k, n) {
                return invalid(format!(
                    "weights packed as {} x {}, convolution needs {k} x {n}",
                    b.k(),
                    b.n()
                ));
            }
            if algorithm == ConvAlgorithm::Pointwise {
                // (N·H·W, Cin) @ (Cin, Cout): the input is A as it is.
                gemm::gemm_with_tier(
                    tier,
                    &MatrixA::new(input, m, k, k)?,
                    b,
                    output,
                    out_pixel_stride,
                    epilogue,
                )
            } else {
                // (N·OH·OW, KH·KW·Cin) @ (KH·KW·Cin, Cout), patches packed on the fly.
                gemm::gemm_with_tier(
                    tier,
                    &Im2col::new(params, input)?,
                    b,
                    output,
                    out_pixel_stride,
                    epilogue,
                )
            }
        }
    }
}

fn invalid<T>(reason: String) -> Result<T> {
    Err(KernelError::InvalidParams { op: OP, reason })
}

/// [`conv2d_nhwc_with_tier`] over the decoder's `concat(upsample2x(low), skip)` input.
///
/// Winograd weights read the two tensors in place ([`winograd::UpsampleConcat`]); any other
/// algorithm gets the concatenated input materialised first (a temporary of
/// `params.input_len()` floats), so forcing im2col still works, at the cost of memory.
pub fn conv2d_upsample_concat_with_tier(
    tier: Tier,
    params: &Conv2dParams,
    input: &winograd::UpsampleConcat,
    weights: &ConvWeights,
    output: &mut [f32],
    out_pixel_stride: usize,
    epilogue: &Epilogue,
) -> Result<()> {
    match weights {
        ConvWeights::Winograd(w) => winograd::winograd_conv3x3_upsample_concat_with_tier(
            tier,
            params,
            input,
            w,
            output,
            out_pixel_stride,
            epilogue,
        ),
        _ => {
            let x = input.to_nhwc_with_tier(tier, params)?;
            conv2d_nhwc_with_tier(tier, params, &x, weights, output, out_pixel_stride, epilogue)
        }
    }
}

/// [`conv2d_upsample_concat_with_tier`] with the process-wide tier ([`Tier::active`]).
pub fn conv2d_upsample_concat(
    params: &Conv2dParams,
    input: &winograd::UpsampleConcat,
    weights: &ConvWeights,
    output: &mut [f32],
    out_pixel_stride: usize,
    epilogue: &Epilogue,
) -> Result<()> {
    conv2d_upsample_concat_with_tier(
        Tier::active()?,
        params,
        input,
        weights,
        output,
        out_pixel_stride,
        epilogue,
    )
}

/// The ndarray face of [`conv2d_nhwc`]: `input` is `(N, H, W, C)`, the result `(N, OH, OW, Cout)`.
pub fn conv2d(
    input: ArrayView4<f32>,
    params: &Conv2dParams,
    weights: &ConvWeights,
    epilogue: &Epilogue,
) -> Result<Array4<f32>> {
    let want = (params.batch, params.in_h, params.in_w, params.in_c);
    if input.dim() != want {
        return Err(KernelError::InvalidParams {
            op: OP,
            reason: format!("input shape {:?} does not match params {want:?}", input.dim()),
        });
    }
    params.validate()?;
    let (oh, ow) = params.out_hw();
    let input = input.as_standard_layout();
    let mut out = Array4::<f32>::zeros((params.batch, oh, ow, params.out_c));
    let out_slice = out.as_slice_mut().expect("fresh array is contiguous");
    conv2d_nhwc(
        params,
        input.as_slice().expect("standard layout"),
        weights,
        out_slice,
        params.out_c,
        epilogue,
    )?;
    Ok(out)
}
