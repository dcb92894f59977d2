//! Depthwise convolution in safe, portable Rust: one output row per call.
//!
//! - [`dwconv_generic_row`]: any kernel, stride and padding. Loops reordered so the channel is
//!   innermost (a unit-stride multiply-add over `c` floats the compiler vectorises), with the
//!   output row itself as the accumulator. Rung 2 of the ladder in the module docs.
//! - [`f32_dwconv_3x3_8c_portable`]: 3x3, stride 1 or 2, the fast path's schedule on `[f32; 8]`
//!   tiles: per tile of [`CHANNEL_TILE`] channels, 9 tap vectors loaded once, an unrolled
//!   two-pixel interior step and a column-checked border. Rung 3.
//!
//! Both sum the taps in the reference's `(ky, kx)` order with separate multiply and add (Rust
//! never fuses them), so on the same input they reproduce the reference exactly.

use super::{Geometry, CHANNEL_TILE, ROWS_ALL, ROWS_BOTTOM_EDGE, ROWS_TOP_EDGE};
use crate::epilogue::{Activation, Epilogue};

/// One channel tile's worth of values.
type V = [f32; CHANNEL_TILE];

/// Computes output row `oy` of one image (`image` is `[in_h, in_w, c]`, `out_row` is `[out_w, c]`).
pub(crate) fn dwconv_row(
    g: &Geometry,
    image: &[f32],
    w: &[f32],
    ep: &Epilogue,
    oy: usize,
    out_row: &mut [f32],
) {
    match g.fast_3x3(oy) {
        Some((1, ROWS_ALL)) => f32_dwconv_3x3_8c_portable::<1, ROWS_ALL>(g, image, w, ep, oy, out_row),
        Some((1, ROWS_TOP_EDGE)) => {
            f32_dwconv_3x3_8c_portable::<1, ROWS_TOP_EDGE>(g, image, w, ep, oy, out_row)
        }
        Some((1, ROWS_BOTTOM_EDGE)) => {
            f32_dwconv_3x3_8c_portable::<1, ROWS_BOTTOM_EDGE>(g, image, w, ep, oy, out_row)
        }
        Some((2, ROWS_ALL)) => f32_dwconv_3x3_8c_portable::<2, ROWS_ALL>(g, image, w, ep, oy, out_row),
        Some((2, ROWS_TOP_EDGE)) => {
            f32_dwconv_3x3_8c_portable::<2, ROWS_TOP_EDGE>(g, image, w, ep, oy, out_row)
        }
        Some((2, ROWS_BOTTOM_EDGE)) => {
            f32_dwconv_3x3_8c_portable::<2, ROWS_BOTTOM_EDGE>(g, image, w, ep, oy, out_row)
        }
        _ => dwconv_generic_row(g, image, w, ep, oy, out_row),
    }
}

/// Any kernel size, stride and padding, channel-innermost. Accumulates in `out_row`.
/// (`inline(always)` so the AVX2 tier can compile it with its target features.)
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

/// 3x3, stride `S`, for an output row whose existing input rows are the bits of `ROWS`.
pub(crate) fn f32_dwconv_3x3_8c_portable<const S: usize, const ROWS: u8>(
    g: &Geometry,
    image: &[f32],
    w: &[f32],
    ep: &Epilogue,
    oy: usize,
    out_row: &mut [f32],
) {
    let row_len = g.in_w * g.c;
    // The three input rows of the window; rows in the padding stay empty and are never read.
    let mut rows: [&[f32]; 3] = [&[]; 3];
    for (ky, row) in rows.iter_mut().enumerate() {
        if ROWS & (1 << ky) != 0 {
            let iy = oy * S + ky - g.pad_top;
            *row = &image[iy * row_len..][..row_len];
        }
    }
    // Loop 2: blocks of output columns (see `Geometry::ox_block`); loop 1: channel tiles;
    // loop 0 (in `sweep_tile`): the columns of the block.
    for ox_a in (0..g.out_w).step_by(g.ox_block()) {
        let cols = (ox_a, (ox_a + g.ox_block()).min(g.out_w));
        let mut c0 = 0;
        while c0 + CHANNEL_TILE <= g.c {
            sweep_tile::<S, ROWS, true>(g, &rows, w, ep, c0, CHANNEL_TILE, cols, out_row);
            c0 += CHANNEL_TILE;
        }
        if c0 < g.c {
            sweep_tile::<S, ROWS, false>(g, &rows, w, ep, c0, g.c - c0, cols, out_row);
        }
    }
}

/// Loads `cw` floats at `s[o..]` into a tile (zeros past `cw`); `FULL` means `cw == 8`.
#[inline(always)]
fn load<const FULL: bool>(s: &[f32], o: usize, cw: usize) -> V {
    if FULL {
        let mut v = [0.0; CHANNEL_TILE];
        v.copy_from_slice(&s[o..o + CHANNEL_TILE]);
        v
    } else {
        let mut v = [0.0; CHANNEL_TILE];
        v[..cw].copy_from_slice(&s[o..o + cw]);
        v
    }
}

#[inline(always)]
fn mul_add(acc: &mut V, x: &V, w: &V) {
    for l in 0..CHANNEL_TILE {
        acc[l] += x[l] * w[l];
    }
}

/// The epilogue constants of one channel tile (see [`Epilogue::apply`], which this matches).
struct TileEpilogue {
    scale: V,
    bias: V,
    clamp: Option<(f32, f32)>,
    post: Option<(V, V)>,
}

impl TileEpilogue {
    #[inline(always)]
    fn new<const FULL: bool>(ep: &Epilogue, c0: usize, cw: usize) -> Self {
        let or = |s: Option<&[f32]>, d: f32| s.map_or([d; CHANNEL_TILE], |s| load::<FULL>(s, c0, cw));
        TileEpilogue {
            scale: or(ep.scale, 1.0),
            bias: or(ep.bias, 0.0),
            clamp: (ep.activation != Activation::None).then(|| ep.activation.bounds()),
            post: ep
                .post
                .map(|p| (load::<FULL>(p.scale, c0, cw), load::<FULL>(p.shift, c0, cw))),
        }
    }

    #[inline(always)]
    fn apply(&self, acc: &V) -> V {
        let mut y = [0.0; CHANNEL_TILE];
        for l in 0..CHANNEL_TILE {
            y[l] = acc[l] * self.scale[l] + self.bias[l];
        }
        if let Some((lo, hi)) = self.clamp {
            y = y.map(|v| v.max(lo).min(hi));
        }
        if let Some((ps, pt)) = &self.post {
            for l in 0..CHANNEL_TILE {
                y[l] = y[l] * ps[l] + pt[l];
            }
        }
        y
    }
}

/// One channel tile `c0..c0+cw` of output columns `cols.0..cols.1`: weights once, then sweep.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn sweep_tile<const S: usize, const ROWS: u8, const FULL: bool>(
    g: &Geometry,
    rows: &[&[f32]; 3],
    w: &[f32],
    ep: &Epilogue,
    c0: usize,
    cw: usize,
    cols: (usize, usize),
    out_row: &mut [f32],
) {
    let c = g.c;
    let mut taps = [[0.0; CHANNEL_TILE]; 9]; // taps[ky·3 + kx] = w[ky, kx, c0..c0+8]
    for (k, tap) in taps.iter_mut().enumerate() {
        if ROWS & (1 << (k / 3)) != 0 {
            *tap = load::<FULL>(w, k * c + c0, cw);
        }
    }
    let tep = TileEpilogue::new::<FULL>(ep, c0, cw);
    let store = |out_row: &mut [f32], ox: usize, acc: &V| {
        out_row[ox * c + c0..][..cw].copy_from_slice(&tep.apply(acc)[..cw]);
    };
    let (lo, hi) = g.interior_ox();
    let (lo, hi) = (lo.clamp(cols.0, cols.1), hi.clamp(cols.0, cols.1)); // interior ∩ block
    for ox in (cols.0..lo).chain(hi..cols.1) {
        store(
            out_row,
            ox,
            &border_pixel::<S, ROWS, FULL>(g, rows, &taps, ox, c0, cw),
        );
    }
    // Interior, two outputs per step: their windows share 3 - S input columns.
    let mut ox = lo;
    while ox + 2 <= hi {
        let ix = ox * S - g.pad_left;
        let (mut acc0, mut acc1) = ([0.0; CHANNEL_TILE], [0.0; CHANNEL_TILE]);
        for (ky, row) in rows.iter().enumerate() {
            if ROWS & (1 << ky) == 0 {
                continue;
            }
            let mut x = [[0.0; CHANNEL_TILE]; 5]; // input columns ix..ix+S+3
            for (j, xj) in x.iter_mut().enumerate().take(S + 3) {
                *xj = load::<FULL>(row, (ix + j) * c + c0, cw);
            }
            for kx in 0..3 {
                mul_add(&mut acc0, &x[kx], &taps[ky * 3 + kx]);
                mul_add(&mut acc1, &x[S + kx], &taps[ky * 3 + kx]);
            }
        }
        store(out_row, ox, &acc0);
        store(out_row, ox + 1, &acc1);
        ox += 2;
    }
    if ox < hi {
        store(
            out_row,
            ox,
            &border_pixel::<S, ROWS, FULL>(g, rows, &taps, ox, c0, cw),
        );
    }
}

/// One output pixel with a bounds check per column (the frame around the interior).
#[inline(always)]
fn border_pixel<const S: usize, const ROWS: u8, const FULL: bool>(
    g: &Geometry,
    rows: &[&[f32]; 3],
    taps: &[V; 9],
    ox: usize,
    c0: usize,
    cw: usize,
) -> V {
    let mut acc = [0.0; CHANNEL_TILE];
    for (ky, row) in rows.iter().enumerate() {
        if ROWS & (1 << ky) == 0 {
            continue;
        }
        for kx in 0..3 {
            let ix = (ox * S + kx).wrapping_sub(g.pad_left); // wraps to huge when in the padding
            if ix < g.in_w {
                mul_add(
                    &mut acc,
                    &load::<FULL>(row, ix * g.c + c0, cw),
                    &taps[ky * 3 + kx],
                );
            }
        }
    }
    acc
}
