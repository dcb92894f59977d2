//! What Python hands the engine, checked before it gets there: a NumPy array, of the dtype and
//! rank asked for, each failure a `TypeError` (not an array, wrong dtype) or `ValueError`
//! (wrong rank or channel count) that names what was expected and what came.

use numpy::{Element, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// `obj` as a NumPy array of element type `T` and rank `ndim`, whose last axis (if `channels`
/// is given) has that length. `what` names the argument and the shape in the messages.
pub fn checked<'a, 'py, T: Element>(
    obj: &'a Bound<'py, PyAny>,
    what: &str,
    dtype_name: &str,
    ndim: usize,
    channels: Option<usize>,
) -> PyResult<&'a Bound<'py, PyUntypedArray>> {
    let arr = obj.cast::<PyUntypedArray>().map_err(|_| {
        let ty = obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into());
        PyTypeError::new_err(format!("{what}: expected a numpy.ndarray, got {ty}"))
    })?;
    let dtype = arr.dtype();
    if !dtype.is_equiv_to(&numpy::dtype::<T>(obj.py())) {
        return Err(PyTypeError::new_err(format!(
            "{what}: expected dtype {dtype_name}, got {dtype} (convert with .astype(numpy.{dtype_name}))"
        )));
    }
    if arr.ndim() != ndim {
        return Err(PyValueError::new_err(format!(
            "{what}: expected {ndim} dimensions, got shape {:?}",
            arr.shape()
        )));
    }
    if let Some(c) = channels {
        let last = arr.shape()[ndim - 1];
        if last != c {
            return Err(PyValueError::new_err(format!(
                "{what}: the last axis must hold {c} channels (RGB), got shape {:?}",
                arr.shape()
            )));
        }
    }
    Ok(arr)
}
