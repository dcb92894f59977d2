//! `mobilenet_unet._native`: the Rust half of the `mobilenet_unet` Python package.
//!
//! A thin layer over the `mobilenet-unet` crate: it turns NumPy arrays into `ndarray` views,
//! releases the GIL around every pass through the network, and turns every [`Error`] into the
//! Python exception a NumPy user expects. Everything keras-segmentation-shaped (its
//! `predict_segmentation`, `predict_multiple`, `evaluate_segmentation`, pictures, legends) is
//! Python, in `python/mobilenet_unet/`, on top of the few calls defined here.
//!
//! [`Error`]: mobilenet_unet::Error

mod arrays;
mod errors;
// The command line's legend font, shared rather than copied (the CLI crate is a binary only).
#[allow(dead_code)]
#[path = "../../cli/src/font.rs"]
mod font;
mod images;
mod model;

use pyo3::prelude::*;

/// The extension module. Its name is `_native`, imported as `mobilenet_unet._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<model::NativeModel>()?;
    m.add_function(wrap_pyfunction!(images::read_image, m)?)?;
    m.add_function(wrap_pyfunction!(images::write_image, m)?)?;
    m.add_function(wrap_pyfunction!(images::draw_text, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
