//! The oracle: one scalar `Activation::apply` per element, no blocking, no threads.

use crate::epilogue::Activation;

/// `x[i] = act(x[i])` for every `i`.
pub fn activation_inplace(act: Activation, x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = act.apply(*v);
    }
}
