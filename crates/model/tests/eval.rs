//! `eval`: the confusion matrix follows the documented convention (every output pixel once,
//! label sampled at `[2i, 2j]`), the metrics are the textbook ones, and a broken labelled set
//! is an error that names the file.

use image::{GrayImage, Luma, RgbImage};
use mobilenet_unet::eval::{evaluate, EvalReport};
use mobilenet_unet::{Config, Model};
use std::path::{Path, PathBuf};

const SIZE: u32 = 32;

fn small_model() -> Model {
    let cfg = Config {
        alpha: 0.25,
        n_classes: 3,
        input_height: SIZE as usize,
        input_width: SIZE as usize,
        ..Config::default()
    };
    Model::random(&cfg, 7).unwrap()
}

/// A fresh `images/` + `labels/` folder under the temp dir.
fn dataset(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("mobilenet-unet-eval-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("images")).unwrap();
    std::fs::create_dir_all(dir.join("labels")).unwrap();
    dir
}

/// Deterministic pseudo-random bytes (an LCG: the test needs variety, not quality).
fn bytes(seed: u32, n: usize) -> Vec<u8> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 24) as u8
        })
        .collect()
}

fn write_pair(dir: &Path, name: &str, seed: u32, classes: u8) -> (RgbImage, GrayImage) {
    let img = RgbImage::from_raw(SIZE, SIZE, bytes(seed, (SIZE * SIZE * 3) as usize)).unwrap();
    let lab = GrayImage::from_raw(
        SIZE,
        SIZE,
        bytes(seed + 100, (SIZE * SIZE) as usize)
            .into_iter()
            .map(|b| b % classes)
            .collect(),
    )
    .unwrap();
    img.save(dir.join("images").join(name)).unwrap();
    lab.save(dir.join("labels").join(name)).unwrap();
    (img, lab)
}

#[test]
fn confusion_counts_every_output_pixel_against_the_label_at_2i_2j() {
    let model = small_model();
    let dir = dataset("convention");
    let mut expected = vec![vec![0u64; 3]; 3];
    for k in 0..3u32 {
        let (img, lab) = write_pair(&dir, &format!("{k:03}.png"), k, 3);
        let map = model.segment(&img).unwrap().model_map;
        assert_eq!(map.dim(), (16, 16));
        for ((i, j), &pred) in map.indexed_iter() {
            let truth = lab.get_pixel(2 * j as u32, 2 * i as u32)[0] as usize;
            expected[truth][pred as usize] += 1;
        }
    }
    let report = evaluate(&model, &dir).unwrap();
    assert_eq!(report.images, 3);
    assert_eq!(report.confusion, expected);
    assert_eq!(report.confusion.iter().flatten().sum::<u64>(), 3 * 16 * 16);
}

#[test]
fn metrics_are_pixel_accuracy_and_iou_over_present_classes() {
    // truth rows, predicted columns; class 2 never occurs in either.
    let report = EvalReport {
        images: 1,
        confusion: vec![vec![5, 1, 0], vec![2, 2, 0], vec![0, 0, 0]],
    };
    assert!((report.pixel_accuracy() - 0.7).abs() < 1e-12);
    let iou = report.class_iou();
    assert!((iou[0].unwrap() - 5.0 / 8.0).abs() < 1e-12);
    assert!((iou[1].unwrap() - 2.0 / 5.0).abs() < 1e-12);
    assert_eq!(iou[2], None);
    assert!((report.mean_iou() - (5.0 / 8.0 + 2.0 / 5.0) / 2.0).abs() < 1e-12);
    let json = report.to_json(&["bg".into(), "a".into(), "b".into()]);
    assert!((json["mean_iou"].as_f64().unwrap() - report.mean_iou()).abs() < 1e-12);
    assert!(json["class_iou"]["b"].is_null());
}

fn eval_error(dir: &Path) -> String {
    evaluate(&small_model(), dir).unwrap_err().to_string()
}

/// The error for a one-image set whose label file is replaced by `label`.
fn eval_error_with_label(name: &str, label: GrayImage) -> String {
    let dir = dataset(name);
    write_pair(&dir, "000.png", 1, 3);
    label.save(dir.join("labels/000.png")).unwrap();
    eval_error(&dir)
}

#[test]
fn a_folder_without_images_is_an_error() {
    let dir = dataset("empty");
    assert!(eval_error(&dir).contains("no PNG"), "{}", eval_error(&dir));
    let missing = dir.join("nope");
    assert!(eval_error(&missing).contains("nope"));
}

#[test]
fn a_missing_label_names_the_label_file() {
    let dir = dataset("missing-label");
    write_pair(&dir, "000.png", 1, 3);
    std::fs::remove_file(dir.join("labels/000.png")).unwrap();
    let e = eval_error(&dir);
    assert!(e.contains("labels") && e.contains("000.png"), "{e}");
}

#[test]
fn a_label_of_another_size_is_an_error() {
    let e = eval_error_with_label("label-size", GrayImage::new(SIZE, SIZE / 2));
    assert!(e.contains("label"), "{e}");
}

#[test]
fn a_label_class_the_model_does_not_have_is_an_error() {
    let mut lab = GrayImage::new(SIZE, SIZE);
    lab.put_pixel(4, 6, Luma([7]));
    let e = eval_error_with_label("label-class", lab);
    assert!(e.contains("class 7") && e.contains("3"), "{e}");
}

#[test]
fn a_corrupt_image_is_an_error_not_a_panic() {
    let dir = dataset("corrupt");
    write_pair(&dir, "000.png", 1, 3);
    std::fs::write(dir.join("images/000.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let e = eval_error(&dir);
    assert!(e.contains("000.png"), "{e}");
    // The same pair with a valid image evaluates: the error above came from the corruption.
    let ok = dataset("valid");
    write_pair(&ok, "000.png", 1, 3);
    assert_eq!(evaluate(&small_model(), &ok).unwrap().images, 1);
}
