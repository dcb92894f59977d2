//! # mobilenet-unet
//!
//! MobileNet-UNet semantic segmentation in pure Rust: the seed's Keras model (a MobileNet v1
//! encoder of depthwise separable convolutions and a UNet decoder) run by the hand-written
//! kernels of `mobilenet-unet-kernels`.
//!
//! - [`Config`] and [`Architecture`]: the network as data — shapes, parameter counts equal to
//!   Keras's `count_params()`, MACs.
//! - [`Weights`]: safetensors files with Keras's tensor names, validated against the
//!   architecture (every problem named).
//! - [`Model`]: BatchNorm folded and weights packed once at load, activation memory planned per
//!   input size and reused, `Send + Sync`, a private thread pool if you want one.
//!
//! # Features
//!
//! The engine itself (configuration, weights, `Model::predict`, argmax) needs none of them.
//!
//! | feature | default | adds | dependencies |
//! |---|---|---|---|
//! | `image` | yes | `Model::segment` (an `image::RgbImage`), `Model::segment_file` (PNG/JPEG), `segment::load_rgb` | `image` (png + jpeg decoders) |
//! | `eval` | no | `eval`: pixel accuracy and IoU on a labelled image folder (implies `image`) | — |
//! | `npy` | no | `npy`: NHWC `.npy` input and output, to exchange tensors with NumPy | `ndarray-npy` |
//! | `default-model` | no | `defaults::default_weights`: the repository's trained shapes model, embedded (7.1 MB) | — |
//!
//! `default-features = false` gives the engine alone. The command-line tool is a separate
//! crate, `mobilenet-unet-cli` (binary `mobilenet-unet`), which turns all four on; it also
//! holds what only it needs: argument parsing, the progress bar, the palette PNG and overlay
//! drawing with their bitmap font.
//!
//! ```
//! use mobilenet_unet::{Architecture, Config};
//! let arch = Architecture::new(&Config::default())?;   // alpha 1.0, 2 classes, 224x224
//! assert_eq!(arch.total_params(), 6_278_658);          // as Keras counts them
//! # Ok::<(), mobilenet_unet::Error>(())
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod arch;
mod builder;
pub mod config;
pub mod defaults;
pub mod error;
#[cfg(feature = "eval")]
pub mod eval;
mod forward;
pub mod model;
mod network;
#[cfg(feature = "npy")]
pub mod npy;
mod plan;
pub mod preprocess;
pub mod reference;
pub mod segment;
pub mod summary;
mod threads;
pub mod weights;

pub use arch::{Architecture, LayerInfo};
pub use builder::{ModelBuilder, Precision, DEFAULT_MAX_WORKSPACES};
pub use config::{check_input_size, Config, DecoderActivation};
pub use error::{Error, Result};
pub use forward::{StepTime, Taps};
pub use mobilenet_unet_kernels::conv::ConvChoice;
pub use mobilenet_unet_kernels::Tier;
pub use model::{argmax_classes, Model};
pub use preprocess::Preprocessing;
pub use segment::Segmentation;
pub use threads::Spin;
pub use weights::{Tensor, Weights};
