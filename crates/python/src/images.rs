//! Image files and pixels for the Python package's pictures: decode (PNG, JPEG), encode (by
//! the file's extension), and label a legend with the command line's 5x7 bitmap font, so the
//! package needs neither OpenCV nor Pillow.

use crate::errors::to_py;
use image::RgbImage;
use numpy::ndarray::Array3;
use numpy::{IntoPyArray, PyArray3, PyArrayMethods, PyReadonlyArray3};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;
use std::path::PathBuf;

/// Copies a `uint8 [H, W, 3]` array (any strides) into an `RgbImage`.
fn to_rgb_image(arr: &PyReadonlyArray3<u8>) -> PyResult<RgbImage> {
    let view = arr.as_array();
    let (h, w, _) = view.dim();
    let too_big = || PyValueError::new_err(format!("image of {h}x{w} pixels is too large"));
    let (hu, wu) = (
        u32::try_from(h).map_err(|_| too_big())?,
        u32::try_from(w).map_err(|_| too_big())?,
    );
    // `iter()` walks in logical (row-major) order whatever the strides.
    let pixels: Vec<u8> = view.iter().copied().collect();
    RgbImage::from_raw(wu, hu, pixels).ok_or_else(too_big)
}

/// An `RgbImage` as a `uint8 [H, W, 3]` array (moved, not copied).
pub fn to_array(py: Python<'_>, img: RgbImage) -> PyResult<Bound<'_, PyArray3<u8>>> {
    let (w, h) = img.dimensions();
    let arr = Array3::from_shape_vec((h as usize, w as usize, 3), img.into_raw())
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(arr.into_pyarray(py))
}

/// `image` checked to be `uint8 [H, W, 3]` (errors name `what`), copied into an `RgbImage`.
pub fn rgb_arg(image: &Bound<'_, PyAny>, what: &str) -> PyResult<RgbImage> {
    crate::arrays::checked::<u8>(image, what, "uint8", 3, Some(3))?;
    let arr = image.cast::<PyArray3<u8>>()?;
    to_rgb_image(
        &arr.try_readonly()
            .map_err(|e| PyValueError::new_err(e.to_string()))?,
    )
}

/// Decodes a PNG or JPEG file to RGB `uint8 [H, W, 3]`.
#[pyfunction]
pub fn read_image(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyArray3<u8>>> {
    let img = py
        .detach(|| mobilenet_unet::segment::load_rgb(&path))
        .map_err(to_py)?;
    to_array(py, img)
}

/// A grey `uint8 [H, W]` array (any strides) as an 8-bit grey image.
fn grey_arg(image: &Bound<'_, PyAny>) -> PyResult<image::GrayImage> {
    crate::arrays::checked::<u8>(image, "image [H, W]", "uint8", 2, None)?;
    let arr = image.cast::<numpy::PyArray2<u8>>()?;
    let ro = arr
        .try_readonly()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let view = ro.as_array();
    let (h, w) = view.dim();
    let too_big = || PyValueError::new_err(format!("image of {h}x{w} pixels is too large"));
    let (hu, wu) = (
        u32::try_from(h).map_err(|_| too_big())?,
        u32::try_from(w).map_err(|_| too_big())?,
    );
    image::GrayImage::from_raw(wu, hu, view.iter().copied().collect()).ok_or_else(too_big)
}

/// Encodes `uint8 [H, W, 3]` (RGB) or `uint8 [H, W]` (grey: a class map, a label) to `path`,
/// the format chosen by its extension (.png, .jpg).
#[pyfunction]
pub fn write_image(py: Python<'_>, path: PathBuf, image: &Bound<'_, PyAny>) -> PyResult<()> {
    let grey = image
        .cast::<numpy::PyUntypedArray>()
        .is_ok_and(|a| numpy::PyUntypedArrayMethods::ndim(a) == 2);
    let img: image::DynamicImage = if grey {
        grey_arg(image)?.into()
    } else {
        rgb_arg(image, "image [H, W, 3]")?.into()
    };
    if img.width() == 0 || img.height() == 0 {
        return Err(PyValueError::new_err("image: the image is empty"));
    }
    py.detach(|| img.save(&path)).map_err(|e| {
        let msg = format!("{}: {e}", path.display());
        match e {
            image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::NotFound => {
                PyFileNotFoundError::new_err(msg)
            }
            image::ImageError::IoError(_) => PyOSError::new_err(msg),
            _ => PyValueError::new_err(msg),
        }
    })
}

/// Returns a copy of `image` with `text` drawn in `color` with its top-left corner at (x, y)
/// (5x7 glyphs, each font pixel `scale x scale`; letters upper-case; pixels outside skipped).
#[pyfunction]
#[pyo3(signature = (image, x, y, text, color=(0, 0, 0), scale=1))]
pub fn draw_text<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    x: u32,
    y: u32,
    text: &str,
    color: (u8, u8, u8),
    scale: u32,
) -> PyResult<Bound<'py, PyArray3<u8>>> {
    if !(1..=64).contains(&scale) {
        return Err(PyValueError::new_err(format!("scale={scale}: expected 1 to 64")));
    }
    let mut img = rgb_arg(image, "image [H, W, 3]")?;
    crate::font::draw_text(&mut img, x, y, text, scale, [color.0, color.1, color.2]);
    to_array(py, img)
}
