//! The AVX-512 BF16 tier: `bf16_gemm_12x16c2_avx512bf16`, a 12 x 16 tile of `vdpbf16ps`.
//!
//! Per pair of k: one 64-byte load of B (16 columns x 2 bf16), and per row a broadcast of the
//! row's bf16 pair of A and one `vdpbf16ps`, which in each f32 lane adds the two products of
//! the pairs to the lane: 32 multiply-adds per instruction, 2x an f32 FMA. Twelve rows give
//! twelve independent accumulator chains, enough to cover the instruction's latency; with the
//! B vector and the broadcast that is 14 of the 32 zmm registers. The finished tile goes
//! through the f32 GEMM's AVX-512 epilogue (`gemm::epilogue_16`), the same operations as
//! [`Epilogue::apply`](crate::Epilogue::apply).

use super::frame::{self, ItemArgs, MicroKernel, TileDst};
use super::{Bf16GemmItemFn, Bf16RoundFn, KR, MR, NR};
use crate::dispatch::{kernel, Kernel};
use crate::gemm::{epilogue_16, EpilogueCols};
use crate::tier::{self, Tier};
use std::arch::x86_64::*;

/// Proof that the CPU has AVX-512F and AVX-512 BF16, and the micro-kernel that needs them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bf16x12x16 {
    _detected: (),
}

/// The AVX-512 BF16 work item, if this CPU has AVX-512 BF16 (and the AVX-512 tier).
pub(super) fn avx512_bf16_kernel() -> Option<Kernel<Bf16GemmItemFn>> {
    (Tier::Avx512.is_available() && tier::avx512_bf16_detected())
        .then_some(kernel!(bf16_gemm_12x16c2_avx512bf16))
}

/// Runs one work item with the AVX-512 BF16 micro-kernel.
fn bf16_gemm_12x16c2_avx512bf16(args: ItemArgs) {
    // SAFETY: only `avx512_bf16_kernel()` hands this function out, after AVX-512F and
    // AVX-512 BF16 were detected.
    unsafe { run_item_bf16(Bf16x12x16 { _detected: () }, args) }
}

/// The bf16 loops compiled with AVX-512F + BF16, so the micro-kernel inlines into them.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 BF16.
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn run_item_bf16(kernel: Bf16x12x16, args: ItemArgs) {
    frame::run_item(kernel, args)
}

impl MicroKernel for Bf16x12x16 {
    #[inline(always)]
    fn tile(self, groups: usize, a: &[u16], b: &[u16], dst: TileDst) {
        assert!(a.len() >= groups * MR * KR && b.len() >= groups * NR * KR);
        // SAFETY: `self` exists only if AVX-512F and BF16 were detected; the assert bounds the
        // reads of a and b, and the asserts below every write of c (MR rows of NR, ldc apart).
        unsafe {
            let acc = sums_12x16(groups, a.as_ptr(), b.as_ptr());
            match dst {
                TileDst::Sums(t) => {
                    for (i, &v) in acc.iter().enumerate() {
                        _mm512_storeu_ps(t[i * NR..][..NR].as_mut_ptr(), v);
                    }
                }
                TileDst::C { c, ldc, epi } => {
                    assert!(c.len() >= (MR - 1) * ldc + NR);
                    let cols = epi.map(|(e, col0)| EpilogueCols::new(e, col0));
                    for (i, &v) in acc.iter().enumerate() {
                        let y = match &cols {
                            Some(e) => epilogue_16(e, v),
                            None => v,
                        };
                        _mm512_storeu_ps(c[i * ldc..].as_mut_ptr(), y);
                    }
                }
            }
        }
    }
}

/// The sums of a 12 x 16 tile: per pair of k, one load of B, and per row a broadcast of the
/// row's pair of A and one `vdpbf16ps`.
///
/// # Safety
/// AVX-512F and BF16 must be available; `a` readable for `groups·MR·2` bf16, `b` for
/// `groups·NR·2`.
#[inline(always)]
unsafe fn sums_12x16(groups: usize, a: *const u16, b: *const u16) -> [__m512; MR] {
    // SAFETY: the caller upholds this function's `# Safety` contract (the CPU features it
    // needs were detected; every pointer it is given is valid for the reads and writes it makes).
    unsafe {
        let mut acc = [_mm512_setzero_ps(); MR];
        for g in 0..groups {
            let bg: __m512bh = std::mem::transmute(_mm512_loadu_si512(b.add(g * NR * KR).cast()));
            let ag = a.add(g * MR * KR);
            for (i, row) in acc.iter_mut().enumerate() {
                let pair = ag.add(i * KR).cast::<i32>().read_unaligned();
                let ai: __m512bh = std::mem::transmute(_mm512_set1_epi32(pair));
                *row = _mm512_dpbf16_ps(*row, ai, bg);
            }
        }
        acc
    }
}

/// `vcvtne2ps2bf16` over a slice, if this CPU has AVX-512 BF16: the hardware's rounding, which
/// [`crate::bf16::f32_to_bf16`] reproduces (the tests compare the two).
pub(super) fn round_kernel() -> Option<Kernel<Bf16RoundFn>> {
    (Tier::Avx512.is_available() && tier::avx512_bf16_detected()).then_some(kernel!(bf16_round_16_avx512bf16))
}

/// `dst[i] = bf16(src[i])` with `vcvtneps2bf16`, 16 floats per instruction (a masked load for
/// the tail). Lengths must be equal.
fn bf16_round_16_avx512bf16(src: &[f32], dst: &mut [u16]) {
    assert_eq!(src.len(), dst.len());
    for (s, d) in src.chunks(16).zip(dst.chunks_mut(16)) {
        let mut out = [0u16; 16];
        // SAFETY: only `round_kernel()` hands this function out, after AVX-512F and BF16 were
        // detected; the masked load reads `s.len() <= 16` floats, the store writes `out`.
        unsafe { round_16(s, &mut out) };
        d.copy_from_slice(&out[..d.len()]);
    }
}

/// Rounds `s` (at most 16 floats) into `out[..s.len()]`.
///
/// # Safety
/// AVX-512F and BF16 must be available; `s.len() <= 16`.
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn round_16(s: &[f32], out: &mut [u16; 16]) {
    // SAFETY: the caller upholds this function's `# Safety` contract (the CPU features it
    // needs were detected; every pointer it is given is valid for the reads and writes it makes).
    unsafe {
        let mask: __mmask16 = ((1u32 << s.len()) - 1) as __mmask16;
        let v = _mm512_maskz_loadu_ps(mask, s.as_ptr());
        let h: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(v));
        _mm256_storeu_si256(out.as_mut_ptr().cast(), h);
    }
}
