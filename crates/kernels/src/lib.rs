//! # mobilenet-unet-kernels
//!
//! Hand-written f32 tensor kernels for MobileNet-UNet inference: GEMM with a packed right-hand
//! side and fused epilogue, standard convolution by im2col + GEMM or by Winograd F(4x4, 3x3)
//! ([`winograd`]), pointwise (1x1) convolution, depthwise 3x3 convolution, batch
//! normalisation, nearest upsampling, zero padding, channel concatenation, ReLU6 and softmax.
//!
//! Every operation lives in its own module and runs at any tier through one entry point (see
//! [`tier`]): a naive `reference` (the oracle), a `portable` blocked version, an AVX2+FMA
//! version, AVX-512 where it pays, NEON on aarch64 and SIMD128 in WebAssembly, the best one
//! picked at run time (at build time in WebAssembly, which cannot detect features). Which
//! function each tier runs for each operation is decided in one place, `dispatch.rs`: one
//! table per tier, built by one constructor per tier, from which both the calls and the kernel
//! names come ([`kernel_names`]); no entry point looks at the tier itself. The SIMD kernels
//! are written once over one vector abstraction (`lanes`) and follow one soundness argument
//! (see `dispatch.rs`).
//!
//! Kernels work on slices plus a params struct, write into a caller-provided output, validate
//! their arguments (returning [`KernelError`]), keep their large scratch (packed panels,
//! Winograd's tiles) in per-thread buffers reused from call to call (a warmed-up call of a
//! fast tier allocates nothing; the reference tier does, to unpack packed weights), and
//! parallelise with rayon over independent output blocks only, so results are bit-identical
//! for any number of threads. Run them inside your own `rayon::ThreadPool::install` to control
//! the thread count.
//!
//! Layouts are NHWC activations and Keras weight layouts; see [`params`].

#![warn(missing_docs)]
// Every unsafe operation sits in its own `unsafe` block with a `// SAFETY:` comment, also
// inside `unsafe fn`s (whose own contract is their `# Safety` section): see
// `dispatch.rs` for the one soundness argument they all rest on.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod activation;
pub mod batchnorm;
pub mod bf16;
pub mod concat;
pub mod conv;
pub mod depthwise;
mod dispatch;
pub mod epilogue;
pub mod error;
pub mod gemm;
pub mod gemm_bf16;
pub mod gemm_i8;
mod lanes;
pub mod pad;
pub mod params;
pub mod quant;
mod scratch;
pub mod softmax;
pub mod tier;
pub mod upsample;
pub mod winograd;

pub use dispatch::kernel_names;
pub use epilogue::{Activation, ChannelAffine, Epilogue};
pub use error::{KernelError, Result};
pub use params::{
    same_padding, Conv2dParams, ConvAlgorithm, ConvSpec, Padding, SMALL_N, WINOGRAD_MAX_FILTERS,
    WINOGRAD_MIN_IN_C,
};
pub use tier::Tier;

/// Grows the calling thread's kernel scratch (packed GEMM panels, Winograd's V and M, the
/// small-N tap list) to the fixed sizes the kernels use, so that no later kernel call on this thread allocates.
///
/// The kernels grow this scratch on their own when they first need it, so calling this is
/// optional; it makes "no allocation after warm-up" independent of which thread happened to
/// run what during the warm-up. Run it on every thread of a pool with
/// `pool.broadcast(|_| reserve_thread_scratch())`. It keeps about 8.2 MiB per thread when
/// `winograd` is set (without it, the 150 KiB of GEMM panels).
pub fn reserve_thread_scratch(winograd: bool) {
    gemm::reserve_a_scratch();
    conv::small_n::with_taps(0, |_| ());
    if winograd {
        winograd::reserve_scratch();
    }
}
