//! The 3x3 depthwise schedule (stride 1 or 2), written once over a vector of channels
//! ([`Lanes`]). The portable tier runs it on `[f32; 8]`, the AVX2 tier on `__m256`, the
//! AVX-512 tier on `__m512` and the NEON tier on `float32x4_t`, each through thin wrappers
//! (`portable.rs`, `x86_64.rs`, `aarch64.rs`).
//!
//! For one output row, one block of output columns and one tile of `N` channels:
//!
//! ```text
//!   taps      w[ky][kx]  9 vectors, loaded once per (row, block, tile) — registers for the sweep
//!   frame     columns outside lo..hi: column-checked taps (1 pixel each side for pad 1)
//!   interior  columns in lo..hi, 2 outputs per step:
//!               per tap row: load S+3 pixels x[0..S+3] (N channels each)
//!               acc0 += x[kx]·w[ky][kx],  acc1 += x[S+kx]·w[ky][kx]   (18 multiply-adds in all)
//!   store     acc·scale + bias, clamp, post affine — then one N-lane store
//! ```
//!
//! Channels `c % N` at the end of the pixel take the same code with masked loads and stores
//! (the `TAIL` instances). Which input rows exist (top/bottom padding) is a const generic
//! row mask, so padded rows cost no branch. Every tap is added in the reference's `(ky, kx)`
//! order. Plain loops and `#[inline(always)]` functions only: a closure here would be compiled
//! without the wrapper's target features and keep the intrinsics out of line.

use super::{Geometry, WindowRows};
use crate::epilogue::{Activation, Epilogue};
use crate::lanes::Lanes;

/// 3x3 stride `S` (1 or 2) for output row `oy`, whose existing input rows are `rows`.
/// `image` is `[in_h, in_w, c]`, `w` is `[3, 3, c]`, `out_row` is `[out_w, c]`.
#[inline(always)]
pub(crate) fn dwconv_3x3<V: Lanes, const S: usize>(
    g: &Geometry,
    image: &[f32],
    w: &[f32],
    ep: &Epilogue,
    oy: usize,
    rows: WindowRows,
    out_row: &mut [f32],
) {
    match rows {
        WindowRows::All => dwconv_3x3_rows::<V, S, { WindowRows::All as u8 }>(g, image, w, ep, oy, out_row),
        WindowRows::NoTop => {
            dwconv_3x3_rows::<V, S, { WindowRows::NoTop as u8 }>(g, image, w, ep, oy, out_row)
        }
        WindowRows::NoBottom => {
            dwconv_3x3_rows::<V, S, { WindowRows::NoBottom as u8 }>(g, image, w, ep, oy, out_row)
        }
    }
}

/// One channel tile of one column block: what [`sweep_tile`] computes.
#[derive(Clone, Copy)]
struct Tile<M> {
    /// Output columns `ox_lo..ox_hi`.
    ox_lo: usize,
    ox_hi: usize,
    /// First channel of the tile.
    c0: usize,
    /// Its lanes when the tile is the masked tail (unused for full tiles).
    mask: M,
}

/// The row kernel for row mask `ROWS` (bit `ky` set when input row `oy·S + ky - PT` exists).
#[inline(always)]
fn dwconv_3x3_rows<V: Lanes, const S: usize, const ROWS: u8>(
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
    let (full, tail) = (V::first(V::N), V::first(g.c % V::N));
    let block = g.ox_block();
    // Loop 2: blocks of output columns whose input window stays in L1 across the channel tiles.
    for ox_lo in (0..g.out_w).step_by(block) {
        let ox_hi = (ox_lo + block).min(g.out_w);
        // Loop 1: channel tiles, the last one masked. Loop 0 (in `sweep_tile`): the columns.
        let mut c0 = 0;
        while c0 + V::N <= g.c {
            let tile = Tile {
                ox_lo,
                ox_hi,
                c0,
                mask: full,
            };
            sweep_tile::<V, S, ROWS, false>(g, &rows, w, ep, tile, out_row);
            c0 += V::N;
        }
        if c0 < g.c {
            let tile = Tile {
                ox_lo,
                ox_hi,
                c0,
                mask: tail,
            };
            sweep_tile::<V, S, ROWS, true>(g, &rows, w, ep, tile, out_row);
        }
    }
}

/// Loads a full vector, or only the lanes of `mask` when `TAIL` (the others read as 0).
#[inline(always)]
fn load<V: Lanes, const TAIL: bool>(src: &[f32], mask: V::Mask) -> V {
    if TAIL {
        V::load_masked(src, mask)
    } else {
        V::load(src)
    }
}

/// Loads channels `c0..` of a per-channel epilogue vector, if there is one.
#[inline(always)]
fn load_channels<V: Lanes, const TAIL: bool>(s: Option<&[f32]>, c0: usize, mask: V::Mask) -> Option<V> {
    let s = s?;
    Some(load::<V, TAIL>(&s[c0..], mask))
}

/// The epilogue constants of one channel tile, in registers: the steps of [`Epilogue::apply`]
/// in its order. An absent scale is 1 and an absent bias is -0.0, the exact identities of
/// `·` and `+` (`-0.0 + -0.0` is `-0.0`; `+0.0` would turn it into `+0.0`), so the portable
/// tier still rounds exactly as `apply` does, and the sweep has no branch for them.
struct TileEpilogue<V> {
    scale: V,
    bias: V,
    clamp: Option<(V, V)>,
    post: Option<(V, V)>,
}

impl<V: Lanes> TileEpilogue<V> {
    #[inline(always)]
    fn new<const TAIL: bool>(ep: &Epilogue, c0: usize, mask: V::Mask) -> Self {
        let (lo, hi) = ep.activation.bounds();
        let clamp = match ep.activation {
            Activation::None => None,
            Activation::Relu | Activation::Relu6 => Some((V::splat(lo), V::splat(hi))),
        };
        let post = match ep.post {
            Some(p) => load_channels::<V, TAIL>(Some(p.scale), c0, mask).zip(load_channels::<V, TAIL>(
                Some(p.shift),
                c0,
                mask,
            )),
            None => None,
        };
        TileEpilogue {
            scale: load_channels::<V, TAIL>(ep.scale, c0, mask).unwrap_or(V::splat(1.0)),
            bias: load_channels::<V, TAIL>(ep.bias, c0, mask).unwrap_or(V::splat(-0.0)),
            clamp,
            post,
        }
    }

    /// Applies the epilogue to `acc` and stores it at `dst[0..]` (`N` lanes, or the mask's).
    #[inline(always)]
    fn store<const TAIL: bool>(&self, dst: &mut [f32], acc: V, mask: V::Mask) {
        let mut y = acc.mul(self.scale).add(self.bias);
        if let Some((lo, hi)) = self.clamp {
            y = y.max(lo).min(hi);
        }
        if let Some((ps, pt)) = self.post {
            y = y.mul(ps).add(pt);
        }
        if TAIL {
            y.store_masked(dst, mask)
        } else {
            y.store(dst)
        }
    }
}

/// One channel tile (`tile.c0..`, `N` channels or the mask's) of output columns
/// `tile.ox_lo..tile.ox_hi`: the 9 taps once, then sweep the columns.
#[inline(always)]
fn sweep_tile<V: Lanes, const S: usize, const ROWS: u8, const TAIL: bool>(
    g: &Geometry,
    rows: &[&[f32]; 3],
    w: &[f32],
    ep: &Epilogue,
    tile: Tile<V::Mask>,
    out_row: &mut [f32],
) {
    let (c, c0, mask) = (g.c, tile.c0, tile.mask);
    let mut taps = [V::zero(); 9]; // taps[ky·3 + kx] = w[ky, kx, c0..c0+N]
    for (k, tap) in taps.iter_mut().enumerate() {
        if ROWS & (1 << (k / 3)) != 0 {
            *tap = load::<V, TAIL>(&w[k * c + c0..], mask);
        }
    }
    let tep = TileEpilogue::<V>::new::<TAIL>(ep, c0, mask);
    let (lo, hi) = g.interior_ox();
    let (lo, hi) = (lo.clamp(tile.ox_lo, tile.ox_hi), hi.clamp(tile.ox_lo, tile.ox_hi)); // interior ∩ block
    for ox in (tile.ox_lo..lo).chain(hi..tile.ox_hi) {
        let acc = border_pixel::<V, S, ROWS, TAIL>(g, rows, &taps, ox, tile);
        tep.store::<TAIL>(&mut out_row[ox * c + c0..], acc, mask);
    }
    // Interior, two outputs per step: their windows share 3 - S input columns.
    // The output pairs come from `chunks_exact_mut` and each step's input window is sliced
    // to its exact length first, so the only bounds check that depends on `ox` is the
    // window's (shared by the three rows, which have one length); the loads' checks inside
    // a window or pair involve only `c`, `c0` and `N`, which do not change during the sweep.
    let win = (S + 3) * c; // the pair's S + 3 input pixels
    let pairs = (hi - lo) / 2;
    let out_pairs = out_row[lo * c..(lo + 2 * pairs) * c].chunks_exact_mut(2 * c);
    for (p, out) in out_pairs.enumerate() {
        let ox = lo + 2 * p; // `out` is pixels ox, ox + 1
        let x0 = (ox * S - g.pad_left) * c; // in[iy, ix = ox·S - PL, 0]
        let mut acc = [V::zero(); 2];
        // Written out per tap row (not a loop) so the `taps` indices are constants: registers.
        if ROWS & 0b001 != 0 {
            let x = &rows[0][x0..x0 + win];
            pair_row::<V, S, TAIL>(x, c, tile, [taps[0], taps[1], taps[2]], &mut acc);
        }
        if ROWS & 0b010 != 0 {
            let x = &rows[1][x0..x0 + win];
            pair_row::<V, S, TAIL>(x, c, tile, [taps[3], taps[4], taps[5]], &mut acc);
        }
        if ROWS & 0b100 != 0 {
            let x = &rows[2][x0..x0 + win];
            pair_row::<V, S, TAIL>(x, c, tile, [taps[6], taps[7], taps[8]], &mut acc);
        }
        tep.store::<TAIL>(&mut out[c0..], acc[0], mask);
        tep.store::<TAIL>(&mut out[c + c0..], acc[1], mask);
    }
    let ox = lo + 2 * pairs;
    if ox < hi {
        let acc = border_pixel::<V, S, ROWS, TAIL>(g, rows, &taps, ox, tile);
        tep.store::<TAIL>(&mut out_row[ox * c + c0..], acc, mask);
    }
}

/// One tap row of an interior pair: outputs `ox` and `ox + 1` read input columns
/// `ix..ix+3` and `ix+S..ix+S+3`, so `S + 3` loads serve 6 multiply-adds. `x` holds the
/// `S + 3` pixels from column `ix` on, `c` floats each; the loads take the tile's channels.
#[inline(always)]
fn pair_row<V: Lanes, const S: usize, const TAIL: bool>(
    x: &[f32],
    c: usize,
    tile: Tile<V::Mask>,
    t: [V; 3],
    acc: &mut [V; 2],
) {
    let mask = tile.mask;
    let x0 = load::<V, TAIL>(&x[tile.c0..], mask);
    let x1 = load::<V, TAIL>(&x[c + tile.c0..], mask);
    let x2 = load::<V, TAIL>(&x[2 * c + tile.c0..], mask);
    let x3 = load::<V, TAIL>(&x[3 * c + tile.c0..], mask);
    acc[0] = x0.mul_add(t[0], acc[0]);
    acc[0] = x1.mul_add(t[1], acc[0]);
    acc[0] = x2.mul_add(t[2], acc[0]);
    if S == 1 {
        acc[1] = x1.mul_add(t[0], acc[1]);
        acc[1] = x2.mul_add(t[1], acc[1]);
        acc[1] = x3.mul_add(t[2], acc[1]);
    } else {
        let x4 = load::<V, TAIL>(&x[4 * c + tile.c0..], mask);
        acc[1] = x2.mul_add(t[0], acc[1]);
        acc[1] = x3.mul_add(t[1], acc[1]);
        acc[1] = x4.mul_add(t[2], acc[1]);
    }
}

/// One output pixel with a bounds check per column (the frame around the interior).
#[inline(always)]
fn border_pixel<V: Lanes, const S: usize, const ROWS: u8, const TAIL: bool>(
    g: &Geometry,
    rows: &[&[f32]; 3],
    taps: &[V; 9],
    ox: usize,
    tile: Tile<V::Mask>,
) -> V {
    let mut acc = V::zero();
    let left = ox * S; // padded column of tap kx = 0
    if ROWS & 0b001 != 0 {
        acc = border_row::<V, TAIL>(g, rows[0], [taps[0], taps[1], taps[2]], left, tile, acc);
    }
    if ROWS & 0b010 != 0 {
        acc = border_row::<V, TAIL>(g, rows[1], [taps[3], taps[4], taps[5]], left, tile, acc);
    }
    if ROWS & 0b100 != 0 {
        acc = border_row::<V, TAIL>(g, rows[2], [taps[6], taps[7], taps[8]], left, tile, acc);
    }
    acc
}

/// One tap row of a border pixel: columns in the padding are skipped.
#[inline(always)]
fn border_row<V: Lanes, const TAIL: bool>(
    g: &Geometry,
    row: &[f32],
    t: [V; 3],
    left: usize,
    tile: Tile<V::Mask>,
    mut acc: V,
) -> V {
    for (kx, tap) in t.into_iter().enumerate() {
        let ix = (left + kx).wrapping_sub(g.pad_left); // wraps to huge when in the padding
        if ix < g.in_w {
            acc = load::<V, TAIL>(&row[ix * g.c + tile.c0..], tile.mask).mul_add(tap, acc);
        }
    }
    acc
}
