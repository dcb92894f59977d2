//! What this repository ships beside the engine: the default model and the labelled test set.
//!
//! The default model is trained by `tools/train.py` on the synthetic shapes dataset of
//! `tools/make_dataset.py`, so the command line's `segment`, `infer`, `eval` and `bench` work
//! without a `--weights` file and without downloading anything. It is embedded only with the
//! `default-model` feature (off by default: 7.1 MB that an embedder with their own weights does
//! not want in their binary); the `mobilenet-unet-cli` crate turns it on.

#[cfg(feature = "default-model")]
use crate::error::{Error, Result};
#[cfg(feature = "default-model")]
use crate::weights::Weights;
use std::path::PathBuf;

#[cfg(has_default_weights)]
const DEFAULT_WEIGHTS: Option<&[u8]> = Some(include_bytes!(env!("MOBILENET_UNET_DEFAULT_WEIGHTS")));
#[cfg(all(feature = "default-model", not(has_default_weights)))]
const DEFAULT_WEIGHTS: Option<&[u8]> = None;

/// The embedded default weights file's bytes, if this build has them (for checksums and for
/// comparing with what Keras evaluated).
#[cfg(feature = "default-model")]
pub fn default_weights_bytes() -> Option<&'static [u8]> {
    DEFAULT_WEIGHTS
}

/// The embedded default weights (`weights/mobilenet_unet_shapes.safetensors` of the repository).
#[cfg(feature = "default-model")]
pub fn default_weights() -> Result<Weights> {
    match DEFAULT_WEIGHTS {
        Some(bytes) => Weights::from_bytes(bytes, "<embedded default weights>"),
        None => Err(Error::Config(
            "no --weights given, and this build has no embedded default weights \
             (weights/mobilenet_unet_shapes.safetensors was missing when it was compiled)"
                .into(),
        )),
    }
}

/// The committed labelled test set (`data/test` in the repository this crate was built from).
pub fn default_test_set() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/test")
}
