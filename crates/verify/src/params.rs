//! Parameter counts: ours (from the architecture alone) against Keras's `count_params()`.

use crate::fixtures::load_json;
use crate::report::Check;
use crate::{Result, VerifyError};
use mobilenet_unet::{Architecture, Config, DecoderActivation};
use mobilenet_unet_kernels::Conv2dParams;
use serde_json::Value;
use std::path::Path;

fn field<'a>(v: &'a Value, key: &str, path: &Path) -> Result<&'a Value> {
    v.get(key).ok_or_else(|| VerifyError::Fixture {
        path: path.into(),
        reason: format!("missing key {key:?}"),
    })
}

fn num(v: &Value, key: &str, path: &Path) -> Result<u64> {
    field(v, key, path)?.as_u64().ok_or_else(|| VerifyError::Fixture {
        path: path.into(),
        reason: format!("{key:?} is not a count"),
    })
}

/// Checks `param_counts.json`: the seed's example and every model configuration, per layer.
pub fn check_param_counts(dir: &Path) -> Result<Vec<Check>> {
    let path = dir.join("param_counts.json");
    let json = load_json(&path)?;
    let mut checks = Vec::new();

    // The seed's lesson: 16 -> 32 channels, 3x3.
    let seed = field(&json, "seed_example", &path)?;
    let standard = Conv2dParams::dense(1, 8, 8, 16, 32, 3, 1, 1);
    let dw = Conv2dParams::depthwise(1, 8, 8, 16, 3, 1, 1);
    let pw = Conv2dParams::dense(1, 8, 8, 16, 32, 1, 1, 0);
    checks.push(Check::exact(
        "seed 16->32",
        "standard 3x3 weights",
        standard.weight_len() as u64,
        num(seed, "standard_conv3x3_params", &path)?,
    ));
    checks.push(Check::exact(
        "seed 16->32",
        "depthwise 3x3 weights",
        dw.weight_len() as u64,
        num(seed, "depthwise3x3_params", &path)?,
    ));
    checks.push(Check::exact(
        "seed 16->32",
        "pointwise 1x1 weights",
        pw.weight_len() as u64,
        num(seed, "pointwise1x1_params", &path)?,
    ));
    checks.push(Check::exact(
        "seed 16->32",
        "separable weights",
        (dw.weight_len() + pw.weight_len()) as u64,
        num(seed, "separable_params", &path)?,
    ));

    let configs = field(&json, "configs", &path)?
        .as_object()
        .ok_or_else(|| VerifyError::Fixture {
            path: path.clone(),
            reason: "configs is not an object".into(),
        })?;
    for (name, c) in configs {
        let cfg = Config {
            alpha: field(c, "alpha", &path)?.as_f64().unwrap_or(f64::NAN),
            n_classes: num(c, "n_classes", &path)? as usize,
            l1_skip_conn: field(c, "l1_skip_conn", &path)?.as_bool().unwrap_or(false),
            decoder_activation: field(c, "decoder_activation", &path)?
                .as_str()
                .unwrap_or("")
                .parse::<DecoderActivation>()?,
            input_height: num(c, "height", &path)? as usize,
            input_width: num(c, "width", &path)? as usize,
            ..Config::default()
        };
        let arch = Architecture::new(&cfg)?;
        checks.push(Check::exact(
            name,
            "total params",
            arch.total_params(),
            num(c, "total", &path)?,
        ));
        checks.push(Check::exact(
            name,
            "trainable params",
            arch.trainable_params(),
            num(c, "trainable", &path)?,
        ));
        checks.push(Check::exact(
            name,
            "non-trainable params",
            arch.non_trainable_params(),
            num(c, "non_trainable", &path)?,
        ));
        checks.push(per_layer(name, &arch, field(c, "layers", &path)?, &path)?);
    }
    Ok(checks)
}

/// One check summarising every layer's count and output shape (the note names mismatches).
fn per_layer(case: &str, arch: &Architecture, layers: &Value, path: &Path) -> Result<Check> {
    let layers = layers.as_array().ok_or_else(|| VerifyError::Fixture {
        path: path.into(),
        reason: "layers is not a list".into(),
    })?;
    let mut mismatches = Vec::new();
    for l in layers {
        let name = field(l, "name", path)?.as_str().unwrap_or("");
        let keras_params = num(l, "params", path)?;
        let keras_shape: Vec<usize> = field(l, "output_shape", path)?
            .as_array()
            .map(|a| a.iter().filter_map(|d| d.as_u64().map(|d| d as usize)).collect())
            .unwrap_or_default();
        match arch.layer(name) {
            None => mismatches.push(format!("{name}: not in our architecture")),
            Some(ours) => {
                if ours.params() != keras_params || ours.output_shape != keras_shape {
                    mismatches.push(format!(
                        "{name}: ours {} {:?}, keras {keras_params} {keras_shape:?}",
                        ours.params(),
                        ours.output_shape
                    ));
                }
            }
        }
    }
    let ours_with_params = arch.layers.iter().filter(|l| l.params() > 0).count();
    if ours_with_params != layers.len() {
        mismatches.push(format!(
            "{ours_with_params} layers with parameters, keras {}",
            layers.len()
        ));
    }
    let mut check = Check::exact(case, "per-layer params and shapes", mismatches.len() as u64, 0);
    check.note = if mismatches.is_empty() {
        format!("{} layers equal", layers.len())
    } else {
        mismatches.join("; ")
    };
    Ok(check)
}
