//! # mobilenet-unet-verify
//!
//! Proves the engine equals Keras. The judge is real Keras (3.15, JAX backend): the fixtures in
//! `crates/verify/fixtures/` were produced by `tools/keras_reference.py` — never by our own code —
//! and are committed, so checking needs no Python. Four kinds of checks:
//!
//! - [`layers`]: single Keras layers (Conv2D, DepthwiseConv2D, BatchNormalization,
//!   ZeroPadding2D, UpSampling2D, Concatenate, ReLU6, Softmax) against our kernels, every tier
//!   this CPU has plus the reference;
//! - [`models`]: whole networks (four configurations) end to end and at every tap
//!   (f1..f4, dec1..dec4, logits), through the optimised [`mobilenet_unet::Model`] and through
//!   the unfolded [`mobilenet_unet::reference`] oracle, with the weights converted by
//!   `tools/convert_keras.py`;
//! - [`default_model`]: the trained weights embedded in the binary, evaluated on the committed
//!   test set by our engine and by Keras (same file, checked by SHA-256): the confusion
//!   matrices and every metric must agree;
//! - [`params`]: Keras's `count_params()` for eight configurations, per layer and in total,
//!   and the seed's 16→32 lesson (4608 vs 656).
//!
//! ## Tolerances
//!
//! Errors are measured relative to the tensor's scale, `max|a − b| / max(max|b|, 1)`: f32 sums
//! in a different order differ by a few units in the last place of the *largest* terms, not of
//! each output. A single layer sums at most 117 products: `1e-5` is ~100 ulps of headroom. A
//! whole network chains 31 convolutions with reductions of up to 6912 terms, and we fold BN
//! into the weights (Keras does not): `1e-4` for activations. Probabilities are bounded by 1,
//! so they get an absolute `1e-4`; argmax agreement must be at least 99.5% of pixels (a pixel
//! whose top two classes differ by less than the error may flip).

#![forbid(unsafe_code)]

pub mod default_model;
pub mod fixtures;
pub mod layers;
pub mod models;
pub mod params;
pub mod report;

pub use report::{Check, Report};

use std::path::{Path, PathBuf};

/// Everything that can fail while verifying (a failed *comparison* is a [`Check`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A fixture file is missing or unreadable.
    #[error("{path}: {reason}")]
    Fixture {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The engine refused to run a case.
    #[error(transparent)]
    Engine(#[from] mobilenet_unet::Error),
    /// A kernel refused to run a case.
    #[error(transparent)]
    Kernel(#[from] mobilenet_unet_kernels::KernelError),
}

/// Shorthand.
pub type Result<T> = std::result::Result<T, VerifyError>;

/// The committed fixtures' folder.
pub fn default_fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Runs every check on the fixtures in `dir`.
pub fn run_all(dir: &Path) -> Result<Report> {
    let mut report = Report::default();
    report.checks.extend(params::check_param_counts(dir)?);
    report.checks.extend(layers::check_layers(dir)?);
    report.checks.extend(models::check_models(dir)?);
    report
        .checks
        .extend(default_model::check_default_weights_eval(dir)?);
    Ok(report)
}

/// A [`mobilenet_unet::ModelBuilder`] with the environment's overrides, read here (the library
/// reads none): `MOBILENET_UNET_TIER` (through [`mobilenet_unet_kernels::Tier::active`]) and
/// `MOBILENET_UNET_CONV` ([`mobilenet_unet::ConvChoice::from_name`]).
pub fn engine_builder() -> Result<mobilenet_unet::ModelBuilder> {
    use mobilenet_unet_kernels::conv::CONV_ENV;
    let conv = match std::env::var(CONV_ENV) {
        Ok(v) => mobilenet_unet::ConvChoice::from_name(&v)?,
        Err(_) => mobilenet_unet::ConvChoice::Auto,
    };
    Ok(mobilenet_unet::Model::builder()
        .tier(mobilenet_unet_kernels::Tier::active()?)
        .conv_algorithm(conv))
}
