//! The oracles: the literal BatchNorm formula, and the naive scale/shift loop.

use super::BatchNorm;

/// `y = γ(x − μ)/√(σ² + ε) + β` per element; `c = bn.channels()`, lengths pre-checked.
pub fn batchnorm_nhwc(bn: &BatchNorm, input: &[f32], output: &mut [f32]) {
    let c = bn.channels();
    for i in 0..input.len() {
        let ch = i % c; // NHWC: the channel is the fastest axis
        output[i] = bn.gamma[ch] * (input[i] - bn.mean[ch]) / (bn.var[ch] + bn.eps).sqrt() + bn.beta[ch];
    }
}

/// In-place [`batchnorm_nhwc`].
pub fn batchnorm_nhwc_inplace(bn: &BatchNorm, x: &mut [f32]) {
    let c = bn.channels();
    for (i, v) in x.iter_mut().enumerate() {
        let ch = i % c;
        *v = bn.gamma[ch] * (*v - bn.mean[ch]) / (bn.var[ch] + bn.eps).sqrt() + bn.beta[ch];
    }
}

/// `y = x · scale[c] + shift[c]` per element, `c = scale.len()`.
pub fn scale_shift_nhwc(scale: &[f32], shift: &[f32], input: &[f32], output: &mut [f32]) {
    let c = scale.len();
    for i in 0..input.len() {
        output[i] = input[i] * scale[i % c] + shift[i % c];
    }
}

/// In-place [`scale_shift_nhwc`].
pub fn scale_shift_nhwc_inplace(scale: &[f32], shift: &[f32], x: &mut [f32]) {
    let c = scale.len();
    for (i, v) in x.iter_mut().enumerate() {
        *v = *v * scale[i % c] + shift[i % c];
    }
}
