//! The oracles: element by element from the definitions.

/// `out[p, off_i + ch] = inputs[i][p, ch]`; lengths pre-checked.
pub fn concat_channels_nhwc(inputs: &[&[f32]], channels: &[usize], pixels: usize, output: &mut [f32]) {
    let total: usize = channels.iter().sum();
    concat_pixels_reference(inputs, channels, 0, &mut output[..pixels * total]);
}

/// The output pixels `p0 ..` that `dst` holds (whole pixels of `Σ channels` floats), element
/// by element: the reference tier's kernel.
pub(crate) fn concat_pixels_reference(inputs: &[&[f32]], channels: &[usize], p0: usize, dst: &mut [f32]) {
    let total: usize = channels.iter().sum();
    for p in 0..dst.len() / total.max(1) {
        let mut off = 0;
        for (x, &c) in inputs.iter().zip(channels) {
            for ch in 0..c {
                dst[p * total + off + ch] = x[(p0 + p) * c + ch];
            }
            off += c;
        }
    }
}

/// `dst[p, off + ch] = src[p, ch]` for the whole pixels of `src`; lengths pre-checked.
pub fn copy_channels_into(src: &[f32], c: usize, dst: &mut [f32], stride: usize, off: usize) {
    for p in 0..src.len() / c {
        for ch in 0..c {
            dst[p * stride + off + ch] = src[p * c + ch];
        }
    }
}
