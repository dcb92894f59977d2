//! The portable tier's transforms: the generic ones of `transform.rs` on `[f32; 8]`, which the
//! compiler vectorises.

use super::transform::{self, TileOutput, TileWindow};
use super::TransformKernels;
use crate::dispatch::kernel;
use crate::epilogue::Epilogue;
use crate::lanes::Portable;

/// The portable tier's transforms: the generic schedule on `[f32; 8]`.
pub(crate) fn portable_transforms() -> TransformKernels {
    TransformKernels {
        input: kernel!(f32_winograd_f4x4_input_portable),
        output: kernel!(f32_winograd_f4x4_output_portable),
    }
}

/// The portable input transform of one tile.
pub(super) fn f32_winograd_f4x4_input_portable(
    input: &[f32],
    window: &TileWindow,
    c: usize,
    v: &mut [f32],
    v_stride: usize,
    v_c0: usize,
) {
    transform::input_tile::<Portable>(input, window, c, v, v_stride, v_c0)
}

/// The portable output transform of one tile.
pub(super) fn f32_winograd_f4x4_output_portable(
    m: &[f32],
    xi_stride: usize,
    c: usize,
    out: &mut TileOutput,
    epilogue: &Epilogue,
) {
    transform::output_tile::<Portable>(m, xi_stride, c, out, epilogue)
}
