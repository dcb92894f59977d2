//! `NativeModel`: a loaded [`Model`] shared by every Python thread that holds it.
//!
//! The class is `frozen` (no `&mut self`), so calls from several threads never contend on a
//! borrow flag; the model itself is `Send + Sync` and gives each concurrent call its own
//! workspace. Every pass through the network runs with the GIL released.

use crate::arrays::checked;
use crate::errors::to_py;
use mobilenet_unet::summary::{pipeline_line, summary_text};
use mobilenet_unet::{defaults, Model, Weights};
use ndarray::Array2;
use numpy::{IntoPyArray, PyArray2, PyArray3, PyArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::path::PathBuf;

/// The most threads a private pool may have: a guard against a typo (`threads=10**6`)
/// trying to start a million OS threads.
const MAX_THREADS: i64 = 4096;

/// A class map as NumPy returns it: `uint16 [H, W]`.
type ClassMap<'py> = Bound<'py, PyArray2<u16>>;

/// The engine's model, as the Python `Model` holds it.
#[pyclass(name = "NativeModel", module = "mobilenet_unet._native", frozen)]
pub struct NativeModel {
    model: Model,
}

/// The precisions this build runs. (bf16 and int8 kernels are not in this build.)
fn check_precision(precision: &str) -> PyResult<()> {
    match precision {
        "f32" => Ok(()),
        "bf16" | "int8" => Err(PyValueError::new_err(format!(
            "precision {precision:?} is not available in this build (it runs \"f32\")"
        ))),
        other => Err(PyValueError::new_err(format!(
            "precision {other:?}: expected \"f32\", \"bf16\" or \"int8\""
        ))),
    }
}

/// Gives `model` a private pool of `threads` threads, or leaves it on rayon's global pool.
fn with_threads(model: Model, threads: Option<i64>) -> PyResult<NativeModel> {
    let model = match threads {
        None => model,
        Some(t) if (1..=MAX_THREADS).contains(&t) => model.with_threads(t as usize).map_err(to_py)?,
        Some(t) => {
            return Err(PyValueError::new_err(format!(
                "threads={t}: expected 1 to {MAX_THREADS}, or None for all cores"
            )))
        }
    };
    Ok(NativeModel { model })
}

#[pymethods]
impl NativeModel {
    /// Loads a safetensors weights file.
    #[staticmethod]
    #[pyo3(signature = (path, threads=None, precision="f32"))]
    fn load(py: Python<'_>, path: PathBuf, threads: Option<i64>, precision: &str) -> PyResult<Self> {
        check_precision(precision)?;
        let model = py.detach(|| Model::load(&path)).map_err(to_py)?;
        with_threads(model, threads)
    }

    /// The model embedded in this build (the repository's shapes model).
    #[staticmethod]
    #[pyo3(signature = (threads=None, precision="f32"))]
    fn default(py: Python<'_>, threads: Option<i64>, precision: &str) -> PyResult<Self> {
        check_precision(precision)?;
        let model = py
            .detach(|| Model::from_owned_weights(defaults::default_weights()?))
            .map_err(to_py)?;
        with_threads(model, threads)
    }

    /// Loads a safetensors file held in memory (`name` is used in error messages).
    #[staticmethod]
    #[pyo3(signature = (data, name, threads=None, precision="f32"))]
    fn from_bytes(
        py: Python<'_>,
        data: &[u8],
        name: &str,
        threads: Option<i64>,
        precision: &str,
    ) -> PyResult<Self> {
        check_precision(precision)?;
        let model = py
            .detach(|| Model::from_owned_weights(Weights::from_bytes(data, name)?))
            .map_err(to_py)?;
        with_threads(model, threads)
    }

    /// float32 `[N, H, W, 3]` in, float32 `[N, H/2·W/2, classes]` softmax out.
    fn predict<'py>(&self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray3<f32>>> {
        checked::<f32>(x, "x [N, H, W, 3]", "float32", 4, Some(3))?;
        let arr = x.cast::<numpy::PyArray4<f32>>()?;
        let ro = arr
            .try_readonly()
            .map_err(|e| PyValueError::new_err(format!("x: {e}")))?;
        let view = ro.as_array();
        let probs = py.detach(|| self.model.predict(view)).map_err(to_py)?;
        Ok(probs.into_pyarray(py))
    }

    /// Segments an RGB `uint8 [H, W, 3]` image: (class map at the model's output size, class
    /// map at the image's size).
    fn segment<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
    ) -> PyResult<(ClassMap<'py>, ClassMap<'py>)> {
        let rgb = crate::images::rgb_arg(image, "image [H, W, 3]")?;
        let (model_map, class_map) = self.segment_rgb(py, &rgb)?;
        Ok((model_map.into_pyarray(py), class_map.into_pyarray(py)))
    }

    /// Reads a PNG or JPEG and segments it: (RGB image, model-size map, image-size map).
    fn segment_file<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
    ) -> PyResult<(Bound<'py, PyArray3<u8>>, ClassMap<'py>, ClassMap<'py>)> {
        let rgb = py
            .detach(|| mobilenet_unet::segment::load_rgb(&path))
            .map_err(to_py)?;
        let (model_map, class_map) = self.segment_rgb(py, &rgb)?;
        Ok((
            crate::images::to_array(py, rgb)?,
            model_map.into_pyarray(py),
            class_map.into_pyarray(py),
        ))
    }

    /// The image pipeline the weights ask for (resize, preprocessing, label resize), then the
    /// Keras-style model summary: every layer, its output shape and parameters.
    fn summary(&self) -> PyResult<String> {
        let arch = self.model.architecture().map_err(to_py)?;
        let pipeline = pipeline_line(self.model.preprocessing(), self.model.resizing());
        Ok(pipeline + &summary_text(&arch))
    }

    #[getter]
    fn n_classes(&self) -> usize {
        self.model.config().n_classes
    }

    #[getter]
    fn input_height(&self) -> usize {
        self.model.config().input_height
    }

    #[getter]
    fn input_width(&self) -> usize {
        self.model.config().input_width
    }

    #[getter]
    fn alpha(&self) -> f64 {
        self.model.config().alpha
    }

    #[getter]
    fn class_names(&self) -> Vec<String> {
        self.model.class_names()
    }

    #[getter]
    fn class_colors(&self) -> Vec<(u8, u8, u8)> {
        self.model
            .class_colors()
            .into_iter()
            .map(|[r, g, b]| (r, g, b))
            .collect()
    }

    #[getter]
    fn preprocessing(&self) -> &'static str {
        self.model.preprocessing().name()
    }

    #[getter]
    fn resize(&self) -> &'static str {
        self.model.resizing().image.name()
    }

    #[getter]
    fn label_resize(&self) -> &'static str {
        self.model.resizing().labels.name()
    }

    #[getter]
    fn source(&self) -> String {
        self.model.source().to_string()
    }
}

impl NativeModel {
    fn segment_rgb(&self, py: Python<'_>, rgb: &image::RgbImage) -> PyResult<(Array2<u16>, Array2<u16>)> {
        let seg = py.detach(|| self.model.segment(rgb)).map_err(to_py)?;
        Ok((seg.model_map, seg.class_map))
    }
}
