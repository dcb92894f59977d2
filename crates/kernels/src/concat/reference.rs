//! The oracles: element by element from the definitions.

/// `out[p, off_i + ch] = inputs[i][p, ch]`; lengths pre-checked.
pub fn concat_channels_nhwc(inputs: &[&[f32]], channels: &[usize], pixels: usize, output: &mut [f32]) {
    let total: usize = channels.iter().sum();
    for p in 0..pixels {
        let mut off = 0;
        for (x, &c) in inputs.iter().zip(channels) {
            for ch in 0..c {
                output[p * total + off + ch] = x[p * c + ch];
            }
            off += c;
        }
    }
}

/// `dst[p, off + ch] = src[p, ch]`; lengths pre-checked.
pub fn copy_channels_into(src: &[f32], c: usize, dst: &mut [f32], stride: usize, off: usize) {
    for p in 0..src.len() / c {
        for ch in 0..c {
            dst[p * stride + off + ch] = src[p * c + ch];
        }
    }
}
