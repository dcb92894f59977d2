//! The x86_64 int8 tiers: `i8_gemm_8x16c4_avx512vnni` (VNNI's `vpdpbusd`) and
//! `i8_gemm_8x16c4_avx2` (exact 16-bit products with `vpmaddwd`).
//!
//! # AVX-512 VNNI: one zmm accumulator per row of the 8 x 16 tile
//!
//! Per group of 4 k: one 64-byte load of B (16 columns x 4 k), and per row a broadcast of
//! that row's 4 bytes of A and one `vpdpbusd`, which in each 32-bit lane multiplies the 4 u8
//! of A by the 4 i8 of B and adds the 4 products to the lane: 64 multiply-adds per
//! instruction, 4x an f32 FMA. `vpdpbusd` never saturates (the 4 products and the lane are
//! summed in full 32-bit precision); its sibling `vpdpbusds`, and SSSE3/AVX2's `vpmaddubsw`
//! (which saturates a pair of products to i16: 255·127 + 255·127 overflows), would round
//! some sums and are never used.
//!
//! # AVX2: widen to i16, multiply pairs with `vpmaddwd`
//!
//! Without VNNI the same c4 panels are widened: 16 bytes of B (4 columns x 4 k) become 16
//! i16 (`vpmovsxbw`), a row's 4 bytes of A become 4 i16 repeated (`vpmovzxbw`), and
//! `vpmaddwd` multiplies i16 pairs and adds each pair into an i32 lane: exact, since
//! `|2 · 255 · 128| < 2^31`. The lanes then hold two partial sums per column (k 0-1 and k 2-3);
//! `vphaddd` adds them at the end of the tile. Integer sums are exact in any order, so this
//! tier matches VNNI bit for bit. The 8 x 16 tile runs as four 4 x 8 passes (8 accumulators
//! each) to fit the 16 ymm registers.
//!
//! Both store a finished tile with the same requantization, one IEEE operation at a time in
//! the order of [`Requantize::apply_u8`](crate::quant::Requantize::apply_u8) (see
//! [`crate::quant`]): subtract the zero-point correction, convert, multiply, add, `max`/`min`
//! (operand order as in `max_like_x86`), optional post step, clamp to the u8 range, convert
//! with round-half-to-even, add the zero point.

use super::frame::{self, ItemArgs, MicroKernel, TileDst, TileEpilogue};
use super::{KR, MR, NR};
use crate::dispatch::{kernel, Kernel};
use crate::tier::{self, Tier};
use std::arch::x86_64::*;

use super::I8GemmItemFn;

/// Proof that the CPU has AVX-512F and AVX-512 VNNI, and the micro-kernel that needs them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vnni8x16 {
    _detected: (),
}

/// Proof that the CPU has AVX2, and the micro-kernel that needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx2x8x16 {
    _detected: (),
}

/// The AVX2 work item, if this CPU has AVX2 (and FMA, the AVX2 tier's baseline).
pub(super) fn avx2_kernel() -> Option<Kernel<I8GemmItemFn>> {
    Tier::Avx2.is_available().then_some(kernel!(i8_gemm_8x16c4_avx2))
}

/// The VNNI work item if this CPU has AVX-512 VNNI, else the AVX2 one (an AVX-512F CPU
/// without VNNI, such as Skylake-X, still runs the AVX-512 tier).
pub(super) fn avx512_kernel() -> Option<Kernel<I8GemmItemFn>> {
    if Tier::Avx512.is_available() && tier::avx512_vnni_detected() {
        Some(kernel!(i8_gemm_8x16c4_avx512vnni))
    } else {
        avx2_kernel()
    }
}

/// Runs one work item with the VNNI micro-kernel.
fn i8_gemm_8x16c4_avx512vnni(args: ItemArgs) {
    // SAFETY: only `avx512_kernel()` hands this function out, after AVX-512F and VNNI were
    // detected.
    unsafe { run_item_vnni(Vnni8x16 { _detected: () }, args) }
}

/// Runs one work item with the AVX2 micro-kernel.
fn i8_gemm_8x16c4_avx2(args: ItemArgs) {
    // SAFETY: only `avx2_kernel()` / `avx512_kernel()` hand this function out, after AVX2 was
    // detected.
    unsafe { run_item_avx2(Avx2x8x16 { _detected: () }, args) }
}

/// The int8 loops compiled with AVX-512F + VNNI, so the micro-kernel inlines into them.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 VNNI.
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn run_item_vnni(kernel: Vnni8x16, args: ItemArgs) {
    frame::run_item(kernel, args)
}

/// The int8 loops compiled with AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
unsafe fn run_item_avx2(kernel: Avx2x8x16, args: ItemArgs) {
    frame::run_item(kernel, args)
}

/// Checks the operand lengths every micro-kernel relies on, and the destination's.
#[inline(always)]
fn check_tile(groups: usize, a: &[u8], b: &[i8], dst: &TileDst) {
    assert!(a.len() >= groups * MR * KR && b.len() >= groups * NR * KR);
    match dst {
        TileDst::S32(_) => {}
        TileDst::U8 { c, ldc, .. } => assert!(c.len() >= (MR - 1) * ldc + NR),
        TileDst::F32 { c, ldc, .. } => assert!(c.len() >= (MR - 1) * ldc + NR),
    }
}

impl MicroKernel for Vnni8x16 {
    #[inline(always)]
    fn tile(self, groups: usize, a: &[u8], b: &[i8], dst: TileDst) {
        check_tile(groups, a, b, &dst);
        // SAFETY: `self` exists only if AVX-512F and VNNI were detected; `check_tile` bounds
        // every read of a and b and every write of c (MR rows of NR, ldc apart).
        unsafe {
            let acc = sums_8x16_vnni(groups, a.as_ptr(), b.as_ptr());
            match dst {
                TileDst::S32(t) => {
                    for (i, v) in acc.iter().enumerate() {
                        _mm512_storeu_si512(t[i * NR..].as_mut_ptr().cast(), *v);
                    }
                }
                TileDst::U8 { c, ldc, epi } => {
                    let e = Epi16::new(epi);
                    for (i, &v) in acc.iter().enumerate() {
                        let q = e.to_u8(v);
                        _mm_storeu_si128(c[i * ldc..].as_mut_ptr().cast(), q);
                    }
                }
                TileDst::F32 { c, ldc, epi } => {
                    let e = Epi16::new(epi);
                    for (i, &v) in acc.iter().enumerate() {
                        _mm512_storeu_ps(c[i * ldc..].as_mut_ptr(), e.to_f32(v));
                    }
                }
            }
        }
    }
}

/// The raw sums of an 8 x 16 tile: per group, one load of B, and per row a broadcast of the
/// row's 4 bytes of A and one `vpdpbusd`.
///
/// # Safety
/// AVX-512F and VNNI must be available; `a` readable for `groups·MR·4` bytes, `b` for
/// `groups·NR·4`.
#[inline(always)]
unsafe fn sums_8x16_vnni(groups: usize, a: *const u8, b: *const i8) -> [__m512i; MR] {
    // SAFETY: the caller upholds this function's `# Safety` contract (the CPU features it
    // needs were detected; every pointer it is given is valid for the reads and writes it makes).
    unsafe {
        let mut acc = [_mm512_setzero_si512(); MR];
        for g in 0..groups {
            let bg = _mm512_loadu_si512(b.add(g * NR * KR).cast());
            let ag = a.add(g * MR * KR);
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm512_set1_epi32(ag.add(i * KR).cast::<i32>().read_unaligned());
                *row = _mm512_dpbusd_epi32(*row, ai, bg);
            }
        }
        acc
    }
}

/// The requantization of 16 columns in zmm registers (loaded once per tile).
struct Epi16 {
    corr: __m512i,
    scale: __m512,
    bias: __m512,
    lo: __m512,
    hi: __m512,
    post: Option<(__m512, __m512)>,
    zp_lo: __m512,
    zp_hi: __m512,
    zp: __m512i,
}

impl Epi16 {
    /// Loads the tile's columns of `e`.
    ///
    /// # Safety
    /// AVX-512F must be available. `e.rq`'s slices hold at least `e.col0 + NR` columns (the
    /// frame only builds full tiles inside n).
    #[inline(always)]
    unsafe fn new(e: &TileEpilogue) -> Epi16 {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU features it
        // needs were detected; every pointer it is given is valid for the reads and writes it makes).
        unsafe {
            let cols = |s: &[f32]| _mm512_loadu_ps(s[e.col0..e.col0 + NR].as_ptr());
            let zp = e.rq.output_zero_point;
            Epi16 {
                corr: _mm512_loadu_si512(e.corr.as_ptr().cast()),
                scale: cols(e.rq.scale),
                bias: cols(e.rq.bias),
                lo: _mm512_set1_ps(e.rq.clamp.0),
                hi: _mm512_set1_ps(e.rq.clamp.1),
                post: e.rq.post.map(|p| (cols(p.scale), cols(p.shift))),
                zp_lo: _mm512_set1_ps(-(zp as f32)),
                zp_hi: _mm512_set1_ps(255.0 - zp as f32),
                zp: _mm512_set1_epi32(zp as i32),
            }
        }
    }

    /// `Requantize::apply_f32` on 16 raw sums.
    #[inline(always)]
    unsafe fn to_f32(&self, raw: __m512i) -> __m512 {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU features it
        // needs were detected; every pointer it is given is valid for the reads and writes it makes).
        unsafe {
            let acc = _mm512_sub_epi32(raw, self.corr);
            let mut v = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), self.scale), self.bias);
            // max(v, lo) = v > lo ? v : lo, as `max_like_x86` (min likewise).
            v = _mm512_min_ps(_mm512_max_ps(v, self.lo), self.hi);
            if let Some((ps, pt)) = self.post {
                v = _mm512_add_ps(_mm512_mul_ps(v, ps), pt);
            }
            v
        }
    }

    /// `Requantize::apply_u8` on 16 raw sums, as 16 bytes.
    #[inline(always)]
    unsafe fn to_u8(&self, raw: __m512i) -> __m128i {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU features it
        // needs were detected; every pointer it is given is valid for the reads and writes it makes).
        unsafe {
            let v = _mm512_min_ps(_mm512_max_ps(self.to_f32(raw), self.zp_lo), self.zp_hi);
            let q = _mm512_cvt_roundps_epi32::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v);
            // Every lane is in 0..=255 here, so truncating to a byte is exact.
            _mm512_cvtepi32_epi8(_mm512_add_epi32(q, self.zp))
        }
    }
}

impl MicroKernel for Avx2x8x16 {
    #[inline(always)]
    fn tile(self, groups: usize, a: &[u8], b: &[i8], dst: TileDst) {
        check_tile(groups, a, b, &dst);
        let mut dst = dst;
        // SAFETY: `self` exists only if AVX2 was detected; `check_tile` bounds every read of a
        // and b and every write of c; the pass offsets stay inside the MR x NR tile.
        unsafe {
            for r0 in [0, MR / 2] {
                for c0 in [0, NR / 2] {
                    let sums = sums_4x8_avx2(groups, a.as_ptr().add(r0 * KR), b.as_ptr().add(c0 * KR));
                    store_4x8_avx2(&sums, r0, c0, &mut dst);
                }
            }
        }
    }
}

/// The raw sums of rows `r0 .. r0 + 4` (a already offset), columns `c0 .. c0 + 8` (b already
/// offset) of the tile, one ymm of 8 columns per row.
///
/// # Safety
/// AVX2 must be available; `a`, `b` as for the tile, offset by less than one group.
#[inline(always)]
unsafe fn sums_4x8_avx2(groups: usize, a: *const u8, b: *const i8) -> [__m256i; 4] {
    // SAFETY: the caller upholds this function's `# Safety` contract (the CPU features it
    // needs were detected; every pointer it is given is valid for the reads and writes it makes).
    unsafe {
        // acc[r][q]: lanes (column 4q + l / 2, k pair l % 2) for l in 0..8.
        let mut acc = [[_mm256_setzero_si256(); 2]; 4];
        for g in 0..groups {
            let bg = b.add(g * NR * KR);
            // 4 columns x 4 k each, widened: lane pairs (col, k01), (col, k23).
            let b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(bg.cast()));
            let b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(bg.add(16).cast()));
            let ag = a.add(g * MR * KR);
            for (r, row) in acc.iter_mut().enumerate() {
                // The row's 4 bytes as 4 i16, repeated: (a0 a1) (a2 a3) (a0 a1) ...
                let quad = ag.add(r * KR).cast::<i32>().read_unaligned();
                let ar = _mm256_cvtepu8_epi16(_mm_set1_epi32(quad));
                row[0] = _mm256_add_epi32(row[0], _mm256_madd_epi16(ar, b0));
                row[1] = _mm256_add_epi32(row[1], _mm256_madd_epi16(ar, b1));
            }
        }
        // hadd pairs within 128-bit halves: [c0 c1 c4 c5 | c2 c3 c6 c7] -> reorder the 64-bit quarters.
        acc.map(|[q0, q1]| _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_hadd_epi32(q0, q1)))
    }
}

/// Stores 4 rows x 8 columns of raw sums (tile rows `r0..`, columns `c0..`) into `dst`.
///
/// # Safety
/// AVX2 must be available; `dst` as checked by `check_tile`, `r0 + 4 <= MR`, `c0 + 8 <= NR`.
#[inline(always)]
unsafe fn store_4x8_avx2(sums: &[__m256i; 4], r0: usize, c0: usize, dst: &mut TileDst) {
    // SAFETY: the caller upholds this function's `# Safety` contract (the CPU features it
    // needs were detected; every pointer it is given is valid for the reads and writes it makes).
    unsafe {
        match dst {
            TileDst::S32(t) => {
                for (r, v) in sums.iter().enumerate() {
                    _mm256_storeu_si256(t[(r0 + r) * NR + c0..].as_mut_ptr().cast(), *v);
                }
            }
            TileDst::U8 { c, ldc, epi } => {
                let e = Epi8::new(epi, c0);
                for (r, &v) in sums.iter().enumerate() {
                    _mm_storel_epi64(c[(r0 + r) * *ldc + c0..].as_mut_ptr().cast(), e.to_u8(v));
                }
            }
            TileDst::F32 { c, ldc, epi } => {
                let e = Epi8::new(epi, c0);
                for (r, &v) in sums.iter().enumerate() {
                    _mm256_storeu_ps(c[(r0 + r) * *ldc + c0..].as_mut_ptr(), e.to_f32(v));
                }
            }
        }
    }
}

/// The requantization of 8 columns in ymm registers.
struct Epi8 {
    corr: __m256i,
    scale: __m256,
    bias: __m256,
    lo: __m256,
    hi: __m256,
    post: Option<(__m256, __m256)>,
    zp_lo: __m256,
    zp_hi: __m256,
    zp: __m256i,
}

impl Epi8 {
    /// Loads tile columns `c0 .. c0 + 8` of `e`.
    ///
    /// # Safety
    /// AVX2 must be available; `c0 + 8 <= NR` and `e.rq`'s slices hold `e.col0 + NR` columns.
    #[inline(always)]
    unsafe fn new(e: &TileEpilogue, c0: usize) -> Epi8 {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU features it
        // needs were detected; every pointer it is given is valid for the reads and writes it makes).
        unsafe {
            let at = e.col0 + c0;
            let cols = |s: &[f32]| _mm256_loadu_ps(s[at..at + 8].as_ptr());
            let zp = e.rq.output_zero_point;
            Epi8 {
                corr: _mm256_loadu_si256(e.corr[c0..c0 + 8].as_ptr().cast()),
                scale: cols(e.rq.scale),
                bias: cols(e.rq.bias),
                lo: _mm256_set1_ps(e.rq.clamp.0),
                hi: _mm256_set1_ps(e.rq.clamp.1),
                post: e.rq.post.map(|p| (cols(p.scale), cols(p.shift))),
                zp_lo: _mm256_set1_ps(-(zp as f32)),
                zp_hi: _mm256_set1_ps(255.0 - zp as f32),
                zp: _mm256_set1_epi32(zp as i32),
            }
        }
    }

    /// `Requantize::apply_f32` on 8 raw sums.
    #[inline(always)]
    unsafe fn to_f32(&self, raw: __m256i) -> __m256 {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU features it
        // needs were detected; every pointer it is given is valid for the reads and writes it makes).
        unsafe {
            let acc = _mm256_sub_epi32(raw, self.corr);
            let mut v = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc), self.scale), self.bias);
            v = _mm256_min_ps(_mm256_max_ps(v, self.lo), self.hi);
            if let Some((ps, pt)) = self.post {
                v = _mm256_add_ps(_mm256_mul_ps(v, ps), pt);
            }
            v
        }
    }

    /// `Requantize::apply_u8` on 8 raw sums, in the low 8 bytes.
    #[inline(always)]
    unsafe fn to_u8(&self, raw: __m256i) -> __m128i {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU features it
        // needs were detected; every pointer it is given is valid for the reads and writes it makes).
        unsafe {
            let v = _mm256_min_ps(_mm256_max_ps(self.to_f32(raw), self.zp_lo), self.zp_hi);
            // Round half to even explicitly (not through MXCSR), then convert the integral value.
            let r = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v);
            let q = _mm256_add_epi32(_mm256_cvttps_epi32(r), self.zp);
            // 0..=255 in every lane: the saturating packs are exact.
            let q16 = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256::<1>(q));
            _mm_packus_epi16(q16, q16)
        }
    }
}
