//! The oracle: every output element from the definition.

use super::PadShape;

/// `out[n, y, x, ch] = in[n, y − top, x − left, ch]` inside, else 0; lengths pre-checked.
pub fn zero_pad_nhwc(s: &PadShape, input: &[f32], output: &mut [f32]) {
    let row = s.out_w() * s.c;
    for (r, dst) in output.chunks_exact_mut(row.max(1)).enumerate() {
        zero_pad_row_reference(s, input, r, dst);
    }
}

/// Output row `r` (counted over all images) into `dst` (`out_w · c` floats), element by
/// element: the reference tier's kernel.
pub(crate) fn zero_pad_row_reference(s: &PadShape, input: &[f32], r: usize, dst: &mut [f32]) {
    let (n, y) = (r / s.out_h(), r % s.out_h());
    for x in 0..s.out_w() {
        for ch in 0..s.c {
            let inside = y >= s.top && y < s.top + s.h && x >= s.left && x < s.left + s.w;
            dst[x * s.c + ch] = if inside {
                input[((n * s.h + y - s.top) * s.w + x - s.left) * s.c + ch]
            } else {
                0.0
            };
        }
    }
}
