//! Bad input gets a clear error naming the culprit, never a panic.

use mobilenet_unet::{Config, Error, Model, Weights};
use ndarray::Array4;
use std::path::PathBuf;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mobilenet-unet-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn small() -> Config {
    Config {
        alpha: 0.25,
        n_classes: 3,
        input_height: 32,
        input_width: 32,
        ..Config::default()
    }
}

#[test]
fn input_sizes_the_model_cannot_take() {
    let model = Model::random(&small(), 0).unwrap();
    let e = model.predict(Array4::zeros((1, 30, 32, 3)).view()).unwrap_err();
    assert!(matches!(e, Error::InputSize { height: 30, .. }), "{e}");
    assert!(e.to_string().contains("multiples of 16"));
    let e = model.predict(Array4::zeros((1, 32, 32, 4)).view()).unwrap_err();
    assert!(e.to_string().contains("3 channels"), "{e}");
    assert!(model.predict(Array4::zeros((0, 32, 32, 3)).view()).is_err());
    let mut x = Array4::zeros((1, 32, 32, 3));
    x[[0, 3, 4, 1]] = f32::NAN;
    let e = model.predict(x.view()).unwrap_err();
    assert!(e.to_string().contains("non-finite"), "{e}");
    // The first bad element, as a flat row-major index: (3·32 + 4)·3 + 1.
    assert!(
        matches!(
            e,
            Error::NonFinite {
                tensor: "input",
                index: 301
            }
        ),
        "{e:?}"
    );
    // predict_into checks the output's shape too.
    let mut out = ndarray::Array3::<f32>::zeros((1, 16 * 16, 99));
    let e = model
        .predict_into(Array4::zeros((1, 32, 32, 3)).view(), out.view_mut())
        .unwrap_err();
    assert!(matches!(e, Error::InputShape(_)), "{e}");
}

#[test]
fn the_builder_refuses_what_it_cannot_do() {
    let bytes = mobilenet_unet::Weights::random(&small(), 0)
        .unwrap()
        .to_safetensors()
        .unwrap();
    let e = Model::builder().threads(0).from_bytes(&bytes).unwrap_err();
    assert!(e.to_string().contains("threads must be at least 1"), "{e}");
    for p in [mobilenet_unet::Precision::Bf16, mobilenet_unet::Precision::Int8] {
        let e = Model::builder().precision(p).from_bytes(&bytes).unwrap_err();
        assert!(e.to_string().contains("not available yet"), "{e}");
    }
    let missing = mobilenet_unet::Tier::ALL.into_iter().find(|t| !t.is_available());
    if let Some(tier) = missing {
        assert!(
            Model::builder().tier(tier).from_bytes(&bytes).is_err(),
            "{tier:?}"
        );
    }
    let e = Model::builder().from_bytes(b"not safetensors").unwrap_err();
    assert!(matches!(e, Error::WeightsFormat { .. }), "{e}");
}

#[test]
fn missing_file_names_the_path() {
    let e = Model::load("/nonexistent/weights.safetensors")
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("/nonexistent/weights.safetensors"), "{e}");
}

#[test]
fn truncated_and_garbage_files() {
    let bytes = Weights::random(&small(), 0).unwrap().to_safetensors().unwrap();
    for (name, data) in [
        ("trunc.safetensors", &bytes[..bytes.len() - 100]),
        ("garbage.safetensors", &b"not a file"[..]),
    ] {
        let p = tmp(name);
        std::fs::write(&p, data).unwrap();
        let e = Model::load(&p).err().unwrap();
        assert!(matches!(e, Error::WeightsFormat { .. }), "{e}");
        assert!(e.to_string().contains(name));
    }
}

#[test]
fn wrong_dtype_tensor_is_named() {
    use safetensors::{tensor::TensorView, Dtype};
    let w = Weights::random(&small(), 0).unwrap();
    let data: Vec<(String, Vec<u8>, Vec<usize>, Dtype)> = w
        .tensors()
        .iter()
        .map(|(n, t)| {
            if n == "conv1/kernel" {
                (
                    n.clone(),
                    t.data.iter().flat_map(|v| (*v as f64).to_le_bytes()).collect(),
                    t.shape.clone(),
                    Dtype::F64,
                )
            } else {
                (
                    n.clone(),
                    t.data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    t.shape.clone(),
                    Dtype::F32,
                )
            }
        })
        .collect();
    let views: Vec<(String, TensorView)> = data
        .iter()
        .map(|(n, b, s, d)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    let bytes = safetensors::serialize(views, &None).unwrap();
    let e = Weights::from_bytes(&bytes, "f64.safetensors")
        .unwrap_err()
        .to_string();
    assert!(e.contains("conv1/kernel") && e.contains("F64"), "{e}");
}

#[cfg(feature = "image")]
#[test]
fn corrupt_image_is_an_error() {
    let p = tmp("corrupt.png");
    std::fs::write(&p, b"\x89PNG\r\n\x1a\nthis is not really a png").unwrap();
    let model = Model::random(&small(), 0).unwrap();
    let e = model.segment_file(&p).unwrap_err();
    assert!(e.to_string().contains("corrupt.png"), "{e}");
}

#[test]
fn config_mismatch_with_weights() {
    let w = Weights::random(&small(), 0).unwrap();
    let other = Config {
        n_classes: 4,
        ..small()
    };
    assert!(Model::from_config(&other, &w).is_err());
    assert!(Model::random(
        &Config {
            alpha: -1.0,
            ..small()
        },
        0
    )
    .is_err());
    assert!(Model::random(&small(), 0).unwrap().with_threads(0).is_err());
}
