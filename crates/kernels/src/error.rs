//! The one error type of the kernels crate.
//!
//! Kernels validate their arguments before touching memory: a wrong slice length or an
//! impossible shape becomes a `KernelError` naming the argument, never a panic or an
//! out-of-bounds write.

/// What was wrong with a kernel call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// A slice does not have the length the shape arguments imply.
    #[error("{op}: `{what}` has length {got}, expected {expected}")]
    LengthMismatch {
        /// The kernel that was called, e.g. `"gemm"`.
        op: &'static str,
        /// The argument at fault, e.g. `"a"` or `"epilogue.bias"`.
        what: &'static str,
        /// The length required by the shape arguments.
        expected: usize,
        /// The length that was passed.
        got: usize,
    },
    /// The shape or parameters describe something the kernel cannot compute.
    #[error("{op}: invalid parameters: {reason}")]
    InvalidParams {
        /// The kernel that was called.
        op: &'static str,
        /// Why the parameters are invalid.
        reason: String,
    },
    /// A tier was requested (by argument or by `MOBILENET_UNET_TIER`) that this CPU lacks.
    #[error("kernel tier `{tier}` is not available on this CPU ({reason})")]
    TierUnavailable {
        /// The name of the tier that was asked for (`"avx512"`, ...).
        tier: &'static str,
        /// Why it is missing.
        reason: &'static str,
    },
    /// `MOBILENET_UNET_TIER` holds a value that names no tier.
    #[error("MOBILENET_UNET_TIER={0:?} names no tier (expected reference, portable, avx2, avx512 or neon)")]
    UnknownTier(String),
}

/// Shorthand used by every kernel.
pub type Result<T> = std::result::Result<T, KernelError>;

/// Checks `got == expected`, otherwise returns [`KernelError::LengthMismatch`].
pub(crate) fn check_len(op: &'static str, what: &'static str, expected: usize, got: usize) -> Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(KernelError::LengthMismatch {
            op,
            what,
            expected,
            got,
        })
    }
}
