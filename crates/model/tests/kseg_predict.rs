//! `Model::segment` against keras-segmentation's own `predict_segmentation` on images of six
//! sizes (`fixtures/kseg/`, written by `tools/kseg_predict_fixture.py`; see its docstring for the
//! model: the shapes weights, conv1 folded from `/255` to `sub_mean`, in keras-segmentation's
//! `get_segmentation_model`).
//!
//! * our input equals `get_image_array`'s within 1e-5 (resize `cv2_linear`, `sub_mean`);
//! * our `model_map` equals `predict_segmentation`'s on every pixel whose two highest
//!   probabilities differ by more than 1e-4, and our mask at the image's size equals its map
//!   scaled by `cv2.INTER_NEAREST` wherever the source pixel is such a clear one.
//!
//! `cargo test -p mobilenet-unet --release --test kseg_predict -- --nocapture` prints the table
//! (image size -> % of pixels equal), beside what the antialiased resize gives.
#![cfg(feature = "image")]

use mobilenet_unet::preprocess::{image_to_input_with, Preprocessing};
use mobilenet_unet::resize::{cv2_nearest_index, ImageResize, LabelResize};
use mobilenet_unet::segment::{load_rgb, resize_labels};
use mobilenet_unet::{Model, Tensor, Weights};
use ndarray::Array2;
use std::collections::HashMap;
use std::path::PathBuf;

const SIZES: [&str; 6] = ["128x128", "256x256", "300x200", "640x480", "150x400", "97x61"];
const MEAN_RGB: [f64; 3] = [123.68, 116.779, 103.939];

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kseg")
}

fn weights_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../weights/mobilenet_unet_shapes.safetensors")
}

/// FNV-1a 64: the fixture names the weights file it was generated from by this hash.
fn fnv1a64(data: &[u8]) -> String {
    let h = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{h:016x}")
}

/// The shapes weights as the fixture's keras-segmentation model holds them.
fn kseg_model(resize: ImageResize, labels: LabelResize) -> Model {
    let w = Weights::load(weights_path()).expect("shapes weights");
    let mut tensors = w.tensors().clone();
    fold_divide_into_sub_mean(&mut tensors);
    let meta: HashMap<String, String> = [
        ("alpha", w.config.alpha.to_string()),
        ("decoder_activation", "relu".into()),
        ("preprocessing", "sub_mean".into()),
        ("resize", resize.name().into()),
        ("label_resize", labels.name().into()),
        ("input_height", w.config.input_height.to_string()),
        ("input_width", w.config.input_width.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let w = Weights::from_tensors(tensors, &meta, "kseg fixture").expect("weights");
    Model::from_owned_weights(w).expect("model")
}

/// conv1(x / 255) = conv1'(x − mean) + c, c folded into conv1_bn's moving mean (as the generator).
fn fold_divide_into_sub_mean(t: &mut std::collections::BTreeMap<String, Tensor>) {
    let k = t.get_mut("conv1/kernel").expect("conv1");
    let cout = k.shape[3];
    k.data.iter_mut().for_each(|v| *v /= 255.0);
    let mut c = vec![0f64; cout];
    for (i, v) in k.data.iter().enumerate() {
        c[i % cout] += *v as f64 * MEAN_RGB[(i / cout) % 3];
    }
    let mm = t.get_mut("conv1_bn/moving_mean").expect("bn");
    for (m, c) in mm.data.iter_mut().zip(&c) {
        *m = (*m as f64 - c) as f32;
    }
}

struct Recorded {
    input: Vec<f32>,
    model_map: Array2<u16>,
    margin: Array2<f32>,
}

fn recorded(bytes: &[u8], key: &str) -> Recorded {
    let st = safetensors::SafeTensors::deserialize(bytes).expect("fixture");
    let get = |n: &str| st.tensor(&format!("{key}/{n}")).expect(n);
    let f32s = |v: &[u8]| {
        v.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect::<Vec<_>>()
    };
    let map = get("model_map");
    let (h, w) = (map.shape()[0], map.shape()[1]);
    let classes = map
        .data()
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    Recorded {
        input: f32s(get("input").data()),
        model_map: Array2::from_shape_vec((h, w), classes).expect("map"),
        margin: Array2::from_shape_vec((h, w), f32s(get("margin").data())).expect("margin"),
    }
}

/// (% of model-map pixels equal, % of image pixels equal, mismatches at clear pixels).
fn compare(model: &Model, key: &str, rec: &Recorded) -> (f64, f64, usize) {
    let img = load_rgb(&fixtures().join(format!("{key}.png"))).expect("png");
    let seg = model.segment(&img).expect("segment");
    let clear = rec.margin.mapv(|m| m > 1e-4);
    // The zips below would silently compare a prefix if the maps' sizes differed.
    assert_eq!(seg.model_map.dim(), rec.model_map.dim(), "{key}: model map size");
    assert_eq!(clear.dim(), rec.model_map.dim(), "{key}: margin size");
    assert_eq!(
        seg.class_map.dim(),
        (img.height() as usize, img.width() as usize),
        "{key}"
    );
    let mut bad = 0;
    let equal_model = seg
        .model_map
        .iter()
        .zip(&rec.model_map)
        .filter(|(a, b)| a == b)
        .count();
    for ((ours, theirs), ok) in seg.model_map.iter().zip(&rec.model_map).zip(&clear) {
        bad += (*ok && ours != theirs) as usize;
    }
    let (ih, iw) = seg.class_map.dim();
    let theirs = resize_labels(&rec.model_map, ih, iw, LabelResize::Cv2Nearest);
    let (mh, mw) = rec.model_map.dim();
    let mut equal_image = 0;
    for ((y, x), ours) in seg.class_map.indexed_iter() {
        let same = *ours == theirs[[y, x]];
        equal_image += same as usize;
        let source_clear = clear[[cv2_nearest_index(y, mh, ih), cv2_nearest_index(x, mw, iw)]];
        bad += (source_clear && !same) as usize;
    }
    (
        100.0 * equal_model as f64 / seg.model_map.len() as f64,
        100.0 * equal_image as f64 / seg.class_map.len() as f64,
        bad,
    )
}

#[test]
fn fixture_was_made_from_the_committed_weights() {
    let bytes = std::fs::read(fixtures().join("kseg_predict.safetensors")).expect("fixture");
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).expect("fixture");
    let meta = header.metadata().clone().unwrap_or_default();
    let now = fnv1a64(&std::fs::read(weights_path()).expect("weights"));
    assert_eq!(
        meta.get("weights_fnv1a64"),
        Some(&now),
        "weights/mobilenet_unet_shapes.safetensors changed since the fixture was written: \
         regenerate it with `.venv-kseg/bin/python tools/kseg_predict_fixture.py`"
    );
}

#[test]
fn inputs_equal_get_image_array() {
    let bytes = std::fs::read(fixtures().join("kseg_predict.safetensors")).expect("fixture");
    for key in SIZES {
        let rec = recorded(&bytes, key);
        let img = load_rgb(&fixtures().join(format!("{key}.png"))).expect("png");
        let ours = image_to_input_with(&img, 128, 128, Preprocessing::SubMean, ImageResize::Cv2Linear)
            .expect("preprocess");
        assert_eq!(ours.len(), rec.input.len(), "{key}");
        let max = ours
            .iter()
            .zip(&rec.input)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        println!("{key}: max |ours - get_image_array| = {max:e}");
        assert!(max <= 1e-5, "{key}: max |ours - get_image_array| = {max}");
    }
}

#[test]
fn masks_equal_predict_segmentation_at_every_size() {
    let bytes = std::fs::read(fixtures().join("kseg_predict.safetensors")).expect("fixture");
    let cv2 = kseg_model(ImageResize::Cv2Linear, LabelResize::Cv2Nearest);
    let old = kseg_model(ImageResize::Antialias, LabelResize::Centre);
    println!("| image | clear pixels | model map equal | mask equal | before (antialias, centre): model map | mask |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut failures = Vec::new();
    for key in SIZES {
        let rec = recorded(&bytes, key);
        let clear = rec.margin.iter().filter(|&&m| m > 1e-4).count();
        let (model_eq, image_eq, bad) = compare(&cv2, key, &rec);
        let (old_model_eq, old_image_eq, _) = compare(&old, key, &rec);
        println!(
            "| {key} | {:.2}% | {model_eq:.2}% | {image_eq:.2}% | {old_model_eq:.2}% | {old_image_eq:.2}% |",
            100.0 * clear as f64 / rec.margin.len() as f64
        );
        if bad > 0 {
            failures.push(format!("{key}: {bad} clear pixels differ"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("; "));
}
