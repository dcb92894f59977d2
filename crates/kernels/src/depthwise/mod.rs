//! Depthwise 2-D convolution, NHWC, with a fused per-channel epilogue.
//!
//! ```text
//! out[n, oy, ox, c] = epilogue_c( Σ_{ky<KH, kx<KW} in[n, oy·SH + ky - PT, ox·SW + kx - PL, c] · w[ky, kx, c] )
//! ```
//!
//! - `input`: NHWC `[batch, in_h, in_w, c]`, contiguous.
//! - `weights`: Keras's depthwise kernel `[kh, kw, c, 1]` with the 1 dropped: `(ky, kx, c)` at
//!   `(ky·KW + kx)·C + c`.
//! - `output`: NHWC `[batch, out_h, out_w, c]`, every element written exactly once.
//! - Padding is explicit, per side, with zeros; taps that fall into it are *skipped*, not
//!   multiplied by zero, so every tier sums the same terms in the same `(ky, kx)` order.
//! - `params` must be depthwise: `groups == in_c == out_c` (depth multiplier 1).
//!
//! # Why depthwise needs its own kernel
//!
//! A depthwise 3x3 does 9 multiply-adds per output element, whatever the channel count. Run as
//! "C tiny GEMMs" (im2col one channel into an `(OH·OW) x 9` matrix, multiply by `9 x 1`) it
//! spends its time gathering and writing the im2col matrix and calling a GEMM whose N is 1; the
//! benchmark `grouped_im2col/...` in `benches/benches/depthwise.rs` keeps that anti-pattern as a
//! baseline. With NHWC the channel is the contiguous axis, so the natural SIMD vector is 8
//! (AVX2) or 16 (AVX-512) neighbouring channels of one pixel, and the kernel is bound by
//! streaming the activations through memory once (the benchmark reports GB/s of input +
//! output).
//!
//! # The ladder (read in this order)
//!
//! 1. [`reference::depthwise_conv2d_nhwc`]: six naive nested loops (batch, row, column,
//!    channel, `ky`, `kx`), any kernel, stride and padding. The oracle.
//! 2. [`depthwise_conv2d_nhwc_generic`] (`portable::dwconv_generic_row`): the loops reordered
//!    so the channel is innermost — for every output pixel, every valid tap adds
//!    `in[.., c] · w[.., c]` over a contiguous run of channels, into the output row itself.
//!    The compiler vectorises it; no SIMD code needed. This is the fallback for every kernel
//!    size other than 3x3, at every tier (the SIMD tiers compile it with their features).
//! 3. `schedule.rs`: the 3x3 special case, stride 1 or 2, written *once* over the crate's
//!    vector trait (`crate::lanes`: `N` channels per vector, full and masked loads/stores,
//!    lane-by-lane multiply-add, splat, max/min). The loop nest is below: pixels whose window lies fully
//!    inside the input take an unrolled *interior* path (two outputs per step, sharing input
//!    loads); the 1-pixel frame takes a *border* path that checks each column. Rows whose
//!    window crosses the top or bottom edge are separate monomorphised instances (a const row
//!    mask), so the padding costs no branch inside the sweep.
//! 4. The instances of that one schedule, each a thin wrapper:
//!    - `portable.rs`: `f32_dwconv_3x3s{1,2}_8c_portable` on `[f32; 8]`, separate multiply and
//!      add in the reference's order, so it reproduces the reference bit for bit;
//!    - `x86_64.rs`: `f32_dwconv_3x3s{1,2}_8c_fma` on `__m256` (AVX2+FMA, 8 channels, tail by
//!      `_mm256_maskload_ps` / `_mm256_maskstore_ps`) and `f32_dwconv_3x3s{1,2}_16c_avx512` on
//!      `__m512` (AVX-512F, 16 channels, tail by `__mmask16` masked loads and stores), each a
//!      `#[target_feature]` function around the same generic body; the 9 tap vectors stay in
//!      registers while a block of output columns is swept;
//!    - `aarch64.rs`: `f32_dwconv_3x3s{1,2}_4c_neon` on `float32x4_t` (NEON, 4 channels, tail
//!      through a 4-float buffer), the same way;
//!    - `wasm32.rs`: `f32_dwconv_3x3s{1,2}_4c_simd128` on `v128` (WebAssembly SIMD128, 4
//!      channels, tail through a 4-float buffer; no FMA, so bit-equal to the reference).
//! 5. Threads: [`depthwise_conv2d_nhwc_with_tier`] splits the `batch·out_h` output rows
//!    (independent, each written by one task) with rayon's `par_chunks_mut`, so the output is
//!    bit-identical for any thread count. Run inside your own `ThreadPool::install` to pick it.
//!
//! Each tier hands the rest of the crate one `DepthwiseKernels` table: a safe row function
//! (which picks the 3x3 instance or the generic loop per output row) and the names of the
//! functions it runs, which [`kernel_name`] reports. The reference tier's row function is the
//! oracle's loops on one row (`reference.rs`).
//!
//! The benchmark runs the rungs side by side (`reference/`, `generic/`, `portable/`, `ours/`,
//! `ours_2t/`), and the tests check each against rung 1.
//!
//! # The loop nest of the 3x3 fast paths
//!
//! ```text
//! loop 3 (rayon)  output rows r = n·out_h + oy              independent: one task writes each
//! loop 2          blocks of `ox_block()` output columns      their 3 input rows stay in L1
//! loop 1          channel tiles c0 = 0, N, 2N, ... (last masked)   load 9 tap vectors w[ky][kx]
//! loop 0          the block's columns: border pixels, then interior pairs
//!
//!   interior pair, stride 1, one tap row ky (x = N channels of one input pixel, N = 8 or 16):
//!
//!       x0   x1   x2   x3            acc0 += x0·w[ky][0] + x1·w[ky][1] + x2·w[ky][2]
//!                                    acc1 += x1·w[ky][0] + x2·w[ky][1] + x3·w[ky][2]
//!   4 loads, 6 FMAs (stride 2: 5 loads x0..x4, acc1 uses x2..x4)
//!   registers: 9 taps + 2 accumulators + S+3 inputs + epilogue constants
//! ```
//!
//! Loop order was measured (on the 8-lane AVX2 kernels), not guessed: sweeping whole rows per channel tile (taps loaded once
//! per row) and blocking the columns perform alike for 32..256 channels, but at 512 channels
//! the pixel stride is 2 KiB, a row sweep maps every load to the same two L1 sets, and the
//! blocked order is 2x faster. Storing raw sums and applying the epilogue in a second pass
//! frees 4 registers and wins ~20% when everything is in L1, but loses on the L2-resident
//! layers, so the epilogue stays fused into the store.
//!
//! Padded taps: XNNPACK points them at a shared zero row through an indirection buffer; here
//! the driver computes which of the 3 input rows exist (a mask, known per output row) and
//! selects a kernel instance compiled for that mask, which needs no zero buffer and no
//! allocation at all.

use crate::dispatch::KernelTable;
use crate::epilogue::Epilogue;
use crate::error::{check_len, KernelError, Result};
use crate::params::Conv2dParams;
use crate::tier::Tier;
use ndarray::{Array4, ArrayView3, ArrayView4};
use rayon::prelude::*;

/// One SIMD tier's depthwise kernels: the constructor that hands them out only when the CPU has
/// the tier, the safe row function it hands out, and the three `#[target_feature]` wrappers
/// that compile the shared schedule (3x3 stride 1 and 2) and the generic row loop with the
/// tier's features. Every SIMD tier (`x86_64.rs`, `aarch64.rs`) differs only in these names, the
/// lanes type and the feature string, so one macro writes all of them; the table's names come
/// from the wrappers' identifiers, so they are the functions' own.
///
/// Soundness: the wrappers are reachable only through the row function, which leaves its
/// module only through the constructor, after `$tier.is_available()`.
macro_rules! simd_depthwise_kernels {
    (
        constructor: $constructor:ident,
        tier: $tier:expr,
        features: $features:literal,
        lanes: $lanes:ty,
        row: $row:ident,
        kernels: $s1:ident, $s2:ident, $generic:ident $(,)?
    ) => {
        /// The tier's kernels, if the CPU has its features.
        pub(crate) fn $constructor() -> Option<DepthwiseKernels> {
            $tier.is_available().then_some(DepthwiseKernels {
                row: $row,
                name_3x3s1: stringify!($s1),
                name_3x3s2: stringify!($s2),
                name_generic: stringify!($generic),
            })
        }

        /// Output row `oy` of one image. Panics if a slice disagrees with `g`.
        fn $row(g: &Geometry, image: &[f32], w: &[f32], ep: &Epilogue, oy: usize, out_row: &mut [f32]) {
            g.assert_row_args(image, w, ep, oy, out_row);
            // SAFETY: this function leaves the module only through the constructor above,
            // which returns it only when the CPU has the tier's features, the wrappers' only
            // requirement.
            unsafe {
                match g.fast_3x3(oy) {
                    Some((1, rows)) => $s1(g, image, w, ep, oy, rows, out_row),
                    Some((2, rows)) => $s2(g, image, w, ep, oy, rows, out_row),
                    _ => $generic(g, image, w, ep, oy, out_row),
                }
            }
        }

        /// 3x3 stride 1 on the tier's lanes.
        ///
        /// # Safety
        /// The CPU has the tier's features.
        #[target_feature(enable = $features)]
        unsafe fn $s1(
            g: &Geometry,
            image: &[f32],
            w: &[f32],
            ep: &Epilogue,
            oy: usize,
            rows: WindowRows,
            out_row: &mut [f32],
        ) {
            dwconv_3x3::<$lanes, 1>(g, image, w, ep, oy, rows, out_row)
        }

        /// 3x3 stride 2 on the tier's lanes.
        ///
        /// # Safety
        /// The CPU has the tier's features.
        #[target_feature(enable = $features)]
        unsafe fn $s2(
            g: &Geometry,
            image: &[f32],
            w: &[f32],
            ep: &Epilogue,
            oy: usize,
            rows: WindowRows,
            out_row: &mut [f32],
        ) {
            dwconv_3x3::<$lanes, 2>(g, image, w, ep, oy, rows, out_row)
        }

        /// Any kernel: the portable channel-innermost loop, compiled with the tier's features.
        ///
        /// # Safety
        /// The CPU has the tier's features.
        #[target_feature(enable = $features)]
        unsafe fn $generic(
            g: &Geometry,
            image: &[f32],
            w: &[f32],
            ep: &Epilogue,
            oy: usize,
            out_row: &mut [f32],
        ) {
            dwconv_generic_row(g, image, w, ep, oy, out_row)
        }
    };
}

#[cfg(target_arch = "aarch64")]
mod aarch64;
mod portable;
pub mod reference;
mod schedule;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm32;
#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "aarch64")]
pub(crate) use aarch64::neon_kernels;
pub(crate) use portable::portable_kernels;
pub(crate) use reference::reference_kernels;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) use wasm32::simd128_kernels;
#[cfg(target_arch = "x86_64")]
pub(crate) use x86_64::{avx2_kernels, avx512_kernels};

/// Channels per vector of the portable and AVX2 tiers (8 f32 lanes, one 256-bit `ymm`
/// register): their channel tile. Channel counts that are not a multiple take the masked tail.
pub const CHANNEL_TILE: usize = 8;

/// Channels per vector of the AVX-512 tier (16 f32 lanes, one 512-bit `zmm` register).
pub const CHANNEL_TILE_AVX512: usize = 16;

/// Output elements a rayon task gets at least (small rows are grouped to keep scheduling cheap).
/// Only affects scheduling, never results.
const MIN_TASK_ELEMS: usize = 16 * 1024;

const OP: &str = "depthwise_conv2d";

/// Computes output row `oy` of one image (`image` is `[in_h, in_w, c]`, `out_row` is `[out_w, c]`).
pub(crate) type DepthwiseRowFn = fn(&Geometry, &[f32], &[f32], &Epilogue, usize, &mut [f32]);

/// One tier's depthwise kernels: the row function and the names of the functions it runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DepthwiseKernels {
    pub row: DepthwiseRowFn,
    pub name_3x3s1: &'static str,
    pub name_3x3s2: &'static str,
    pub name_generic: &'static str,
}

/// Which of the three input rows of a 3x3 window exist; the discriminant is the row mask
/// (bit `ky` set when input row `oy·S + ky - PT` exists) the schedule is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum WindowRows {
    /// All three: an inner row.
    All = 0b111,
    /// Tap row 0 lies in the top padding: the first output row of a padded image.
    NoTop = 0b110,
    /// Tap row 2 lies in the bottom padding: the last output row of a padded image.
    NoBottom = 0b011,
}

/// Depthwise convolution with the process-wide tier ([`Tier::active`]). See the module docs.
pub fn depthwise_conv2d_nhwc(
    params: &Conv2dParams,
    input: &[f32],
    weights: &[f32],
    output: &mut [f32],
    epilogue: &Epilogue,
) -> Result<()> {
    depthwise_conv2d_nhwc_with_tier(Tier::active()?, params, input, weights, output, epilogue)
}

/// Depthwise convolution with an explicit tier (tests and benches pin one this way).
///
/// Fails with [`KernelError::InvalidParams`] for a non-depthwise or impossible shape,
/// [`KernelError::LengthMismatch`] for a slice of the wrong length, and
/// [`KernelError::TierUnavailable`] if the CPU lacks `tier`.
pub fn depthwise_conv2d_nhwc_with_tier(
    tier: Tier,
    params: &Conv2dParams,
    input: &[f32],
    weights: &[f32],
    output: &mut [f32],
    epilogue: &Epilogue,
) -> Result<()> {
    let row = KernelTable::for_tier(tier)?.depthwise.row;
    let geom = validate(params, input, weights, output, epilogue)?;
    for_each_output_row(&geom, input, output, |image, oy, out_row| {
        row(&geom, image, weights, epilogue, oy, out_row)
    });
    Ok(())
}

/// Rung 2 of the ladder on every row: the channel-innermost loop for any kernel, stride and
/// padding, threaded like the fast paths. Slower than the 3x3 kernels (it reloads the taps for
/// every pixel and re-checks every window); it is public so the ladder can be tested and
/// benchmarked one step at a time. Same contract and errors as [`depthwise_conv2d_nhwc`].
pub fn depthwise_conv2d_nhwc_generic(
    params: &Conv2dParams,
    input: &[f32],
    weights: &[f32],
    output: &mut [f32],
    epilogue: &Epilogue,
) -> Result<()> {
    let geom = validate(params, input, weights, output, epilogue)?;
    for_each_output_row(&geom, input, output, |image, oy, out_row| {
        portable::dwconv_generic_row(&geom, image, weights, epilogue, oy, out_row)
    });
    Ok(())
}

/// The name of the inner kernel `tier` runs for `params`, for benchmark and log records:
/// the name of the function, taken from the tier's `DepthwiseKernels` in the kernel table.
/// (Rows of a 3x3 whose window has a single valid tap row, in tiny or heavily padded images,
/// run the tier's generic kernel instead.)
pub fn kernel_name(tier: Tier, params: &Conv2dParams) -> Result<&'static str> {
    let k = KernelTable::for_tier(tier)?.depthwise;
    Ok(
        match fast_3x3_stride(params.kh, params.kw, params.stride_h, params.stride_w) {
            Some(1) => k.name_3x3s1,
            Some(_) => k.name_3x3s2,
            None => k.name_generic,
        },
    )
}

/// `Some(stride)` when a kernel of this size and stride has a 3x3 fast path: 3x3 with equal
/// strides 1 or 2.
fn fast_3x3_stride(kh: usize, kw: usize, stride_h: usize, stride_w: usize) -> Option<usize> {
    (kh == 3 && kw == 3 && stride_h == stride_w && (1..=2).contains(&stride_h)).then_some(stride_h)
}

/// Depthwise convolution of an ndarray NHWC batch, allocating the output.
///
/// `weights` is `[kh, kw, c]` (Keras's `H W C 1` without the 1), `stride` is `(sh, sw)` and
/// `pad` is `[top, bottom, left, right]`. A non-contiguous `input` is copied once into standard
/// layout. Uses [`Tier::active`].
pub fn depthwise_conv2d(
    input: ArrayView4<f32>,
    weights: ArrayView3<f32>,
    stride: (usize, usize),
    pad: [usize; 4],
    epilogue: &Epilogue,
) -> Result<Array4<f32>> {
    let (batch, in_h, in_w, c) = input.dim();
    let (kh, kw, wc) = weights.dim();
    if wc != c {
        return Err(KernelError::InvalidParams {
            op: OP,
            reason: format!("weights have {wc} channels but the input has {c}"),
        });
    }
    let params = Conv2dParams {
        batch,
        in_h,
        in_w,
        in_c: c,
        out_c: c,
        kh,
        kw,
        stride_h: stride.0,
        stride_w: stride.1,
        pad_top: pad[0],
        pad_bottom: pad[1],
        pad_left: pad[2],
        pad_right: pad[3],
        groups: c,
    };
    let geom = validate_params(&params)?;
    let input = input.as_standard_layout();
    let weights = weights.as_standard_layout();
    let mut out = Array4::zeros((batch, geom.out_h, geom.out_w, c));
    // The standard-layout views and the fresh output are contiguous, so the slices exist.
    let (Some(x), Some(w), Some(y)) = (input.as_slice(), weights.as_slice(), out.as_slice_mut()) else {
        return Err(KernelError::InvalidParams {
            op: OP,
            reason: "non-contiguous array".into(),
        });
    };
    depthwise_conv2d_nhwc(&params, x, w, y, epilogue)?;
    Ok(out)
}

/// Shape numbers the row kernels need, derived once per call from validated [`Conv2dParams`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub in_h: usize,
    pub in_w: usize,
    pub c: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl Geometry {
    /// Elements in one input image (`in_h·in_w·c`).
    pub fn image_len(&self) -> usize {
        self.in_h * self.in_w * self.c
    }

    /// Elements in one output row (`out_w·c`).
    pub fn row_len(&self) -> usize {
        self.out_w * self.c
    }

    /// The kernel rows `ky_lo..ky_hi` whose input row `oy·SH + ky - PT` exists.
    pub fn valid_ky(&self, oy: usize) -> (usize, usize) {
        let top = oy * self.stride_h; // padded row of tap ky = 0
        let lo = self.pad_top.saturating_sub(top).min(self.kh);
        let hi = (self.pad_top + self.in_h)
            .saturating_sub(top)
            .min(self.kh)
            .max(lo);
        (lo, hi)
    }

    /// Which 3x3 fast-path instance computes output row `oy`: `Some((stride, rows))` for a 3x3
    /// kernel with equal strides 1 or 2 whose window has all three input rows, the bottom two
    /// (top edge) or the top two (bottom edge). `None`: the generic row loop (other kernels,
    /// strides, or rows with a single valid tap row — tiny inputs or padding wider than 1).
    pub fn fast_3x3(&self, oy: usize) -> Option<(usize, WindowRows)> {
        let stride = fast_3x3_stride(self.kh, self.kw, self.stride_h, self.stride_w)?;
        let rows = match self.valid_ky(oy) {
            (0, 3) => WindowRows::All,
            (1, 3) => WindowRows::NoTop,
            (0, 2) => WindowRows::NoBottom,
            _ => return None,
        };
        Some((stride, rows))
    }

    /// Panics unless the arguments of a row function agree with `self`: the row exists and
    /// `image`, `w`, `out_row` and the epilogue have the lengths `self` implies. The row
    /// functions check this on entry (cheap, once per row), so no caller can make them read
    /// or write past a slice, whatever it passes.
    pub fn assert_row_args(&self, image: &[f32], w: &[f32], ep: &Epilogue, oy: usize, out_row: &[f32]) {
        assert!(oy < self.out_h && image.len() == self.image_len() && out_row.len() == self.row_len());
        assert!(w.len() == self.kh * self.kw * self.c && ep.validate(OP, self.c).is_ok());
    }

    /// Output columns per block of the 3x3 fast paths: the block's `3 x (block·S + 2) x c`
    /// input floats should fit in half of a 32 KiB L1, so the cache lines one channel tile
    /// brings in are still there for the next (with 8 lanes, tiles 2k and 2k+1 share every
    /// 64-byte line). Even, and at least one interior pair. Measured on 14x14x512 with 8
    /// lanes: 2x faster than sweeping whole rows, whose 2 KiB pixel stride also maps every
    /// load to the same two L1 sets.
    ///
    /// The budget counts channels, not lanes, so it holds at 16 lanes too: the block's
    /// footprint is the same, only each tile now covers whole lines (no line is shared by two
    /// tiles, so the gain from blocking is the set-conflict one alone). Not re-measured at 16.
    pub fn ox_block(&self) -> usize {
        const L1_BUDGET_FLOATS: usize = 4 * 1024;
        let cols_in = L1_BUDGET_FLOATS / (3 * self.c);
        (cols_in.saturating_sub(2) / self.stride_w).max(2) & !1
    }

    /// Output columns `lo..hi` whose whole `kw`-wide window lies inside the input (the interior).
    pub fn interior_ox(&self) -> (usize, usize) {
        let lo = self.pad_left.div_ceil(self.stride_w).min(self.out_w);
        let hi = if self.in_w + self.pad_left >= self.kw {
            ((self.in_w + self.pad_left - self.kw) / self.stride_w + 1).min(self.out_w)
        } else {
            0
        };
        (lo, hi.max(lo))
    }
}

fn validate_params(params: &Conv2dParams) -> Result<Geometry> {
    params.validate().map_err(|e| match e {
        KernelError::InvalidParams { reason, .. } => KernelError::InvalidParams { op: OP, reason },
        other => other,
    })?;
    if !(params.groups == params.in_c && params.out_c == params.in_c) {
        return Err(KernelError::InvalidParams {
            op: OP,
            reason: format!(
                "not depthwise: groups = {}, in_c = {}, out_c = {} (need groups == in_c == out_c)",
                params.groups, params.in_c, params.out_c
            ),
        });
    }
    let (out_h, out_w) = params.out_hw();
    Ok(Geometry {
        in_h: params.in_h,
        in_w: params.in_w,
        c: params.in_c,
        kh: params.kh,
        kw: params.kw,
        stride_h: params.stride_h,
        stride_w: params.stride_w,
        pad_top: params.pad_top,
        pad_left: params.pad_left,
        out_h,
        out_w,
    })
}

fn validate(
    params: &Conv2dParams,
    input: &[f32],
    weights: &[f32],
    output: &[f32],
    epilogue: &Epilogue,
) -> Result<Geometry> {
    let geom = validate_params(params)?;
    check_len(OP, "input", params.input_len(), input.len())?;
    check_len(OP, "weights", params.kh * params.kw * params.in_c, weights.len())?;
    check_len(OP, "output", params.output_len(), output.len())?;
    epilogue.validate(OP, params.in_c)?;
    Ok(geom)
}

/// Loop over the `batch·out_h` output rows in parallel. `row(image, oy, out_row)` gets the
/// input image the row belongs to, its index within the image and its `out_w·c` output slice.
/// Each row is computed by exactly one call, so the thread count cannot change a result.
fn for_each_output_row<F>(geom: &Geometry, input: &[f32], output: &mut [f32], row: F)
where
    F: Fn(&[f32], usize, &mut [f32]) + Sync,
{
    let row_len = geom.row_len();
    let rows_per_task = (MIN_TASK_ELEMS / row_len).max(1);
    output
        .par_chunks_mut(row_len * rows_per_task)
        .enumerate()
        .for_each(|(task, rows)| {
            for (i, out_row) in rows.chunks_mut(row_len).enumerate() {
                let r = task * rows_per_task + i; // r = n·out_h + oy
                let (n, oy) = (r / geom.out_h, r % geom.out_h);
                let image = &input[n * geom.image_len()..(n + 1) * geom.image_len()];
                row(image, oy, out_row);
            }
        });
}

/// The bare name of a function item (`type_name` without the module path), so the tests can
/// check that the names in the kernel tables are the names of the functions they run.
#[cfg(test)]
pub(crate) fn function_name<F>(f: &F) -> &'static str {
    let path = std::any::type_name_of_val(f);
    path.rsplit("::").next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_rows_and_kernel_names() {
        let g = validate_params(&Conv2dParams::depthwise(1, 5, 7, 3, 3, 2, 1)).unwrap();
        assert_eq!(g.fast_3x3(0), Some((2, WindowRows::NoTop)));
        assert_eq!(g.fast_3x3(1), Some((2, WindowRows::All)));
        // Stride 2 over 5 rows with pad 1: the last row (oy = 2) reads rows 3, 4 and 5 (padding).
        assert_eq!(g.fast_3x3(2), Some((2, WindowRows::NoBottom)));
        let g = validate_params(&Conv2dParams::depthwise(1, 5, 7, 3, 5, 1, 2)).unwrap();
        assert_eq!(g.fast_3x3(2), None);
        let p = Conv2dParams::depthwise(1, 5, 7, 3, 3, 1, 1);
        let k = portable_kernels();
        assert_eq!(kernel_name(Tier::Portable, &p).unwrap(), k.name_3x3s1);
        let p2 = Conv2dParams { stride_w: 2, ..p };
        assert_eq!(kernel_name(Tier::Portable, &p2).unwrap(), k.name_generic);
    }

    #[test]
    fn valid_rows_and_interior_columns() {
        let g = validate_params(&Conv2dParams::depthwise(1, 5, 7, 3, 3, 1, 1)).unwrap();
        assert_eq!((g.out_h, g.out_w), (5, 7));
        assert_eq!(g.valid_ky(0), (1, 3));
        assert_eq!(g.valid_ky(2), (0, 3));
        assert_eq!(g.valid_ky(4), (0, 2));
        assert_eq!(g.interior_ox(), (1, 6));
        // Stride 2 over an odd width with padding (1, 1): 7 + 2 = 9 -> 4 outputs. ox = 0 reads
        // column -1 and ox = 3 reads columns 5..=7, where 7 is padding: interior is 1..3.
        let g = validate_params(&Conv2dParams::depthwise(1, 7, 7, 3, 3, 2, 1)).unwrap();
        assert_eq!(g.out_w, 4);
        assert_eq!(g.interior_ox(), (1, 3));
        // Padding so large that no window is ever inside.
        let g = validate_params(&Conv2dParams::depthwise(1, 1, 1, 3, 3, 1, 2)).unwrap();
        assert_eq!(g.out_w, 3);
        assert_eq!(g.interior_ox(), (2, 2));
        assert_eq!(g.valid_ky(0), (2, 3));
        assert_eq!(g.valid_ky(2), (0, 1));
    }
}
