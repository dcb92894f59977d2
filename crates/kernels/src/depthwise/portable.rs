//! Depthwise convolution in safe, portable Rust: the portable tier's row kernels.
//!
//! - [`dwconv_generic_row`]: any kernel, stride and padding. Loops reordered so the channel is
//!   innermost (a unit-stride multiply-add over `c` floats the compiler vectorises), with the
//!   output row itself as the accumulator. Rung 2 of the ladder in the module docs; the SIMD
//!   tiers compile the same body with their target features.
//! - [`f32_dwconv_3x3s1_8c_portable`] and [`f32_dwconv_3x3s2_8c_portable`]: the 3x3 schedule of
//!   `schedule.rs` on `[f32; 8]` tiles ([`CHANNEL_TILE`] channels), which the compiler
//!   vectorises. Rung 3.
//!
//! Both sum the taps in the reference's `(ky, kx)` order with separate multiply and add (Rust
//! never fuses them), so on the same input they reproduce the reference exactly.

use super::schedule::dwconv_3x3;
use super::{DepthwiseKernels, Geometry, WindowRows, CHANNEL_TILE};
use crate::epilogue::Epilogue;
use crate::lanes::{Lanes, Portable};

/// The portable tier's kernels.
pub(crate) fn portable_kernels() -> DepthwiseKernels {
    DepthwiseKernels {
        row: portable_row,
        name_3x3s1: "f32_dwconv_3x3s1_8c_portable",
        name_3x3s2: "f32_dwconv_3x3s2_8c_portable",
        name_generic: "f32_dwconv_generic_portable",
    }
}

/// Output row `oy` of one image: the 3x3 kernel for the row when there is one, else the
/// generic loop. Panics if a slice disagrees with `g`.
fn portable_row(g: &Geometry, image: &[f32], w: &[f32], ep: &Epilogue, oy: usize, out_row: &mut [f32]) {
    g.assert_row_args(image, w, ep, oy, out_row);
    match g.fast_3x3(oy) {
        Some((1, rows)) => f32_dwconv_3x3s1_8c_portable(g, image, w, ep, oy, rows, out_row),
        Some((2, rows)) => f32_dwconv_3x3s2_8c_portable(g, image, w, ep, oy, rows, out_row),
        _ => f32_dwconv_generic_portable(g, image, w, ep, oy, out_row),
    }
}

/// 3x3 stride 1 on `[f32; 8]` tiles, for a row whose existing input rows are `rows`.
fn f32_dwconv_3x3s1_8c_portable(
    g: &Geometry,
    image: &[f32],
    w: &[f32],
    ep: &Epilogue,
    oy: usize,
    rows: WindowRows,
    out_row: &mut [f32],
) {
    dwconv_3x3::<Portable, 1>(g, image, w, ep, oy, rows, out_row)
}

/// 3x3 stride 2 on `[f32; 8]` tiles, for a row whose existing input rows are `rows`.
fn f32_dwconv_3x3s2_8c_portable(
    g: &Geometry,
    image: &[f32],
    w: &[f32],
    ep: &Epilogue,
    oy: usize,
    rows: WindowRows,
    out_row: &mut [f32],
) {
    dwconv_3x3::<Portable, 2>(g, image, w, ep, oy, rows, out_row)
}

/// Any kernel size, stride and padding: [`dwconv_generic_row`] as the portable tier's kernel.
fn f32_dwconv_generic_portable(
    g: &Geometry,
    image: &[f32],
    w: &[f32],
    ep: &Epilogue,
    oy: usize,
    out_row: &mut [f32],
) {
    dwconv_generic_row(g, image, w, ep, oy, out_row)
}

/// Any kernel size, stride and padding, channel-innermost. Accumulates in `out_row`.
/// (`inline(always)` so the SIMD tiers can compile it with their target features.)
#[inline(always)]
pub(crate) fn dwconv_generic_row(
    g: &Geometry,
    image: &[f32],
    w: &[f32],
    ep: &Epilogue,
    oy: usize,
    out_row: &mut [f32],
) {
    let c = g.c;
    let (ky_lo, ky_hi) = g.valid_ky(oy);
    out_row.fill(0.0);
    for (ox, acc) in out_row.chunks_exact_mut(c).enumerate() {
        // Valid kx: padded column ox·SW + kx must land in [PL, PL + in_w).
        let left = ox * g.stride_w;
        let kx_lo = g.pad_left.saturating_sub(left).min(g.kw);
        let kx_hi = (g.pad_left + g.in_w).saturating_sub(left).min(g.kw).max(kx_lo);
        for ky in ky_lo..ky_hi {
            let iy = oy * g.stride_h + ky - g.pad_top;
            for kx in kx_lo..kx_hi {
                let ix = left + kx - g.pad_left;
                let x = &image[(iy * g.in_w + ix) * c..][..c]; // in[iy, ix, 0..c]
                let wk = &w[(ky * g.kw + kx) * c..][..c]; // w[ky, kx, 0..c]
                for ((a, &x), &wk) in acc.iter_mut().zip(x).zip(wk) {
                    *a += x * wk;
                }
            }
        }
        ep.apply_row(acc, 0);
    }
}

// The schedule's channel tile on this tier is the portable lanes' width.
const _: () = assert!(<Portable as Lanes>::N == CHANNEL_TILE);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::depthwise::function_name;

    #[test]
    fn names_are_the_functions_names() {
        let k = portable_kernels();
        assert_eq!(k.name_3x3s1, function_name(&f32_dwconv_3x3s1_8c_portable));
        assert_eq!(k.name_3x3s2, function_name(&f32_dwconv_3x3s2_8c_portable));
        assert_eq!(k.name_generic, function_name(&f32_dwconv_generic_portable));
    }
}
