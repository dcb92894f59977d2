//! The architecture as data: the seed's `mobilenet_unet` as one list of steps (`graph.rs`,
//! crate-private), and every Keras layer with its output shape, parameter count and
//! multiply-accumulates, derived from that list for one input size.
//!
//! This is the single description the rest of the crate derives from: the prepared network,
//! the arena plan and the forward pass walk the graph's steps; parameter counts and `summary`
//! read [`Architecture::layers`]; the weight loader asks which tensors to expect
//! ([`Architecture::expected_tensors`]); `verify` compares the layers with Keras's own
//! `count_params()` and output shapes.

pub(crate) mod graph;

pub(crate) use graph::{Graph, Step};

use crate::config::{check_input_size, Config, DecoderActivation};
use crate::error::{Error, Result};
use graph::{Inputs, KerasLayer, Shapes};
use mobilenet_unet_kernels::Conv2dParams;

/// The encoder's depthwise separable blocks 1..=11: (pointwise filters before alpha, stride).
/// Blocks 12 and 13 (the seed's f5) are not on the output's path; Keras prunes them.
pub const ENCODER_BLOCKS: [(usize, usize); 11] = [
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
];

/// The blocks whose outputs are the decoder's taps f1, f2, f3, f4.
pub const TAP_BLOCKS: [usize; 4] = [1, 3, 5, 11];

/// Filters of the decoder's four 3x3 convolutions (fixed in the seed, not scaled by alpha).
pub const DECODER_FILTERS: [usize; 4] = [512, 256, 128, 64];

/// What a layer does (enough to count its parameters and MACs).
#[derive(Debug, Clone, PartialEq)]
pub enum LayerKind {
    /// The image.
    Input,
    /// `ZeroPadding2D((1,1))`.
    ZeroPadding,
    /// `Conv2D` with a `kh x kw` kernel.
    Conv {
        /// Kernel size.
        k: usize,
        /// Stride.
        stride: usize,
        /// Input channels.
        in_c: usize,
        /// Whether the layer has a bias.
        bias: bool,
    },
    /// `DepthwiseConv2D` 3x3, no bias.
    Depthwise {
        /// Stride.
        stride: usize,
    },
    /// `BatchNormalization`.
    BatchNorm,
    /// `Activation(relu6)`.
    Relu6,
    /// `UpSampling2D((2,2))`.
    UpSampling,
    /// `concatenate(axis=-1)`.
    Concatenate,
    /// `Reshape((H/2·W/2, -1))`.
    Reshape,
    /// `Softmax()`.
    Softmax,
}

/// One Keras layer: name, output shape (without the batch axis) and costs.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerInfo {
    /// The Keras layer name (encoder: the seed's; decoder: ours, see [`crate::weights`]).
    pub name: String,
    /// What the layer computes.
    pub kind: LayerKind,
    /// Output shape without batch: `[H, W, C]`, or `[H·W, C]` after the reshape.
    pub output_shape: Vec<usize>,
    /// Trainable parameters (kernels, biases, BN gamma and beta).
    pub trainable: u64,
    /// Non-trainable parameters (BN moving mean and variance).
    pub non_trainable: u64,
    /// Multiply-accumulates for one image (convolutions only).
    pub macs: u64,
}

impl LayerInfo {
    /// Trainable plus non-trainable parameters.
    pub fn params(&self) -> u64 {
        self.trainable + self.non_trainable
    }
}

/// One depthwise separable block next to the standard 3x3 convolution it replaces (the seed's
/// lesson, 16x32x3x3 = 4608 vs 16x3x3 + 16x32 = 656, applied to every block).
#[derive(Debug, Clone, PartialEq)]
pub struct SeparableComparison {
    /// Block number (1..=11).
    pub block: usize,
    /// Input channels.
    pub in_c: usize,
    /// Output channels.
    pub out_c: usize,
    /// Output height and width.
    pub out_hw: (usize, usize),
    /// Depthwise + pointwise weights.
    pub separable_weights: u64,
    /// Weights of a standard 3x3 conv with the same channels.
    pub standard_weights: u64,
    /// Depthwise + pointwise MACs.
    pub separable_macs: u64,
    /// MACs of the standard 3x3 conv.
    pub standard_macs: u64,
}

/// The whole network for one config and input size.
#[derive(Debug, Clone, PartialEq)]
pub struct Architecture {
    /// The configuration it was built from.
    pub config: Config,
    /// Every layer in Keras's order.
    pub layers: Vec<LayerInfo>,
    /// Every encoder block compared with a standard convolution.
    pub separable: Vec<SeparableComparison>,
    /// The steps the forward pass runs (which `layers` is derived from; crate-private: the
    /// planning internals are not API).
    pub(crate) graph: Graph,
}

/// The Keras layer `keras`, computed by `step` (whose convolution, if any, is `params`), at the
/// sizes of `shapes`.
fn layer_info(
    graph: &Graph,
    shapes: &Shapes,
    step: &Step,
    params: Option<&Conv2dParams>,
    keras: &KerasLayer,
) -> Result<LayerInfo> {
    let [h, w, c] = shapes.values[step.output.0];
    let misplaced = || {
        Error::Config(format!(
            "internal error: Keras layer {} cannot belong to step {}",
            keras.name, step.name
        ))
    };
    let conv = || params.ok_or_else(misplaced);
    let (mut trainable, mut non_trainable, mut macs) = (0, 0, 0);
    let output_shape = match keras.kind {
        LayerKind::Input | LayerKind::Relu6 => vec![h, w, c],
        LayerKind::UpSampling => match step.inputs {
            Inputs::UpsampleConcat { low, .. } => {
                vec![conv()?.in_h, conv()?.in_w, graph.values[low.0].channels]
            }
            _ => return Err(misplaced()),
        },
        LayerKind::Concatenate => vec![conv()?.in_h, conv()?.in_w, conv()?.in_c],
        LayerKind::ZeroPadding => {
            let (ph, pw) = conv()?.padded_hw();
            vec![ph, pw, conv()?.in_c]
        }
        LayerKind::Conv { .. } | LayerKind::Depthwise { .. } => {
            let p = conv()?;
            let bias = matches!(keras.kind, LayerKind::Conv { bias: true, .. });
            trainable = p.weight_len() as u64 + if bias { p.out_c as u64 } else { 0 };
            macs = p.macs();
            vec![h, w, c]
        }
        LayerKind::BatchNorm => {
            (trainable, non_trainable) = (2 * c as u64, 2 * c as u64);
            vec![h, w, c]
        }
        LayerKind::Reshape | LayerKind::Softmax => vec![h * w, c],
    };
    Ok(LayerInfo {
        name: keras.name.clone(),
        kind: keras.kind.clone(),
        output_shape,
        trainable,
        non_trainable,
        macs,
    })
}

/// Each encoder block's depthwise + pointwise pair next to a standard 3x3 conv.
fn separable_blocks(layers: &[LayerInfo]) -> Result<Vec<SeparableComparison>> {
    let find = |name: String| {
        layers
            .iter()
            .find(|l| l.name == name)
            .ok_or_else(|| Error::Config(format!("internal error: no layer {name}")))
    };
    (1..=ENCODER_BLOCKS.len())
        .map(|block| {
            let (dw, pw) = (
                find(format!("conv_dw_{block}"))?,
                find(format!("conv_pw_{block}"))?,
            );
            let (in_c, out_c) = (dw.output_shape[2], pw.output_shape[2]);
            let out_hw = (pw.output_shape[0], pw.output_shape[1]);
            let pixels = (out_hw.0 * out_hw.1) as u64;
            Ok(SeparableComparison {
                block,
                in_c,
                out_c,
                out_hw,
                separable_weights: (9 * in_c + in_c * out_c) as u64,
                standard_weights: (9 * in_c * out_c) as u64,
                separable_macs: pixels * (9 * in_c + in_c * out_c) as u64,
                standard_macs: pixels * (9 * in_c * out_c) as u64,
            })
        })
        .collect()
}

impl Architecture {
    /// Lays out the network of `config` at its native input size.
    pub fn new(config: &Config) -> Result<Architecture> {
        config.validate()?;
        Self::with_input(config, config.input_height, config.input_width)
    }

    /// Lays out the network of `config` for an `height x width` input: the step list, and the
    /// Keras layer table derived from it at that size.
    pub fn with_input(config: &Config, height: usize, width: usize) -> Result<Architecture> {
        config.validate()?;
        check_input_size(height, width)?;
        let graph = Graph::new(config)?;
        let shapes = graph.shapes(1, height, width)?;
        let mut layers = Vec::new();
        for (step, params) in graph.steps.iter().zip(&shapes.params) {
            for keras in &step.keras {
                layers.push(layer_info(&graph, &shapes, step, params.as_ref(), keras)?);
            }
        }
        let separable = separable_blocks(&layers)?;
        Ok(Architecture {
            config: *config,
            layers,
            separable,
            graph,
        })
    }

    /// Total parameters, as Keras's `count_params()`.
    pub fn total_params(&self) -> u64 {
        self.layers.iter().map(LayerInfo::params).sum()
    }

    /// Trainable parameters.
    pub fn trainable_params(&self) -> u64 {
        self.layers.iter().map(|l| l.trainable).sum()
    }

    /// Non-trainable parameters (BN moving statistics).
    pub fn non_trainable_params(&self) -> u64 {
        self.layers.iter().map(|l| l.non_trainable).sum()
    }

    /// Multiply-accumulates for one image.
    pub fn macs(&self) -> u64 {
        self.layers.iter().map(|l| l.macs).sum()
    }

    /// The layer called `name`.
    pub fn layer(&self, name: &str) -> Option<&LayerInfo> {
        self.layers.iter().find(|l| l.name == name)
    }

    /// Every weight tensor a weights file must hold: `<layer>/<weight>` with Keras's shapes
    /// (conv kernels HWIO, depthwise kernels `[3, 3, C, 1]`, BN vectors).
    pub fn expected_tensors(&self) -> Vec<(String, Vec<usize>)> {
        let mut out = Vec::new();
        for l in &self.layers {
            let c = *l.output_shape.last().expect("every layer has a shape");
            match l.kind {
                LayerKind::Conv { k, in_c, bias, .. } => {
                    out.push((format!("{}/kernel", l.name), vec![k, k, in_c, c]));
                    if bias {
                        out.push((format!("{}/bias", l.name), vec![c]));
                    }
                }
                LayerKind::Depthwise { .. } => out.push((format!("{}/kernel", l.name), vec![3, 3, c, 1])),
                LayerKind::BatchNorm => {
                    for w in ["gamma", "beta", "moving_mean", "moving_variance"] {
                        out.push((format!("{}/{w}", l.name), vec![c]));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Whether the decoder applies ReLU before its BatchNormalizations.
    pub fn decoder_relu(&self) -> bool {
        self.config.decoder_activation == DecoderActivation::Relu
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_count_params_alpha1_two_classes() {
        // Keras 3.15: mobilenet_unet(2, 224, 224).count_params().
        let a = Architecture::new(&Config::default()).unwrap();
        assert_eq!(a.total_params(), 6_278_658);
        assert_eq!(a.trainable_params(), 6_262_018);
        assert_eq!(a.non_trainable_params(), 16_640);
        assert_eq!(a.layer("softmax").unwrap().output_shape, vec![112 * 112, 2]);
    }

    #[test]
    fn macs_at_224_and_decoder_share() {
        let a = Architecture::new(&Config::default()).unwrap();
        let dec: u64 = ["dec1_conv", "dec2_conv", "dec3_conv", "dec4_conv"]
            .iter()
            .map(|n| a.layer(n).unwrap().macs)
            .sum();
        let total = a.macs();
        assert!((4.6e9..4.7e9).contains(&(total as f64)), "{total}");
        let share = dec as f64 / total as f64;
        assert!((0.88..0.90).contains(&share), "{share}");
    }

    #[test]
    fn seed_separable_lesson_per_block() {
        let a = Architecture::new(&Config::default()).unwrap();
        let b1 = &a.separable[0];
        assert_eq!((b1.in_c, b1.out_c), (32, 64));
        assert_eq!(b1.separable_weights, 32 * 9 + 32 * 64);
        assert_eq!(b1.standard_weights, 32 * 64 * 9);
    }

    #[test]
    fn l1_skip_adds_f1_channels() {
        let cfg = Config {
            l1_skip_conn: true,
            alpha: 0.5,
            ..Config::default()
        };
        let a = Architecture::new(&cfg).unwrap();
        let t = a.expected_tensors();
        let dec4 = t.iter().find(|(n, _)| n == "dec4_conv/kernel").unwrap();
        assert_eq!(dec4.1, vec![3, 3, 128 + 32, 64]);
        assert!(a.layer("dec3_concat").is_some());
        assert!(Architecture::new(&Config::default())
            .unwrap()
            .layer("dec3_concat")
            .is_none());
    }
}
