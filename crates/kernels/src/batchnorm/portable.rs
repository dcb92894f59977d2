//! Portable tier: pixel by pixel, the channel loop zipped over `scale`/`shift` so LLVM
//! vectorises it; rayon over fixed blocks of whole pixels.

use rayon::prelude::*;

/// `dst = src · scale + shift` over whole pixels (`src.len() % scale.len() == 0`).
fn scale_shift_block(scale: &[f32], shift: &[f32], src: &[f32], dst: &mut [f32]) {
    let c = scale.len();
    for (d, s) in dst.chunks_exact_mut(c).zip(src.chunks_exact(c)) {
        for (((d, &x), &a), &b) in d.iter_mut().zip(s).zip(scale).zip(shift) {
            *d = x * a + b;
        }
    }
}

/// In-place [`scale_shift_block`].
fn scale_shift_block_inplace(scale: &[f32], shift: &[f32], x: &mut [f32]) {
    let c = scale.len();
    for px in x.chunks_exact_mut(c) {
        for ((v, &a), &b) in px.iter_mut().zip(scale).zip(shift) {
            *v = *v * a + b;
        }
    }
}

/// Threaded out-of-place scale/shift; `chunk` is a whole number of pixels.
pub fn scale_shift_par(scale: &[f32], shift: &[f32], src: &[f32], dst: &mut [f32], chunk: usize) {
    dst.par_chunks_mut(chunk)
        .zip(src.par_chunks(chunk))
        .for_each(|(d, s)| scale_shift_block(scale, shift, s, d));
}

/// Threaded in-place scale/shift; `chunk` is a whole number of pixels.
pub fn scale_shift_inplace_par(scale: &[f32], shift: &[f32], x: &mut [f32], chunk: usize) {
    x.par_chunks_mut(chunk)
        .for_each(|b| scale_shift_block_inplace(scale, shift, b));
}
