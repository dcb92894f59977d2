//! Portable tier: the clamp written so LLVM vectorises it (`maxps`/`minps` on SSE2, or
//! whatever the target has).
//!
//! One loop per activation with *constant* bounds: with runtime bounds LLVM must also guard
//! against a NaN bound (extra compare and blend per vector), which made a single generic loop
//! run at half the speed of these.

use crate::epilogue::Activation;

/// `x[i] = act(x[i])`, NaN included, exactly as [`Activation::apply`] defines it.
pub fn f32_clamp_autovec_portable(act: Activation, x: &mut [f32]) {
    // Each arm calls `apply` on a constant activation, so it inlines to a loop with
    // constant bounds.
    match act {
        Activation::None => {}
        Activation::Relu => x.iter_mut().for_each(|v| *v = Activation::Relu.apply(*v)),
        Activation::Relu6 => x.iter_mut().for_each(|v| *v = Activation::Relu6.apply(*v)),
    }
}
