//! bf16 GEMM tests: every tier against the naive oracle on plain (unpacked) f32 matrices.
//!
//! The oracle rounds A and B to bf16 and sums each output's pairs in `vdpbf16ps`'s order, so
//! the tiers must match it exactly: bit for bit before the epilogue (identity epilogue), and
//! as floats after it (the f32 epilogue may turn a −0.0 into +0.0 in one path and not the
//! other, as in the f32 GEMM). Shapes sweep around the 12 x 16 tile and odd k; one test puts
//! the products next to the subnormal range, where `vdpbf16ps` flushes; another checks the
//! result is within bf16's rounding of the f32 product.

use mobilenet_unet_kernels::gemm::MatrixA;
use mobilenet_unet_kernels::gemm_bf16::{self, reference, PackedB, MR, NR};
use mobilenet_unet_kernels::{Epilogue, KernelError, Tier};
use proptest::prelude::*;

mod common;
use common::{tiers, with_threads, EpilogueData, Rng, COMBOS};

#[derive(Debug, Clone)]
struct Bf16Problem {
    m: usize,
    k: usize,
    n: usize,
    lda: usize,
    ldc: usize,
    a: Vec<f32>,
    b: Vec<f32>,
    epi: EpilogueData,
}

impl Bf16Problem {
    fn new(m: usize, k: usize, n: usize, pads: (usize, usize), combo: u8, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let lda = k + pads.0;
        Bf16Problem {
            m,
            k,
            n,
            lda,
            ldc: n + pads.1,
            a: rng.vec(m * lda, -2.0, 2.0),
            b: rng.vec(k * n, -2.0, 2.0),
            epi: EpilogueData::random(combo, n, (-4.0, 9.0), &mut rng),
        }
    }

    fn c_len(&self) -> usize {
        self.m * self.ldc + 5
    }

    fn shape(&self) -> String {
        format!(
            "m={} k={} n={} lda={} ldc={} epilogue={:?}",
            self.m,
            self.k,
            self.n,
            self.lda,
            self.ldc,
            self.epi.epilogue()
        )
    }

    fn expected(&self) -> Vec<f32> {
        let mut c = vec![f32::NAN; self.c_len()];
        reference::gemm_bf16_reference(
            (self.m, self.k, self.n),
            &self.a,
            self.lda,
            &self.b,
            self.n,
            &mut c,
            self.ldc,
            &self.epi.epilogue(),
        )
        .unwrap();
        c
    }

    fn run(&self, tier: Tier) -> Vec<f32> {
        let packed = PackedB::pack(&self.b, self.k, self.n).unwrap();
        let a = MatrixA::new(&self.a, self.m, self.k, self.lda).unwrap();
        let mut c = vec![f32::NAN; self.c_len()];
        gemm_bf16::gemm_with_tier(tier, &a, &packed, &mut c, self.ldc, &self.epi.epilogue()).unwrap();
        c
    }

    /// Every tier equal to the oracle: the same bits with the identity epilogue, equal floats
    /// (or both NaN) otherwise; NaN outside the m x n window stays NaN.
    fn check_every_tier(&self) -> Result<(), String> {
        let want = self.expected();
        let bits = self.epi.epilogue().is_identity();
        for tier in tiers() {
            let got = self.run(tier);
            let same = |x: f32, y: f32| {
                if bits {
                    x.to_bits() == y.to_bits()
                } else {
                    x == y || (x.is_nan() && y.is_nan())
                }
            };
            let bad: Vec<usize> = (0..want.len()).filter(|&i| !same(got[i], want[i])).collect();
            if !bad.is_empty() {
                let show: Vec<String> = bad
                    .iter()
                    .take(6)
                    .map(|&i| {
                        format!(
                            "C[{}][{}] found {:e} expected {:e}",
                            i / self.ldc,
                            i % self.ldc,
                            got[i],
                            want[i]
                        )
                    })
                    .collect();
                return Err(format!(
                    "tier {tier} {}: {} wrong: {}",
                    self.shape(),
                    bad.len(),
                    show.join("; ")
                ));
            }
        }
        Ok(())
    }
}

fn m_dim() -> impl Strategy<Value = usize> {
    prop_oneof![
        1usize..=14,
        Just(MR - 1),
        Just(MR + 1),
        Just(2 * MR + 1),
        Just(37)
    ]
}

fn n_dim() -> impl Strategy<Value = usize> {
    prop_oneof![
        1usize..=17,
        Just(NR - 1),
        Just(2 * NR - 1),
        Just(2 * NR),
        Just(2 * NR + 1),
        Just(63),
        Just(65)
    ]
}

/// Odd and even reductions, short and past the f32 packer's KC = 320.
fn k_dim() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..=9, Just(31), Just(32), Just(33), 300usize..700]
}

fn problem() -> impl Strategy<Value = Bf16Problem> {
    (
        m_dim(),
        k_dim(),
        n_dim(),
        (0usize..3, 0usize..4),
        0u8..COMBOS,
        any::<u64>(),
    )
        .prop_map(|(m, k, n, pads, combo, seed)| Bf16Problem::new(m, k, n, pads, combo, seed))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_tier_matches_reference(p in problem()) {
        p.check_every_tier().map_err(TestCaseError::fail)?;
    }
}

#[test]
fn identity_epilogue_is_bit_exact_on_edge_and_full_tiles() {
    for (m, k, n) in [
        (MR, 2, NR),
        (MR + 1, 7, NR + 1),
        (2 * MR + 5, 321, 2 * NR + 3),
        (1, 1, 1),
    ] {
        Bf16Problem::new(m, k, n, (1, 2), 0, k as u64)
            .check_every_tier()
            .unwrap();
    }
}

#[test]
fn products_next_to_the_subnormal_range_flush_like_the_hardware() {
    // |a|, |b| around 2^-63: products around 2^-126, the smallest normal f32, so many partial
    // sums are subnormal and `vdpbf16ps` flushes them to signed zeros.
    let mut p = Bf16Problem::new(2 * MR + 1, 41, 2 * NR + 1, (0, 0), 0, 5);
    let mut rng = Rng::new(9);
    for v in p.a.iter_mut().chain(p.b.iter_mut()) {
        *v = rng.next_f32(-1.0, 1.0) * 2f32.powi(-62 - (rng.next_f32(0.0, 3.0) as i32));
    }
    let want = p.expected();
    let zeros = (0..p.m)
        .filter(|&i| (0..p.n).any(|j| want[i * p.ldc + j] == 0.0))
        .count();
    assert!(zeros > 0, "the data must reach the flush");
    p.check_every_tier().unwrap();
}

#[test]
fn result_is_within_bf16_rounding_of_the_f32_product() {
    let p = Bf16Problem::new(29, 500, 37, (0, 0), 0, 21);
    let got = p.run(Tier::active().unwrap());
    for i in 0..p.m {
        for j in 0..p.n {
            let terms = (0..p.k).map(|kk| (p.a[i * p.lda + kk] as f64, p.b[kk * p.n + j] as f64));
            let (exact, mag) = terms.fold((0.0, 0.0), |(s, m), (x, y)| (s + x * y, m + (x * y).abs()));
            // Each operand is off by at most 2^-9 relative, each product by about 2^-8; the
            // f32 sum adds k roundings.
            let bound = mag * (2f64.powi(-8) + 2f64.powi(-16) + (p.k as f64 + 2.0) * f32::EPSILON as f64);
            let err = (got[i * p.ldc + j] as f64 - exact).abs();
            assert!(
                err <= bound,
                "C[{i}][{j}] = {} exact {exact} err {err} bound {bound}",
                got[i * p.ldc + j]
            );
        }
    }
}

#[test]
fn k_zero_gives_the_epilogue_of_zero() {
    Bf16Problem::new(MR + 2, 0, NR + 3, (0, 2), 7, 1)
        .check_every_tier()
        .unwrap();
}

#[test]
fn thread_count_does_not_change_bits() {
    for (m, k, n) in [(196, 300, 40), (400, 77, 70)] {
        let p = Bf16Problem::new(m, k, n, (0, 3), 23, m as u64);
        for tier in tiers() {
            let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
            let (one, two) = (
                bits(with_threads(1, || p.run(tier))),
                bits(with_threads(2, || p.run(tier))),
            );
            assert_eq!(one, two, "tier {tier} {m}x{k}x{n}: 1 and 2 threads differ");
        }
    }
}

#[test]
fn every_tier_names_its_kernel() {
    for tier in tiers() {
        let name = gemm_bf16::kernel_name(tier).unwrap();
        println!("{tier}: {name}");
        assert!(name.starts_with("bf16_gemm"), "{name}");
    }
}

#[test]
fn packed_b_holds_the_rounded_weights() {
    let b = [1.0f32, 1.0 + 2f32.powi(-8), -3.0, 0.1, 5.0, 6.0]; // 3 x 2
    let p = PackedB::pack(&b, 3, 2).unwrap();
    let bits: Vec<u16> = b
        .iter()
        .map(|&v| mobilenet_unet_kernels::bf16::f32_to_bf16(v))
        .collect();
    assert_eq!(p.to_row_major_bits(), bits);
    assert_eq!((p.k(), p.n(), p.panels()), (3, 2, 1));
    assert!(PackedB::pack(&b, 2, 2).is_err());
}

#[test]
fn bad_arguments_are_errors() {
    let b = PackedB::pack(&[0.0; 12], 3, 4).unwrap();
    let a_data = [0.0f32; 6];
    let a = MatrixA::new(&a_data, 2, 3, 3).unwrap();
    let mut c = vec![0.0; 8];
    let e = Epilogue::IDENTITY;
    for tier in tiers() {
        assert!(matches!(
            gemm_bf16::gemm_with_tier(tier, &a, &b, &mut c[..7], 4, &e),
            Err(KernelError::LengthMismatch { what: "c", .. })
        ));
        assert!(gemm_bf16::gemm_with_tier(tier, &a, &b, &mut c, 3, &e).is_err());
        let a2 = MatrixA::new(&a_data, 3, 2, 2).unwrap();
        assert!(gemm_bf16::gemm_with_tier(tier, &a2, &b, &mut c, 4, &e).is_err());
        let bias = [0.0; 3];
        assert!(gemm_bf16::gemm_with_tier(
            tier,
            &a,
            &b,
            &mut c,
            4,
            &Epilogue::bias_act(&bias, Default::default())
        )
        .is_err());
        assert!(gemm_bf16::gemm_with_tier(tier, &a, &b, &mut c, 4, &e).is_ok());
    }
}

#[test]
fn rounding_to_bf16_matches_the_hardware_on_random_bit_patterns() {
    // Every tier against the scalar definition; on an AVX512_BF16 CPU the avx512 tier is
    // `vcvtneps2bf16` itself. Random bit patterns cover NaNs, infinities, subnormals and ties.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut src: Vec<f32> = (0..1 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            f32::from_bits((state >> 16) as u32)
        })
        .collect();
    let specials = [
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MAX,
        f32::MIN_POSITIVE,
    ];
    src.extend(specials.iter().chain(&[
        f32::from_bits(1),
        f32::from_bits(0x3F80_8000),
        f32::from_bits(0xFF80_0001),
    ]));
    let want: Vec<u16> = src
        .iter()
        .map(|&x| mobilenet_unet_kernels::bf16::f32_to_bf16(x))
        .collect();
    for tier in tiers() {
        let mut got = vec![0u16; src.len()];
        gemm_bf16::round_to_bf16_with_tier(tier, &src, &mut got).unwrap();
        let bad = (0..src.len()).find(|&i| got[i] != want[i]);
        assert!(
            bad.is_none(),
            "tier {tier}: {:?}",
            bad.map(|i| (src[i].to_bits(), got[i], want[i]))
        );
    }
}
