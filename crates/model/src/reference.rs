//! The oracle for the whole network: the seed's graph, layer by layer, with the kernels'
//! *reference* implementations and the weights exactly as Keras stores them — no BatchNorm
//! folding, no packing, no fused epilogues, no arena, explicit zero-padding tensors.
//!
//! It is slow on purpose. Tests compare [`crate::Model`] (folded, packed, fused, planned) with it
//! on many configurations; `verify` compares both with Keras.
//!
//! It does **not** read the step list (`arch/graph.rs`) that the engine, its plan and its
//! summary are derived from, by design: it re-derives the graph from the seed's code — its own
//! loops over [`ENCODER_BLOCKS`] and [`DECODER_FILTERS`], its own choice of which tap each
//! decoder stage concatenates, BatchNorm as a separate layer, padding as a separate tensor, no
//! [`mobilenet_unet_kernels::ConvSpec`]. A mistake in the step list (a wrong skip, a BN applied on
//! the wrong side of an activation, a misplaced padding rule) then shows up as a mismatch
//! instead of being reproduced by both sides. Only the seed's constants (blocks, filters, tap
//! blocks) are shared, and those `verify` checks against Keras's layer table.

use crate::arch::{DECODER_FILTERS, ENCODER_BLOCKS, TAP_BLOCKS};
use crate::config::{check_input_size, DecoderActivation};
use crate::error::{Error, Result};
use crate::forward::Taps;
use crate::weights::Weights;
use mobilenet_unet_kernels::batchnorm::{reference as bn_ref, BatchNorm};
use mobilenet_unet_kernels::concat::reference as concat_ref;
use mobilenet_unet_kernels::conv::reference as conv_ref;
use mobilenet_unet_kernels::pad::{reference as pad_ref, PadShape};
use mobilenet_unet_kernels::upsample::{reference as up_ref, UpsampleShape};
use mobilenet_unet_kernels::{activation, softmax, Activation, Conv2dParams, Epilogue};
use ndarray::{Array3, Array4, ArrayView4};

/// An NHWC tensor being passed from layer to layer.
struct T {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    data: Vec<f32>,
}

impl T {
    fn to_array(&self) -> Array4<f32> {
        Array4::from_shape_vec((self.n, self.h, self.w, self.c), self.data.clone()).expect("consistent shape")
    }
}

/// `ZeroPadding2D(((top, bottom), (left, right)))`.
fn zero_pad(x: &T, p: usize) -> T {
    let s = PadShape {
        batch: x.n,
        h: x.h,
        w: x.w,
        c: x.c,
        top: p,
        bottom: p,
        left: p,
        right: p,
    };
    let mut out = vec![f32::NAN; x.n * (x.h + 2 * p) * (x.w + 2 * p) * x.c];
    pad_ref::zero_pad_nhwc(&s, &x.data, &mut out);
    T {
        n: x.n,
        h: x.h + 2 * p,
        w: x.w + 2 * p,
        c: x.c,
        data: out,
    }
}

/// A 'valid' convolution (dense HWIO, or depthwise HWC when `depthwise`), optional bias.
#[allow(clippy::too_many_arguments)]
fn conv(
    x: &T,
    kernel: &[f32],
    k: usize,
    stride: usize,
    out_c: usize,
    depthwise: bool,
    bias: Option<&[f32]>,
    act: Activation,
) -> Result<T> {
    let params = if depthwise {
        Conv2dParams::depthwise(x.n, x.h, x.w, x.c, k, stride, 0)
    } else {
        Conv2dParams::dense(x.n, x.h, x.w, x.c, out_c, k, stride, 0)
    };
    let (oh, ow) = params.out_hw();
    let mut out = vec![f32::NAN; params.output_len()];
    let epilogue = Epilogue {
        bias,
        activation: act,
        ..Epilogue::IDENTITY
    };
    conv_ref::conv2d_nhwc(&params, &x.data, kernel, &mut out, &epilogue)?;
    Ok(T {
        n: x.n,
        h: oh,
        w: ow,
        c: out_c,
        data: out,
    })
}

fn batchnorm(x: &mut T, w: &Weights, name: &str) -> Result<()> {
    let t = |v: &str| -> Result<Vec<f32>> { Ok(w.tensor(&format!("{name}/{v}"))?.data.clone()) };
    let bn = BatchNorm::new(
        t("gamma")?,
        t("beta")?,
        t("moving_mean")?,
        t("moving_variance")?,
        w.bn_epsilon,
    )?;
    bn_ref::batchnorm_nhwc_inplace(&bn, &mut x.data);
    Ok(())
}

fn relu6(x: &mut T) {
    activation::reference::activation_inplace(Activation::Relu6, &mut x.data);
}

/// `UpSampling2D((2,2))` then `concatenate([up, skip])`.
fn up_concat(x: &T, skip: Option<&T>) -> T {
    let (h, w) = (x.h * 2, x.w * 2);
    let s = UpsampleShape {
        batch: x.n,
        h: x.h,
        w: x.w,
        c: x.c,
        fy: 2,
        fx: 2,
        out_pixel_stride: x.c,
        out_c_offset: 0,
    };
    let mut up = vec![f32::NAN; x.n * h * w * x.c];
    up_ref::upsample_nearest_nhwc(&s, &x.data, &mut up);
    let Some(skip) = skip else {
        return T {
            n: x.n,
            h,
            w,
            c: x.c,
            data: up,
        };
    };
    let c = x.c + skip.c;
    let mut out = vec![f32::NAN; x.n * h * w * c];
    concat_ref::concat_channels_nhwc(&[&up, &skip.data], &[x.c, skip.c], x.n * h * w, &mut out);
    T {
        n: x.n,
        h,
        w,
        c,
        data: out,
    }
}

/// The seed's forward pass on `input` (NHWC), returning Keras's output
/// `[N, H/2·W/2, classes]` and the intermediate taps.
pub fn forward(weights: &Weights, input: ArrayView4<f32>) -> Result<(Array3<f32>, Taps)> {
    let (n, h, w, c) = input.dim();
    if c != 3 {
        return Err(Error::InputShape(format!("expected 3 channels, got {c}")));
    }
    check_input_size(h, w)?;
    let cfg = &weights.config;
    let kernel =
        |name: &str| -> Result<Vec<f32>> { Ok(weights.tensor(&format!("{name}/kernel"))?.data.clone()) };
    let bias = |name: &str| -> Result<Vec<f32>> { Ok(weights.tensor(&format!("{name}/bias"))?.data.clone()) };

    let mut x = T {
        n,
        h,
        w,
        c,
        data: input.iter().copied().collect(),
    };
    // _conv_block: pad, conv1 (3x3 s2, no bias), BN, ReLU6.
    x = conv(
        &zero_pad(&x, 1),
        &kernel("conv1")?,
        3,
        2,
        cfg.filters(32),
        false,
        None,
        Activation::None,
    )?;
    batchnorm(&mut x, weights, "conv1_bn")?;
    relu6(&mut x);
    // _depthwise_conv_block 1..=11: pad, dw 3x3, BN, ReLU6, pw 1x1, BN, ReLU6.
    let mut taps = Vec::new();
    for (i, &(filters, stride)) in ENCODER_BLOCKS.iter().enumerate() {
        let id = i + 1;
        let c = x.c;
        x = conv(
            &zero_pad(&x, 1),
            &kernel(&format!("conv_dw_{id}"))?,
            3,
            stride,
            c,
            true,
            None,
            Activation::None,
        )?;
        batchnorm(&mut x, weights, &format!("conv_dw_{id}_bn"))?;
        relu6(&mut x);
        x = conv(
            &x,
            &kernel(&format!("conv_pw_{id}"))?,
            1,
            1,
            cfg.filters(filters),
            false,
            None,
            Activation::None,
        )?;
        batchnorm(&mut x, weights, &format!("conv_pw_{id}_bn"))?;
        relu6(&mut x);
        if TAP_BLOCKS.contains(&id) {
            taps.push(T {
                n: x.n,
                h: x.h,
                w: x.w,
                c: x.c,
                data: x.data.clone(),
            });
        }
    }
    // _unet decoder.
    let act = match cfg.decoder_activation {
        DecoderActivation::None => Activation::None,
        DecoderActivation::Relu => Activation::Relu,
    };
    let mut dec = Vec::new();
    for (s, &filters) in DECODER_FILTERS.iter().enumerate() {
        let name = format!("dec{}_conv", s + 1);
        x = conv(
            &zero_pad(&x, 1),
            &kernel(&name)?,
            3,
            1,
            filters,
            false,
            Some(&bias(&name)?),
            act,
        )?;
        batchnorm(&mut x, weights, &format!("dec{}_bn", s + 1))?;
        dec.push(x.to_array());
        if s < 3 {
            let skip = match s {
                0 => Some(&taps[2]),
                1 => Some(&taps[1]),
                _ => cfg.l1_skip_conn.then_some(&taps[0]),
            };
            x = up_concat(&x, skip);
        }
    }
    // Classifier: 3x3 'same' (pad 1 at stride 1), bias; Reshape; Softmax over classes.
    x = conv(
        &zero_pad(&x, 1),
        &kernel("logits_conv")?,
        3,
        1,
        cfg.n_classes,
        false,
        Some(&bias("logits_conv")?),
        Activation::None,
    )?;
    let logits = x.to_array();
    softmax::reference::softmax_channels_inplace(&mut x.data, x.c);
    let out = Array3::from_shape_vec((x.n, x.h * x.w, x.c), x.data)
        .map_err(|e| Error::InputShape(e.to_string()))?;
    let f = taps.iter().map(T::to_array).collect();
    Ok((out, Taps { f, dec, logits }))
}
