//! The command-line tool: JSON outputs parse, and every failure is one line and a non-zero exit.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mobilenet-unet"))
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mobilenet-unet-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs and expects failure with exactly one line on stderr mentioning `needle`.
fn fails_with(args: &[&str], needle: &str) {
    let out = bin().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: not one line:\n{err}"
    );
    assert!(
        err.starts_with("error: ") && err.contains(needle),
        "{args:?}: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn summary_json_has_keras_counts() {
    let out = bin().args(["summary", "--json"]).output().unwrap();
    assert!(out.status.success());
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["total_params"], 6_278_658);
    assert_eq!(j["trainable_params"], 6_262_018);
    assert_eq!(j["non_trainable_params"], 16_640);
    assert!(j["layers"].as_array().unwrap().len() > 90);
}

#[test]
fn summary_shows_the_weights_image_pipeline() {
    let shapes = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../weights/mobilenet_unet_shapes.safetensors"
    );
    let out = bin().args(["summary", "--weights", shapes]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    // No resize keys in the shipped file: the antialiased resize and pixel-centre labels.
    assert!(
        text.starts_with(
            "Image pipeline: resize antialias -> preprocessing divide -> model -> label_resize centre\n"
        ),
        "{text}"
    );
    let out = bin()
        .args(["summary", "--json", "--weights", shapes])
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["pipeline"]["resize"], "antialias");
    assert_eq!(j["pipeline"]["label_resize"], "centre");
}

#[test]
fn bad_arguments_and_files() {
    fails_with(&["summary", "--size", "225x224"], "multiples of 16");
    fails_with(&["summary", "--alpha", "0"], "alpha");
    fails_with(&["bench", "--size", "abc"], "--size");
    fails_with(
        &["infer", "--input", "/nonexistent.npy", "--output", "/tmp/x.npy"],
        "/nonexistent.npy",
    );
    let junk = tmp("junk.safetensors");
    std::fs::write(&junk, b"nope").unwrap();
    fails_with(
        &["summary", "--weights", junk.to_str().unwrap()],
        "junk.safetensors",
    );
    let bad_png = tmp("bad.png");
    std::fs::write(&bad_png, b"\x89PNG\r\n\x1a\ntruncated").unwrap();
    fails_with(
        &[
            "segment",
            bad_png.to_str().unwrap(),
            "-o",
            tmp("o").to_str().unwrap(),
        ],
        "bad.png",
    );
}

#[test]
fn infer_round_trip_through_npy() {
    use ndarray_npy::{ReadNpyExt, WriteNpyExt};
    let x = ndarray::Array4::<f32>::from_elem((1, 32, 48, 3), 0.25);
    let input = tmp("x.npy");
    x.write_npy(std::fs::File::create(&input).unwrap()).unwrap();
    let output = tmp("y.npy");
    let st = bin()
        .args([
            "infer",
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
            "--threads",
            "1",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let y = ndarray::Array3::<f32>::read_npy(std::fs::File::open(&output).unwrap()).unwrap();
    assert_eq!(y.shape()[..2], [1, 16 * 24]);
    for row in y.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-5);
    }
    // A float64 input is refused with the reason.
    let x64 = ndarray::Array4::<f64>::zeros((1, 32, 48, 3));
    x64.write_npy(std::fs::File::create(&input).unwrap()).unwrap();
    fails_with(
        &[
            "infer",
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ],
        "float32",
    );
}

#[test]
fn bench_json_keys() {
    let out = bin()
        .args([
            "bench",
            "--alpha",
            "0.25",
            "--size",
            "32x32",
            "--runs",
            "2",
            "--threads",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["median_ms", "min_ms", "gflops"] {
        assert!(j[key].as_f64().unwrap() > 0.0, "{key}");
    }
}
