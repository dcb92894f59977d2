//! The network as one list of steps: what runs, in which order, reading and writing which values.
//!
//! [`Graph::new`] is the one place the seed's wiring is written down: the encoder's blocks, which
//! encoder output each decoder stage concatenates, where each BatchNormalization goes. The rest is
//! derived from it: the weights the loader prepares (`network.rs`), the value lifetimes and the
//! arena plan ([`Graph::lifetimes`], `forward::plan`), the forward pass (one loop over the steps),
//! the profile's step names, and the Keras layer table behind [`Architecture`] and `summary`.
//!
//! A step is one kernel call, and names the Keras layers it computes:
//!
//! | step | computes | Keras layers |
//! |---|---|---|
//! | `input` | nothing: the caller's image | `input` |
//! | `conv1` | 3x3 stride-2 conv, BN folded, ReLU6 | `conv1_pad`, `conv1`, `conv1_bn`, `conv1_relu` |
//! | `conv_dw_i` | 3x3 depthwise, BN folded, ReLU6 | `conv_pad_i`, `conv_dw_i`, `conv_dw_i_bn`, `conv_dw_i_relu` |
//! | `conv_pw_i` | 1x1 pointwise, BN folded, ReLU6 | `conv_pw_i`, `conv_pw_i_bn`, `conv_pw_i_relu` |
//! | `dec1_conv` | 3x3 conv on f4 | `dec1_pad`, `dec1_conv`, `dec1_bn` |
//! | `decS_conv` | 3x3 conv on `concat(upsample2x(dec{S-1}), skip)`, read in place | `dec{S-1}_up`, `dec{S-1}_concat`, `decS_pad`, `decS_conv`, `decS_bn` |
//! | `logits_conv` | 3x3 'same' conv with bias, into the caller's output | `logits_conv` |
//! | `softmax` | softmax over classes, in place | `logits_reshape`, `softmax` |
//!
//! Values carry no shapes: the shapes follow from the input size through each step's
//! [`ConvSpec`] ([`Graph::shapes`]), so one graph serves every input size.
//!
//! [`Architecture`]: super::Architecture

use super::{LayerKind, DECODER_FILTERS, ENCODER_BLOCKS, TAP_BLOCKS};
use crate::config::{Config, DecoderActivation};
use crate::error::{Error, Result};
use mobilenet_unet_kernels::{Activation, Conv2dParams, ConvSpec, Padding};

/// The tap `f_k` (1-based, see [`TAP_BLOCKS`]) that decoder stages 2, 3 and 4 concatenate after
/// upsampling the previous stage: f3, f2, and f1 only with `l1_skip_conn`.
pub const DECODER_SKIPS: [usize; 3] = [3, 2, 1];

/// A value (tensor) of the graph: an index into [`Graph::values`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub usize);

/// Where a value's memory comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// The caller's input image.
    Input,
    /// The planned arena: memory shared by values that are never alive at the same time.
    Arena,
    /// The caller's output buffer (the logits, then, in place, the probabilities).
    Output,
}

/// A value that [`crate::Taps`] copies out (0-based positions in `Taps::f` and `Taps::dec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tap {
    /// Encoder tap `f[k]` (f1..f4).
    Encoder(usize),
    /// Decoder stage `dec[k]` (dec1..dec4), after its BatchNormalization.
    Decoder(usize),
    /// The classifier's output before softmax.
    Logits,
}

/// One tensor between steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// A readable name (the step that writes it, or `image`, `probabilities`).
    pub name: String,
    /// Channels (the last NHWC axis).
    pub channels: usize,
    /// Where it lives.
    pub storage: Storage,
    /// Whether a forward pass with taps copies it out.
    pub tap: Option<Tap>,
}

/// What a step reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inputs {
    /// Nothing (the graph's input).
    None,
    /// One value, as it is.
    One(ValueId),
    /// `concat(upsample2x(low), skip)` along channels — Keras's `UpSampling2D` and
    /// `concatenate` — never materialised: the convolution reads it in place.
    UpsampleConcat {
        /// The tensor upsampled 2x (channels first).
        low: ValueId,
        /// The skip connection (channels after), if the stage has one.
        skip: Option<ValueId>,
    },
}

impl Inputs {
    /// The values read, in the order the step's kernel takes them.
    pub fn reads(&self) -> [Option<ValueId>; 2] {
        match *self {
            Inputs::None => [None, None],
            Inputs::One(v) => [Some(v), None],
            Inputs::UpsampleConcat { low, skip } => [Some(low), skip],
        }
    }
}

/// Whether a BatchNormalization folds into the convolution before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchNormPlacement {
    /// Conv → BN (→ activation): folded into the weights and bias.
    Folded,
    /// Conv → activation → BN: applied as the epilogue's second affine step (it cannot fold
    /// back through the activation).
    AfterActivation,
}

/// A convolution step's recipe: which weights it reads and what its epilogue does.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvOp {
    /// Kernel, stride, padding rule and channels, for any input size.
    pub spec: ConvSpec,
    /// The Keras layer holding `kernel` (and `bias`).
    pub layer: String,
    /// Whether the layer has a bias.
    pub bias: bool,
    /// The activation fused into the epilogue.
    pub activation: Activation,
    /// The BatchNormalization layer that follows, and where it is applied.
    pub batchnorm: Option<(String, BatchNormPlacement)>,
}

impl ConvOp {
    #[cfg(test)]
    /// Every weight tensor the step reads, as `<layer>/<weight>`.
    pub fn tensors(&self) -> Vec<String> {
        let mut t = vec![format!("{}/kernel", self.layer)];
        if self.bias {
            t.push(format!("{}/bias", self.layer));
        }
        if let Some((bn, _)) = &self.batchnorm {
            t.extend(["gamma", "beta", "moving_mean", "moving_variance"].map(|w| format!("{bn}/{w}")));
        }
        t
    }
}

/// What a step computes.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Defines the image: nothing to compute.
    Input,
    /// A convolution with its fused epilogue.
    Conv(ConvOp),
    /// Softmax over channels, in place (Keras's Reshape is free in NHWC).
    Softmax,
}

/// One Keras layer a step computes, named as in the weights file.
#[derive(Debug, Clone, PartialEq)]
pub struct KerasLayer {
    /// The Keras layer name.
    pub name: String,
    /// What it computes.
    pub kind: LayerKind,
}

/// One kernel call of the forward pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The step's name in profiles: the Keras layer of its kernel (`conv_pw_3`, `dec2_conv`, ...).
    pub name: String,
    /// What it computes.
    pub op: Op,
    /// What it reads.
    pub inputs: Inputs,
    /// The value it writes (every value is written by exactly one step).
    pub output: ValueId,
    /// The Keras layers it computes, in Keras's order.
    pub keras: Vec<KerasLayer>,
}

/// A value's lifetime in step indices, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// The step that writes it.
    pub first: usize,
    /// The last step that reads it (`first` if none does).
    pub last: usize,
}

/// Every value's shape and every convolution's parameters for one input size.
#[derive(Debug, Clone, PartialEq)]
pub struct Shapes {
    /// Images in the batch.
    pub batch: usize,
    /// `[H, W, C]` of each value.
    pub values: Vec<[usize; 3]>,
    /// The parameters of each step's convolution (`None` for the steps that are not one).
    pub params: Vec<Option<Conv2dParams>>,
}

impl Shapes {
    /// Elements of `v` for the whole batch.
    pub fn len(&self, v: ValueId) -> usize {
        self.batch * self.values[v.0].iter().product::<usize>()
    }
}

/// The network as steps over values, in execution order.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// Every step, in the order they run.
    pub steps: Vec<Step>,
    /// Every value, in the order they are written.
    pub values: Vec<Value>,
}

fn layer(name: impl Into<String>, kind: LayerKind) -> KerasLayer {
    KerasLayer {
        name: name.into(),
        kind,
    }
}

/// The Keras layer kind of a convolution.
fn conv_kind(spec: &ConvSpec, bias: bool) -> LayerKind {
    if spec.groups > 1 {
        LayerKind::Depthwise {
            stride: spec.stride_h,
        }
    } else {
        LayerKind::Conv {
            k: spec.kh,
            stride: spec.stride_h,
            in_c: spec.in_c,
            bias,
        }
    }
}

impl Graph {
    fn value(
        &mut self,
        name: impl Into<String>,
        channels: usize,
        storage: Storage,
        tap: Option<Tap>,
    ) -> ValueId {
        self.values.push(Value {
            name: name.into(),
            channels,
            storage,
            tap,
        });
        ValueId(self.values.len() - 1)
    }

    /// Appends a convolution step writing a new value.
    fn conv(
        &mut self,
        inputs: Inputs,
        op: ConvOp,
        keras: Vec<KerasLayer>,
        storage: Storage,
        tap: Option<Tap>,
    ) -> ValueId {
        let output = self.value(op.layer.clone(), op.spec.out_c, storage, tap);
        self.steps.push(Step {
            name: op.layer.clone(),
            op: Op::Conv(op),
            inputs,
            output,
            keras,
        });
        output
    }

    /// `[ZeroPadding2D((1,1))] → conv → BN → ReLU6`, the seed's `_conv_block` and each half of its
    /// `_depthwise_conv_block`: BN folded, ReLU6 in the epilogue.
    fn encoder_conv(
        &mut self,
        input: ValueId,
        name: &str,
        pad: Option<String>,
        spec: ConvSpec,
        tap: Option<Tap>,
    ) -> ValueId {
        let bn = format!("{name}_bn");
        let mut keras: Vec<KerasLayer> = pad
            .map(|p| layer(p, LayerKind::ZeroPadding))
            .into_iter()
            .collect();
        keras.push(layer(name, conv_kind(&spec, false)));
        keras.push(layer(&bn, LayerKind::BatchNorm));
        keras.push(layer(format!("{name}_relu"), LayerKind::Relu6));
        let op = ConvOp {
            spec,
            layer: name.into(),
            bias: false,
            activation: Activation::Relu6,
            batchnorm: Some((bn, BatchNormPlacement::Folded)),
        };
        self.conv(Inputs::One(input), op, keras, Storage::Arena, tap)
    }

    /// The encoder: conv1 and depthwise separable blocks 1..=11. Returns the taps f1..f4.
    fn encoder(&mut self, config: &Config, image: ValueId) -> Vec<ValueId> {
        let pad1 = Padding::uniform(1);
        let spec = ConvSpec::dense(3, config.filters(32), 3, 2, pad1);
        let mut x = self.encoder_conv(image, "conv1", Some("conv1_pad".into()), spec, None);
        let mut taps = Vec::new();
        for (i, &(filters, stride)) in ENCODER_BLOCKS.iter().enumerate() {
            let id = i + 1;
            let c = self.values[x.0].channels;
            let dw = ConvSpec::depthwise(c, 3, stride, pad1);
            x = self.encoder_conv(
                x,
                &format!("conv_dw_{id}"),
                Some(format!("conv_pad_{id}")),
                dw,
                None,
            );
            let tap = TAP_BLOCKS.iter().position(|&b| b == id).map(Tap::Encoder);
            let pw = ConvSpec::dense(c, config.filters(filters), 1, 1, Padding::Valid);
            x = self.encoder_conv(x, &format!("conv_pw_{id}"), None, pw, tap);
            if tap.is_some() {
                taps.push(x);
            }
        }
        taps
    }

    /// The decoder: stage 1 on f4, stage s > 1 on `concat(upsample2x(stage s-1), skip)`; each
    /// a padded 3x3 conv with bias, then BN (folded, or after the ReLU of the `relu` decoder).
    /// Returns dec4.
    fn decoder(&mut self, config: &Config, taps: &[ValueId]) -> ValueId {
        let (activation, placement) = match config.decoder_activation {
            DecoderActivation::None => (Activation::None, BatchNormPlacement::Folded),
            DecoderActivation::Relu => (Activation::Relu, BatchNormPlacement::AfterActivation),
        };
        let mut x = taps[TAP_BLOCKS.len() - 1];
        for (s, &filters) in DECODER_FILTERS.iter().enumerate() {
            let stage = s + 1;
            let mut keras = Vec::new();
            let mut in_c = self.values[x.0].channels;
            let inputs = match s.checked_sub(1).map(|i| DECODER_SKIPS[i]) {
                None => Inputs::One(x),
                Some(f) => {
                    keras.push(layer(format!("dec{s}_up"), LayerKind::UpSampling));
                    let skip = (f != 1 || config.l1_skip_conn).then(|| taps[f - 1]);
                    if let Some(v) = skip {
                        in_c += self.values[v.0].channels;
                        keras.push(layer(format!("dec{s}_concat"), LayerKind::Concatenate));
                    }
                    Inputs::UpsampleConcat { low: x, skip }
                }
            };
            let (name, bn) = (format!("dec{stage}_conv"), format!("dec{stage}_bn"));
            let spec = ConvSpec::dense(in_c, filters, 3, 1, Padding::uniform(1));
            keras.push(layer(format!("dec{stage}_pad"), LayerKind::ZeroPadding));
            keras.push(layer(&name, conv_kind(&spec, true)));
            keras.push(layer(&bn, LayerKind::BatchNorm));
            let op = ConvOp {
                spec,
                layer: name,
                bias: true,
                activation,
                batchnorm: Some((bn, placement)),
            };
            x = self.conv(inputs, op, keras, Storage::Arena, Some(Tap::Decoder(s)));
        }
        x
    }

    /// The seed's `mobilenet_unet` for `config` (its input size aside), as steps.
    pub fn new(config: &Config) -> Result<Graph> {
        config.validate()?;
        let mut g = Graph {
            steps: Vec::new(),
            values: Vec::new(),
        };
        let image = g.value("image", 3, Storage::Input, None);
        g.steps.push(Step {
            name: "input".into(),
            op: Op::Input,
            inputs: Inputs::None,
            output: image,
            keras: vec![layer("input", LayerKind::Input)],
        });
        let taps = g.encoder(config, image);
        let dec4 = g.decoder(config, &taps);
        // Classifier: 3x3 'same' conv with bias, written straight into the caller's output.
        let c = g.values[dec4.0].channels;
        let op = ConvOp {
            spec: ConvSpec::dense(c, config.n_classes, 3, 1, Padding::Same),
            layer: "logits_conv".into(),
            bias: true,
            activation: Activation::None,
            batchnorm: None,
        };
        let keras = vec![layer("logits_conv", conv_kind(&op.spec, true))];
        let logits = g.conv(Inputs::One(dec4), op, keras, Storage::Output, Some(Tap::Logits));
        let probabilities = g.value("probabilities", config.n_classes, Storage::Output, None);
        g.steps.push(Step {
            name: "softmax".into(),
            op: Op::Softmax,
            inputs: Inputs::One(logits),
            output: probabilities,
            keras: vec![
                layer("logits_reshape", LayerKind::Reshape),
                layer("softmax", LayerKind::Softmax),
            ],
        });
        Ok(g)
    }

    /// The network's result (the last step's value).
    pub fn output(&self) -> Option<ValueId> {
        self.steps.last().map(|s| s.output)
    }

    #[cfg(test)]
    /// Every weight tensor the steps read, in step order.
    pub fn tensors(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter_map(|s| match &s.op {
                Op::Conv(c) => Some(c.tensors()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// Each value's lifetime, from the step that writes it to the last step that reads it.
    pub fn lifetimes(&self) -> Vec<Lifetime> {
        let mut life = vec![Lifetime { first: 0, last: 0 }; self.values.len()];
        for (i, step) in self.steps.iter().enumerate() {
            life[step.output.0] = Lifetime { first: i, last: i };
        }
        for (i, step) in self.steps.iter().enumerate() {
            for v in step.inputs.reads().into_iter().flatten() {
                life[v.0].last = life[v.0].last.max(i);
            }
        }
        life
    }

    /// Every value's shape and every convolution's parameters for a `batch x height x width`
    /// input, propagated step by step through the [`ConvSpec`]s.
    pub fn shapes(&self, batch: usize, height: usize, width: usize) -> Result<Shapes> {
        let mut values: Vec<Option<[usize; 3]>> = vec![None; self.values.len()];
        let mut params = Vec::with_capacity(self.steps.len());
        for step in &self.steps {
            let shape = |v: ValueId| {
                values[v.0].ok_or_else(|| {
                    Error::Config(format!(
                        "internal error: step {} reads {} before it is written",
                        step.name, self.values[v.0].name
                    ))
                })
            };
            let (out, p) = match (&step.op, step.inputs) {
                (Op::Input, Inputs::None) => ([height, width, self.values[step.output.0].channels], None),
                (Op::Softmax, Inputs::One(x)) => (shape(x)?, None),
                (Op::Conv(c), inputs) => {
                    let [h, w, ch] = conv_input(step, inputs, shape)?;
                    if ch != c.spec.in_c {
                        return Err(Error::Config(format!(
                            "internal error: {} expects {} channels, its input has {ch}",
                            step.name, c.spec.in_c
                        )));
                    }
                    let p = c.spec.at(batch, h, w)?;
                    let (oh, ow) = p.out_hw();
                    ([oh, ow, c.spec.out_c], Some(p))
                }
                _ => {
                    return Err(Error::Config(format!(
                        "internal error: step {} has inputs {:?} its op cannot take",
                        step.name, step.inputs
                    )))
                }
            };
            values[step.output.0] = Some(out);
            params.push(p);
        }
        let values = values
            .into_iter()
            .zip(&self.values)
            .map(|(s, v)| {
                s.ok_or_else(|| Error::Config(format!("internal error: no step writes {}", v.name)))
            })
            .collect::<Result<_>>()?;
        Ok(Shapes {
            batch,
            values,
            params,
        })
    }
}

/// The `[H, W, C]` a convolution step sees: its input, or the upsampled-and-concatenated pair.
fn conv_input(
    step: &Step,
    inputs: Inputs,
    shape: impl Fn(ValueId) -> Result<[usize; 3]>,
) -> Result<[usize; 3]> {
    match inputs {
        Inputs::One(x) => shape(x),
        Inputs::UpsampleConcat { low, skip } => {
            let [h, w, c] = shape(low)?;
            let (h, w) = (2 * h, 2 * w);
            let skip_c = match skip.map(shape).transpose()? {
                None => 0,
                Some([sh, sw, sc]) if (sh, sw) == (h, w) => sc,
                Some([sh, sw, _]) => {
                    return Err(Error::InputShape(format!(
                        "{}: the skip connection is {sh}x{sw}, the upsampled tensor {h}x{w}",
                        step.name
                    )))
                }
            };
            Ok([h, w, c + skip_c])
        }
        Inputs::None => Err(Error::Config(format!(
            "internal error: convolution {} reads nothing",
            step.name
        ))),
    }
}

#[cfg(test)]
mod tests;
