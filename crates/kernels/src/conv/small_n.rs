//! Dense convolutions with few output channels (a classifier: `out_c` = the number of classes).
//!
//! The GEMM's 6x16 register tile is 16 output channels wide: for `out_c = 2` it does 8x the
//! useful work, and it still packs every element of the im2col matrix, which then feeds only
//! two multiply-adds. This path packs nothing and vectorises the *reduction* instead:
//!
//! ```text
//! out[r][j] = Σ_tap Σ_ci x[pixel(r, tap)][ci] · w_col[j][tap·Cin + ci]
//!
//!   x run of one tap   [ x0 .. x7 | x8 .. x15 | .. ]    Cin contiguous floats of NHWC input
//!   weight column j    [ w0 .. w7 | w8 .. w15 | .. ]    K contiguous floats (prepared once)
//!   acc[j]            += lane-wise products, 8 lanes; the lanes are summed once at the end
//! ```
//!
//! Up to [`COLS`] columns share each 8-float load of x. Padded taps are skipped (they add
//! zero). The pixel loop is generic over the dot products ([`Dot`]): [`PortableDot`] here,
//! `DotFma` in `x86_64.rs` (two accumulator sets per column, so the one or two columns of a
//! binary classifier still keep four FMA chains in flight). Every output element is summed in
//! one fixed order (taps, then 8-lane chunks, then the lanes), which depends on nothing but the shape: bit-identical for any thread count.

use crate::epilogue::Epilogue;
use crate::params::Conv2dParams;
use crate::scratch::{with_scratch, ScratchStack};

/// The largest `out_c` that takes this path; wider layers use the GEMM (see [`use_small_n`]).
pub use crate::params::SMALL_N;
/// Lanes of one accumulator (one AVX register).
const LANES: usize = 8;
/// Output channels that share one pass over a pixel's input.
const COLS: usize = 4;
/// Output pixels per parallel work item (a fixed split: the sums never depend on it).
pub(crate) const PIXELS_PER_ITEM: usize = 128;

/// Whether a dense convolution with these params takes the small-N path
/// ([`Conv2dParams::algorithm`] is [`crate::ConvAlgorithm::SmallN`]).
pub fn use_small_n(params: &Conv2dParams) -> bool {
    params.algorithm() == crate::ConvAlgorithm::SmallN
}

/// HWIO weights (`k x n` row-major) transposed to `n` contiguous columns of length `k`.
pub(crate) fn columns(weights: &[f32], k: usize, n: usize) -> Vec<f32> {
    let mut cols = vec![0.0; k * n];
    for (kk, row) in weights.chunks_exact(n.max(1)).enumerate().take(k) {
        for (j, &w) in row.iter().enumerate() {
            cols[j * k + kk] = w;
        }
    }
    cols
}

/// The operands of one small-N convolution (validated by the dispatcher).
pub(crate) struct SmallN<'a> {
    pub params: &'a Conv2dParams,
    pub input: &'a [f32],
    /// `out_c` columns of `k = KH·KW·Cin` floats.
    pub cols: &'a [f32],
    pub epilogue: &'a Epilogue<'a>,
}

thread_local! {
    /// The tap list of the pixel this thread computes, grown once and reused.
    static TAPS: ScratchStack<(usize, usize)> = const { ScratchStack::new() };
}

/// Taps the list holds without growing: up to 8x8 kernels.
const RESERVED_TAPS: usize = 64;

/// Runs `f` with this thread's reusable tap list (what [`run_pixels`] fills per pixel), room
/// for `taps` taps reserved.
pub(crate) fn with_taps<R>(taps: usize, f: impl FnOnce(&mut Vec<(usize, usize)>) -> R) -> R {
    with_scratch(&TAPS, |list| {
        // `reserve` counts from the length: clear first, or a list left with a pixel's taps
        // would grow again.
        list.clear();
        list.reserve(taps.max(RESERVED_TAPS));
        f(list)
    })
}

/// Output pixels `p0 .. p0 + count`; pixel `p0 + i`, channel `j` goes to `out[i·stride + j]`.
/// `taps` is scratch for one pixel's list of (input offset, column offset) of its valid taps
/// (from [`with_taps`], so that it is allocated once per thread, not per call).
/// `#[inline(always)]` so the AVX2 wrapper compiles it with its target features.
#[inline(always)]
pub(crate) fn run_pixels<D: Dot>(
    dot: D,
    s: &SmallN,
    p0: usize,
    count: usize,
    out: &mut [f32],
    stride: usize,
    taps: &mut Vec<(usize, usize)>,
) {
    let p = s.params;
    let (oh, ow) = p.out_hw();
    let (cin, n) = (p.in_c, p.out_c);
    let k = p.kh * p.kw * cin;
    for i in 0..count {
        let r = p0 + i;
        let (img, rem) = (r / (oh * ow), r % (oh * ow));
        let (py, px) = ((rem / ow) * p.stride_h, (rem % ow) * p.stride_w);
        taps.clear();
        for ky in 0..p.kh {
            let Some(iy) = (py + ky).checked_sub(p.pad_top).filter(|&y| y < p.in_h) else {
                continue;
            };
            for kx in 0..p.kw {
                let Some(ix) = (px + kx).checked_sub(p.pad_left).filter(|&x| x < p.in_w) else {
                    continue;
                };
                taps.push((((img * p.in_h + iy) * p.in_w + ix) * cin, (ky * p.kw + kx) * cin));
            }
        }
        let row = &mut out[i * stride..][..n];
        let mut j0 = 0;
        while j0 < n {
            let g = COLS.min(n - j0);
            let cols = &s.cols[j0 * k..(j0 + g) * k];
            let mut store = |sums: &[f32]| {
                for (jj, &v) in sums.iter().enumerate() {
                    row[j0 + jj] = s.epilogue.apply(j0 + jj, v);
                }
            };
            match g {
                1 => store(&dot.cols::<1>(s.input, cols, k, cin, taps)),
                2 => store(&dot.cols::<2>(s.input, cols, k, cin, taps)),
                3 => store(&dot.cols::<3>(s.input, cols, k, cin, taps)),
                _ => store(&dot.cols::<4>(s.input, cols, k, cin, taps)),
            }
            j0 += g;
        }
    }
}

/// `G` dot products of one pixel's im2col row with `G` weight columns, one implementation per
/// tier.
pub(crate) trait Dot: Copy {
    /// `Σ_(x0, w0) in taps Σ_ci input[x0 + ci] · cols[jj·k + w0 + ci]` for `jj < G`, summed in
    /// 8-lane accumulators whose lanes are added up at the end by [`sum_lanes`]. Each tier
    /// has its own fixed order, which depends only on the shape.
    fn cols<const G: usize>(
        self,
        input: &[f32],
        cols: &[f32],
        k: usize,
        cin: usize,
        taps: &[(usize, usize)],
    ) -> [f32; G];
}

/// The portable tier's kernel: [`run_pixels`] with [`PortableDot`].
pub(crate) fn f32_conv_small_n_dot8_portable(
    s: &SmallN,
    p0: usize,
    count: usize,
    out: &mut [f32],
    stride: usize,
    taps: &mut Vec<(usize, usize)>,
) {
    run_pixels(PortableDot, s, p0, count, out, stride, taps)
}

/// The lanes of an accumulator summed pairwise in a fixed tree.
#[inline(always)]
pub(crate) fn sum_lanes(a: &[f32; LANES]) -> f32 {
    ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
}

/// The plain-Rust [`Dot`]: products and sums rounded separately.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PortableDot;

impl Dot for PortableDot {
    #[inline(always)]
    fn cols<const G: usize>(
        self,
        input: &[f32],
        cols: &[f32],
        k: usize,
        cin: usize,
        taps: &[(usize, usize)],
    ) -> [f32; G] {
        let mut acc = [[0.0f32; LANES]; G];
        for &(x0, w0) in taps {
            let x = &input[x0..][..cin];
            let w: [&[f32]; G] = std::array::from_fn(|jj| &cols[jj * k + w0..][..cin]);
            for (a, wj) in acc.iter_mut().zip(&w) {
                for (c, (&xv, &wv)) in x.iter().zip(*wj).enumerate() {
                    a[c % LANES] += xv * wv;
                }
            }
        }
        acc.map(|a| sum_lanes(&a))
    }
}
