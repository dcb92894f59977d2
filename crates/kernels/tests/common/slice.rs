//! Outputs written into a channel slice of a wider NHWC buffer (a concatenation for free).

/// Channels `offset..offset + c` of pixels that are `stride` floats apart.
#[derive(Debug, Clone, Copy)]
pub struct ChannelSlice {
    pub c: usize,
    pub stride: usize,
    pub offset: usize,
}

impl ChannelSlice {
    /// Spreads `dense` (`c` floats per pixel) into the slice of a wide buffer holding `fill`
    /// everywhere else: NaN for an expected output (the kernel must leave those alone).
    pub fn widen(&self, dense: &[f32], fill: f32) -> Vec<f32> {
        let mut wide = vec![fill; dense.len() / self.c * self.stride];
        for (dst, src) in wide.chunks_mut(self.stride).zip(dense.chunks(self.c)) {
            dst[self.offset..][..self.c].copy_from_slice(src);
        }
        wide
    }

    /// `pixel p channel c` for element `i` of the wide buffer, or where outside the slice it is.
    pub fn locate(&self, i: usize) -> String {
        let (px, ch) = (i / self.stride, i % self.stride);
        match ch.checked_sub(self.offset).filter(|&co| co < self.c) {
            Some(co) => format!("pixel {px} channel {co}"),
            None => format!("pixel {px} buffer channel {ch} (outside the slice)"),
        }
    }
}
