//! Portable (and AVX2, see the module docs) tier: one `copy_from_slice` per pixel and input.

/// Fills `dst`, the output pixels starting at pixel `p0` (`dst.len()` a whole number of
/// pixels of `Σ channels` floats).
pub fn f32_concat_pixelcopy_portable(inputs: &[&[f32]], channels: &[usize], p0: usize, dst: &mut [f32]) {
    let total: usize = channels.iter().sum();
    for (p, out_px) in dst.chunks_exact_mut(total).enumerate() {
        let mut off = 0;
        for (x, &c) in inputs.iter().zip(channels) {
            out_px[off..off + c].copy_from_slice(&x[(p0 + p) * c..][..c]);
            off += c;
        }
    }
}

/// `dst[p, off .. off + c] = src[p, ..]` for the whole pixels of `dst`.
pub fn f32_copy_channels_pixelcopy_portable(
    src: &[f32],
    c: usize,
    dst: &mut [f32],
    stride: usize,
    off: usize,
) {
    for (d, s) in dst.chunks_exact_mut(stride).zip(src.chunks_exact(c)) {
        d[off..off + c].copy_from_slice(s);
    }
}
