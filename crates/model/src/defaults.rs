//! The model that ships inside the binary: trained by `tools/train.py` on the synthetic shapes
//! dataset of `tools/make_dataset.py`, so `segment`, `infer`, `eval` and `bench` work without a
//! `--weights` file and without downloading anything.

use crate::error::{Error, Result};
use crate::weights::Weights;
use std::path::PathBuf;

#[cfg(has_default_weights)]
const DEFAULT_WEIGHTS: Option<&[u8]> = Some(include_bytes!(env!("MOBILENET_UNET_DEFAULT_WEIGHTS")));
#[cfg(not(has_default_weights))]
const DEFAULT_WEIGHTS: Option<&[u8]> = None;

/// The embedded default weights file's bytes, if this build has them (for checksums and for
/// comparing with what Keras evaluated).
pub fn default_weights_bytes() -> Option<&'static [u8]> {
    DEFAULT_WEIGHTS
}

/// The embedded default weights (`weights/mobilenet_unet_shapes.safetensors` of the repository).
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

/// The committed labelled test set (`data/test` in the repository this binary was built from).
pub fn default_test_set() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/test")
}
