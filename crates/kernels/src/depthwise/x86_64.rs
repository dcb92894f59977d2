//! AVX2+FMA depthwise convolution: `f32_dwconv_3x3s1_8c_fma` and `f32_dwconv_3x3s2_8c_fma`.
//!
//! The schedule of `portable::f32_dwconv_3x3_8c_portable` (the loop nest in the module docs)
//! on `ymm` registers. For one output row, one block of output columns and one tile of 8
//! channels:
//!
//! ```text
//!   taps      w[ky][kx]  9 ymm, loaded once per (row, block, tile)  — registers for the sweep
//!   frame     columns outside lo..hi: column-checked taps (1 pixel each side for pad 1)
//!   interior  columns in lo..hi, 2 outputs per step:
//!               per tap row: load S+3 pixels x[0..S+3] (8 channels each)
//!               acc0 += x[kx]·w[ky][kx],  acc1 += x[S+kx]·w[ky][kx]   (18 FMAs in all)
//!   store     acc·scale + bias, clamp, post affine — then one 32-byte store
//! ```
//!
//! Channels `c % 8` at the end of the pixel take the same code with `_mm256_maskload_ps` /
//! `_mm256_maskstore_ps` (masked-off lanes are neither read nor written, so nothing past the
//! end of a slice is touched). Which input rows exist (top/bottom padding) is a const generic
//! row mask, so padded rows cost no branch. Other kernel sizes run the portable generic loop
//! compiled with AVX2+FMA enabled.

use super::{portable, Geometry, CHANNEL_TILE, ROWS_ALL, ROWS_BOTTOM_EDGE, ROWS_TOP_EDGE};
use crate::epilogue::{Activation, Epilogue};
use crate::error::Result;
use crate::tier::Tier;
use std::arch::x86_64::*;

/// Proof that the CPU has AVX2 and FMA: the only way to reach the intrinsics.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowKernel {
    _checked: (),
}

impl RowKernel {
    /// Checks the CPU once (cached by [`Tier::is_available`]).
    pub(crate) fn new() -> Result<Self> {
        Tier::Avx2.ensure_available()?;
        Ok(RowKernel { _checked: () })
    }

    /// Computes output row `oy` of one image. Panics (never reads out of bounds) if a slice
    /// disagrees with `g`; the public entry validated them all before.
    pub(crate) fn run(
        &self,
        g: &Geometry,
        image: &[f32],
        w: &[f32],
        ep: &Epilogue,
        oy: usize,
        out_row: &mut [f32],
    ) {
        assert!(oy < g.out_h && image.len() == g.image_len() && out_row.len() == g.row_len());
        assert!(w.len() == g.kh * g.kw * g.c && ep.validate("depthwise_conv2d", g.c).is_ok());
        // SAFETY: `self` exists only if AVX2+FMA were detected; the lengths were just checked
        // against `g`, which `validate_params` built from a valid `Conv2dParams`, and `fast_3x3`
        // picked the row mask from the rows that exist.
        unsafe {
            match g.fast_3x3(oy) {
                Some((1, ROWS_ALL)) => f32_dwconv_3x3s1_8c_fma::<ROWS_ALL>(g, image, w, ep, oy, out_row),
                Some((1, ROWS_TOP_EDGE)) => {
                    f32_dwconv_3x3s1_8c_fma::<ROWS_TOP_EDGE>(g, image, w, ep, oy, out_row)
                }
                Some((1, ROWS_BOTTOM_EDGE)) => {
                    f32_dwconv_3x3s1_8c_fma::<ROWS_BOTTOM_EDGE>(g, image, w, ep, oy, out_row)
                }
                Some((2, ROWS_ALL)) => f32_dwconv_3x3s2_8c_fma::<ROWS_ALL>(g, image, w, ep, oy, out_row),
                Some((2, ROWS_TOP_EDGE)) => {
                    f32_dwconv_3x3s2_8c_fma::<ROWS_TOP_EDGE>(g, image, w, ep, oy, out_row)
                }
                Some((2, ROWS_BOTTOM_EDGE)) => {
                    f32_dwconv_3x3s2_8c_fma::<ROWS_BOTTOM_EDGE>(g, image, w, ep, oy, out_row)
                }
                _ => f32_dwconv_generic_avx2(g, image, w, ep, oy, out_row),
            }
        }
    }
}

/// 3x3 stride 1, 8-channel tiles, AVX2+FMA.
///
/// # Safety
/// The CPU has AVX2 and FMA; `image`, `w`, `out_row` and the epilogue slices have the lengths
/// `g` implies; the input rows `oy - PT + ky` exist exactly for the bits `ky` of `ROWS`.
#[target_feature(enable = "avx2,fma")]
unsafe fn f32_dwconv_3x3s1_8c_fma<const ROWS: u8>(
    g: &Geometry,
    image: &[f32],
    w: &[f32],
    ep: &Epilogue,
    oy: usize,
    out_row: &mut [f32],
) {
    dwconv_3x3::<1, ROWS>(g, image, w, ep, oy, out_row)
}

/// 3x3 stride 2, 8-channel tiles, AVX2+FMA.
///
/// # Safety
/// As [`f32_dwconv_3x3s1_8c_fma`], with input rows `2·oy - PT + ky`.
#[target_feature(enable = "avx2,fma")]
unsafe fn f32_dwconv_3x3s2_8c_fma<const ROWS: u8>(
    g: &Geometry,
    image: &[f32],
    w: &[f32],
    ep: &Epilogue,
    oy: usize,
    out_row: &mut [f32],
) {
    dwconv_3x3::<2, ROWS>(g, image, w, ep, oy, out_row)
}

/// Any kernel: the portable channel-innermost loop, compiled with AVX2+FMA enabled.
///
/// # Safety
/// The CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn f32_dwconv_generic_avx2(
    g: &Geometry,
    image: &[f32],
    w: &[f32],
    ep: &Epilogue,
    oy: usize,
    out_row: &mut [f32],
) {
    portable::dwconv_generic_row(g, image, w, ep, oy, out_row)
}

/// The shared body: the row's input pointers, then every channel tile.
///
/// # Safety
/// As [`f32_dwconv_3x3s1_8c_fma`]; only called from `#[target_feature]` wrappers.
#[inline(always)]
unsafe fn dwconv_3x3<const S: usize, const ROWS: u8>(
    g: &Geometry,
    image: &[f32],
    w: &[f32],
    ep: &Epilogue,
    oy: usize,
    out_row: &mut [f32],
) {
    let row_len = g.in_w * g.c;
    let mut rows = [std::ptr::null(); 3]; // rows in the padding stay null and are never read
    for (ky, row) in rows.iter_mut().enumerate() {
        if ROWS & (1 << ky) != 0 {
            *row = image.as_ptr().add((oy * S + ky - g.pad_top) * row_len);
        }
    }
    let full = _mm256_set1_epi32(-1);
    let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let tail = _mm256_cmpgt_epi32(_mm256_set1_epi32((g.c % CHANNEL_TILE) as i32), lane); // lane < c % 8
    let (w, out) = (w.as_ptr(), out_row.as_mut_ptr());
    let block = g.ox_block();
    // Loop 2: blocks of output columns whose input window stays in L1 across the channel tiles.
    for ox_a in (0..g.out_w).step_by(block) {
        let cols = (ox_a, (ox_a + block).min(g.out_w));
        // Loop 1: channel tiles; the last one masked. Loop 0 (in `sweep_tile`): the columns.
        let mut c0 = 0;
        while c0 + CHANNEL_TILE <= g.c {
            sweep_tile::<S, ROWS, false>(g, &rows, w, ep, c0, full, cols, out);
            c0 += CHANNEL_TILE;
        }
        if c0 < g.c {
            sweep_tile::<S, ROWS, true>(g, &rows, w, ep, c0, tail, cols, out);
        }
    }
}

/// Loads 8 floats, or only the lanes of `mask` when `MASKED` (the others read as 0).
///
/// # Safety
/// AVX2; the 8 floats (the masked ones, if `MASKED`) at `p` are readable.
#[inline(always)]
unsafe fn load<const MASKED: bool>(p: *const f32, mask: __m256i) -> __m256 {
    if MASKED {
        _mm256_maskload_ps(p, mask)
    } else {
        _mm256_loadu_ps(p)
    }
}

/// Loads a per-channel epilogue vector, or splats `default` when the slice is absent.
///
/// # Safety
/// As [`load`] for `s[c0..]`.
#[inline(always)]
unsafe fn load_or<const MASKED: bool>(s: Option<&[f32]>, c0: usize, mask: __m256i, default: f32) -> __m256 {
    match s {
        Some(s) => load::<MASKED>(s.as_ptr().add(c0), mask),
        None => _mm256_set1_ps(default),
    }
}

/// The epilogue constants of one channel tile, in registers (matches [`Epilogue::apply`]).
struct TileEpilogue {
    scale: __m256,
    bias: __m256,
    clamp: Option<(__m256, __m256)>,
    post: Option<(__m256, __m256)>,
}

impl TileEpilogue {
    /// # Safety
    /// AVX2; the epilogue slices hold channels `c0..` up to the mask.
    #[inline(always)]
    unsafe fn new<const MASKED: bool>(ep: &Epilogue, c0: usize, mask: __m256i) -> Self {
        // No closures (`Option::map`) here: they would not inherit the caller's target features.
        #![allow(clippy::manual_map)]
        let (lo, hi) = ep.activation.bounds();
        let clamp = match ep.activation {
            Activation::None => None,
            _ => Some((_mm256_set1_ps(lo), _mm256_set1_ps(hi))),
        };
        let post = match ep.post {
            Some(p) => Some((
                load_or::<MASKED>(Some(p.scale), c0, mask, 1.0),
                load_or::<MASKED>(Some(p.shift), c0, mask, 0.0),
            )),
            None => None,
        };
        TileEpilogue {
            scale: load_or::<MASKED>(ep.scale, c0, mask, 1.0),
            bias: load_or::<MASKED>(ep.bias, c0, mask, 0.0),
            clamp,
            post,
        }
    }

    /// Applies the epilogue and stores the tile at `p`.
    ///
    /// # Safety
    /// AVX2; the 8 floats (the masked ones, if `MASKED`) at `p` are writable.
    #[inline(always)]
    unsafe fn store<const MASKED: bool>(&self, p: *mut f32, acc: __m256, mask: __m256i) {
        // Multiply then add, not FMA: the same two roundings as the scalar `Epilogue::apply`.
        let mut y = _mm256_add_ps(_mm256_mul_ps(acc, self.scale), self.bias);
        if let Some((lo, hi)) = self.clamp {
            y = _mm256_min_ps(_mm256_max_ps(y, lo), hi);
        }
        if let Some((ps, pt)) = self.post {
            y = _mm256_add_ps(_mm256_mul_ps(y, ps), pt);
        }
        if MASKED {
            _mm256_maskstore_ps(p, mask, y)
        } else {
            _mm256_storeu_ps(p, y)
        }
    }
}

/// One channel tile `c0..c0+8` (masked) of output columns `cols.0..cols.1` of one row: taps
/// once, then sweep `ox`.
///
/// # Safety
/// AVX2+FMA; `rows[ky]` points at input row `oy·S + ky - PT` for each bit of `ROWS`; `w` holds
/// `9·c` floats, `out` `out_w·c`; the epilogue slices `c`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn sweep_tile<const S: usize, const ROWS: u8, const MASKED: bool>(
    g: &Geometry,
    rows: &[*const f32; 3],
    w: *const f32,
    ep: &Epilogue,
    c0: usize,
    mask: __m256i,
    cols: (usize, usize),
    out: *mut f32,
) {
    let c = g.c;
    let mut taps = [_mm256_setzero_ps(); 9]; // taps[ky·3 + kx] = w[ky, kx, c0..c0+8]
    for (k, tap) in taps.iter_mut().enumerate() {
        if ROWS & (1 << (k / 3)) != 0 {
            *tap = load::<MASKED>(w.add(k * c + c0), mask);
        }
    }
    let tep = TileEpilogue::new::<MASKED>(ep, c0, mask);
    let (lo, hi) = g.interior_ox();
    let (lo, hi) = (lo.clamp(cols.0, cols.1), hi.clamp(cols.0, cols.1)); // interior ∩ block
    for ox in (cols.0..lo).chain(hi..cols.1) {
        let acc = border_pixel::<S, ROWS, MASKED>(g, rows, &taps, ox, c0, mask);
        tep.store::<MASKED>(out.add(ox * c + c0), acc, mask);
    }
    // Interior, two outputs per step: their windows share 3 - S input columns.
    let mut ox = lo;
    while ox + 2 <= hi {
        let ix = ox * S - g.pad_left;
        let mut acc = [_mm256_setzero_ps(); 2];
        // Written out per tap row (not a loop) so `taps` indices are constants: registers.
        if ROWS & 0b001 != 0 {
            pair_row::<S, MASKED>(
                rows[0].add(ix * c + c0),
                c,
                mask,
                [taps[0], taps[1], taps[2]],
                &mut acc,
            );
        }
        if ROWS & 0b010 != 0 {
            pair_row::<S, MASKED>(
                rows[1].add(ix * c + c0),
                c,
                mask,
                [taps[3], taps[4], taps[5]],
                &mut acc,
            );
        }
        if ROWS & 0b100 != 0 {
            pair_row::<S, MASKED>(
                rows[2].add(ix * c + c0),
                c,
                mask,
                [taps[6], taps[7], taps[8]],
                &mut acc,
            );
        }
        let [acc0, acc1] = acc;
        tep.store::<MASKED>(out.add(ox * c + c0), acc0, mask);
        tep.store::<MASKED>(out.add((ox + 1) * c + c0), acc1, mask);
        ox += 2;
    }
    if ox < hi {
        let acc = border_pixel::<S, ROWS, MASKED>(g, rows, &taps, ox, c0, mask);
        tep.store::<MASKED>(out.add(ox * c + c0), acc, mask);
    }
}

/// One tap row of an interior pair: outputs `ox` and `ox + 1` read input columns
/// `ix..ix+3` and `ix+S..ix+S+3`, so `S + 3` loads serve 6 FMAs.
///
/// # Safety
/// AVX2+FMA; the `S + 3` pixels (8 or masked lanes each) at `p`, `p + c`, ... are readable.
#[inline(always)]
unsafe fn pair_row<const S: usize, const MASKED: bool>(
    p: *const f32,
    c: usize,
    mask: __m256i,
    t: [__m256; 3],
    acc: &mut [__m256; 2],
) {
    let x0 = load::<MASKED>(p, mask);
    let x1 = load::<MASKED>(p.add(c), mask);
    let x2 = load::<MASKED>(p.add(2 * c), mask);
    let x3 = load::<MASKED>(p.add(3 * c), mask);
    acc[0] = _mm256_fmadd_ps(x0, t[0], acc[0]);
    acc[0] = _mm256_fmadd_ps(x1, t[1], acc[0]);
    acc[0] = _mm256_fmadd_ps(x2, t[2], acc[0]);
    if S == 1 {
        acc[1] = _mm256_fmadd_ps(x1, t[0], acc[1]);
        acc[1] = _mm256_fmadd_ps(x2, t[1], acc[1]);
        acc[1] = _mm256_fmadd_ps(x3, t[2], acc[1]);
    } else {
        let x4 = load::<MASKED>(p.add(4 * c), mask);
        acc[1] = _mm256_fmadd_ps(x2, t[0], acc[1]);
        acc[1] = _mm256_fmadd_ps(x3, t[1], acc[1]);
        acc[1] = _mm256_fmadd_ps(x4, t[2], acc[1]);
    }
}

/// One output pixel with a bounds check per column (the frame around the interior).
///
/// # Safety
/// As [`sweep_tile`].
#[inline(always)]
unsafe fn border_pixel<const S: usize, const ROWS: u8, const MASKED: bool>(
    g: &Geometry,
    rows: &[*const f32; 3],
    taps: &[__m256; 9],
    ox: usize,
    c0: usize,
    mask: __m256i,
) -> __m256 {
    let mut acc = _mm256_setzero_ps();
    let left = ox * S; // padded column of tap kx = 0
    if ROWS & 0b001 != 0 {
        acc = border_row::<MASKED>(g, rows[0], [taps[0], taps[1], taps[2]], left, c0, mask, acc);
    }
    if ROWS & 0b010 != 0 {
        acc = border_row::<MASKED>(g, rows[1], [taps[3], taps[4], taps[5]], left, c0, mask, acc);
    }
    if ROWS & 0b100 != 0 {
        acc = border_row::<MASKED>(g, rows[2], [taps[6], taps[7], taps[8]], left, c0, mask, acc);
    }
    acc
}

/// One tap row of a border pixel: columns in the padding are skipped.
///
/// # Safety
/// As [`sweep_tile`], `row` being one of the existing input rows.
#[inline(always)]
unsafe fn border_row<const MASKED: bool>(
    g: &Geometry,
    row: *const f32,
    t: [__m256; 3],
    left: usize,
    c0: usize,
    mask: __m256i,
    mut acc: __m256,
) -> __m256 {
    for (kx, tap) in t.into_iter().enumerate() {
        let ix = (left + kx).wrapping_sub(g.pad_left); // wraps to huge when in the padding
        if ix < g.in_w {
            acc = _mm256_fmadd_ps(load::<MASKED>(row.add(ix * g.c + c0), mask), tap, acc);
        }
    }
    acc
}
