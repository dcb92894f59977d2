//! Single Keras layers against our kernels: the reference and every fast tier.

use crate::fixtures::{load_json, FTensor, Fixture};
use crate::report::Check;
use crate::{Result, VerifyError};
use mobilenet_unet_kernels::batchnorm::{batchnorm_nhwc_with_tier, BatchNorm};
use mobilenet_unet_kernels::concat::concat_channels_nhwc_with_tier;
use mobilenet_unet_kernels::conv::{conv2d_nhwc_with_tier, reference as conv_ref, ConvWeights};
use mobilenet_unet_kernels::pad::{zero_pad_nhwc_with_tier, PadShape};
use mobilenet_unet_kernels::softmax::softmax_channels_inplace_with_tier;
use mobilenet_unet_kernels::upsample::{upsample_nearest_nhwc_with_tier, UpsampleShape};
use mobilenet_unet_kernels::{
    activation, same_padding, Activation, Conv2dParams, ConvAlgorithm, Epilogue, Tier,
};
use serde_json::Value;
use std::path::Path;

/// Single layers sum at most a few hundred products: ~100 ulps of headroom.
pub const LAYER_TOLERANCE: f64 = 1e-5;

/// One case of `layers.json`, with its tensors resolved.
struct Case<'a> {
    name: String,
    layer: String,
    config: &'a Value,
    inputs: Vec<&'a FTensor>,
    weights: Value,
    tensors: &'a Fixture,
    output: &'a FTensor,
}

impl<'a> Case<'a> {
    /// The weight tensor the case names under `key` (e.g. `kernel`).
    fn weight(&self, key: &str) -> Result<&'a FTensor> {
        self.tensors
            .get(self.weights.get(key).and_then(Value::as_str).unwrap_or(""))
    }
}

fn bad(path: &Path, reason: String) -> VerifyError {
    VerifyError::Fixture {
        path: path.into(),
        reason,
    }
}

/// Runs every case of `layers.json` for the reference and each available tier.
pub fn check_layers(dir: &Path) -> Result<Vec<Check>> {
    let json_path = dir.join("layers.json");
    let json = load_json(&json_path)?;
    let tensors = Fixture::load(&dir.join("layers.safetensors"))?;
    let cases = json
        .get("cases")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(&json_path, "no cases".into()))?;
    let mut checks = Vec::new();
    for c in cases {
        let s = |k: &str| {
            c.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad(&json_path, format!("case without {k:?}")))
        };
        let inputs = c
            .get("inputs")
            .and_then(Value::as_array)
            .ok_or_else(|| bad(&json_path, "case without inputs".into()))?
            .iter()
            .map(|n| tensors.get(n.as_str().unwrap_or("")))
            .collect::<Result<Vec<_>>>()?;
        let case = Case {
            name: s("name")?,
            layer: s("layer")?,
            config: c
                .get("config")
                .ok_or_else(|| bad(&json_path, "case without config".into()))?,
            inputs,
            weights: c.get("weights").cloned().unwrap_or(Value::Null),
            tensors: &tensors,
            output: tensors.get(&s("output")?)?,
        };
        for tier in Tier::available() {
            let ours = run_layer(&case, Some(tier), None)?;
            checks.push(Check::compare(
                &case.name,
                &format!("{} {tier}", case.layer),
                &ours,
                &case.output.data,
                LAYER_TOLERANCE,
                "max_rel",
            ));
            // Dense 3x3 stride-1 cases again through Winograd, whatever the rule would pick (on
            // the reference tier too: its textbook transforms run the same schedule).
            if case.layer == "Conv2D" && winograd_applies(case.config) {
                let ours = run_layer(&case, Some(tier), Some(ConvAlgorithm::Winograd))?;
                checks.push(Check::compare(
                    &case.name,
                    &format!("Conv2D winograd {tier}"),
                    &ours,
                    &case.output.data,
                    LAYER_TOLERANCE,
                    "max_rel",
                ));
            }
        }
        if case.layer == "Conv2D" || case.layer == "DepthwiseConv2D" {
            // The oracle itself, with the original (unpacked) weights.
            let ours = run_layer(&case, None, None)?;
            checks.push(Check::compare(
                &case.name,
                &format!("{} oracle", case.layer),
                &ours,
                &case.output.data,
                LAYER_TOLERANCE,
                "max_rel",
            ));
        }
    }
    Ok(checks)
}

fn pair(v: &Value, key: &str) -> (usize, usize) {
    let a = v.get(key).and_then(Value::as_array);
    let get = |i: usize| a.and_then(|a| a.get(i)).and_then(Value::as_u64).unwrap_or(1) as usize;
    (get(0), get(1))
}

fn dims4(t: &FTensor) -> (usize, usize, usize, usize) {
    let s = &t.shape;
    (s[0], s[1], s[2], s[3])
}

/// Whether a Conv2D case is 3x3 with stride 1 (what Winograd F(4x4, 3x3) computes).
fn winograd_applies(cfg: &Value) -> bool {
    pair(cfg, "kernel_size") == (3, 3) && pair(cfg, "strides") == (1, 1)
}

/// Our output for one case. `tier: None` runs the convolution oracle on unpacked weights;
/// `algorithm` forces a convolution algorithm instead of the rule's choice.
fn run_layer(case: &Case, tier: Option<Tier>, algorithm: Option<ConvAlgorithm>) -> Result<Vec<f32>> {
    let x = case.inputs[0];
    let cfg = case.config;
    let out_len = case.output.data.len();
    let mut out = vec![f32::NAN; out_len];
    match case.layer.as_str() {
        "Conv2D" | "DepthwiseConv2D" => {
            let (n, h, w, c) = dims4(x);
            let (kh, kw) = pair(cfg, "kernel_size");
            let (sh, sw) = pair(cfg, "strides");
            let same = cfg.get("padding").and_then(Value::as_str) == Some("same");
            let ((pt, pb), (pl, pr)) = if same {
                (same_padding(h, kh, sh), same_padding(w, kw, sw))
            } else {
                ((0, 0), (0, 0))
            };
            let depthwise = case.layer == "DepthwiseConv2D";
            let out_c = *case.output.shape.last().unwrap_or(&0);
            let mut params = Conv2dParams::dense(n, h, w, c, out_c, kh, sh, 0).with_padding(pt, pb, pl, pr);
            params.kw = kw;
            params.stride_w = sw;
            if depthwise {
                params.groups = c;
            }
            let kernel = case.weight("kernel")?;
            let bias = if cfg.get("use_bias").and_then(Value::as_bool).unwrap_or(false) {
                Some(case.weight("bias")?.data.as_slice())
            } else {
                None
            };
            let act = if cfg.get("activation").and_then(Value::as_str) == Some("relu") {
                Activation::Relu
            } else {
                Activation::None
            };
            let epilogue = Epilogue {
                bias,
                activation: act,
                ..Epilogue::IDENTITY
            };
            match tier {
                Some(t) => {
                    let packed = match algorithm {
                        Some(a) => ConvWeights::prepare_as(&params, &kernel.data, a)?,
                        None => ConvWeights::prepare(&params, &kernel.data)?,
                    };
                    conv2d_nhwc_with_tier(t, &params, &x.data, &packed, &mut out, out_c, &epilogue)?;
                }
                None => conv_ref::conv2d_nhwc(&params, &x.data, &kernel.data, &mut out, &epilogue)?,
            }
        }
        "BatchNormalization" => {
            let eps = cfg.get("epsilon").and_then(Value::as_f64).unwrap_or(1e-3) as f32;
            let v = |k: &str| -> Result<Vec<f32>> { Ok(case.weight(k)?.data.clone()) };
            let bn = BatchNorm::new(
                v("gamma")?,
                v("beta")?,
                v("moving_mean")?,
                v("moving_variance")?,
                eps,
            )?;
            batchnorm_nhwc_with_tier(tier.unwrap_or(Tier::Reference), &bn, &x.data, &mut out)?;
        }
        "ZeroPadding2D" => {
            let (n, h, w, c) = dims4(x);
            let p = cfg
                .get("padding")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let side = |i: usize, j: usize| {
                p.get(i)
                    .and_then(|r| r.get(j))
                    .and_then(Value::as_u64)
                    .unwrap_or(0) as usize
            };
            let shape = PadShape::new((n, h, w, c), (side(0, 0), side(0, 1)), (side(1, 0), side(1, 1)));
            zero_pad_nhwc_with_tier(tier.unwrap_or(Tier::Reference), &shape, &x.data, &mut out)?;
        }
        "UpSampling2D" => {
            let (n, h, w, c) = dims4(x);
            let (fy, fx) = pair(cfg, "size");
            let shape = UpsampleShape::new(n, h, w, c, fy, fx);
            upsample_nearest_nhwc_with_tier(tier.unwrap_or(Tier::Reference), &shape, &x.data, &mut out)?;
        }
        "Concatenate" => {
            let (n, h, w, c1) = dims4(x);
            let c2 = *case.inputs[1].shape.last().unwrap_or(&0);
            concat_channels_nhwc_with_tier(
                tier.unwrap_or(Tier::Reference),
                &[&x.data, &case.inputs[1].data],
                &[c1, c2],
                n * h * w,
                &mut out,
            )?;
        }
        "ReLU6" => {
            out.copy_from_slice(&x.data);
            activation::activation_inplace_with_tier(
                tier.unwrap_or(Tier::Reference),
                Activation::Relu6,
                &mut out,
            )?;
        }
        "Softmax" => {
            out.copy_from_slice(&x.data);
            softmax_channels_inplace_with_tier(
                tier.unwrap_or(Tier::Reference),
                &mut out,
                *x.shape.last().unwrap_or(&1),
            )?;
        }
        other => {
            return Err(VerifyError::Fixture {
                path: "layers.json".into(),
                reason: format!("unknown layer type {other:?}"),
            })
        }
    }
    Ok(out)
}
