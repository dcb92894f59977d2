//! Portable tier: the clamp written so LLVM vectorises it (`maxps`/`minps` on SSE2, or
//! whatever the target has), with the bounds hoisted out of the loop.

use crate::epilogue::Activation;

/// `x[i] = act(x[i])`; `act` is not `None` (the dispatcher returns early for identity).
pub fn activation_inplace(act: Activation, x: &mut [f32]) {
    let (lo, hi) = act.bounds();
    // `f32::max` returns the non-NaN operand, so a NaN becomes `lo`, exactly as
    // `Activation::apply` does, and `min(hi = +inf)` is the identity for ReLU.
    for v in x.iter_mut() {
        *v = v.max(lo).min(hi);
    }
}
