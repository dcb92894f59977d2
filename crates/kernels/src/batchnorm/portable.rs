//! Portable tier: pixel by pixel, the channel loop zipped over `scale`/`shift` so LLVM
//! vectorises it. The entry point splits the work over rayon in blocks of whole pixels.

/// `dst = src · scale + shift` over whole pixels (`src.len() % scale.len() == 0`).
pub fn f32_scaleshift_portable(scale: &[f32], shift: &[f32], src: &[f32], dst: &mut [f32]) {
    let c = scale.len();
    for (d, s) in dst.chunks_exact_mut(c).zip(src.chunks_exact(c)) {
        for (((d, &x), &a), &b) in d.iter_mut().zip(s).zip(scale).zip(shift) {
            *d = x * a + b;
        }
    }
}

/// In-place [`f32_scaleshift_portable`].
pub fn f32_scaleshift_inplace_portable(scale: &[f32], shift: &[f32], x: &mut [f32]) {
    let c = scale.len();
    for px in x.chunks_exact_mut(c) {
        for ((v, &a), &b) in px.iter_mut().zip(scale).zip(shift) {
            *v = *v * a + b;
        }
    }
}
