//! The oracle: naive nested loops over any kernel size, stride and (asymmetric) padding.
//!
//! Kept deliberately simple — one output element at a time, the sum over `(ky, kx)` in order,
//! taps in the zero padding skipped — so it is obviously the formula in the module docs. The
//! other tiers sum the same terms in the same order (with FMA on the SIMD path).

use super::{DepthwiseKernels, Geometry};
use crate::epilogue::Epilogue;
use crate::params::Conv2dParams;

/// The reference tier's kernels: [`depthwise_row_reference`] for every row.
pub(crate) fn reference_kernels() -> DepthwiseKernels {
    DepthwiseKernels {
        row: depthwise_row_reference,
        name_3x3s1: "depthwise_row_reference",
        name_3x3s2: "depthwise_row_reference",
        name_generic: "depthwise_row_reference",
    }
}

/// Output row `oy` of one image (`image` is `[in_h, in_w, c]`, `out_row` is `[out_w, c]`),
/// one element at a time as [`depthwise_conv2d_nhwc`] computes it: the reference tier's row
/// kernel. Panics if a slice disagrees with `g`.
pub(crate) fn depthwise_row_reference(
    g: &Geometry,
    image: &[f32],
    w: &[f32],
    ep: &Epilogue,
    oy: usize,
    out_row: &mut [f32],
) {
    g.assert_row_args(image, w, ep, oy, out_row);
    let c = g.c;
    for ox in 0..g.out_w {
        for ch in 0..c {
            let mut acc = 0.0f32;
            for ky in 0..g.kh {
                for kx in 0..g.kw {
                    // Position in the unpadded input; negative or past the end = padding.
                    let iy = (oy * g.stride_h + ky) as isize - g.pad_top as isize;
                    let ix = (ox * g.stride_w + kx) as isize - g.pad_left as isize;
                    if iy < 0 || ix < 0 || iy >= g.in_h as isize || ix >= g.in_w as isize {
                        continue;
                    }
                    let (iy, ix) = (iy as usize, ix as usize);
                    acc += image[(iy * g.in_w + ix) * c + ch] * w[(ky * g.kw + kx) * c + ch];
                }
            }
            out_row[ox * c + ch] = ep.apply(ch, acc);
        }
    }
}

/// Naive depthwise convolution. The caller has validated `params` and every slice length
/// (see [`super::depthwise_conv2d_nhwc_with_tier`], which is the public entry).
pub fn depthwise_conv2d_nhwc(
    params: &Conv2dParams,
    input: &[f32],
    weights: &[f32],
    output: &mut [f32],
    epilogue: &Epilogue,
) {
    let (out_h, out_w) = params.out_hw();
    let (in_h, in_w, c) = (params.in_h, params.in_w, params.in_c);
    for n in 0..params.batch {
        for oy in 0..out_h {
            for ox in 0..out_w {
                for ch in 0..c {
                    let mut acc = 0.0f32;
                    for ky in 0..params.kh {
                        for kx in 0..params.kw {
                            // Position in the unpadded input; negative or past the end = padding.
                            let iy = (oy * params.stride_h + ky) as isize - params.pad_top as isize;
                            let ix = (ox * params.stride_w + kx) as isize - params.pad_left as isize;
                            if iy < 0 || ix < 0 || iy >= in_h as isize || ix >= in_w as isize {
                                continue;
                            }
                            let (iy, ix) = (iy as usize, ix as usize);
                            // in: [batch, in_h, in_w, c]; w: [kh, kw, c]
                            let x = input[((n * in_h + iy) * in_w + ix) * c + ch];
                            let w = weights[(ky * params.kw + kx) * c + ch];
                            acc += x * w;
                        }
                    }
                    // out: [batch, out_h, out_w, c]
                    output[((n * out_h + oy) * out_w + ox) * c + ch] = epilogue.apply(ch, acc);
                }
            }
        }
    }
}
