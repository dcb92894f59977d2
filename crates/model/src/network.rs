//! Load-time preparation: BatchNorm folded, weights packed, epilogues fused — once.
//!
//! Every convolution of MobileNet-UNet is followed by a BatchNormalization:
//!
//! | where | Keras | prepared as |
//! |---|---|---|
//! | encoder | conv (no bias) → BN → ReLU6 | BN folded into the weights and a bias; ReLU6 in the epilogue |
//! | decoder, seed (`none`) | conv (bias) → BN | BN folded into the weights and bias |
//! | decoder, `relu` | conv (bias, ReLU) → BN | bias + ReLU, then BN as the epilogue's second affine step (it cannot fold back through the ReLU) |
//! | `logits_conv` | conv (bias) | bias only; softmax follows |
//!
//! Folding is exact algebra: `BN(x ⊛ w) = x ⊛ (w·s) + t` with `s = γ/√(σ²+ε)`, `t = β − μ·s`.
//!
//! Which layers exist, which tensors each reads and where its BN goes is the step list's
//! ([`crate::arch::graph`], one [`ConvOp`] per convolution); this module follows that recipe,
//! one [`PreparedStep`] per step: the step and what runs it, in one list.

use crate::arch::graph::{BatchNormPlacement, ConvOp, Op, ValueId};
use crate::arch::{Graph, Step};
use crate::error::{Error, Result};
use crate::weights::{Tensor, Weights};
use mobilenet_unet_kernels::batchnorm::{fold_into_conv_hwio, fold_into_depthwise_hwc, BatchNorm};
use mobilenet_unet_kernels::conv::{
    conv2d_nhwc_with_tier, conv2d_upsample_concat_with_tier, ConvChoice, ConvWeights,
};
use mobilenet_unet_kernels::winograd::UpsampleConcat;
use mobilenet_unet_kernels::{
    Activation, ChannelAffine, Conv2dParams, ConvAlgorithm, ConvSpec, Epilogue, Tier,
};

/// One convolution ready to run: packed weights and its fused epilogue.
pub(crate) struct ConvLayer {
    /// What the layer is, for any input size (the plan asks it for each size's parameters).
    spec: ConvSpec,
    weights: ConvWeights,
    bias: Vec<f32>,
    activation: Activation,
    post: Option<(Vec<f32>, Vec<f32>)>,
}

impl ConvLayer {
    /// Reads, folds and packs the weights `op` names.
    fn prepare(op: &ConvOp, weights: &mut Tensors, eps: f32, conv: ConvChoice) -> Result<ConvLayer> {
        let spec = op.spec;
        let mut w = weights.take(&format!("{}/kernel", op.layer))?.data;
        let mut bias = match op.bias {
            true => weights.take(&format!("{}/bias", op.layer))?.data,
            false => vec![0.0; spec.out_c],
        };
        let mut post = None;
        if let Some((bn, placement)) = &op.batchnorm {
            let bn = batchnorm(weights, bn, eps)?;
            match placement {
                // Keras's depthwise [3, 3, C, 1] is [3, 3, C] in memory: no reshuffle needed.
                BatchNormPlacement::Folded if spec.groups > 1 => {
                    fold_into_depthwise_hwc(&mut w, &mut bias, spec.out_c, &bn)?
                }
                BatchNormPlacement::Folded => fold_into_conv_hwio(&mut w, &mut bias, spec.out_c, &bn)?,
                BatchNormPlacement::AfterActivation => post = Some(bn.to_scale_shift()),
            }
        }
        check_folded_finite(&op.layer, &weights.weights().source, &w, &bias, post.as_ref())?;
        // The algorithm rule reads channels only (`Conv2dParams::algorithm`): any size the
        // kernel fits gives the weights' layout.
        let template = spec.at(1, spec.kh, spec.kw)?;
        Ok(ConvLayer {
            spec,
            weights: ConvWeights::prepare_with(&template, &w, conv)?,
            bias,
            activation: op.activation,
            post,
        })
    }

    /// Whether the layer runs Winograd (whose per-thread scratch is the largest).
    pub fn is_winograd(&self) -> bool {
        let template = self.spec.at(1, self.spec.kh, self.spec.kw);
        template.is_ok_and(|p| self.weights.algorithm(&p) == ConvAlgorithm::Winograd)
    }

    /// Output channels.
    pub fn out_c(&self) -> usize {
        self.spec.out_c
    }

    /// The layer's fused epilogue.
    fn epilogue(&self) -> Epilogue<'_> {
        Epilogue {
            scale: None,
            bias: Some(&self.bias),
            activation: self.activation,
            post: self
                .post
                .as_ref()
                .map(|(scale, shift)| ChannelAffine { scale, shift }),
        }
    }

    /// Runs the layer on an NHWC `input` of `params` (made from this layer's spec), writing the
    /// NHWC output.
    pub fn run(&self, tier: Tier, params: &Conv2dParams, input: &[f32], output: &mut [f32]) -> Result<()> {
        conv2d_nhwc_with_tier(
            tier,
            params,
            input,
            &self.weights,
            output,
            self.out_c(),
            &self.epilogue(),
        )?;
        Ok(())
    }

    /// Runs the layer on `concat(upsample2x(low), skip)` (`params` at the upsampled size)
    /// without materialising it when the algorithm can read it in place.
    pub fn run_upsample_concat(
        &self,
        tier: Tier,
        params: &Conv2dParams,
        input: &UpsampleConcat,
        output: &mut [f32],
    ) -> Result<()> {
        conv2d_upsample_concat_with_tier(
            tier,
            params,
            input,
            &self.weights,
            output,
            self.out_c(),
            &self.epilogue(),
        )?;
        Ok(())
    }
}

/// What runs a step, prepared (not to be confused with the kernels crate's `Kernel`, one
/// function of its dispatch table).
pub(crate) enum StepRunner {
    /// The graph's input: nothing to run.
    Input,
    /// A convolution with packed weights.
    Conv(Box<ConvLayer>),
    /// Softmax over channels, in place.
    Softmax,
}

/// One step of the forward pass, ready to run: what it reads and writes, and what runs it.
/// (Its shapes depend on the input size: they are in the plan, `crate::plan::ForwardPlan`.)
pub(crate) struct PreparedStep {
    /// The graph's step.
    pub step: Step,
    /// Its prepared kernel.
    pub runner: StepRunner,
}

/// The network, prepared.
pub(crate) struct Network {
    /// The values and the step list, for planning (lifetimes, shapes).
    pub graph: Graph,
    /// The same steps in the same order, each with its prepared kernel: what the forward pass
    /// walks.
    pub steps: Vec<PreparedStep>,
}

impl Network {
    /// Folds and packs `weights` (which were validated against their own config), copying
    /// each tensor it reads.
    pub fn prepare(weights: &Weights, conv: ConvChoice) -> Result<Network> {
        Self::prepare_from(&mut Tensors::Borrowed(weights), conv)
    }

    /// [`prepare`](Self::prepare) that consumes the weights, freeing every tensor as soon as
    /// its layer is prepared: the load-time memory peak is then about the prepared model, not
    /// the file plus the prepared model.
    pub fn prepare_owned(weights: Weights, conv: ConvChoice) -> Result<Network> {
        Self::prepare_from(&mut Tensors::Owned(weights), conv)
    }

    fn prepare_from(weights: &mut Tensors, conv: ConvChoice) -> Result<Network> {
        let graph = Graph::new(&weights.weights().config)?;
        let eps = weights.weights().bn_epsilon;
        let steps = graph
            .steps
            .iter()
            .map(|step| {
                let runner = match &step.op {
                    Op::Input => StepRunner::Input,
                    Op::Conv(op) => StepRunner::Conv(Box::new(ConvLayer::prepare(op, weights, eps, conv)?)),
                    Op::Softmax => StepRunner::Softmax,
                };
                Ok(PreparedStep {
                    step: step.clone(),
                    runner,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Network { graph, steps })
    }

    /// The network's result: `[N, H/2, W/2, classes]` probabilities.
    pub fn output(&self) -> Result<ValueId> {
        self.graph
            .output()
            .ok_or_else(|| Error::Internal("the network has no steps".into()))
    }

    /// Whether any layer runs Winograd.
    pub fn has_winograd(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(&s.runner, StepRunner::Conv(layer) if layer.is_winograd()))
    }

    /// Number of classes (channels of the result).
    pub fn classes(&self) -> Result<usize> {
        Ok(self.graph.values[self.output()?.0].channels)
    }
}

/// Where preparation reads the tensors: borrowed weights are copied from, owned weights are
/// taken from (and each tensor freed once its layer is prepared).
enum Tensors<'a> {
    Borrowed(&'a Weights),
    Owned(Weights),
}

impl Tensors<'_> {
    fn weights(&self) -> &Weights {
        match self {
            Tensors::Borrowed(w) => w,
            Tensors::Owned(w) => w,
        }
    }

    /// The tensor `name` (an error naming it if missing).
    fn take(&mut self, name: &str) -> Result<Tensor> {
        match self {
            Tensors::Borrowed(w) => Ok(w.tensor(name)?.clone()),
            Tensors::Owned(w) => w.take_tensor(name),
        }
    }
}

/// Folding multiplies a kernel by `gamma / sqrt(moving_variance + eps)`: finite but extreme
/// statistics (a variance of 1e-30 with a gamma of 1e30, say) overflow to infinity there and
/// would turn every output into NaN. The loader checks the file's own tensors; this checks what
/// folding made of them, so such a file is refused with the layer's name instead.
fn check_folded_finite(
    layer: &str,
    source: &str,
    kernel: &[f32],
    bias: &[f32],
    post: Option<&(Vec<f32>, Vec<f32>)>,
) -> Result<()> {
    let (scale, shift) = post.map_or((&[][..], &[][..]), |(s, t)| (&s[..], &t[..]));
    let parts = [
        ("kernel", kernel),
        ("bias", bias),
        ("scale", scale),
        ("shift", shift),
    ];
    let problems: Vec<String> = parts
        .iter()
        .filter(|(_, values)| values.iter().any(|v| !v.is_finite()))
        .map(|(what, _)| {
            format!(
                "{layer}: the {what} is not finite once BatchNormalization is folded into it \
                 (extreme gamma or moving_variance)"
            )
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Weights {
        source_name: source.to_string(),
        problems,
    })
}

/// Reads a BatchNormalization layer's four tensors.
fn batchnorm(weights: &mut Tensors, name: &str, eps: f32) -> Result<BatchNorm> {
    let mut t = |w: &str| -> Result<Vec<f32>> { Ok(weights.take(&format!("{name}/{w}"))?.data) };
    Ok(BatchNorm::new(
        t("gamma")?,
        t("beta")?,
        t("moving_mean")?,
        t("moving_variance")?,
        eps,
    )?)
}
