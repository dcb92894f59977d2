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

/// A deterministic, non-constant RGB image in `[0, 255]` (what `infer` expects).
fn test_image(h: usize, w: usize) -> ndarray::Array4<f32> {
    ndarray::Array4::from_shape_fn((1, h, w, 3), |(_, y, x, c)| {
        ((y * 7 + x * 13 + c * 29) % 256) as f32
    })
}

#[test]
fn infer_writes_what_the_library_predicts() {
    use ndarray_npy::{ReadNpyExt, WriteNpyExt};
    let x = test_image(32, 48);
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
    // The same model, the same input, the same tier and thread count: the same bits.
    let model =
        mobilenet_unet::Model::from_owned_weights(mobilenet_unet::defaults::default_weights().unwrap())
            .unwrap()
            .with_threads(1)
            .unwrap();
    let want = model.predict(x.view()).unwrap();
    assert_eq!(y.shape(), want.shape());
    assert!(
        y.iter().zip(want.iter()).all(|(a, b)| a.to_bits() == b.to_bits()),
        "infer's output differs from Model::predict"
    );
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

/// The class indices of a palette PNG mask.
fn mask_indices(path: &std::path::Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Indexed, "{}", path.display());
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn segment_reproduces_the_committed_example_masks() {
    // examples/output holds what `segment` wrote for examples/images with the default model
    // (on this CI machine's tier; another tier could flip a pixel whose two best classes are
    // within rounding of each other, which would show here as a count of differing pixels).
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out_dir = tmp("masks");
    for stem in ["shapes_1", "overlap_1"] {
        let image = root.join(format!("examples/images/{stem}.png"));
        let out = bin()
            .args([
                "segment",
                image.to_str().unwrap(),
                "-o",
                out_dir.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let (w, h, got) = mask_indices(&out_dir.join(format!("{stem}_mask.png")));
        let (we, he, want) = mask_indices(&root.join(format!("examples/output/{stem}_mask.png")));
        assert_eq!((w, h), (we, he), "{stem}");
        let differ = got.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "{stem}: {differ} of {} pixels differ", want.len());
        assert!(
            want.iter().any(|&c| c != want[0]),
            "{stem}: the expected mask has one class"
        );
    }
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
