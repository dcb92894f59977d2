//! `.npy` input and output: the way to exchange tensors with NumPy, Keras or ONNX Runtime.

use crate::error::{Error, Result};
use ndarray::{Array3, Array4};
use ndarray_npy::{ReadNpyError, ReadNpyExt, WriteNpyExt};
use std::path::Path;

/// Reads an NHWC float32 `[N, H, W, 3]` array; dtype and rank errors name the file.
pub fn read_input(path: &Path) -> Result<Array4<f32>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let reason = |e: ReadNpyError| match e {
        ReadNpyError::WrongNdim(expected, got) => {
            format!(
                "expected a rank-{} array [N, H, W, 3], found rank {got}",
                expected.unwrap_or(4)
            )
        }
        ReadNpyError::WrongDescriptor(d) => {
            format!("expected little-endian float32 ('<f4'), found dtype {d}")
        }
        other => format!("not a readable .npy file: {other}"),
    };
    Array4::<f32>::read_npy(std::io::BufReader::new(file)).map_err(|e| Error::Npy {
        path: path.into(),
        reason: reason(e),
    })
}

/// Writes the `[N, H/2·W/2, classes]` probabilities as float32 `.npy`.
pub fn write_output(path: &Path, probs: &Array3<f32>) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    probs
        .write_npy(std::io::BufWriter::new(file))
        .map_err(|e| Error::Npy {
            path: path.into(),
            reason: e.to_string(),
        })
}
