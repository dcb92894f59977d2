//! The one vector abstraction of the SIMD kernels: `N` f32 lanes and the operations the
//! generic kernel bodies (depthwise's 3x3 schedule, Winograd's transforms) are written in.
//!
//! NHWC keeps a pixel's channels contiguous, so a vector holds the same pixel (or tile
//! position, or tap) of `N` consecutive channels, and every operation acts lane by lane. Each
//! ISA implements [`Lanes`] once, here, and every kernel body generic over it runs on that ISA
//! by being instantiated inside the ISA's `#[target_feature]` wrapper:
//!
//! | tier     | type                    | `N` | channel tail (`c % N`)                           |
//! |----------|-------------------------|-----|--------------------------------------------------|
//! | portable | `[f32; 8]`              | 8   | copies `n` floats                                |
//! | AVX2+FMA | [`x86_64::Avx2`] (`ymm`)  | 8   | `_mm256_maskload_ps` / `_mm256_maskstore_ps`     |
//! | AVX-512F | [`x86_64::Avx512`] (`zmm`) | 16  | `_mm512_maskz_loadu_ps` / `_mm512_mask_storeu_ps` |
//! | NEON     | `aarch64::Neon` (`q`)   | 4   | copies `n` floats through a 4-float buffer       |
//! | SIMD128  | `wasm32::Simd128` (`v128`) | 4 | copies `n` floats through a 4-float buffer      |
//!
//! Every method has one meaning on every tier. In particular [`Lanes::mul_add`] is always
//! lane by lane, `self[l] · b[l] + acc[l]` (to multiply by a constant, splat it first: inside
//! a `#[target_feature]` body the splat of a constant is hoisted out of the loops). It is fused
//! (one rounding) on the SIMD tiers that have FMA and rounds twice on the portable and SIMD128
//! tiers (WebAssembly has no FMA), which therefore reproduce the scalar reference loops bit
//! for bit.
//!
//! Implementations are tiny `#[inline(always)]` functions, so a generic body compiles to
//! straight-line SIMD code inside each wrapper. Loads and stores take slices and check that
//! they hold the lanes they touch, so the generic bodies are safe Rust: a wrong offset panics,
//! it never reads or writes out of bounds. Why the intrinsics inside the SIMD implementations
//! are sound to call is the crate's one soundness argument, in `dispatch.rs`: a SIMD lanes
//! type is only ever named as the type argument of a generic body inside a
//! `#[target_feature]` function of its own ISA, which only runs through a kernel the table
//! handed out after detecting that ISA.

#[cfg(target_arch = "aarch64")]
pub(crate) mod aarch64;
mod portable;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) mod wasm32;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_64;

pub(crate) use portable::Portable;

/// A vector of `N` f32 lanes; see the module docs.
pub(crate) trait Lanes: Copy {
    /// Lanes per vector: the channel tile of this tier.
    const N: usize;
    /// The lanes `0..n` of a partial (tail) vector: a count, or the ISA's mask with its count.
    type Mask: Copy;

    /// The mask of lanes `0..n` (`n <= N`; larger `n` is clamped to `N`).
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
    /// `self + o`, lane by lane.
    fn add(self, o: Self) -> Self;
    /// `self - o`, lane by lane.
    fn sub(self, o: Self) -> Self;
    /// `self · o`, lane by lane, rounded (never fused with a following add, so an epilogue
    /// rounds as [`crate::Epilogue::apply`] does).
    fn mul(self, o: Self) -> Self;
    /// `self · b + acc`, lane by lane: fused (one rounding) on the tiers with FMA; multiply,
    /// then add (two roundings, as the scalar references do) on the portable and SIMD128 tiers.
    fn mul_add(self, b: Self, acc: Self) -> Self;
    /// `max(self, o)`, lane by lane.
    fn max(self, o: Self) -> Self;
    /// `min(self, o)`, lane by lane.
    fn min(self, o: Self) -> Self;

    /// Loads the first `n <= N` lanes of `src`: a full load when `n == N`, else masked (the
    /// other lanes 0).
    #[inline(always)]
    fn load_first(src: &[f32], n: usize) -> Self {
        if n == Self::N {
            Self::load(src)
        } else {
            Self::load_masked(src, Self::first(n))
        }
    }

    /// Stores the first `n <= N` lanes into `dst[0..n]`: a full store when `n == N`, else
    /// masked.
    #[inline(always)]
    fn store_first(self, dst: &mut [f32], n: usize) {
        if n == Self::N {
            self.store(dst)
        } else {
            self.store_masked(dst, Self::first(n))
        }
    }
}
