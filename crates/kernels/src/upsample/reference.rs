//! The oracle: one element at a time, straight from the definition.

use super::UpsampleShape;

/// `out[n, oy, ox, off + ch] = in[n, oy / fy, ox / fx, ch]`; `s` validated, lengths checked.
pub fn upsample_nearest_nhwc(s: &UpsampleShape, input: &[f32], output: &mut [f32]) {
    let block = s.fy * s.out_w() * s.out_pixel_stride;
    let row = s.w * s.c;
    for (dst, src) in output
        .chunks_exact_mut(block.max(1))
        .zip(input.chunks_exact(row.max(1)))
    {
        upsample_rows_reference(s, src, dst);
    }
}

/// `dst` = the `fy` output rows made from input row `src` (`w · c` floats), element by
/// element: the reference tier's kernel.
pub(crate) fn upsample_rows_reference(s: &UpsampleShape, src: &[f32], dst: &mut [f32]) {
    let ow = s.out_w();
    for dy in 0..s.fy {
        for ox in 0..ow {
            for ch in 0..s.c {
                dst[(dy * ow + ox) * s.out_pixel_stride + s.out_c_offset + ch] = src[(ox / s.fx) * s.c + ch];
            }
        }
    }
}
