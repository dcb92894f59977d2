//! The default weights — the trained model embedded in the binary — judged by Keras on the
//! committed test set.
//!
//! `tools/eval_keras.py` loads the very same safetensors file into the Keras model, runs it on
//! `data/test` and writes its confusion matrix, metrics and the file's SHA-256 to
//! `fixtures/default_weights_eval_keras.json`. Here our engine evaluates the embedded weights on
//! the same images ([`mobilenet_unet::eval::evaluate`]) and the two must agree: the issue asks
//! for the third decimal of every metric, and at most 0.5% of pixels may change class (the same
//! argmax allowance as the whole-model checks: a pixel whose two best classes are closer than
//! the float error may flip).

use crate::fixtures::load_json;
use crate::report::Check;
use crate::{Result, VerifyError};
use mobilenet_unet::{defaults, eval};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Metrics (pixel accuracy, IoU) must agree to the third decimal.
pub const METRIC_TOLERANCE: f64 = 1e-3;
/// At most this fraction of the pixels may sit in a different confusion cell.
pub const PIXEL_FLIP_TOLERANCE: f64 = 0.005;

/// The fixture's file name inside the fixtures folder.
pub const FIXTURE: &str = "default_weights_eval_keras.json";

const CASE: &str = "default weights, data/test";

fn fixture_err(path: &Path, reason: String) -> VerifyError {
    VerifyError::Fixture {
        path: path.into(),
        reason,
    }
}

/// Lowercase hex SHA-256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// `json[key]` as a `k x k` matrix of counts.
fn confusion_from_json(json: &Value, k: usize, path: &Path) -> Result<Vec<Vec<u64>>> {
    let rows = json
        .get("confusion")
        .and_then(Value::as_array)
        .ok_or_else(|| fixture_err(path, "missing \"confusion\" matrix".into()))?;
    let matrix: Option<Vec<Vec<u64>>> = rows
        .iter()
        .map(|r| r.as_array()?.iter().map(Value::as_u64).collect())
        .collect();
    match matrix {
        Some(m) if m.len() == k && m.iter().all(|r| r.len() == k) => Ok(m),
        _ => Err(fixture_err(
            path,
            format!("\"confusion\" is not a {k}x{k} matrix of counts"),
        )),
    }
}

/// A metric comparison: `|ours - keras| <= METRIC_TOLERANCE`.
fn metric_check(what: &str, ours: f64, keras: f64) -> Check {
    let diff = (ours - keras).abs();
    Check {
        case: CASE.into(),
        what: what.into(),
        max_abs: diff,
        max_rel: diff / keras.abs().max(1e-12),
        tolerance: METRIC_TOLERANCE,
        metric: "max_abs",
        note: format!("ours {ours:.4}, keras {keras:.4}"),
        pass: diff <= METRIC_TOLERANCE,
    }
}

/// Fraction of pixels that are in a different cell of `ours` than of `keras`.
pub fn moved_pixel_fraction(ours: &[Vec<u64>], keras: &[Vec<u64>]) -> f64 {
    let total: u64 = keras.iter().flatten().sum();
    let moved: u64 = ours
        .iter()
        .flatten()
        .zip(keras.iter().flatten())
        .map(|(a, b)| a.abs_diff(*b))
        .sum::<u64>()
        / 2;
    moved as f64 / total.max(1) as f64
}

/// Evaluates the embedded default weights on the committed test set and compares with Keras.
pub fn check_default_weights_eval(dir: &Path) -> Result<Vec<Check>> {
    let path = dir.join(FIXTURE);
    let json = load_json(&path)?;
    let bytes = defaults::default_weights_bytes().ok_or_else(|| {
        fixture_err(
            &path,
            "this build has no embedded default weights to compare".into(),
        )
    })?;
    let mut checks = Vec::new();

    // The fixture must describe these very bytes, or every comparison below is meaningless.
    let ours_sha = sha256_hex(bytes);
    let keras_sha = json
        .get("weights_sha256")
        .and_then(Value::as_str)
        .unwrap_or("(missing)");
    checks.push(Check {
        case: CASE.into(),
        what: "same weights file (SHA-256)".into(),
        max_abs: 0.0,
        max_rel: 0.0,
        tolerance: 0.0,
        metric: "exact",
        note: format!(
            "ours {}, keras {}",
            &ours_sha[..12],
            keras_sha.get(..12).unwrap_or(keras_sha)
        ),
        pass: ours_sha == keras_sha,
    });

    let model = crate::engine_builder()?.from_weights(defaults::default_weights()?)?;
    let report = eval::evaluate(&model, &defaults::default_test_set())?;
    let k = report.confusion.len();
    let keras_confusion = confusion_from_json(&json, k, &path)?;
    let keras_report = eval::EvalReport {
        images: report.images,
        confusion: keras_confusion,
    };

    let keras_images = json.get("images").and_then(Value::as_u64).unwrap_or(0);
    checks.push(Check::exact(CASE, "images", report.images as u64, keras_images));
    let moved = moved_pixel_fraction(&report.confusion, &keras_report.confusion);
    let total: u64 = keras_report.confusion.iter().flatten().sum();
    checks.push(Check {
        case: CASE.into(),
        what: "pixels in another cell".into(),
        max_abs: moved,
        max_rel: moved,
        tolerance: PIXEL_FLIP_TOLERANCE,
        metric: "fraction",
        note: format!("{} of {total} pixels", (moved * total as f64).round()),
        pass: moved <= PIXEL_FLIP_TOLERANCE,
    });
    checks.push(metric_check(
        "pixel accuracy",
        report.pixel_accuracy(),
        keras_report.pixel_accuracy(),
    ));
    checks.push(metric_check(
        "mean IoU",
        report.mean_iou(),
        keras_report.mean_iou(),
    ));
    let names = model.class_names();
    for (c, (ours, keras)) in report
        .class_iou()
        .into_iter()
        .zip(keras_report.class_iou())
        .enumerate()
    {
        let what = format!("IoU {}", names.get(c).map(String::as_str).unwrap_or("?"));
        checks.push(match (ours, keras) {
            (Some(o), Some(k)) => metric_check(&what, o, k),
            (o, k) => Check {
                pass: o.is_none() && k.is_none(),
                note: format!("ours {o:?}, keras {k:?}"),
                ..metric_check(&what, 0.0, 0.0)
            },
        });
    }
    // The fixture's own summary numbers must match its matrix (guards a hand-edited file).
    let stated = json.get("mean_iou").and_then(Value::as_f64).unwrap_or(f64::NAN);
    checks.push(metric_check(
        "fixture's stated mean IoU",
        keras_report.mean_iou(),
        stated,
    ));
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_pixels_count_each_pixel_once() {
        let keras = vec![vec![8, 2], vec![0, 10]];
        let ours = vec![vec![7, 3], vec![0, 10]];
        assert!((moved_pixel_fraction(&ours, &keras) - 0.05).abs() < 1e-12);
        assert_eq!(moved_pixel_fraction(&keras, &keras), 0.0);
    }

    #[test]
    fn sha256_of_abc_is_the_standard_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_metric_off_in_the_third_decimal_fails() {
        assert!(metric_check("m", 0.9004, 0.9).pass);
        assert!(!metric_check("m", 0.902, 0.9).pass);
    }
}
