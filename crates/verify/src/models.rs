//! Whole networks against Keras: end to end and at every tap.

use crate::fixtures::{load_json, Fixture};
use crate::report::Check;
use crate::{Result, VerifyError};
use mobilenet_unet::{reference, Taps, Weights};
use ndarray::{Array3, Array4, ArrayView4};
use std::path::Path;

/// Activations of a deep f32 network, relative to each tensor's scale.
pub const ACTIVATION_TOLERANCE: f64 = 1e-4;
/// Softmax probabilities, absolute.
pub const PROBABILITY_TOLERANCE: f64 = 1e-4;
/// Minimum fraction of pixels whose most probable class equals Keras's.
pub const MIN_ARGMAX_AGREEMENT: f64 = 0.995;

/// Runs every case listed in `model_cases.json`.
pub fn check_models(dir: &Path) -> Result<Vec<Check>> {
    let list = load_json(&dir.join("model_cases.json"))?;
    let cases = list
        .get("cases")
        .and_then(|c| c.as_object())
        .ok_or_else(|| VerifyError::Fixture {
            path: dir.join("model_cases.json"),
            reason: "no cases".into(),
        })?;
    let mut checks = Vec::new();
    for name in cases.keys() {
        checks.extend(check_case(dir, name)?);
    }
    Ok(checks)
}

/// One model case: the optimised engine at every tap, and the oracle end to end.
pub fn check_case(dir: &Path, case: &str) -> Result<Vec<Check>> {
    let weights = Weights::load(dir.join(format!("{case}.weights.safetensors")))?;
    let io = Fixture::load(&dir.join(format!("{case}.io.safetensors")))?;
    let x = io.get("input")?;
    let input =
        ArrayView4::from_shape((x.shape[0], x.shape[1], x.shape[2], x.shape[3]), &x.data).map_err(|e| {
            VerifyError::Fixture {
                path: io.path.clone().into(),
                reason: e.to_string(),
            }
        })?;
    let model = crate::engine_builder()?.from_weights(weights.clone())?;
    let (probs, taps) = model.predict_with_taps(input)?;
    let mut checks = compare_taps(case, "engine", &io, &probs, &taps)?;
    let (probs, taps) = reference::forward(&weights, input)?;
    checks.extend(
        compare_taps(case, "oracle", &io, &probs, &taps)?
            .into_iter()
            .filter(|c| c.what.starts_with("output") || c.what.starts_with("logits")),
    );
    Ok(checks)
}

fn compare_taps(case: &str, who: &str, io: &Fixture, probs: &Array3<f32>, taps: &Taps) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    let mut tensor = |what: &str, ours: &Array4<f32>| -> Result<()> {
        let keras = io.get(what)?;
        let mut c = Check::compare(
            case,
            &format!("{what} ({who})"),
            ours.as_slice().unwrap_or(&[]),
            &keras.data,
            ACTIVATION_TOLERANCE,
            "max_rel",
        );
        if ours.shape() != keras.shape.as_slice() {
            c.pass = false;
            c.note = format!("shape {:?} vs Keras {:?}", ours.shape(), keras.shape);
        }
        checks.push(c);
        Ok(())
    };
    for (i, f) in taps.f.iter().enumerate() {
        tensor(&format!("f{}", i + 1), f)?;
    }
    for (i, d) in taps.dec.iter().enumerate() {
        tensor(&format!("dec{}", i + 1), d)?;
    }
    tensor("logits", &taps.logits)?;
    let keras = io.get("output")?;
    let mut c = Check::compare(
        case,
        &format!("output ({who})"),
        probs.as_slice().unwrap_or(&[]),
        &keras.data,
        PROBABILITY_TOLERANCE,
        "max_abs",
    );
    let agree = argmax_agreement(
        probs.as_slice().unwrap_or(&[]),
        &keras.data,
        *keras.shape.last().unwrap_or(&1),
    );
    c.note = format!("argmax agrees on {:.2}% of pixels", 100.0 * agree);
    c.pass &= agree >= MIN_ARGMAX_AGREEMENT;
    checks.push(c);
    Ok(checks)
}

/// Fraction of rows (pixels) whose argmax over `k` classes is the same in `a` and `b`.
pub fn argmax_agreement(a: &[f32], b: &[f32], k: usize) -> f64 {
    let argmax = |row: &[f32]| {
        row.iter()
            .enumerate()
            .fold(0, |best, (i, v)| if *v > row[best] { i } else { best })
    };
    let rows = a.len() / k.max(1);
    if rows == 0 || a.len() != b.len() {
        return 0.0;
    }
    let same = a
        .chunks_exact(k)
        .zip(b.chunks_exact(k))
        .filter(|(x, y)| argmax(x) == argmax(y))
        .count();
    same as f64 / rows as f64
}
