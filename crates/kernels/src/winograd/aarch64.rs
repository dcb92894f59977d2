//! The NEON tier's transforms: the generic schedule of `transform.rs` on `float32x4_t`, four
//! channels per vector.
//!
//! Four lanes is half the portable tier's `[f32; 8]`, so a tile's 36 frequencies of a channel
//! run take twice as many vectors, and channel counts that are not a multiple of 4 (rather
//! than 8) take the partial-vector tail path. Nothing in the schedule depends on the width
//! beyond that: V and M are laid out by channel, not by vector.
//!
//! As on x86_64, the generic functions are compiled inside thin `#[target_feature(enable =
//! "neon")]` wrappers, the only place the crate's lanes type [`Neon`] is named; the wrappers
//! run only through the kernels [`neon_transforms`] hands out on a NEON build (see
//! `dispatch.rs`).

use super::transform::{input_tile, output_tile, TileOutput, TileWindow};
use super::TransformKernels;
use crate::dispatch::kernel;
use crate::epilogue::Epilogue;
use crate::lanes::aarch64::Neon;
use crate::tier::Tier;

/// The NEON transforms, if the NEON tier is available: the only way out of this module of the
/// two kernels below (see [`crate::dispatch`]).
pub(super) fn neon_transforms() -> Option<TransformKernels> {
    Tier::Neon.is_available().then_some(TransformKernels {
        input: kernel!(f32_winograd_f4x4_input_neon),
        output: kernel!(f32_winograd_f4x4_output_neon),
    })
}

/// The input transform of one tile (see [`input_tile`]).
fn f32_winograd_f4x4_input_neon(
    input: &[f32],
    window: &TileWindow,
    c: usize,
    v: &mut [f32],
    v_stride: usize,
    v_c0: usize,
) {
    // SAFETY: only `neon_transforms()` hands this function out, on a NEON build.
    unsafe { input_neon(input, window, c, v, v_stride, v_c0) }
}

/// The output transform of one tile (see [`output_tile`]).
fn f32_winograd_f4x4_output_neon(
    m: &[f32],
    xi_stride: usize,
    c: usize,
    out: &mut TileOutput,
    epilogue: &Epilogue,
) {
    // SAFETY: as above.
    unsafe { output_neon(m, xi_stride, c, out, epilogue) }
}

/// [`input_tile`] compiled with NEON.
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
unsafe fn input_neon(
    input: &[f32],
    window: &TileWindow,
    c: usize,
    v: &mut [f32],
    v_stride: usize,
    v_c0: usize,
) {
    input_tile::<Neon>(input, window, c, v, v_stride, v_c0)
}

/// [`output_tile`] compiled with NEON.
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
unsafe fn output_neon(m: &[f32], xi_stride: usize, c: usize, out: &mut TileOutput, epilogue: &Epilogue) {
    output_tile::<Neon>(m, xi_stride, c, out, epilogue)
}
