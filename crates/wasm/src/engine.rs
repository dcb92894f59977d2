//! One loaded model and the results of its last segmentation, in plain safe Rust.
//!
//! ```text
//! RGBA [height, width, 4] u8  --preprocess-->  NHWC [1, height, width, 3] f32
//!     --Model::predict-->  probabilities [height/2 · width/2, classes] f32
//!     --argmax-->  class map [height/2, width/2] u8
//! ```

use crate::clock::now_seconds;
use mobilenet_unet::{argmax_classes, check_input_size, Model, Weights};
use mobilenet_unet_kernels::{gemm, Tier};
use ndarray::ArrayView4;
use serde_json::{json, Value};

/// What a segmentation returns besides the class map.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// Keep the softmax probabilities.
    pub probabilities: bool,
    /// Time every layer (one pass with a clock read around each step).
    pub profile: bool,
}

impl Flags {
    /// Bit 0: probabilities, bit 1: profile (the `flags` argument of `mu_segment`).
    pub fn from_bits(bits: u32) -> Flags {
        Flags {
            probabilities: bits & 1 != 0,
            profile: bits & 2 != 0,
        }
    }
}

/// The last segmentation's results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    /// Width and height of the class map (half the input's).
    pub width: usize,
    /// Height of the class map.
    pub height: usize,
    /// The most probable class of every output pixel, row-major `[height, width]`.
    pub classes: Vec<u8>,
    /// Softmax probabilities `[height · width, n_classes]`, if requested (else empty).
    pub probabilities: Vec<f32>,
    /// `(layer, seconds, multiply-accumulates)` of every step, if profiled (else empty).
    pub steps: Vec<(String, f64, u64)>,
}

/// A model loaded from a safetensors file, and the buffers of its last run.
pub struct Engine {
    model: Model,
    input: Vec<f32>,
    /// The results of the last successful [`Engine::segment_rgba`].
    pub output: Output,
}

impl Engine {
    /// Loads a safetensors file of this project's format (its metadata holds the
    /// configuration). Every problem becomes a message.
    pub fn load(bytes: &[u8]) -> Result<Engine, String> {
        let weights = Weights::from_bytes(bytes, "the weights file").map_err(|e| e.to_string())?;
        let model = Model::from_owned_weights(weights).map_err(|e| e.to_string())?;
        if model.config().n_classes > u8::MAX as usize + 1 {
            return Err(format!(
                "{} classes do not fit the u8 class map",
                model.config().n_classes
            ));
        }
        Ok(Engine {
            model,
            input: Vec::new(),
            output: Output::default(),
        })
    }

    /// The model and the engine as JSON: input size, class names and colours, the kernel
    /// tier and the GEMM micro-kernel it runs.
    pub fn info(&self) -> Value {
        let cfg = self.model.config();
        let tier = Tier::active().map_err(|e| e.to_string());
        json!({
            "input_width": cfg.input_width,
            "input_height": cfg.input_height,
            "n_classes": cfg.n_classes,
            "alpha": cfg.alpha,
            "class_names": self.model.class_names(),
            "class_colors": self.model.class_colors(),
            "preprocessing": self.model.preprocessing().name(),
            "tier": tier.as_ref().map(|t| t.name()).unwrap_or("unavailable"),
            "gemm_kernel": tier.ok().and_then(|t| gemm::kernel_name(t).ok()),
        })
    }

    /// Segments `rgba` (`[height, width, 4]` bytes, as a canvas's `ImageData`; alpha is
    /// ignored) at its own size: both sides must be positive multiples of 16. On success the
    /// results are in [`Engine::output`]; on failure it keeps the previous results.
    pub fn segment_rgba(
        &mut self,
        rgba: &[u8],
        width: usize,
        height: usize,
        flags: Flags,
    ) -> Result<(), String> {
        check_input_size(height, width).map_err(|e| e.to_string())?;
        let expected = width
            .checked_mul(height)
            .and_then(|p| p.checked_mul(4))
            .ok_or("the image is too large")?;
        if rgba.len() != expected {
            return Err(format!(
                "{width}x{height} RGBA needs {expected} bytes, got {}",
                rgba.len()
            ));
        }
        let mode = self.model.preprocessing();
        self.input.clear();
        for px in rgba.chunks_exact(4) {
            let rgb = [px[0], px[1], px[2]].map(f32::from);
            self.input.extend_from_slice(&mode.apply(rgb));
        }
        let x = ArrayView4::from_shape((1, height, width, 3), &self.input).map_err(|e| e.to_string())?;
        let (probs, steps) = if flags.profile {
            let (probs, steps) = self
                .model
                .predict_profiled(x, now_seconds)
                .map_err(|e| e.to_string())?;
            let steps = steps.into_iter().map(|s| (s.name, s.seconds, s.macs)).collect();
            (probs, steps)
        } else {
            (self.model.predict(x).map_err(|e| e.to_string())?, Vec::new())
        };
        let (oh, ow) = (height / 2, width / 2);
        let classes = argmax_classes(probs.view(), oh, ow).map_err(|e| e.to_string())?;
        // `load` checked that every class index fits a u8.
        let classes = classes.iter().map(|&c| c as u8).collect();
        let probs = probs.as_slice().ok_or("internal error: non-contiguous output")?;
        self.output = Output {
            width: ow,
            height: oh,
            classes,
            probabilities: if flags.probabilities {
                probs.to_vec()
            } else {
                Vec::new()
            },
            steps,
        };
        Ok(())
    }

    /// The last output's shape and profile as JSON (the arrays are read from memory).
    pub fn output_json(&self) -> Value {
        let o = &self.output;
        json!({
            "width": o.width,
            "height": o.height,
            "n_classes": self.model.config().n_classes,
            "has_probabilities": !o.probabilities.is_empty(),
            "steps": o.steps.iter().map(|(name, s, macs)| json!({
                "name": name, "ms": s * 1000.0, "macs": macs,
            })).collect::<Vec<_>>(),
        })
    }
}
