//! The oracle: max, `f32::exp`, sum, divide, row by row.

/// Softmax of each `c`-float row of `x` (`x.len() % c == 0`, `c >= 1`).
pub fn softmax_channels_inplace(x: &mut [f32], c: usize) {
    for row in x.chunks_exact_mut(c) {
        let m = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let mut sum = 0.0f32;
        for v in row.iter_mut() {
            *v = (*v - m).exp();
            sum += *v;
        }
        for v in row.iter_mut() {
            *v /= sum;
        }
    }
}

/// `out[i] = e^{x[i]}` with the standard library's `f32::exp`.
pub fn exp_libm(x: &[f32], out: &mut [f32]) {
    out.iter_mut().zip(x).for_each(|(o, &v)| *o = v.exp());
}
