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

use crate::arch::{Architecture, DECODER_FILTERS, ENCODER_BLOCKS};
use crate::config::DecoderActivation;
use crate::error::Result;
use crate::weights::{Tensor, Weights};
use mobilenet_unet_kernels::batchnorm::{fold_into_conv_hwio, fold_into_depthwise_hwc, BatchNorm};
use mobilenet_unet_kernels::conv::{conv2d_nhwc, conv2d_upsample_concat, ConvWeights};
use mobilenet_unet_kernels::winograd::UpsampleConcat;
use mobilenet_unet_kernels::{Activation, ChannelAffine, Conv2dParams, Epilogue};

/// One convolution ready to run: packed weights and its fused epilogue.
pub(crate) struct ConvLayer {
    /// Keras layer name, for error messages and summaries.
    pub name: String,
    /// Shape template (batch 1, spatial size filled in per call by [`ConvLayer::params`]).
    template: Conv2dParams,
    weights: ConvWeights,
    bias: Vec<f32>,
    activation: Activation,
    post: Option<(Vec<f32>, Vec<f32>)>,
}

impl ConvLayer {
    /// The convolution's parameters for a `batch x h x w` input.
    pub fn params(&self, batch: usize, h: usize, w: usize) -> Conv2dParams {
        Conv2dParams {
            batch,
            in_h: h,
            in_w: w,
            ..self.template
        }
    }

    /// Output channels.
    pub fn out_c(&self) -> usize {
        self.template.out_c
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

    /// Runs the layer on an NHWC `input` of `batch x h x w`, writing channels `[0, out_c)` of
    /// each output pixel at `output[p · out_pixel_stride ..]`.
    pub fn run(
        &self,
        batch: usize,
        h: usize,
        w: usize,
        input: &[f32],
        output: &mut [f32],
        out_pixel_stride: usize,
    ) -> Result<()> {
        let params = self.params(batch, h, w);
        conv2d_nhwc(
            &params,
            input,
            &self.weights,
            output,
            out_pixel_stride,
            &self.epilogue(),
        )?;
        Ok(())
    }

    /// Runs the layer on `concat(upsample2x(low), skip)` of `batch x h x w` (`h`, `w` the
    /// upsampled size) without materialising it when the algorithm can read it in place.
    pub fn run_upsample_concat(
        &self,
        batch: usize,
        h: usize,
        w: usize,
        input: &UpsampleConcat,
        output: &mut [f32],
    ) -> Result<()> {
        let params = self.params(batch, h, w);
        conv2d_upsample_concat(
            &params,
            input,
            &self.weights,
            output,
            self.out_c(),
            &self.epilogue(),
        )?;
        Ok(())
    }
}

/// Every layer of the network, prepared.
pub(crate) struct Network {
    pub conv1: ConvLayer,
    /// `(depthwise, pointwise)` of blocks 1..=11.
    pub blocks: Vec<(ConvLayer, ConvLayer)>,
    /// dec1_conv .. dec4_conv.
    pub decoder: Vec<ConvLayer>,
    pub logits: ConvLayer,
    /// Whether f1 is concatenated before dec4 (`l1_skip_conn`).
    l1_skip: bool,
}

impl Network {
    /// Folds and packs `weights` (which were validated against their own config), copying
    /// each tensor it reads.
    pub fn prepare(weights: &Weights) -> Result<Network> {
        Self::prepare_from(&mut Tensors::Borrowed(weights))
    }

    /// [`prepare`](Self::prepare) that consumes the weights, freeing every tensor as soon as
    /// its layer is prepared: the load-time memory peak is then about the prepared model, not
    /// the file plus the prepared model.
    pub fn prepare_owned(weights: Weights) -> Result<Network> {
        Self::prepare_from(&mut Tensors::Owned(weights))
    }

    fn prepare_from(weights: &mut Tensors) -> Result<Network> {
        let cfg = &weights.weights().config.clone();
        let arch = Architecture::new(cfg)?;
        let eps = weights.weights().bn_epsilon;
        let conv1 = dense(
            weights,
            "conv1",
            Some("conv1_bn"),
            3,
            2,
            Activation::Relu6,
            None,
            eps,
        )?;
        let mut blocks = Vec::new();
        for (i, &(_, stride)) in ENCODER_BLOCKS.iter().enumerate() {
            let id = i + 1;
            let dw = depthwise(weights, id, stride, eps)?;
            let pw_name = format!("conv_pw_{id}");
            let pw = dense(
                weights,
                &pw_name,
                Some(&format!("{pw_name}_bn")),
                1,
                1,
                Activation::Relu6,
                None,
                eps,
            )?;
            blocks.push((dw, pw));
        }
        let mut decoder = Vec::new();
        for s in 1..=DECODER_FILTERS.len() {
            let (conv, bn) = (format!("dec{s}_conv"), format!("dec{s}_bn"));
            let layer = match cfg.decoder_activation {
                DecoderActivation::None => {
                    dense(weights, &conv, Some(&bn), 3, 1, Activation::None, None, eps)?
                }
                DecoderActivation::Relu => {
                    dense(weights, &conv, None, 3, 1, Activation::Relu, Some(&bn), eps)?
                }
            };
            decoder.push(layer);
        }
        let logits = dense(weights, "logits_conv", None, 3, 1, Activation::None, None, eps)?;
        debug_assert_eq!(
            arch.layer("logits_conv").map(|l| l.output_shape[2]),
            Some(cfg.n_classes)
        );
        Ok(Network {
            conv1,
            blocks,
            decoder,
            logits,
            l1_skip: cfg.l1_skip_conn,
        })
    }

    /// Whether f1 is concatenated before the last decoder convolution.
    pub fn l1_skip(&self) -> bool {
        self.l1_skip
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

    /// The tensor `name`, if the file has it.
    fn take_optional(&mut self, name: &str) -> Option<Tensor> {
        match self {
            Tensors::Borrowed(w) => w.tensors().get(name).cloned(),
            Tensors::Owned(w) => w.take_tensor(name).ok(),
        }
    }
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

/// A dense `k x k` conv (pad (k-1)/2 each side, as ZeroPadding2D((1,1)) + 'valid' or 'same' at
/// stride 1), with BN folded in (`fold_bn`) or applied after the activation (`post_bn`).
#[allow(clippy::too_many_arguments)]
fn dense(
    weights: &mut Tensors,
    name: &str,
    fold_bn: Option<&str>,
    k: usize,
    stride: usize,
    activation: Activation,
    post_bn: Option<&str>,
    eps: f32,
) -> Result<ConvLayer> {
    let kernel = weights.take(&format!("{name}/kernel"))?;
    let (in_c, out_c) = (kernel.shape[2], kernel.shape[3]);
    let mut w = kernel.data;
    let mut bias = match weights.take_optional(&format!("{name}/bias")) {
        Some(b) => b.data,
        None => vec![0.0; out_c],
    };
    if let Some(bn) = fold_bn {
        fold_into_conv_hwio(&mut w, &mut bias, out_c, &batchnorm(weights, bn, eps)?)?;
    }
    let post = match post_bn {
        Some(bn) => Some(batchnorm(weights, bn, eps)?.to_scale_shift()),
        None => None,
    };
    let pad = (k - 1) / 2;
    let template = Conv2dParams::dense(1, k, k, in_c, out_c, k, stride, pad);
    let packed = ConvWeights::prepare(&template, &w)?;
    Ok(ConvLayer {
        name: name.to_string(),
        template,
        weights: packed,
        bias,
        activation,
        post,
    })
}

/// Depthwise 3x3 block `id` with its BN folded, ReLU6.
fn depthwise(weights: &mut Tensors, id: usize, stride: usize, eps: f32) -> Result<ConvLayer> {
    let name = format!("conv_dw_{id}");
    let kernel = weights.take(&format!("{name}/kernel"))?;
    let c = kernel.shape[2];
    // Keras's [3, 3, C, 1] is [3, 3, C] in memory: the trailing 1 needs no reshuffle.
    let mut w = kernel.data;
    let mut bias = vec![0.0; c];
    fold_into_depthwise_hwc(
        &mut w,
        &mut bias,
        c,
        &batchnorm(weights, &format!("{name}_bn"), eps)?,
    )?;
    let template = Conv2dParams::depthwise(1, 3, 3, c, 3, stride, 1);
    let packed = ConvWeights::prepare(&template, &w)?;
    Ok(ConvLayer {
        name,
        template,
        weights: packed,
        bias,
        activation: Activation::Relu6,
        post: None,
    })
}
