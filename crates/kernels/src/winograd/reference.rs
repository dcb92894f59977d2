//! The textbook Winograd F(4x4, 3x3), in f64: the oracle of the fast tiers' transforms.
//!
//! Straight from Lavin & Gray (2016), eq. (8): for every output tile and output channel,
//! `Y = Aᵀ [ Σ_ci (G g G^T) ⊙ (Bᵀ d B) ] A`, with the three matrices written out as numbers
//! ([`BT`], [`G`], [`AT`]) and every product done as a plain matrix multiplication in f64. Its
//! answer differs from the direct convolution only by f64 rounding (the tests check < 1e-9),
//! so it shows that the matrices are right; the f32 tiers are then checked against the direct
//! reference convolution, which measures the error Winograd itself adds in f32.
//!
//! The reference tier's per-tile transforms (`input_tile_reference`,
//! `output_tile_reference`) are the same matrix products on one tile, in f64, rounded to f32
//! where the schedule stores V and reads M: the reference tier runs the fast tiers' schedule
//! and GEMMs with textbook arithmetic inside each piece.

use super::transform::{TileOutput, TileWindow};
use super::TransformKernels;
use super::{validate, ALPHA, TILE};
use crate::dispatch::kernel;
use crate::epilogue::Epilogue;
use crate::error::{check_len, Result};
use crate::params::Conv2dParams;

/// The input transform `Bᵀ` (6x6), interpolation points 0, ±1, ±2 and ∞.
pub const BT: [[f64; ALPHA]; ALPHA] = [
    [4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
    [0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
    [0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
    [0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
    [0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
    [0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
];

/// The filter transform `G` (6x3).
pub const G: [[f64; 3]; ALPHA] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

/// The output transform `Aᵀ` (4x6).
pub const AT: [[f64; ALPHA]; TILE] = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    [0.0, 1.0, -1.0, 2.0, -2.0, 0.0],
    [0.0, 1.0, 1.0, 4.0, 4.0, 0.0],
    [0.0, 1.0, -1.0, 8.0, -8.0, 1.0],
];

/// `x · y` for small dense matrices given as rows.
fn matmul<const R: usize, const K: usize, const C: usize>(
    x: &[[f64; K]; R],
    y: &[[f64; C]; K],
) -> [[f64; C]; R] {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..K).map(|k| x[i][k] * y[k][j]).sum()))
}

/// The transpose of a small matrix.
fn transpose<const R: usize, const C: usize>(x: &[[f64; C]; R]) -> [[f64; R]; C] {
    std::array::from_fn(|j| std::array::from_fn(|i| x[i][j]))
}

/// `G g Gᵀ`: one 3x3 filter in the Winograd domain (also what the fast tiers store, in f32).
pub fn filter_transform(g: &[[f64; 3]; 3]) -> [[f64; ALPHA]; ALPHA] {
    matmul(&matmul(&G, g), &transpose(&G))
}

/// Winograd F(4x4, 3x3) convolution, computed the textbook way in f64.
///
/// Same arguments as [`super::winograd_conv3x3_nhwc`] except that `weights` are the plain HWIO
/// `[3, 3, in_c, out_c]` floats: a dense 3x3, stride-1 convolution with any zero padding,
/// NHWC input, output pixel `p` at `output[p·out_pixel_stride ..][..out_c]`.
pub fn winograd_conv3x3_nhwc(
    params: &Conv2dParams,
    input: &[f32],
    weights: &[f32],
    output: &mut [f32],
    out_pixel_stride: usize,
    epilogue: &Epilogue,
) -> Result<()> {
    let g = validate(params, Some(input), output, out_pixel_stride, epilogue)?;
    check_len("winograd", "weights", params.weight_len(), weights.len())?;
    let (cin, cout) = (g.in_c, g.out_c);
    // U[ci][co] = G g Gᵀ for every filter.
    let u: Vec<[[f64; ALPHA]; ALPHA]> = (0..cin * cout)
        .map(|i| {
            let (ci, co) = (i / cout, i % cout);
            let filter = std::array::from_fn(|ky| {
                std::array::from_fn(|kx| weights[((ky * 3 + kx) * cin + ci) * cout + co] as f64)
            });
            filter_transform(&filter)
        })
        .collect();
    let bt_t = transpose(&BT);
    let at_t = transpose(&AT);
    for n in 0..g.batch {
        for ty in 0..g.tiles_h {
            for tx in 0..g.tiles_w {
                let window = g.window(n, ty, tx, 1, cin);
                // V[ci] = Bᵀ d B for every input channel of this tile.
                let v: Vec<[[f64; ALPHA]; ALPHA]> = (0..cin)
                    .map(|ci| {
                        let d = std::array::from_fn(|r| {
                            std::array::from_fn(|s| {
                                window[r * ALPHA + s].map_or(0.0, |off| input[off + ci] as f64)
                            })
                        });
                        matmul(&matmul(&BT, &d), &bt_t)
                    })
                    .collect();
                for co in 0..cout {
                    let mut m = [[0.0f64; ALPHA]; ALPHA];
                    for (ci, vc) in v.iter().enumerate() {
                        let uc = &u[ci * cout + co];
                        for r in 0..ALPHA {
                            for s in 0..ALPHA {
                                m[r][s] += uc[r][s] * vc[r][s];
                            }
                        }
                    }
                    let y = matmul(&matmul(&AT, &m), &at_t);
                    for (i, yrow) in y.iter().enumerate() {
                        for (j, &val) in yrow.iter().enumerate() {
                            let (oy, ox) = (ty * TILE + i, tx * TILE + j);
                            if oy < g.out_h && ox < g.out_w {
                                let p = (n * g.out_h + oy) * g.out_w + ox;
                                output[p * out_pixel_stride + co] = epilogue.apply(co, val as f32);
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// The reference tier's input transform of one tile: `V = Bᵀ d B` in f64 for each channel
/// `ch < c`, frequency `ξ = 6·r + s` stored at `v[ξ·v_stride + v_c0 + ch]` (the signature of
/// every tier's input transform).
pub(crate) fn input_tile_reference(
    input: &[f32],
    window: &TileWindow,
    c: usize,
    v: &mut [f32],
    v_stride: usize,
    v_c0: usize,
) {
    let bt_t = transpose(&BT);
    for ch in 0..c {
        let d = std::array::from_fn(|r| {
            std::array::from_fn(|s| window[r * ALPHA + s].map_or(0.0, |off| input[off + ch] as f64))
        });
        let vt = matmul(&matmul(&BT, &d), &bt_t);
        for (xi, x) in vt.as_flattened().iter().enumerate() {
            v[xi * v_stride + v_c0 + ch] = *x as f32;
        }
    }
}

/// The reference tier's output transform of one tile: `Y = Aᵀ M A` in f64 for each channel,
/// where `m[ξ·xi_stride + ch]` is frequency `ξ` of channel `ch`, then the epilogue; the pixels
/// go where `out` says (the signature of every tier's output transform).
pub(crate) fn output_tile_reference(
    m: &[f32],
    xi_stride: usize,
    c: usize,
    out: &mut TileOutput,
    epilogue: &Epilogue,
) {
    let at_t = transpose(&AT);
    for ch in 0..c {
        let mt = std::array::from_fn(|r| std::array::from_fn(|s| m[(r * ALPHA + s) * xi_stride + ch] as f64));
        let y = matmul(&matmul(&AT, &mt), &at_t);
        for (i, row) in out.rows.iter_mut().enumerate() {
            for (j, &val) in y[i].iter().enumerate().take(out.cols) {
                row[(out.col0 + j) * out.stride + ch] = epilogue.apply(ch, val as f32);
            }
        }
    }
}

/// The reference tier's transforms: textbook matrix products per tile, in f64.
pub(crate) fn reference_transforms() -> TransformKernels {
    TransformKernels {
        input: kernel!(input_tile_reference),
        output: kernel!(output_tile_reference),
    }
}
