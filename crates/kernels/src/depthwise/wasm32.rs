//! The WebAssembly SIMD128 tier's depthwise kernels: the schedule of `schedule.rs` on `v128`
//! (4 channels per `f32x4`), compiled inside `#[target_feature(enable = "simd128")]`
//! wrappers, and the generic row loop compiled the same way.
//!
//! | tier    | 3x3 stride 1                  | 3x3 stride 2                  | other kernels                |
//! |---------|-------------------------------|-------------------------------|------------------------------|
//! | SIMD128 | `f32_dwconv_3x3s1_4c_simd128` | `f32_dwconv_3x3s2_4c_simd128` | `f32_dwconv_generic_simd128` |
//!
//! SIMD128 has no masked loads, so the channel tail (`c % 4`) goes through a 4-float buffer,
//! as on NEON. It has no fused multiply-add either (the relaxed-SIMD `relaxed_madd` may or may
//! not fuse depending on the host), so [`DwLanes::mul_add`] is a multiply and an add, rounded
//! separately in the reference's order: this tier reproduces the reference bit for bit, like
//! the portable tier (the tests hold it to that).
//!
//! The clamp must behave as `f32::max` / `f32::min` (IEEE maxNum/minNum: a NaN operand yields
//! the other one). WebAssembly's `f32x4.max` propagates NaN and its `f32x4.pmax(a, b)` is
//! `a < b ? b : a`, so [`max_num`] and [`min_num`] build maxNum/minNum from `pmax`/`pmin` plus
//! a select for a NaN second operand.
//!
//! The arithmetic intrinsics are safe functions in a module built with SIMD128; only the
//! loads and stores through raw pointers need `unsafe`.
//!
//! Soundness: this file is compiled only into modules built with SIMD128 (WebAssembly cannot
//! detect features at run time; an engine without SIMD refuses to load such a module), the
//! lanes type [`Simd128`] is private to this module and used only inside the
//! `#[target_feature]` wrappers, which leave this module only through [`simd128_kernels`]
//! (which checks `Tier::WasmSimd128`). Every load and store checks its slice's length first.

use super::lanes::DwLanes;
use super::portable::dwconv_generic_row;
use super::schedule::dwconv_3x3;
use super::{DepthwiseKernels, Geometry, WindowRows};
use crate::epilogue::Epilogue;
use crate::tier::Tier;
use std::arch::wasm32::*;

/// Channels per SIMD128 vector.
const LANES: usize = 4;

simd_depthwise_kernels! {
    constructor: simd128_kernels,
    tier: Tier::WasmSimd128,
    features: "simd128",
    lanes: Simd128,
    row: simd128_row,
    kernels: f32_dwconv_3x3s1_4c_simd128, f32_dwconv_3x3s2_4c_simd128, f32_dwconv_generic_simd128,
}

/// Four f32 lanes in one `v128`.
#[derive(Clone, Copy)]
struct Simd128(v128);

/// IEEE maxNum lane by lane (`f32::max`): `pmax(o, x)` is `o < x ? x : o`, which yields `o`
/// for a NaN `x`; a NaN `o` is replaced by `x`.
#[inline(always)]
fn max_num(x: v128, o: v128) -> v128 {
    v128_bitselect(x, f32x4_pmax(o, x), f32x4_ne(o, o))
}

/// IEEE minNum lane by lane (`f32::min`), as [`max_num`] with `pmin`.
#[inline(always)]
fn min_num(x: v128, o: v128) -> v128 {
    v128_bitselect(x, f32x4_pmin(o, x), f32x4_ne(o, o))
}

impl DwLanes for Simd128 {
    const N: usize = LANES;
    /// The tail's lane count.
    type Mask = usize;

    #[inline(always)]
    fn first(n: usize) -> usize {
        n.min(LANES)
    }

    #[inline(always)]
    fn zero() -> Self {
        Simd128(f32x4_splat(0.0))
    }

    #[inline(always)]
    fn splat(x: f32) -> Self {
        Simd128(f32x4_splat(x))
    }

    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        let src = &src[..LANES];
        // SAFETY: `src` holds 4 floats (bounds-checked above); `v128.load` has no alignment
        // requirement; SIMD128 is available.
        Simd128(unsafe { v128_load(src.as_ptr() as *const v128) })
    }

    #[inline(always)]
    fn load_masked(src: &[f32], n: usize) -> Self {
        let mut buf = [0.0f32; LANES];
        buf[..n].copy_from_slice(&src[..n]);
        Self::load(&buf)
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        let dst = &mut dst[..LANES];
        // SAFETY: `dst` holds 4 writable floats; SIMD128 is available.
        unsafe { v128_store(dst.as_mut_ptr() as *mut v128, self.0) }
    }

    #[inline(always)]
    fn store_masked(self, dst: &mut [f32], n: usize) {
        let mut buf = [0.0f32; LANES];
        self.store(&mut buf);
        dst[..n].copy_from_slice(&buf[..n]);
    }

    #[inline(always)]
    fn mul_add(self, w: Self, acc: Self) -> Self {
        // Two roundings, as the reference (see the module docs).
        Simd128(f32x4_add(f32x4_mul(self.0, w.0), acc.0))
    }

    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Simd128(f32x4_mul(self.0, o.0))
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Simd128(f32x4_add(self.0, o.0))
    }

    #[inline(always)]
    fn max(self, o: Self) -> Self {
        Simd128(max_num(self.0, o.0))
    }

    #[inline(always)]
    fn min(self, o: Self) -> Self {
        Simd128(min_num(self.0, o.0))
    }
}
