//! A Keras-like summary: layers, output shapes, parameters and MACs, and the separable lesson.
//!
//! It prints [`Architecture::layers`], which is derived from the network's step list (each step
//! names the Keras layers it computes), so the summary describes exactly what the engine runs.

use crate::arch::{Architecture, LayerKind};
use crate::preprocess::Preprocessing;
use crate::resize::Resizing;
use crate::weights::Weights;
use serde_json::json;
use std::fmt::Write;

fn shape_str(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("(None, {})", dims.join(", "))
}

fn kind_str(kind: &LayerKind) -> &'static str {
    match kind {
        LayerKind::Input => "InputLayer",
        LayerKind::ZeroPadding => "ZeroPadding2D",
        LayerKind::Conv { .. } => "Conv2D",
        LayerKind::Depthwise { .. } => "DepthwiseConv2D",
        LayerKind::BatchNorm => "BatchNormalization",
        LayerKind::Relu6 => "Activation",
        LayerKind::UpSampling => "UpSampling2D",
        LayerKind::Concatenate => "Concatenate",
        LayerKind::Reshape => "Reshape",
        LayerKind::Softmax => "Softmax",
    }
}

/// Groups digits by thousands: 6278658 -> "6,278,658".
pub fn thousands(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The summary as text.
pub fn summary_text(arch: &Architecture) -> String {
    let c = &arch.config;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "MobileNet-UNet: alpha {}, {} classes, input {}x{}, l1_skip_conn {}, decoder activation {}\n",
        c.alpha, c.n_classes, c.input_height, c.input_width, c.l1_skip_conn, c.decoder_activation
    );
    let _ = writeln!(
        s,
        "{:<18} {:<20} {:<24} {:>12} {:>15}",
        "Layer", "Type", "Output shape", "Params", "MACs"
    );
    let _ = writeln!(s, "{}", "-".repeat(93));
    for l in &arch.layers {
        let macs = if l.macs > 0 {
            thousands(l.macs)
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "{:<18} {:<20} {:<24} {:>12} {:>15}",
            l.name,
            kind_str(&l.kind),
            shape_str(&l.output_shape),
            thousands(l.params()),
            macs
        );
    }
    let _ = writeln!(s, "{}", "-".repeat(93));
    let _ = writeln!(s, "Total params:         {}", thousands(arch.total_params()));
    let _ = writeln!(s, "Trainable params:     {}", thousands(arch.trainable_params()));
    let _ = writeln!(
        s,
        "Non-trainable params: {}",
        thousands(arch.non_trainable_params())
    );
    let _ = writeln!(
        s,
        "MACs per image:       {} ({:.2} GFLOP)",
        thousands(arch.macs()),
        2.0 * arch.macs() as f64 / 1e9
    );
    let _ = writeln!(
        s,
        "\nDepthwise separable blocks vs a standard 3x3 convolution with the same channels:"
    );
    let _ = writeln!(
        s,
        "{:<6} {:>10} {:>10} {:>12} {:>12} {:>7} {:>14} {:>14} {:>7}",
        "block", "in->out", "out HxW", "sep weights", "std weights", "ratio", "sep MACs", "std MACs", "ratio"
    );
    let (mut sw, mut tw, mut sm, mut tm) = (0, 0, 0, 0);
    for b in &arch.separable {
        let _ = writeln!(
            s,
            "{:<6} {:>10} {:>10} {:>12} {:>12} {:>7.2} {:>14} {:>14} {:>7.2}",
            b.block,
            format!("{}->{}", b.in_c, b.out_c),
            format!("{}x{}", b.out_hw.0, b.out_hw.1),
            thousands(b.separable_weights),
            thousands(b.standard_weights),
            b.standard_weights as f64 / b.separable_weights as f64,
            thousands(b.separable_macs),
            thousands(b.standard_macs),
            b.standard_macs as f64 / b.separable_macs as f64
        );
        (sw, tw, sm, tm) = (
            sw + b.separable_weights,
            tw + b.standard_weights,
            sm + b.separable_macs,
            tm + b.standard_macs,
        );
    }
    let _ = writeln!(
        s,
        "{:<6} {:>10} {:>10} {:>12} {:>12} {:>7.2} {:>14} {:>14} {:>7.2}",
        "total",
        "",
        "",
        thousands(sw),
        thousands(tw),
        tw as f64 / sw as f64,
        thousands(sm),
        thousands(tm),
        tm as f64 / sm as f64
    );
    s
}

/// The summary as JSON: `total_params`, `trainable_params`, `non_trainable_params`, `macs`,
/// `layers` (name, type, output_shape, params, trainable, non_trainable, macs), `separable`.
pub fn summary_json(arch: &Architecture) -> serde_json::Value {
    let c = &arch.config;
    json!({
        "config": {
            "alpha": c.alpha,
            "n_classes": c.n_classes,
            "l1_skip_conn": c.l1_skip_conn,
            "decoder_activation": c.decoder_activation.name(),
            "input_height": c.input_height,
            "input_width": c.input_width,
        },
        "total_params": arch.total_params(),
        "trainable_params": arch.trainable_params(),
        "non_trainable_params": arch.non_trainable_params(),
        "macs": arch.macs(),
        "layers": arch.layers.iter().map(|l| json!({
            "name": l.name,
            "type": kind_str(&l.kind),
            "output_shape": l.output_shape,
            "params": l.params(),
            "trainable": l.trainable,
            "non_trainable": l.non_trainable,
            "macs": l.macs,
        })).collect::<Vec<_>>(),
        "separable": arch.separable.iter().map(|b| json!({
            "block": b.block,
            "in_c": b.in_c,
            "out_c": b.out_c,
            "out_hw": [b.out_hw.0, b.out_hw.1],
            "separable_weights": b.separable_weights,
            "standard_weights": b.standard_weights,
            "separable_macs": b.separable_macs,
            "standard_macs": b.standard_macs,
        })).collect::<Vec<_>>(),
    })
}

/// What a weights file says about turning an image into input and a class map back into a
/// mask: one line for the text summary.
pub fn pipeline_text(w: &Weights) -> String {
    pipeline_line(w.preprocessing, w.resizing)
}

/// [`pipeline_text`] from the two settings (what a loaded `Model` still knows of its weights).
pub fn pipeline_line(preprocessing: Preprocessing, resizing: Resizing) -> String {
    format!(
        "Image pipeline: resize {} -> preprocessing {preprocessing} -> model -> label_resize {}\n",
        resizing.image, resizing.labels
    )
}

/// The same as JSON: `{"resize", "preprocessing", "label_resize"}`.
pub fn pipeline_json(w: &Weights) -> serde_json::Value {
    json!({
        "resize": w.resizing.image.name(),
        "preprocessing": w.preprocessing.name(),
        "label_resize": w.resizing.labels.name(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn text_and_json_agree() {
        let arch = Architecture::new(&Config::default()).unwrap();
        let t = summary_text(&arch);
        assert!(t.contains("Total params:         6,278,658"), "{t}");
        let j = summary_json(&arch);
        assert_eq!(j["total_params"], 6_278_658);
        assert_eq!(j["non_trainable_params"], 16_640);
        assert_eq!(thousands(1000), "1,000");
        let w = Weights::random(
            &Config {
                alpha: 0.25,
                ..Config::default()
            },
            1,
        )
        .unwrap();
        assert_eq!(
            pipeline_text(&w),
            "Image pipeline: resize antialias -> preprocessing sub_mean -> model -> label_resize centre\n"
        );
        assert_eq!(pipeline_json(&w)["label_resize"], "centre");
        assert_eq!(thousands(999), "999");
    }
}
