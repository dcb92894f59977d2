//! Unit tests of the parent module (kept in their own file so the module reads top to bottom).

use super::*;

fn small() -> Config {
    Config {
        alpha: 0.25,
        n_classes: 3,
        input_height: 64,
        input_width: 64,
        ..Config::default()
    }
}

#[test]
fn round_trip_through_safetensors() {
    let w = Weights::random(&small(), 7).unwrap();
    let bytes = w.to_safetensors().unwrap();
    let back = Weights::from_bytes(&bytes, "mem").unwrap();
    assert_eq!(back.config, w.config);
    assert_eq!(back.tensors(), w.tensors());
}

#[test]
fn truncated_file_is_a_format_error() {
    let bytes = Weights::random(&small(), 7).unwrap().to_safetensors().unwrap();
    let e = Weights::from_bytes(&bytes[..bytes.len() / 2], "half.safetensors").unwrap_err();
    assert!(matches!(e, Error::WeightsFormat { .. }), "{e}");
    assert!(e.to_string().contains("half.safetensors"));
}

#[test]
fn every_problem_is_named() {
    let w = Weights::random(&small(), 7).unwrap();
    let mut t = w.tensors().clone();
    t.remove("conv_dw_3/kernel");
    t.get_mut("dec2_bn/gamma").unwrap().shape = vec![7];
    t.get_mut("conv1_bn/beta").unwrap().data[1] = f32::NAN;
    t.insert(
        "extra/kernel".into(),
        Tensor {
            shape: vec![1],
            data: vec![0.0],
        },
    );
    let e = Weights::from_tensors(t, &HashMap::new(), "bad")
        .unwrap_err()
        .to_string();
    for needle in [
        "conv_dw_3/kernel: missing",
        "dec2_bn/gamma: shape [7]",
        "conv1_bn/beta: 1 non-finite",
        "extra/kernel: unexpected",
    ] {
        assert!(e.contains(needle), "{needle} not in {e}");
    }
}

#[test]
fn metadata_must_agree_with_shapes() {
    let w = Weights::random(&small(), 7).unwrap();
    let mut meta = HashMap::new();
    meta.insert("n_classes".to_string(), "5".to_string());
    let e = Weights::from_tensors(w.tensors().clone(), &meta, "m")
        .unwrap_err()
        .to_string();
    assert!(e.contains("n_classes") && e.contains("says 5"), "{e}");
    let mut meta = HashMap::new();
    meta.insert("l1_skip_conn".to_string(), "true".to_string());
    assert!(Weights::from_tensors(w.tensors().clone(), &meta, "m").is_err());
    let mut meta = HashMap::new();
    meta.insert("alpha".to_string(), "0.5".to_string());
    assert!(Weights::from_tensors(w.tensors().clone(), &meta, "m").is_err());
}

#[test]
fn resize_rules_default_validate_and_round_trip() {
    use crate::resize::{ImageResize, LabelResize};
    let w = Weights::random(&small(), 7).unwrap();
    assert_eq!(w.resizing, Resizing::default()); // absent: antialias / centre
    let mut meta = HashMap::new();
    meta.insert("resize".to_string(), "cv2_linear".to_string());
    meta.insert("label_resize".to_string(), "cv2_nearest".to_string());
    let cv = Weights::from_tensors(w.tensors().clone(), &meta, "m").unwrap();
    assert_eq!(
        cv.resizing,
        Resizing {
            image: ImageResize::Cv2Linear,
            labels: LabelResize::Cv2Nearest
        }
    );
    let back = Weights::from_bytes(&cv.to_safetensors().unwrap(), "mem").unwrap();
    assert_eq!(back.resizing, cv.resizing);
    meta.insert("label_resize".to_string(), "bilinear".to_string());
    let e = Weights::from_tensors(w.tensors().clone(), &meta, "m")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("label_resize") && e.contains("cv2_nearest or centre"),
        "{e}"
    );
}

#[test]
fn infers_config_without_metadata() {
    let cfg = Config {
        alpha: 0.5,
        l1_skip_conn: true,
        n_classes: 4,
        ..Config::default()
    };
    let w = Weights::random(&cfg, 1).unwrap();
    let back = Weights::from_tensors(w.tensors().clone(), &HashMap::new(), "m").unwrap();
    assert_eq!(
        (back.config.alpha, back.config.n_classes, back.config.l1_skip_conn),
        (0.5, 4, true)
    );
}
