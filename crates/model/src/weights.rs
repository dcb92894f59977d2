//! Weight files: safetensors with Keras's tensor names and shapes.
//!
//! # Format
//!
//! One tensor per Keras weight, named `<layer>/<weight>`, with Keras's shapes:
//!
//! | layer | tensors |
//! |---|---|
//! | `conv1` | `kernel` `[3, 3, 3, C]` (HWIO) |
//! | `conv_dw_i` (i = 1..=11) | `kernel` `[3, 3, C, 1]` |
//! | `conv_pw_i` | `kernel` `[1, 1, Cin, Cout]` |
//! | `dec1_conv` .. `dec4_conv`, `logits_conv` | `kernel` `[3, 3, Cin, Cout]`, `bias` `[Cout]` |
//! | every `*_bn` (`conv1_bn`, `conv_dw_i_bn`, `conv_pw_i_bn`, `dec1_bn` .. `dec4_bn`) | `gamma`, `beta`, `moving_mean`, `moving_variance`, each `[C]` |
//!
//! The encoder keeps the seed's layer names. The seed leaves the decoder's layers unnamed (Keras
//! calls them `conv2d`, `conv2d_1`, ... in creation order, which changes from session to
//! session), so we name them by role: `decN_conv` / `decN_bn` for the four decoder stages and
//! `logits_conv` for the classifier; `tools/convert_keras.py` maps Keras's names by position.
//! f32, f16 and bf16 tensors are accepted (the last two are widened to f32 at load). Non-finite
//! values, negative variances and a variance plus `bn_epsilon` that is not positive are refused
//! at load, naming the tensor, and so is a malformed container (see `container.rs`).
//!
//! The safetensors `__metadata__` (all values are strings): `format` = `mobilenet-unet`,
//! `alpha`, `n_classes`, `l1_skip_conn` (`true`/`false`), `decoder_activation` (`none`/`relu`),
//! `bn_epsilon` (default `0.001`), `preprocessing` (`sub_mean`, `divide`, `sub_and_divide`),
//! `resize` (how `segment` brings an image to the input size: `cv2_linear` = OpenCV's
//! `cv2.resize` bilinear, bit for bit, as keras-segmentation does; `antialias` = a triangle filter
//! that widens when shrinking; default `antialias`), `label_resize` (how the class map is scaled
//! to the image: `cv2_nearest` = OpenCV's `INTER_NEAREST`, `src = floor(dst · in / out)`;
//! `centre` = pixel centres; default `centre`), optionally `class_names` (JSON array of
//! strings), `class_colors` (JSON array of `[r, g, b]`),
//! `input_height` and `input_width` (the size the model was trained at). `alpha`, `n_classes`
//! and `l1_skip_conn` can be inferred from the shapes; when present they must agree with them.

use crate::arch::Architecture;
use crate::config::{check_input_size, Config, DecoderActivation};
use crate::error::{Error, Result};
use crate::preprocess::Preprocessing;
use crate::resize::Resizing;
use safetensors::{Dtype, SafeTensors};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

mod container;

/// One weight tensor, widened to f32, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Keras's shape.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<f32>,
}

/// A validated set of weights with the configuration they imply.
#[derive(Debug, Clone)]
pub struct Weights {
    /// The architecture these weights fit (metadata and shapes agree).
    pub config: Config,
    /// BatchNormalization epsilon.
    pub bn_epsilon: f32,
    /// How images must be preprocessed for these weights.
    pub preprocessing: Preprocessing,
    /// How images are resized to the input, and class maps back to the image.
    pub resizing: Resizing,
    /// Class names, if the file has them (else empty).
    pub class_names: Vec<String>,
    /// Class colours for masks, if the file has them (else empty).
    pub class_colors: Vec<[u8; 3]>,
    /// Where the weights came from (a path, or `<embedded>`, or `<random seed N>`).
    pub source: String,
    tensors: BTreeMap<String, Tensor>,
}

/// Keras's BatchNormalization default epsilon.
pub const KERAS_BN_EPSILON: f32 = 1e-3;

impl Weights {
    /// Reads and validates a safetensors file.
    pub fn load(path: impl AsRef<Path>) -> Result<Weights> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// Parses and validates safetensors bytes; `source_name` appears in error messages.
    pub fn from_bytes(bytes: &[u8], source_name: &str) -> Result<Weights> {
        let format_err = |e: safetensors::SafeTensorError| Error::WeightsFormat {
            source_name: source_name.to_string(),
            reason: container::describe(bytes, e),
        };
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(format_err)?;
        let st = SafeTensors::deserialize(bytes).map_err(format_err)?;
        let meta = header.metadata().clone().unwrap_or_default();
        let mut problems = Vec::new();
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            match widen(view.dtype(), view.data()) {
                Ok(data) => {
                    tensors.insert(
                        name,
                        Tensor {
                            shape: view.shape().to_vec(),
                            data,
                        },
                    );
                }
                Err(dtype) => problems.push(format!("{name}: dtype {dtype:?} (expected F32, F16 or BF16)")),
            }
        }
        if !problems.is_empty() {
            return Err(Error::Weights {
                source_name: source_name.to_string(),
                problems,
            });
        }
        Self::from_tensors(tensors, &meta, source_name)
    }

    /// Validates named tensors against the architecture their shapes and `meta` describe.
    pub fn from_tensors(
        tensors: BTreeMap<String, Tensor>,
        meta: &HashMap<String, String>,
        source_name: &str,
    ) -> Result<Weights> {
        let src = source_name.to_string();
        let m = MetaReader {
            meta,
            source_name: &src,
        };
        if let Some(f) = meta.get("format") {
            if f != "mobilenet-unet" {
                return Err(m.err("format", format!("is {f:?}, expected \"mobilenet-unet\"")));
            }
        }
        let config = infer_config(&tensors, &m)?;
        let arch = Architecture::new(&config)?;
        let problems = check_tensors(&arch, &tensors);
        if !problems.is_empty() {
            return Err(Error::Weights {
                source_name: src,
                problems,
            });
        }
        let bn_epsilon = m.parse_or("bn_epsilon", KERAS_BN_EPSILON)?;
        if !(bn_epsilon.is_finite() && bn_epsilon >= 0.0) {
            return Err(m.err(
                "bn_epsilon",
                format!("{bn_epsilon} must be a finite non-negative number"),
            ));
        }
        let problems = check_variances(&tensors, bn_epsilon);
        if !problems.is_empty() {
            return Err(Error::Weights {
                source_name: src,
                problems,
            });
        }
        let preprocessing: Preprocessing = m.parse_name_or("preprocessing", Default::default())?;
        let resizing = Resizing {
            image: m.parse_name_or("resize", Default::default())?,
            labels: m.parse_name_or("label_resize", Default::default())?,
        };
        let class_names: Vec<String> = m.json_or("class_names", Vec::new())?;
        let class_colors: Vec<[u8; 3]> = m.json_or("class_colors", Vec::new())?;
        for (key, len) in [
            ("class_names", class_names.len()),
            ("class_colors", class_colors.len()),
        ] {
            if len != 0 && len != config.n_classes {
                return Err(m.err(
                    key,
                    format!("has {len} entries but the model has {} classes", config.n_classes),
                ));
            }
        }
        Ok(Weights {
            config,
            bn_epsilon,
            preprocessing,
            resizing,
            class_names,
            class_colors,
            source: src,
            tensors,
        })
    }

    /// Seeded random weights for `config` (for benchmarks and tests): He-scaled kernels, and
    /// BatchNorm statistics away from 0 and 1 so that folding is exercised.
    pub fn random(config: &Config, seed: u64) -> Result<Weights> {
        let arch = Architecture::new(config)?;
        let mut rng = SplitMix64(seed);
        let mut tensors = BTreeMap::new();
        for (name, shape) in arch.expected_tensors() {
            let len: usize = shape.iter().product();
            let fan_in = if shape.len() == 4 {
                shape[0] * shape[1] * shape[2]
            } else {
                1
            };
            let (lo, hi) = match name.rsplit('/').next().unwrap_or("") {
                "kernel" => {
                    let a = (3.0 / fan_in as f32).sqrt();
                    (-a, a)
                }
                "bias" | "beta" | "moving_mean" => (-0.5, 0.5),
                "gamma" => (0.5, 1.5),
                _ => (0.5, 2.0), // moving_variance
            };
            let data = (0..len).map(|_| lo + (hi - lo) * rng.next_f32()).collect();
            tensors.insert(name, Tensor { shape, data });
        }
        let mut meta = HashMap::new();
        meta.insert("alpha".to_string(), config.alpha.to_string());
        meta.insert(
            "decoder_activation".to_string(),
            config.decoder_activation.name().to_string(),
        );
        meta.insert("input_height".to_string(), config.input_height.to_string());
        meta.insert("input_width".to_string(), config.input_width.to_string());
        Self::from_tensors(tensors, &meta, &format!("<random seed {seed}>"))
    }

    /// The tensor `name`; validation guarantees every expected tensor is present.
    pub fn tensor(&self, name: &str) -> Result<&Tensor> {
        self.tensors.get(name).ok_or_else(|| Error::Weights {
            source_name: self.source.clone(),
            problems: vec![format!("{name}: missing")],
        })
    }

    /// All tensors by name.
    pub fn tensors(&self) -> &BTreeMap<String, Tensor> {
        &self.tensors
    }

    /// Removes and returns tensor `name` (an error naming it if missing): lets preparation
    /// free each tensor as soon as it is used.
    pub(crate) fn take_tensor(&mut self, name: &str) -> Result<Tensor> {
        self.tensors.remove(name).ok_or_else(|| Error::Weights {
            source_name: self.source.clone(),
            problems: vec![format!("{name}: missing")],
        })
    }

    /// Bytes of f32 weight data held.
    pub fn size_bytes(&self) -> usize {
        self.tensors.values().map(|t| t.data.len() * 4).sum()
    }

    /// Serialises to safetensors (f32) with this object's metadata.
    pub fn to_safetensors(&self) -> Result<Vec<u8>> {
        let mut meta = HashMap::new();
        meta.insert("format".to_string(), "mobilenet-unet".to_string());
        meta.insert("format_version".to_string(), "1".to_string());
        meta.insert("alpha".to_string(), self.config.alpha.to_string());
        meta.insert("n_classes".to_string(), self.config.n_classes.to_string());
        meta.insert("l1_skip_conn".to_string(), self.config.l1_skip_conn.to_string());
        meta.insert(
            "decoder_activation".to_string(),
            self.config.decoder_activation.name().to_string(),
        );
        meta.insert("bn_epsilon".to_string(), self.bn_epsilon.to_string());
        meta.insert("preprocessing".to_string(), self.preprocessing.name().to_string());
        meta.insert("resize".to_string(), self.resizing.image.name().to_string());
        meta.insert(
            "label_resize".to_string(),
            self.resizing.labels.name().to_string(),
        );
        meta.insert("input_height".to_string(), self.config.input_height.to_string());
        meta.insert("input_width".to_string(), self.config.input_width.to_string());
        if !self.class_names.is_empty() {
            meta.insert(
                "class_names".to_string(),
                serde_json::to_string(&self.class_names).unwrap_or_default(),
            );
        }
        if !self.class_colors.is_empty() {
            meta.insert(
                "class_colors".to_string(),
                serde_json::to_string(&self.class_colors).unwrap_or_default(),
            );
        }
        let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = self
            .tensors
            .iter()
            .map(|(n, t)| {
                (
                    n.clone(),
                    t.data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    t.shape.clone(),
                )
            })
            .collect();
        let views = bytes
            .iter()
            .map(|(n, b, s)| {
                let v = safetensors::tensor::TensorView::new(Dtype::F32, s.clone(), b).map_err(|e| {
                    Error::WeightsFormat {
                        source_name: n.clone(),
                        reason: e.to_string(),
                    }
                })?;
                Ok((n.clone(), v))
            })
            .collect::<Result<Vec<_>>>()?;
        safetensors::serialize(views, &Some(meta)).map_err(|e| Error::WeightsFormat {
            source_name: self.source.clone(),
            reason: e.to_string(),
        })
    }
}

/// Little-endian F32/F16/BF16 bytes to f32; `Err(dtype)` for anything else.
fn widen(dtype: Dtype, bytes: &[u8]) -> std::result::Result<Vec<f32>, Dtype> {
    match dtype {
        Dtype::F32 => Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()),
        Dtype::F16 => Ok(bytes
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect()),
        Dtype::BF16 => Ok(bytes
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect()),
        other => Err(other),
    }
}

/// Every disagreement between the architecture and the tensors, one line each.
fn check_tensors(arch: &Architecture, tensors: &BTreeMap<String, Tensor>) -> Vec<String> {
    let expected = arch.expected_tensors();
    let mut problems = Vec::new();
    for (name, shape) in &expected {
        match tensors.get(name) {
            None => problems.push(format!("{name}: missing (expected shape {shape:?})")),
            Some(t) if &t.shape != shape => {
                problems.push(format!("{name}: shape {:?}, expected {shape:?}", t.shape))
            }
            Some(t) => {
                let bad = t.data.iter().filter(|v| !v.is_finite()).count();
                if bad > 0 {
                    let first = t.data.iter().position(|v| !v.is_finite()).unwrap_or(0);
                    problems.push(format!(
                        "{name}: {bad} non-finite value(s), first at flat index {first}"
                    ));
                }
                if name.ends_with("/moving_variance") && t.data.iter().any(|v| *v < 0.0) {
                    problems.push(format!("{name}: negative variance"));
                }
            }
        }
    }
    for name in tensors.keys() {
        if !expected.iter().any(|(n, _)| n == name) {
            problems.push(format!(
                "{name}: unexpected tensor (not part of this architecture)"
            ));
        }
    }
    problems
}

/// BatchNorm divides by `sqrt(variance + epsilon)`: with `bn_epsilon` 0 a zero variance would
/// make the folded weights infinite, so it is refused here, naming the tensor.
fn check_variances(tensors: &BTreeMap<String, Tensor>, bn_epsilon: f32) -> Vec<String> {
    tensors
        .iter()
        .filter(|(name, _)| name.ends_with("/moving_variance"))
        .filter_map(|(name, t)| {
            // The values are finite here (check_tensors ran first), so `<=` catches every case.
            let i = t.data.iter().position(|&v| v + bn_epsilon <= 0.0)?;
            Some(format!(
                "{name}: variance {} at flat index {i} plus bn_epsilon {bn_epsilon} is not positive \
                 (BatchNorm would divide by zero)",
                t.data[i]
            ))
        })
        .collect()
}

/// Reads typed values out of the string metadata, with errors naming the key.
struct MetaReader<'a> {
    meta: &'a HashMap<String, String>,
    source_name: &'a str,
}

impl MetaReader<'_> {
    fn err(&self, key: &str, reason: String) -> Error {
        Error::Metadata {
            source_name: self.source_name.to_string(),
            key: key.to_string(),
            reason,
        }
    }

    fn parse<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>> {
        match self.meta.get(key) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.err(key, format!("cannot parse {v:?}"))),
        }
    }

    fn parse_or<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T> {
        Ok(self.parse(key)?.unwrap_or(default))
    }

    /// A named choice (`FromStr` with its own message), or `default` when the key is absent.
    fn parse_name_or<T: std::str::FromStr<Err = Error>>(&self, key: &str, default: T) -> Result<T> {
        match self.meta.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e: Error| self.err(key, e.to_string())),
        }
    }

    fn json_or<T: serde::de::DeserializeOwned>(&self, key: &str, default: T) -> Result<T> {
        match self.meta.get(key) {
            None => Ok(default),
            Some(v) => {
                serde_json::from_str(v).map_err(|e| self.err(key, format!("not valid JSON here: {e}")))
            }
        }
    }
}

/// The configuration the tensors' shapes imply, checked against the metadata.
fn infer_config(tensors: &BTreeMap<String, Tensor>, m: &MetaReader) -> Result<Config> {
    let dim = |name: &str, axis: usize| -> Result<usize> {
        tensors
            .get(name)
            .and_then(|t| t.shape.get(axis).copied())
            .ok_or_else(|| Error::Weights {
                source_name: m.source_name.to_string(),
                problems: vec![format!(
                    "{name}: missing or of too low rank; cannot infer the architecture"
                )],
            })
    };
    let shape_of = |name: &str| tensors.get(name).map(|t| t.shape.clone()).unwrap_or_default();
    let n_classes = dim("logits_conv/kernel", 3)?;
    let f1_c = dim("conv_pw_1/kernel", 3)?;
    let f4_c = dim("conv_pw_11/kernel", 3)?;
    let dec4_in = dim("dec4_conv/kernel", 2)?;
    let l1_skip = dec4_in != 128;

    let alpha_given = m.parse::<f64>("alpha")?;
    // int(512·alpha) is the most precise witness of alpha among the filter counts.
    let alpha = alpha_given.unwrap_or(f4_c as f64 / 512.0);
    let decoder_activation: DecoderActivation = match m.meta.get("decoder_activation") {
        Some(v) => v
            .parse()
            .map_err(|e: Error| m.err("decoder_activation", e.to_string()))?,
        None => DecoderActivation::None,
    };
    let config = Config {
        alpha,
        depth_multiplier: m.parse_or("depth_multiplier", 1)?,
        n_classes,
        l1_skip_conn: l1_skip,
        decoder_activation,
        input_height: m.parse_or("input_height", 224)?,
        input_width: m.parse_or("input_width", 224)?,
    };
    check_input_size(config.input_height, config.input_width)
        .map_err(|e| m.err("input_height/input_width", e.to_string()))?;
    config
        .validate()
        .map_err(|e| m.err(invalid_config_key(&config, alpha_given.is_some()), e.to_string()))?;
    if config.filters(512) != f4_c || config.filters(64) != f1_c {
        return Err(m.err(
            "alpha",
            format!(
                "alpha {alpha} gives {} and {} filters, but conv_pw_1/kernel has {f1_c} and \
                 conv_pw_11/kernel has {f4_c} output channels (shapes {:?} and {:?})",
                config.filters(64),
                config.filters(512),
                shape_of("conv_pw_1/kernel"),
                shape_of("conv_pw_11/kernel")
            ),
        ));
    }
    if let Some(k) = m.parse::<usize>("n_classes")? {
        if k != n_classes {
            return Err(m.err(
                "n_classes",
                format!("says {k} but logits_conv/kernel has {n_classes} outputs"),
            ));
        }
    }
    if let Some(skip) = m.parse::<bool>("l1_skip_conn")? {
        if skip != l1_skip {
            return Err(m.err(
                "l1_skip_conn",
                format!("says {skip} but dec4_conv/kernel has {dec4_in} input channels"),
            ));
        }
    }
    if l1_skip && dec4_in != 128 + f1_c {
        return Err(Error::Weights {
            source_name: m.source_name.to_string(),
            problems: vec![format!(
                "dec4_conv/kernel: {dec4_in} input channels, expected 128 (no l1 skip) or {} (with f1)",
                128 + f1_c
            )],
        });
    }
    Ok(config)
}

/// Which metadata key (or tensor) a failed [`Config::validate`] of the inferred configuration
/// is about, checked in `validate`'s order; the input size is checked before.
fn invalid_config_key(config: &Config, alpha_given: bool) -> &'static str {
    let alpha_ok =
        config.alpha.is_finite() && config.alpha > 0.0 && config.alpha <= 4.0 && config.filters(32) > 0;
    if !alpha_ok && alpha_given {
        "alpha"
    } else if !alpha_ok {
        "alpha (absent; inferred from conv_pw_11/kernel's output channels)"
    } else if config.depth_multiplier != 1 {
        "depth_multiplier"
    } else {
        "n_classes (logits_conv/kernel's output channels)"
    }
}

/// A tiny deterministic generator (SplitMix64), enough for reproducible random weights.
pub(crate) struct SplitMix64(pub u64);

impl SplitMix64 {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

#[cfg(test)]
mod tests;
