//! Portable tier: build the first output row of a block with one `copy_from_slice` of `c`
//! floats per output pixel, then replicate that row `fy − 1` times (one `memcpy` of the whole
//! row when the destination is contiguous, per-pixel copies when it is a channel slice).
//! Copies are what this op is; `memcpy` is already at memory speed.

use super::UpsampleShape;

/// `dst` = the `fy` output rows made from input row `src` (`w · c` floats).
pub fn f32_upsample_rowcopy_portable(s: &UpsampleShape, src: &[f32], dst: &mut [f32]) {
    let (c, stride, off) = (s.c, s.out_pixel_stride, s.out_c_offset);
    let row_len = s.out_w() * stride;
    let (first, rest) = dst.split_at_mut(row_len);
    // loop 1: input pixels; loop 2: the fx copies of each
    for (x, px) in src.chunks_exact(c).enumerate() {
        for ox in x * s.fx..(x + 1) * s.fx {
            first[ox * stride + off..][..c].copy_from_slice(px);
        }
    }
    for row in rest.chunks_exact_mut(row_len) {
        if stride == c {
            row.copy_from_slice(first);
        } else {
            for (d, f) in row.chunks_exact_mut(stride).zip(first.chunks_exact(stride)) {
                d[off..off + c].copy_from_slice(&f[off..off + c]);
            }
        }
    }
}
