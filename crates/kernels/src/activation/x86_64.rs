//! AVX2 tier: `min(max(x, lo), hi)` on 8-lane vectors, four vectors per iteration.
//!
//! The frame: the body sees only whole 8-lane vectors (`len / 8 · 8` elements, first in
//! blocks of four vectors, then single vectors); the `len % 8` tail goes through the scalar
//! `Activation::apply`. `vmaxps(x, lo)` returns its second operand when `x` is NaN, i.e. `lo`,
//! which is what the scalar `f32::max` does, so body and tail agree bit for bit.

use crate::dispatch::{kernel, ActivationFn, Kernel};
use crate::epilogue::Activation;
use crate::tier::Tier;
use core::arch::x86_64::*;

/// The kernel, if this CPU has AVX2 and FMA: the only way out of this module, which is what
/// makes calling [`f32_clamp_32x_avx2`] sound (see [`crate::dispatch`]).
pub(super) fn kernel() -> Option<Kernel<ActivationFn>> {
    Tier::Avx2.is_available().then_some(kernel!(f32_clamp_32x_avx2))
}

/// Lanes per vector.
const LANES: usize = 8;

/// Safe entry: applies `act` (not `None`) to every element of `x`.
fn f32_clamp_32x_avx2(act: Activation, x: &mut [f32]) {
    let (lo, hi) = act.bounds();
    let body = x.len() / LANES * LANES;
    let (head, tail) = x.split_at_mut(body);
    let (p, n) = (head.as_mut_ptr(), head.len());
    // SAFETY: this function is reachable only through `kernel()`, which checked AVX2+FMA; `head` is valid for `n` reads and writes,
    // and `n` is a multiple of 8 as the kernel requires.
    unsafe {
        if act.apply(f32::NAN).is_nan() {
            clamp_body_fma::<true>(p, n, lo, hi)
        } else {
            clamp_body_fma::<false>(p, n, lo, hi)
        }
    }
    for v in tail {
        *v = act.apply(*v);
    }
}

/// `#[target_feature]` wrapper of [`clamp_body`].
///
/// # Safety
/// The CPU must support AVX2 and FMA, and `x` must be valid for reading and writing `n`
/// floats, `n % 8 == 0`.
#[target_feature(enable = "avx2,fma")]
unsafe fn clamp_body_fma<const KEEP_NAN: bool>(x: *mut f32, n: usize, lo: f32, hi: f32) {
    // SAFETY: forwarded from this function's contract.
    unsafe { clamp_body::<KEEP_NAN>(x, n, lo, hi) }
}

/// Clamps `n` floats at `x` to `[lo, hi]`, 32 per iteration then 8 per iteration.
///
/// # Safety
/// As [`clamp_body_fma`]; inlined into it so the intrinsics compile with AVX2 enabled.
#[inline(always)]
unsafe fn clamp_body<const KEEP_NAN: bool>(x: *mut f32, n: usize, lo: f32, hi: f32) {
    // SAFETY: every pointer below is `x + i` with `i + 8 <= n` (checked by the loop
    // conditions), inside the caller's `n`-float region; unaligned loads/stores are used.
    unsafe {
        let (vlo, vhi) = (_mm256_set1_ps(lo), _mm256_set1_ps(hi));
        let mut i = 0;
        while i + 4 * LANES <= n {
            let p = x.add(i);
            let a = clamp8::<KEEP_NAN>(vlo, vhi, _mm256_loadu_ps(p));
            let b = clamp8::<KEEP_NAN>(vlo, vhi, _mm256_loadu_ps(p.add(8)));
            let c = clamp8::<KEEP_NAN>(vlo, vhi, _mm256_loadu_ps(p.add(16)));
            let d = clamp8::<KEEP_NAN>(vlo, vhi, _mm256_loadu_ps(p.add(24)));
            _mm256_storeu_ps(p, a);
            _mm256_storeu_ps(p.add(8), b);
            _mm256_storeu_ps(p.add(16), c);
            _mm256_storeu_ps(p.add(24), d);
            i += 4 * LANES;
        }
        while i + LANES <= n {
            let p = x.add(i);
            _mm256_storeu_ps(p, clamp8::<KEEP_NAN>(vlo, vhi, _mm256_loadu_ps(p)));
            i += LANES;
        }
    }
}

/// One vector of the clamp: `min(max(v, lo), hi)`, a NaN kept (`KEEP_NAN`) or sent to `lo`.
///
/// # Safety
/// The CPU must support AVX; only called from inside [`clamp_body`].
#[inline(always)]
unsafe fn clamp8<const KEEP_NAN: bool>(lo: __m256, hi: __m256, v: __m256) -> __m256 {
    // SAFETY: register-only intrinsics; AVX is guaranteed by the caller.
    unsafe {
        if KEEP_NAN {
            _mm256_min_ps(hi, _mm256_max_ps(lo, v))
        } else {
            _mm256_min_ps(_mm256_max_ps(v, lo), hi)
        }
    }
}
