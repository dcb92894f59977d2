//! The convolution oracle: direct loops over every output element, for any [`Conv2dParams`].
//!
//! Dense (`groups == 1`) weights are HWIO, `w[((ky·KW + kx)·Cin + ci)·Cout + co]`; depthwise
//! (`groups == in_c == out_c`) weights are HWC, `w[(ky·KW + kx)·C + c]`. Input and output are
//! contiguous NHWC.

use super::small_n::SmallN;
use crate::epilogue::Epilogue;
use crate::error::{check_len, Result};
use crate::params::Conv2dParams;

/// `output = epilogue(conv(input, weights))`, naively. See the module docs for layouts.
pub fn conv2d_nhwc(
    params: &Conv2dParams,
    input: &[f32],
    weights: &[f32],
    output: &mut [f32],
    epilogue: &Epilogue,
) -> Result<()> {
    const OP: &str = "conv2d_reference";
    params.validate()?;
    check_len(OP, "input", params.input_len(), input.len())?;
    check_len(OP, "weights", params.weight_len(), weights.len())?;
    check_len(OP, "output", params.output_len(), output.len())?;
    epilogue.validate(OP, params.out_c)?;
    let p = params;
    let (oh, ow) = p.out_hw();
    let depthwise = p.is_depthwise();
    for n in 0..p.batch {
        for oy in 0..oh {
            for ox in 0..ow {
                let out_px = ((n * oh + oy) * ow + ox) * p.out_c;
                for co in 0..p.out_c {
                    let mut acc = 0.0f32;
                    for ky in 0..p.kh {
                        // Padded coordinate minus the padding; outside the image reads zero.
                        let Some(iy) = (oy * p.stride_h + ky)
                            .checked_sub(p.pad_top)
                            .filter(|&y| y < p.in_h)
                        else {
                            continue;
                        };
                        for kx in 0..p.kw {
                            let Some(ix) = (ox * p.stride_w + kx)
                                .checked_sub(p.pad_left)
                                .filter(|&x| x < p.in_w)
                            else {
                                continue;
                            };
                            let in_px = ((n * p.in_h + iy) * p.in_w + ix) * p.in_c;
                            let tap = ky * p.kw + kx;
                            if depthwise {
                                acc += input[in_px + co] * weights[tap * p.out_c + co];
                            } else {
                                for ci in 0..p.in_c {
                                    acc += input[in_px + ci] * weights[(tap * p.in_c + ci) * p.out_c + co];
                                }
                            }
                        }
                    }
                    output[out_px + co] = epilogue.apply(co, acc);
                }
            }
        }
    }
    Ok(())
}

/// Output pixels `p0 .. p0 + count` of a small-N convolution, one element at a time in the
/// order of [`conv2d_nhwc`] (taps, then input channels), reading the weights from their
/// prepared columns (`cols[co·K + (ky·KW + kx)·Cin + ci]`): the reference tier's small-N
/// kernel. Pixel `p0 + i`, channel `co` goes to `out[i·stride + co]`. (The tap list the fast
/// tiers reuse is not needed here.)
pub(crate) fn conv_pixels_reference(
    s: &SmallN,
    p0: usize,
    count: usize,
    out: &mut [f32],
    stride: usize,
    _taps: &mut Vec<(usize, usize)>,
) {
    let p = s.params;
    let (oh, ow) = p.out_hw();
    let k = p.kh * p.kw * p.in_c;
    for i in 0..count {
        let (n, rem) = ((p0 + i) / (oh * ow), (p0 + i) % (oh * ow));
        let (oy, ox) = (rem / ow, rem % ow);
        for co in 0..p.out_c {
            let mut acc = 0.0f32;
            for ky in 0..p.kh {
                let Some(iy) = (oy * p.stride_h + ky)
                    .checked_sub(p.pad_top)
                    .filter(|&y| y < p.in_h)
                else {
                    continue;
                };
                for kx in 0..p.kw {
                    let Some(ix) = (ox * p.stride_w + kx)
                        .checked_sub(p.pad_left)
                        .filter(|&x| x < p.in_w)
                    else {
                        continue;
                    };
                    let in_px = ((n * p.in_h + iy) * p.in_w + ix) * p.in_c;
                    let tap = (ky * p.kw + kx) * p.in_c;
                    for ci in 0..p.in_c {
                        acc += s.input[in_px + ci] * s.cols[co * k + tap + ci];
                    }
                }
            }
            out[i * stride + co] = s.epilogue.apply(co, acc);
        }
    }
}
