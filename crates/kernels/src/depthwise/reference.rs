//! The oracle: naive nested loops over any kernel size, stride and (asymmetric) padding.
//!
//! Kept deliberately simple — one output element at a time, the sum over `(ky, kx)` in order,
//! taps in the zero padding skipped — so it is obviously the formula in the module docs. The
//! other tiers sum the same terms in the same order (with FMA on the SIMD path).

use crate::epilogue::Epilogue;
use crate::params::Conv2dParams;

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
