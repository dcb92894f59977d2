//! The oracle: one element at a time, straight from the definition.

use super::UpsampleShape;

/// `out[n, oy, ox, off + ch] = in[n, oy / fy, ox / fx, ch]`; `s` validated, lengths checked.
pub fn upsample_nearest_nhwc(s: &UpsampleShape, input: &[f32], output: &mut [f32]) {
    let (oh, ow) = (s.out_h(), s.out_w());
    for n in 0..s.batch {
        for oy in 0..oh {
            for ox in 0..ow {
                for ch in 0..s.c {
                    let src = ((n * s.h + oy / s.fy) * s.w + ox / s.fx) * s.c + ch;
                    let dst = ((n * oh + oy) * ow + ox) * s.out_pixel_stride + s.out_c_offset + ch;
                    output[dst] = input[src];
                }
            }
        }
    }
}
