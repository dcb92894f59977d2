//! From the library's [`Error`] to Python exceptions: a missing file is `FileNotFoundError`,
//! any other I/O failure `OSError`, a kernel's complaint (a bug in the wiring) `RuntimeError`,
//! and everything the caller can fix (shapes, sizes, weights, images, configuration)
//! `ValueError`. The message is the library's, which names the file, tensor or value at fault.

use mobilenet_unet::Error;
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::PyErr;

/// The Python exception for a library error.
pub fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match &e {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(msg)
        }
        Error::Io { .. } => PyOSError::new_err(msg),
        Error::Kernel(_) => PyRuntimeError::new_err(msg),
        _ => PyValueError::new_err(msg),
    }
}
