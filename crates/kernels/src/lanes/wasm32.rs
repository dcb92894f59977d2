//! The WebAssembly SIMD128 tier's lanes: [`Simd128`], four f32 in a `v128`.
//!
//! SIMD128 has no masked loads, so the channel tail (`c % 4`) goes through a 4-float buffer,
//! as on NEON. It has no fused multiply-add either (relaxed SIMD's `relaxed_madd` may or may
//! not fuse depending on the host, so results would depend on the browser), so
//! [`Lanes::mul_add`] is a multiply and an add, rounded separately in the order of the scalar
//! references: this tier reproduces the reference loops bit for bit, like the portable tier.
//!
//! `max`/`min` must behave as `f32::max` / `f32::min` (IEEE maxNum/minNum: a NaN operand
//! yields the other one). WebAssembly's `f32x4.max` propagates NaN and its `f32x4.pmax(a, b)`
//! is `a < b ? b : a`, so [`max_num`] and [`min_num`] build maxNum/minNum from `pmax`/`pmin`
//! plus a select for a NaN second operand.
//!
//! Soundness: this file is compiled only into modules built with `-C target-feature=+simd128`
//! (WebAssembly cannot detect features at run time; an engine without SIMD refuses to load
//! such a module), so every function of the module has the feature and the arithmetic
//! intrinsics are safe to call; only the loads and stores through raw pointers need `unsafe`,
//! after a bounds-checking slice. The type is still named only inside the
//! `#[target_feature(enable = "simd128")]` wrappers of the `wasm32.rs` kernels, which leave
//! their modules only through constructors that check `Tier::WasmSimd128` (the crate's
//! soundness argument, in `dispatch.rs`).

use super::Lanes;
use std::arch::wasm32::*;

/// Four f32 lanes in one `v128`.
#[derive(Clone, Copy)]
pub(crate) struct Simd128(v128);

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

impl Lanes for Simd128 {
    const N: usize = 4;
    /// The tail's lane count.
    type Mask = usize;

    #[inline(always)]
    fn first(n: usize) -> usize {
        n.min(4)
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
        let src = &src[..4];
        // SAFETY: `src` holds 4 floats (bounds-checked above); `v128.load` has no alignment
        // requirement; SIMD128 is available (see the module docs).
        Simd128(unsafe { v128_load(src.as_ptr().cast::<v128>()) })
    }

    #[inline(always)]
    fn load_masked(src: &[f32], n: usize) -> Self {
        let mut buf = [0.0f32; 4];
        buf[..n].copy_from_slice(&src[..n]);
        Self::load(&buf)
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        let dst = &mut dst[..4];
        // SAFETY: `dst` holds 4 writable floats (bounds-checked above); `v128.store` has no
        // alignment requirement; SIMD128 is available.
        unsafe { v128_store(dst.as_mut_ptr().cast::<v128>(), self.0) }
    }

    #[inline(always)]
    fn store_masked(self, dst: &mut [f32], n: usize) {
        let mut buf = [0.0f32; 4];
        self.store(&mut buf);
        dst[..n].copy_from_slice(&buf[..n]);
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Simd128(f32x4_add(self.0, o.0))
    }

    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Simd128(f32x4_sub(self.0, o.0))
    }

    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Simd128(f32x4_mul(self.0, o.0))
    }

    #[inline(always)]
    fn mul_add(self, b: Self, acc: Self) -> Self {
        // `acc + self·b`, rounded twice as the reference's `acc += x * w` (no FMA in SIMD128).
        Simd128(f32x4_add(acc.0, f32x4_mul(self.0, b.0)))
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
