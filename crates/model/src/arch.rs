//! The architecture as data: every Keras layer of the seed's `mobilenet_unet`, with its output
//! shape, parameter count and multiply-accumulates, computed from the [`Config`] alone.
//!
//! This is the single description the rest of the crate derives from: parameter counts and
//! `summary` read it, the weight loader asks it which tensors to expect ([`Architecture::expected_tensors`]),
//! and `verify` compares it with Keras's own `count_params()`.

use crate::config::{check_input_size, Config, DecoderActivation};
use crate::error::Result;

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
}

/// Appends layers while tracking the current shape.
struct Builder {
    layers: Vec<LayerInfo>,
    hwc: (usize, usize, usize),
}

impl Builder {
    fn push(&mut self, name: String, kind: LayerKind, trainable: u64, non_trainable: u64, macs: u64) {
        let (h, w, c) = self.hwc;
        self.layers.push(LayerInfo {
            name,
            kind,
            output_shape: vec![h, w, c],
            trainable,
            non_trainable,
            macs,
        });
    }

    fn pad(&mut self, name: String) {
        self.hwc = (self.hwc.0 + 2, self.hwc.1 + 2, self.hwc.2);
        self.push(name, LayerKind::ZeroPadding, 0, 0, 0);
    }

    /// A 'valid' (or, with `same`, stride-1 'same') convolution.
    fn conv(&mut self, name: String, out_c: usize, k: usize, stride: usize, bias: bool, same: bool) {
        let (h, w, in_c) = self.hwc;
        let (oh, ow) = if same {
            (h, w)
        } else {
            ((h - k) / stride + 1, (w - k) / stride + 1)
        };
        self.hwc = (oh, ow, out_c);
        let weights = (k * k * in_c * out_c) as u64 + if bias { out_c as u64 } else { 0 };
        let macs = (oh * ow * k * k * in_c * out_c) as u64;
        self.push(
            name,
            LayerKind::Conv {
                k,
                stride,
                in_c,
                bias,
            },
            weights,
            0,
            macs,
        );
    }

    fn depthwise(&mut self, name: String, stride: usize) {
        let (h, w, c) = self.hwc;
        let (oh, ow) = ((h - 3) / stride + 1, (w - 3) / stride + 1);
        self.hwc = (oh, ow, c);
        self.push(
            name,
            LayerKind::Depthwise { stride },
            (9 * c) as u64,
            0,
            (oh * ow * 9 * c) as u64,
        );
    }

    fn bn(&mut self, name: String) {
        let c = self.hwc.2 as u64;
        self.push(name, LayerKind::BatchNorm, 2 * c, 2 * c, 0);
    }

    fn simple(&mut self, name: String, kind: LayerKind) {
        self.push(name, kind, 0, 0, 0);
    }
}

impl Architecture {
    /// Lays out the network of `config` at its native input size.
    pub fn new(config: &Config) -> Result<Architecture> {
        config.validate()?;
        Self::with_input(config, config.input_height, config.input_width)
    }

    /// Lays out the network of `config` for an `height x width` input.
    pub fn with_input(config: &Config, height: usize, width: usize) -> Result<Architecture> {
        config.validate()?;
        check_input_size(height, width)?;
        let mut b = Builder {
            layers: Vec::new(),
            hwc: (height, width, 3),
        };
        b.simple("input".into(), LayerKind::Input);
        b.pad("conv1_pad".into());
        b.conv("conv1".into(), config.filters(32), 3, 2, false, false);
        b.bn("conv1_bn".into());
        b.simple("conv1_relu".into(), LayerKind::Relu6);

        let mut taps = Vec::new();
        let mut separable = Vec::new();
        for (i, &(filters, stride)) in ENCODER_BLOCKS.iter().enumerate() {
            let id = i + 1;
            let in_c = b.hwc.2;
            let out_c = config.filters(filters);
            b.pad(format!("conv_pad_{id}"));
            b.depthwise(format!("conv_dw_{id}"), stride);
            b.bn(format!("conv_dw_{id}_bn"));
            b.simple(format!("conv_dw_{id}_relu"), LayerKind::Relu6);
            b.conv(format!("conv_pw_{id}"), out_c, 1, 1, false, false);
            b.bn(format!("conv_pw_{id}_bn"));
            b.simple(format!("conv_pw_{id}_relu"), LayerKind::Relu6);
            let (oh, ow, _) = b.hwc;
            let pixels = (oh * ow) as u64;
            separable.push(SeparableComparison {
                block: id,
                in_c,
                out_c,
                out_hw: (oh, ow),
                separable_weights: (9 * in_c + in_c * out_c) as u64,
                standard_weights: (9 * in_c * out_c) as u64,
                separable_macs: pixels * (9 * in_c + in_c * out_c) as u64,
                standard_macs: pixels * (9 * in_c * out_c) as u64,
            });
            if TAP_BLOCKS.contains(&id) {
                taps.push(b.hwc.2);
            }
        }

        // Decoder: stage s convolves, normalises, then (stages 1..3) upsamples and concatenates
        // with the tap of matching resolution (f3, f2, and f1 when l1_skip_conn).
        for (s, &filters) in DECODER_FILTERS.iter().enumerate() {
            let stage = s + 1;
            b.pad(format!("dec{stage}_pad"));
            b.conv(format!("dec{stage}_conv"), filters, 3, 1, true, false);
            b.bn(format!("dec{stage}_bn"));
            if stage == 4 {
                break;
            }
            b.hwc = (b.hwc.0 * 2, b.hwc.1 * 2, b.hwc.2);
            b.simple(format!("dec{stage}_up"), LayerKind::UpSampling);
            let tap_c = taps[2 - s]; // stage 1 meets f3, stage 2 f2, stage 3 f1
            if stage < 3 || config.l1_skip_conn {
                b.hwc.2 += tap_c;
                b.simple(format!("dec{stage}_concat"), LayerKind::Concatenate);
            }
        }
        b.conv("logits_conv".into(), config.n_classes, 3, 1, true, true);
        let (oh, ow, k) = b.hwc;
        b.layers.push(LayerInfo {
            name: "logits_reshape".into(),
            kind: LayerKind::Reshape,
            output_shape: vec![oh * ow, k],
            trainable: 0,
            non_trainable: 0,
            macs: 0,
        });
        let mut softmax = b.layers.last().cloned().expect("reshape was just pushed");
        softmax.name = "softmax".into();
        softmax.kind = LayerKind::Softmax;
        b.layers.push(softmax);
        Ok(Architecture {
            config: *config,
            layers: b.layers,
            separable,
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
