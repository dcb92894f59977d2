//! Portable tier: the clamp written so LLVM vectorises it (`maxps`/`minps` on SSE2, or
//! whatever the target has).
//!
//! One loop per activation with *constant* bounds: with runtime bounds LLVM must also guard
//! against a NaN bound (extra compare and blend per vector), which made a single generic loop
//! run at half the speed of these.

use crate::epilogue::Activation;

/// `x[i] = act(x[i])`.
pub fn activation_inplace(act: Activation, x: &mut [f32]) {
    // `f32::max` returns the non-NaN operand, so a NaN becomes 0, exactly as
    // `Activation::apply` does.
    match act {
        Activation::None => {}
        Activation::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
        Activation::Relu6 => x.iter_mut().for_each(|v| *v = v.clamp(0.0, 6.0)),
    }
}
