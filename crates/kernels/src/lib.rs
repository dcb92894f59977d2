//! # mobilenet-unet-kernels
//!
//! Hand-written f32 tensor kernels for MobileNet-UNet inference: GEMM with a packed right-hand
//! side and fused epilogue, standard convolution by im2col + GEMM or by Winograd F(4x4, 3x3)
//! ([`winograd`]), pointwise (1x1) convolution, depthwise 3x3 convolution, batch
//! normalisation, nearest upsampling, zero padding, channel concatenation, ReLU6 and softmax.
//!
//! Every operation lives in its own module and runs at any tier through one entry point (see
//! [`tier`]): a naive `reference` (the oracle), a `portable` blocked version, an
//! AVX2+FMA version, AVX-512 where it pays, NEON on aarch64 and SIMD128 in WebAssembly, the
//! best one picked at run time (at build time in WebAssembly, which cannot detect features).
//! Which function each tier runs for each operation is written in one table (`dispatch.rs`),
//! from which the calls and the kernel names both come. Kernels work on
//! slices plus a params struct, write into a caller-provided output, validate their arguments
//! (returning [`KernelError`]), keep their large scratch (packed panels, Winograd tiles) in
//! per-thread buffers reused from call to call (a call allocates at most a few small index
//! lists), and parallelise with rayon over independent output blocks only, so results are
//! bit-identical for any number of threads. Run them inside your own
//! `rayon::ThreadPool::install` to control the thread count.
//!
//! Layouts are NHWC activations and Keras weight layouts; see [`params`].

#![warn(missing_docs)]

pub mod activation;
pub mod batchnorm;
pub mod concat;
pub mod conv;
pub mod depthwise;
mod dispatch;
pub mod epilogue;
pub mod error;
pub mod gemm;
pub mod pad;
pub mod params;
pub mod softmax;
pub mod tier;
pub mod upsample;
pub mod winograd;

pub use epilogue::{Activation, ChannelAffine, Epilogue};
pub use error::{KernelError, Result};
pub use params::{
    same_padding, Conv2dParams, ConvAlgorithm, ConvSpec, Padding, SMALL_N, WINOGRAD_MAX_FILTERS,
    WINOGRAD_MIN_IN_C,
};
pub use tier::Tier;
