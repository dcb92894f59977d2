//! The three Winograd F(4x4, 3x3) transforms, written once over a vector of channels.
//!
//! Every transform is linear and acts on each channel separately, and NHWC keeps the channels
//! of a pixel contiguous, so the natural vector runs *across channels*: one [`Lanes`] value
//! holds the same tile position of `Lanes::N` consecutive channels, and a whole 6x6 tile of a
//! channel run is 36 such vectors. The schedule below is generic over [`Lanes`]; the portable
//! tier instantiates it with `[f32; 8]` (which the compiler vectorises), the AVX2 tier with
//! `__m256` inside a `#[target_feature]` wrapper (`x86_64.rs`). Channel counts that are not a
//! multiple of the width run their last few channels through a zero-padded stack buffer.
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

/// The widest vector any tier uses (AVX-512 would hold 16 floats); sizes the tail buffers.
const MAX_LANES: usize = 16;

/// A vector of `N` f32 lanes and the few operations the transforms need.
///
/// Implementations are tiny `#[inline(always)]` wrappers, so that the generic schedule compiles
/// to straight-line SIMD code inside each tier's `#[target_feature]` function.
pub(crate) trait Lanes: Copy {
    /// Lanes per vector (at most 16).
    const N: usize;
    /// All lanes zero.
    fn zero() -> Self;
    /// Loads `src[0..N]` (`src.len() >= N`).
    fn load(src: &[f32]) -> Self;
    /// Stores into `dst[0..N]` (`dst.len() >= N`).
    fn store(self, dst: &mut [f32]);
    /// `self + o`, lane by lane.
    fn add(self, o: Self) -> Self;
    /// `self - o`, lane by lane.
    fn sub(self, o: Self) -> Self;
    /// `self · s + o`, lane by lane (separate multiply and add, or fused: either is accurate
    /// enough here, since the transforms' constants are small).
    fn mul_add(self, s: f32, o: Self) -> Self;
    /// `self · o`, lane by lane.
    fn mul(self, o: Self) -> Self;
    /// `max(self, o)`, lane by lane.
    fn max(self, o: Self) -> Self;
    /// `min(self, o)`, lane by lane.
    fn min(self, o: Self) -> Self;
    /// Every lane `x`.
    fn splat(x: f32) -> Self;

    /// Loads `src[0..n]` (`n < N`) with the other lanes zero.
    #[inline(always)]
    fn load_partial(src: &[f32], n: usize) -> Self {
        let mut buf = [0.0f32; MAX_LANES];
        buf[..n].copy_from_slice(&src[..n]);
        Self::load(&buf)
    }

    /// Stores lanes `0..n` (`n < N`) into `dst[0..n]`.
    #[inline(always)]
    fn store_partial(self, dst: &mut [f32], n: usize) {
        let mut buf = [0.0f32; MAX_LANES];
        self.store(&mut buf);
        dst[..n].copy_from_slice(&buf[..n]);
    }
}

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
    let a = d1.add(d2).mul_add(-4.0, d3.add(d4)); // -4(d1+d2) + d3 + d4
    let b = d1.sub(d2).mul_add(4.0, d4.sub(d3)); // 4(d1-d2) - d3 + d4
    let c = d3.sub(d1).mul_add(2.0, d4_m_d2); // 2(d3-d1) + d4 - d2
    let e = d1.sub(d3).mul_add(2.0, d4_m_d2); // 2(d1-d3) + d4 - d2
    [
        d0.mul_add(4.0, d2.mul_add(-5.0, d4)), // 4d0 - 5d2 + d4
        a,
        b,
        c,
        e,
        d1.mul_add(4.0, d3.mul_add(-5.0, d5)), // 4d1 - 5d3 + d5
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
        d34.mul_add(2.0, d12),
        p34.mul_add(4.0, p12),
        d34.mul_add(8.0, d12).add(m5),
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
        let load = |s: &[f32]| {
            if n == V::N {
                V::load(&s[c0..])
            } else {
                V::load_partial(&s[c0..], n)
            }
        };
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
                let src = &input[off + c0..];
                *dr = if n == V::N {
                    V::load(src)
                } else {
                    V::load_partial(src, n)
                };
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
            let out = &mut dst[(r * ALPHA + s) * dst_stride + dst_c0 + c0..];
            if n == V::N {
                v.store(out);
            } else {
                v.store_partial(out, n);
            }
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
            let src = &m[(r * ALPHA + s) * xi_stride + c0..];
            *v = if n == V::N {
                V::load(src)
            } else {
                V::load_partial(src, n)
            };
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
            let v = epilogue.apply(v);
            let out = &mut row[(col0 + j) * stride + c0..];
            if n == V::N {
                v.store(out);
            } else {
                v.store_partial(out, n);
            }
        }
    }
}

/// The portable tier's vector: eight lanes in an array, which the compiler vectorises.
pub(crate) type Portable = [f32; 8];

impl Lanes for Portable {
    const N: usize = 8;

    #[inline(always)]
    fn zero() -> Self {
        [0.0; 8]
    }

    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        let mut v = [0.0; 8];
        v.copy_from_slice(&src[..8]);
        v
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        dst[..8].copy_from_slice(&self);
    }

    #[inline(always)]
    fn add(mut self, o: Self) -> Self {
        for (a, b) in self.iter_mut().zip(o) {
            *a += b;
        }
        self
    }

    #[inline(always)]
    fn sub(mut self, o: Self) -> Self {
        for (a, b) in self.iter_mut().zip(o) {
            *a -= b;
        }
        self
    }

    #[inline(always)]
    fn mul_add(mut self, s: f32, o: Self) -> Self {
        for (a, b) in self.iter_mut().zip(o) {
            *a = *a * s + b;
        }
        self
    }

    #[inline(always)]
    fn mul(mut self, o: Self) -> Self {
        for (a, b) in self.iter_mut().zip(o) {
            *a *= b;
        }
        self
    }

    #[inline(always)]
    fn max(mut self, o: Self) -> Self {
        for (a, b) in self.iter_mut().zip(o) {
            *a = a.max(b);
        }
        self
    }

    #[inline(always)]
    fn min(mut self, o: Self) -> Self {
        for (a, b) in self.iter_mut().zip(o) {
            *a = a.min(b);
        }
        self
    }

    #[inline(always)]
    fn splat(x: f32) -> Self {
        [x; 8]
    }
}
