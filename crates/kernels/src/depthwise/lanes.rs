//! The vector the 3x3 schedule computes with: `N` neighbouring channels of one pixel.
//!
//! NHWC keeps a pixel's channels contiguous, so one vector holds the same pixel (or tap) of
//! `N` consecutive channels, and every operation acts lane by lane. The schedule in
//! `schedule.rs` is generic over [`DwLanes`]; each tier implements it once:
//!
//! | tier     | type        | `N` | channel tail (`c % N`)                                  |
//! |----------|-------------|-----|---------------------------------------------------------|
//! | portable | `[f32; 8]`  | 8   | copies `n` floats                                       |
//! | AVX2+FMA | `__m256`    | 8   | `_mm256_maskload_ps` / `_mm256_maskstore_ps`            |
//! | AVX-512F | `__m512`    | 16  | `_mm512_maskz_loadu_ps` / `_mm512_mask_storeu_ps`       |
//!
//! Implementations are tiny `#[inline(always)]` functions, so the generic schedule compiles to
//! straight-line SIMD code inside each tier's `#[target_feature]` wrapper. Every load and
//! store takes a slice and checks that it holds the lanes it touches, so the schedule itself
//! is safe Rust: a wrong offset panics, it never reads or writes out of bounds.

/// A vector of `N` f32 lanes and the few operations the depthwise schedule needs.
pub(crate) trait DwLanes: Copy {
    /// Lanes per vector: the channel tile of this tier.
    const N: usize;
    /// The lanes `0..n` of a partial (tail) tile: a count, or the ISA's mask with its count.
    type Mask: Copy;

    /// The mask of lanes `0..n` (`n <= N`).
    fn first(n: usize) -> Self::Mask;
    /// All lanes zero.
    fn zero() -> Self;
    /// Every lane `x`.
    fn splat(x: f32) -> Self;
    /// Loads `src[0..N]`. Panics if `src` is shorter.
    fn load(src: &[f32]) -> Self;
    /// Loads `src[0..n]` for the `n` lanes of `mask`; the other lanes are 0 and their memory is
    /// not touched. Panics if `src` is shorter than `n`.
    fn load_masked(src: &[f32], mask: Self::Mask) -> Self;
    /// Stores into `dst[0..N]`. Panics if `dst` is shorter.
    fn store(self, dst: &mut [f32]);
    /// Stores the `n` lanes of `mask` into `dst[0..n]`, leaving the rest of memory alone.
    /// Panics if `dst` is shorter than `n`.
    fn store_masked(self, dst: &mut [f32], mask: Self::Mask);
    /// `self · w + acc`: fused (one rounding) on the SIMD tiers; multiply, then add (two
    /// roundings, as the reference does) on the portable tier.
    fn mul_add(self, w: Self, acc: Self) -> Self;
    /// `self · o`, rounded (never fused with a following add: the epilogue matches
    /// [`crate::Epilogue::apply`]).
    fn mul(self, o: Self) -> Self;
    /// `self + o`.
    fn add(self, o: Self) -> Self;
    /// `max(self, o)`.
    fn max(self, o: Self) -> Self;
    /// `min(self, o)`.
    fn min(self, o: Self) -> Self;
}
