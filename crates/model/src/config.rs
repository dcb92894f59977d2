//! What a MobileNet-UNet is made of: the knobs of the seed's Keras code.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// What the decoder's 3x3 convolutions do before their BatchNormalization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecoderActivation {
    /// The seed: `Conv2D` then `BatchNormalization`, no nonlinearity (BN folds into the conv).
    #[default]
    None,
    /// keras_segmentation's current decoder: `Conv2D(activation='relu')` then BN (BN becomes the
    /// epilogue's second affine step, since it cannot be folded back through the ReLU).
    Relu,
}

impl DecoderActivation {
    /// The name used on the command line and in weight metadata.
    pub fn name(self) -> &'static str {
        match self {
            DecoderActivation::None => "none",
            DecoderActivation::Relu => "relu",
        }
    }
}

impl FromStr for DecoderActivation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "linear" | "" => Ok(DecoderActivation::None),
            "relu" => Ok(DecoderActivation::Relu),
            other => Err(Error::Config(format!(
                "decoder activation {other:?}: expected `none` or `relu`"
            ))),
        }
    }
}

impl fmt::Display for DecoderActivation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The hyper-parameters of one MobileNet-UNet.
///
/// The seed hard-codes `alpha = 1.0`, `depth_multiplier = 1`, `l1_skip_conn = False` and a
/// decoder without activation; here they are parameters. `input_height` / `input_width` are
/// the model's native size (used by `summary`, `bench` and image segmentation); `predict`
/// accepts any size that is a multiple of 16.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Width multiplier of the encoder: a layer of `f` filters gets `int(f · alpha)`.
    pub alpha: f64,
    /// Depthwise channel multiplier; only 1 is supported (as in the seed).
    pub depth_multiplier: usize,
    /// Number of segmentation classes.
    pub n_classes: usize,
    /// Concatenate `f1` before the last decoder convolution.
    pub l1_skip_conn: bool,
    /// The decoder variant.
    pub decoder_activation: DecoderActivation,
    /// Native input height (multiple of 16).
    pub input_height: usize,
    /// Native input width (multiple of 16).
    pub input_width: usize,
}

impl Default for Config {
    /// The seed's `mobilenet_unet(n_classes=2)`: alpha 1.0, 224x224, no l1 skip.
    fn default() -> Self {
        Config {
            alpha: 1.0,
            depth_multiplier: 1,
            n_classes: 2,
            l1_skip_conn: false,
            decoder_activation: DecoderActivation::None,
            input_height: 224,
            input_width: 224,
        }
    }
}

impl Config {
    /// Encoder filter count for a nominal `f`: Python's `int(f * alpha)` (truncation, in f64).
    pub fn filters(&self, f: usize) -> usize {
        (f as f64 * self.alpha) as usize
    }

    /// Checks every field; the error says which and why.
    pub fn validate(&self) -> Result<()> {
        if !(self.alpha.is_finite() && self.alpha > 0.0 && self.alpha <= 4.0) {
            return Err(Error::Config(format!("alpha = {} must be in (0, 4]", self.alpha)));
        }
        if self.filters(32) == 0 {
            return Err(Error::Config(format!(
                "alpha = {} leaves conv1 with int(32·alpha) = 0 filters",
                self.alpha
            )));
        }
        if self.depth_multiplier != 1 {
            return Err(Error::Config(format!(
                "depth_multiplier = {}: only 1 is supported (the seed's value)",
                self.depth_multiplier
            )));
        }
        if self.n_classes == 0 || self.n_classes > 65_535 {
            return Err(Error::Config(format!(
                "n_classes = {} must be in 1..=65535",
                self.n_classes
            )));
        }
        check_input_size(self.input_height, self.input_width)
    }
}

/// Rejects sizes the network cannot take.
///
/// The encoder halves the resolution four times (padded 3x3 stride-2 convolutions round *up*),
/// and the decoder doubles it back and concatenates with the encoder's taps: the shapes only
/// meet when height and width are multiples of 16 (as Keras would also find, at concatenate).
pub fn check_input_size(height: usize, width: usize) -> Result<()> {
    let reject = |reason: String| {
        Err(Error::InputSize {
            height,
            width,
            reason,
        })
    };
    if height == 0 || width == 0 {
        return reject("height and width must be positive".into());
    }
    if !height.is_multiple_of(16) || !width.is_multiple_of(16) {
        return reject(format!(
            "height and width must be multiples of 16 (the encoder downsamples 4 times and the \
             decoder's skip connections must line up); nearest valid: {}x{}",
            (height.div_ceil(16)) * 16,
            (width.div_ceil(16)) * 16
        ));
    }
    if height > 16_384 || width > 16_384 {
        return reject("height and width must be at most 16384".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_truncate_like_python() {
        let c = Config {
            alpha: 0.75,
            ..Config::default()
        };
        assert_eq!(c.filters(32), 24);
        assert_eq!(c.filters(1024), 768);
        let c = Config {
            alpha: 0.35,
            ..Config::default()
        };
        assert_eq!(c.filters(32), 11); // int(11.2)
        assert_eq!(c.filters(64), 22); // int(22.4)
    }

    #[test]
    fn sizes() {
        assert!(check_input_size(224, 224).is_ok());
        assert!(check_input_size(416, 608).is_ok());
        let e = check_input_size(225, 224).unwrap_err().to_string();
        assert!(e.contains("multiples of 16") && e.contains("240x224"), "{e}");
        assert!(check_input_size(0, 16).is_err());
        assert!(Config {
            alpha: 0.01,
            ..Config::default()
        }
        .validate()
        .is_err());
        assert!(Config {
            n_classes: 0,
            ..Config::default()
        }
        .validate()
        .is_err());
    }
}
