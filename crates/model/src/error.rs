//! The error type of the `mobilenet_unet` library: every failure says what was wrong and where.

use mobilenet_unet_kernels::KernelError;
use std::path::PathBuf;

/// Everything that can go wrong when building, loading or running a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A configuration value is out of range (alpha, classes, input size, threads, ...).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The input height or width cannot go through the network.
    #[error("input size {height}x{width} is not supported: {reason}")]
    InputSize {
        /// Requested height.
        height: usize,
        /// Requested width.
        width: usize,
        /// Why it is rejected.
        reason: String,
    },
    /// An input tensor has the wrong rank, layout or channel count.
    #[error("input tensor: {0}")]
    InputShape(String),
    /// A tensor holds NaN or an infinity.
    #[error("{tensor} holds a non-finite value at flat index {index}")]
    NonFinite {
        /// Which tensor (`input`).
        tensor: &'static str,
        /// The first bad element, as a flat index in logical (row-major) order.
        index: usize,
    },
    /// A broken invariant of the engine itself (a bug: please report it), as opposed to a
    /// bad argument or file.
    #[error("internal error: {0}")]
    Internal(String),
    /// The safetensors container itself could not be parsed (truncated, corrupt header, ...).
    #[error("{source_name}: not a readable safetensors file: {reason}")]
    WeightsFormat {
        /// The file (or `<embedded>`).
        source_name: String,
        /// What the parser said.
        reason: String,
    },
    /// The file parsed but its tensors do not fit the architecture; every problem is listed.
    #[error("{source_name}: {} problem(s) with the weights:\n  - {}", problems.len(), problems.join("\n  - "))]
    Weights {
        /// The file (or `<embedded>`).
        source_name: String,
        /// One line per problem, each naming the tensor at fault.
        problems: Vec<String>,
    },
    /// A metadata entry is malformed or contradicts the tensors.
    #[error("{source_name}: metadata `{key}`: {reason}")]
    Metadata {
        /// The file.
        source_name: String,
        /// The metadata key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An image could not be decoded or encoded.
    #[error("{path}: {reason}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// A `.npy` file could not be read or written, or holds the wrong dtype or rank.
    #[error("{path}: {reason}")]
    Npy {
        /// The .npy file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A labelled dataset is malformed (missing label, size mismatch, unknown class index).
    #[error("dataset: {0}")]
    Dataset(String),
    /// A kernel rejected its arguments (a bug in the wiring if it ever surfaces).
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

/// Shorthand for `std::result::Result<T, Error>`.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
