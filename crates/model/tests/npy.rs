//! `.npy` exchange (feature `npy`): a wrong dtype, rank or file is an error naming the file, and
//! what `write_output` writes NumPy-compatible readers read back unchanged.

use mobilenet_unet::npy;
use ndarray::{Array3, Array4};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use std::path::PathBuf;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mobilenet-unet-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn npy_with_wrong_dtype_or_rank() {
    let p = tmp("f64.npy");
    Array4::<f64>::zeros((1, 16, 16, 3))
        .write_npy(std::fs::File::create(&p).unwrap())
        .unwrap();
    let e = npy::read_input(&p).unwrap_err().to_string();
    assert!(e.contains("f64.npy") && e.contains("float32"), "{e}");
    let p = tmp("rank3.npy");
    Array3::<f32>::zeros((16, 16, 3))
        .write_npy(std::fs::File::create(&p).unwrap())
        .unwrap();
    let e = npy::read_input(&p).unwrap_err().to_string();
    assert!(e.contains("rank"), "{e}");
    let p = tmp("junk.npy");
    std::fs::write(&p, b"\x93NUMPY garbage").unwrap();
    let e = npy::read_input(&p).unwrap_err().to_string();
    assert!(e.contains("junk.npy"), "{e}");
}

#[test]
fn input_and_output_round_trip() {
    let x = Array4::from_shape_fn((2, 16, 32, 3), |(n, y, x, c)| {
        (n * 1000 + y * 50 + x * 3 + c) as f32 - 0.5
    });
    let p = tmp("x.npy");
    x.write_npy(std::fs::File::create(&p).unwrap()).unwrap();
    assert_eq!(npy::read_input(&p).unwrap(), x);

    let probs = Array3::from_shape_fn((2, 8 * 16, 3), |(n, i, k)| (n + i * 3 + k) as f32 / 7.0);
    let p = tmp("y.npy");
    npy::write_output(&p, &probs).unwrap();
    let back = Array3::<f32>::read_npy(std::fs::File::open(&p).unwrap()).unwrap();
    assert_eq!(back, probs);
}
