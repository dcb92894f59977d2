//! The three Winograd F(4x4, 3x3) transforms, written once over a vector of channels.
//!
//! Every transform is linear and acts on each channel separately, and NHWC keeps the channels
//! of a pixel contiguous, so the natural vector runs *across channels*: one [`Lanes`] value
//! holds the same tile position of `Lanes::N` consecutive channels, and a whole 6x6 tile of a
//! channel run is 36 such vectors. The schedule below is generic over the crate's vector trait
//! ([`Lanes`]); the portable tier instantiates it with `[f32; 8]` (which the compiler
//! vectorises), the AVX2 and AVX-512 tiers with `__m256` and `__m512` inside `#[target_feature]`
//! wrappers (`x86_64.rs`), the NEON tier with `float32x4_t` (`aarch64.rs`). Channel counts that
//! are not a multiple of the width run their last few channels as a masked (partial) vector.
//!
//! Each 2-D transform is two 1-D passes, columns first, then rows, through a stack tile that
//! stays in L1:
//!
//! ```text
//! input  (6x6 pixels)  --Bᵀ on columns-->  6x6  --Bᵀ on rows-->  V  (36 "frequencies")
//! M (36 frequencies)   --Aᵀ on columns-->  4x6  --Aᵀ on rows-->  Y  (4x4 output pixels)
//! ```

use super::{ALPHA, TILE};
use crate::epilogue::{Activation, Epilogue};
use crate::lanes::Lanes;

/// `Bᵀ·d` for one column (or row) of six values: the input transform's 1-D pass.
///
/// ```text
/// Bᵀ = [ 4  0 -5  0  1  0 ]
///      [ 0 -4 -4  1  1  0 ]
///      [ 0  4 -4 -1  1  0 ]
///      [ 0 -2 -1  2  1  0 ]
///      [ 0  2 -1 -2  1  0 ]
///      [ 0  4  0 -5  0  1 ]
/// ```
#[inline(always)]
fn bt6<V: Lanes>(d: [V; ALPHA]) -> [V; ALPHA] {
    let [d0, d1, d2, d3, d4, d5] = d;
    // Shared sub-expressions: rows 1/2 and 3/4 differ only in the sign of one term.
    let d4_m_d2 = d4.sub(d2);
    let a = d1.add(d2).mul_add(V::splat(-4.0), d3.add(d4)); // -4(d1+d2) + d3 + d4
    let b = d1.sub(d2).mul_add(V::splat(4.0), d4.sub(d3)); // 4(d1-d2) - d3 + d4
    let c = d3.sub(d1).mul_add(V::splat(2.0), d4_m_d2); // 2(d3-d1) + d4 - d2
    let e = d1.sub(d3).mul_add(V::splat(2.0), d4_m_d2); // 2(d1-d3) + d4 - d2
    [
        d0.mul_add(V::splat(4.0), d2.mul_add(V::splat(-5.0), d4)), // 4d0 - 5d2 + d4
        a,
        b,
        c,
        e,
        d1.mul_add(V::splat(4.0), d3.mul_add(V::splat(-5.0), d5)), // 4d1 - 5d3 + d5
    ]
}

/// `Aᵀ·m` for one column (or row) of six values: the output transform's 1-D pass.
///
/// ```text
/// Aᵀ = [ 1  1  1  1  1  0 ]
///      [ 0  1 -1  2 -2  0 ]
///      [ 0  1  1  4  4  0 ]
///      [ 0  1 -1  8 -8  1 ]
/// ```
#[inline(always)]
fn at6<V: Lanes>(m: [V; ALPHA]) -> [V; TILE] {
    let [m0, m1, m2, m3, m4, m5] = m;
    let (p12, d12) = (m1.add(m2), m1.sub(m2));
    let (p34, d34) = (m3.add(m4), m3.sub(m4));
    [
        m0.add(p12).add(p34),
        d34.mul_add(V::splat(2.0), d12),
        p34.mul_add(V::splat(4.0), p12),
        d34.mul_add(V::splat(8.0), d12).add(m5),
    ]
}

/// The fused epilogue of one run of channels, as vectors: `act(y·scale + bias)`, then
/// `·post_scale + post_shift` (the order of [`Epilogue::apply`]).
struct EpilogueLanes<V> {
    scale: Option<V>,
    bias: Option<V>,
    activation: Activation,
    post: Option<(V, V)>,
}

impl<V: Lanes> EpilogueLanes<V> {
    /// The epilogue of channels `c0 .. c0 + n`.
    #[inline(always)]
    fn new(e: &Epilogue, c0: usize, n: usize) -> Self {
        let load = |s: &[f32]| V::load_first(&s[c0..], n);
        EpilogueLanes {
            scale: e.scale.map(load),
            bias: e.bias.map(load),
            activation: e.activation,
            post: e.post.map(|p| (load(p.scale), load(p.shift))),
        }
    }

    #[inline(always)]
    fn apply(&self, mut y: V) -> V {
        if let Some(s) = self.scale {
            y = y.mul(s);
        }
        if let Some(b) = self.bias {
            y = y.add(b);
        }
        match self.activation {
            Activation::None => {}
            Activation::Relu => y = y.max(V::zero()),
            Activation::Relu6 => y = y.max(V::zero()).min(V::splat(6.0)),
        }
        if let Some((s, t)) = self.post {
            y = y.mul(s).add(t);
        }
        y
    }
}

/// Where the 36 input pixels of one tile are: `Some(offset of channel 0)` inside the image,
/// `None` in the zero padding (or past the bottom/right edge of a partial tile).
pub(crate) type TileWindow = [Option<usize>; ALPHA * ALPHA];

/// Input transform of one tile for `c` channels read from `input`: frequency `ξ = 6·r + s`
/// of channel `ch` goes to `dst[ξ·dst_stride + dst_c0 + ch]` (so two sources can fill the
/// channel ranges of one tile's V, as the decoder's fused concatenation does).
#[inline(always)]
pub(crate) fn input_tile<V: Lanes>(
    input: &[f32],
    window: &TileWindow,
    c: usize,
    dst: &mut [f32],
    dst_stride: usize,
    dst_c0: usize,
) {
    let mut c0 = 0;
    while c0 + V::N <= c {
        input_channels::<V>(input, window, c0, V::N, dst, dst_stride, dst_c0);
        c0 += V::N;
    }
    if c0 < c {
        input_channels::<V>(input, window, c0, c - c0, dst, dst_stride, dst_c0);
    }
}

/// [`input_tile`] for channels `c0 .. c0 + n` (`n <= V::N`; a partial vector if smaller).
///
/// Plain loops over arrays, no closures: a closure (or `array::from_fn`) would be compiled
/// without the caller's `#[target_feature]`s, and its intrinsics would become function calls.
#[inline(always)]
fn input_channels<V: Lanes>(
    input: &[f32],
    window: &TileWindow,
    c0: usize,
    n: usize,
    dst: &mut [f32],
    dst_stride: usize,
    dst_c0: usize,
) {
    // Columns: cols[s][r] = (Bᵀ d)[r][s].
    let mut cols = [[V::zero(); ALPHA]; ALPHA];
    for (s, col) in cols.iter_mut().enumerate() {
        let mut d = [V::zero(); ALPHA];
        for (r, dr) in d.iter_mut().enumerate() {
            if let Some(off) = window[r * ALPHA + s] {
                *dr = V::load_first(&input[off + c0..], n);
            }
        }
        *col = bt6(d);
    }
    // Rows: V[r][s] = (Bᵀ d B)[r][s], one row of Bᵀ d at a time.
    for r in 0..ALPHA {
        let mut row = [V::zero(); ALPHA];
        for (s, v) in row.iter_mut().enumerate() {
            *v = cols[s][r];
        }
        for (s, v) in bt6(row).into_iter().enumerate() {
            v.store_first(&mut dst[(r * ALPHA + s) * dst_stride + dst_c0 + c0..], n);
        }
    }
}

/// Where one tile's output pixels go: pixel `j < cols` of the tile's output row `i` is
/// `rows[i][(col0 + j)·stride ..][..c]` (only the rows inside the image are given).
pub(crate) struct TileOutput<'r, 'a> {
    /// The tile's output rows that lie inside the image.
    pub rows: &'r mut [&'a mut [f32]],
    /// The tile's first column within the rows, in pixels.
    pub col0: usize,
    /// Columns of the tile inside the image (at most 4).
    pub cols: usize,
    /// Floats between consecutive output pixels.
    pub stride: usize,
}

/// Output transform of one tile: `Y = Aᵀ M A` for every channel, where `m[ξ·xi_stride + ch]`
/// is the GEMM result of frequency `ξ` and channel `ch`; the pixels go where `out` says,
/// after the epilogue. Writes nothing else.
#[inline(always)]
pub(crate) fn output_tile<V: Lanes>(
    m: &[f32],
    xi_stride: usize,
    c: usize,
    out: &mut TileOutput,
    epilogue: &Epilogue,
) {
    let mut c0 = 0;
    while c0 + V::N <= c {
        output_channels::<V>(m, xi_stride, c0, V::N, out, epilogue);
        c0 += V::N;
    }
    if c0 < c {
        output_channels::<V>(m, xi_stride, c0, c - c0, out, epilogue);
    }
}

/// [`output_tile`] for channels `c0 .. c0 + n` (plain loops, as [`input_channels`]).
#[inline(always)]
fn output_channels<V: Lanes>(
    m: &[f32],
    xi_stride: usize,
    c0: usize,
    n: usize,
    out: &mut TileOutput,
    epilogue: &Epilogue,
) {
    let TileOutput {
        rows,
        col0,
        cols,
        stride,
    } = out;
    let (col0, cols, stride) = (*col0, *cols, *stride);
    let epilogue = EpilogueLanes::<V>::new(epilogue, c0, n);
    // Columns: t[s][i] = (Aᵀ M)[i][s].
    let mut t = [[V::zero(); TILE]; ALPHA];
    for (s, ts) in t.iter_mut().enumerate() {
        let mut col = [V::zero(); ALPHA];
        for (r, v) in col.iter_mut().enumerate() {
            *v = V::load_first(&m[(r * ALPHA + s) * xi_stride + c0..], n);
        }
        *ts = at6(col);
    }
    // Rows: Y[i][j] = (Aᵀ M A)[i][j]; only the pixels inside the image are stored.
    for (i, row) in rows.iter_mut().enumerate() {
        let mut ti = [V::zero(); ALPHA];
        for (s, v) in ti.iter_mut().enumerate() {
            *v = t[s][i];
        }
        for (j, v) in at6(ti).into_iter().enumerate().take(cols) {
            epilogue
                .apply(v)
                .store_first(&mut row[(col0 + j) * stride + c0..], n);
        }
    }
}
