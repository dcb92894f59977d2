//! The oracle: every output element from the definition.

use super::PadShape;

/// `out[n, y, x, ch] = in[n, y − top, x − left, ch]` inside, else 0; lengths pre-checked.
pub fn zero_pad_nhwc(s: &PadShape, input: &[f32], output: &mut [f32]) {
    let (oh, ow) = (s.out_h(), s.out_w());
    for n in 0..s.batch {
        for y in 0..oh {
            for x in 0..ow {
                for ch in 0..s.c {
                    let inside = y >= s.top && y < s.top + s.h && x >= s.left && x < s.left + s.w;
                    let v = if inside {
                        input[((n * s.h + y - s.top) * s.w + x - s.left) * s.c + ch]
                    } else {
                        0.0
                    };
                    output[((n * oh + y) * ow + x) * s.c + ch] = v;
                }
            }
        }
    }
}
