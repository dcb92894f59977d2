//! Portable (and AVX2, see the module docs) tier: one output row at a time, as
//! `memset | memcpy | memset`.

use super::PadShape;

/// Writes output row `r` (counted over all images) into `dst` (`out_w · c` floats).
pub fn f32_zero_pad_rowcopy_portable(s: &PadShape, input: &[f32], r: usize, dst: &mut [f32]) {
    let (n, y) = (r / s.out_h(), r % s.out_h());
    if y < s.top || y >= s.top + s.h {
        dst.fill(0.0);
        return;
    }
    let row = s.w * s.c;
    let src = &input[(n * s.h + y - s.top) * row..][..row];
    let (left, rest) = dst.split_at_mut(s.left * s.c);
    let (mid, right) = rest.split_at_mut(row);
    left.fill(0.0);
    mid.copy_from_slice(src);
    right.fill(0.0);
}
