//! GEMM tests: every tier against the naive oracle on plain (unpacked) matrices.
//!
//! Shapes sweep around the register tile (MR, NR), the K block (KC) and the M block (MC); C is
//! pre-filled with NaN and has spare columns (ldc > n) and a spare tail that must stay NaN; the
//! epilogue data straddles the ReLU6 bounds; tolerances scale with k and with Σ|a|·|b|.

use mobilenet_unet_kernels::gemm::{self, reference, MatrixA, PackA, PackedB, KC, MC, MR, NR};
use mobilenet_unet_kernels::{Activation, Epilogue, KernelError, Tier};
use proptest::prelude::*;

mod common;
use common::{compare, same_bits, tiers, with_threads, EpilogueData, Problem, Rng, Tolerance, COMBOS};

#[derive(Debug, Clone)]
struct GemmProblem {
    m: usize,
    k: usize,
    n: usize,
    lda: usize,
    ldc: usize,
    a: Vec<f32>,
    b: Vec<f32>,
    epi: EpilogueData,
}

impl GemmProblem {
    #[allow(clippy::too_many_arguments)]
    fn new(m: usize, k: usize, n: usize, lda_pad: usize, ldc_pad: usize, combo: u8, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let lda = k + lda_pad;
        // Values in [-2, 2] so products cover both clamp bounds after the epilogue.
        let a = rng.vec(m * lda, -2.0, 2.0);
        let b = rng.vec(k * n, -2.0, 2.0);
        let epi = EpilogueData::random(combo, n, (-4.0, 9.0), &mut rng);
        GemmProblem {
            m,
            k,
            n,
            lda,
            ldc: n + ldc_pad,
            a,
            b,
            epi,
        }
    }

    /// C buffer: rows of ldc plus a 5-float tail, all NaN.
    fn c_len(&self) -> usize {
        self.m * self.ldc + 5
    }

    /// The allowed error of C[i][j]: a few roundings per term of the k-long sum, magnified by
    /// the epilogue.
    fn tolerance_at(&self, i: usize, j: usize) -> f32 {
        let mag: f32 = (0..self.k)
            .map(|kk| (self.a[i * self.lda + kk] * self.b[kk * self.n + j]).abs())
            .sum();
        2.0 * (self.k as f32 + 8.0)
            * f32::EPSILON
            * (self.epi.magnitude(j, mag) + self.epi.abs_shift(j) + 1.0)
    }
}

impl Problem for GemmProblem {
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
        reference::gemm_reference(
            self.m,
            self.k,
            self.n,
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

    /// Packs B (and A per block) as the model does, into the NaN-filled C.
    fn run(&self, tier: Tier) -> Vec<f32> {
        let packed = PackedB::pack(&self.b, self.k, self.n).unwrap();
        let a = MatrixA::new(&self.a, self.m, self.k, self.lda).unwrap();
        let mut c = vec![f32::NAN; self.c_len()];
        gemm::gemm_with_tier(tier, &a, &packed, &mut c, self.ldc, &self.epi.epilogue()).unwrap();
        c
    }

    /// Elements outside the m x n block are NaN in `expected`, so they must stay NaN.
    fn tolerance(&self, _expected: &[f32]) -> Tolerance {
        let bound = |idx: usize| {
            let (i, j) = (idx / self.ldc, idx % self.ldc);
            if i < self.m && j < self.n {
                self.tolerance_at(i, j)
            } else {
                0.0
            }
        };
        Tolerance::Within((0..self.c_len()).map(bound).collect())
    }

    fn locate(&self, idx: usize) -> String {
        let (i, j) = (idx / self.ldc, idx % self.ldc);
        let outside = if i < self.m && j < self.n {
            ""
        } else {
            " (outside)"
        };
        format!("C[{i}][{j}]{outside}")
    }
}

/// Sizes around the register tile: 1..17, tile±1, 2·tile, primes.
fn mn_dim() -> impl Strategy<Value = usize> {
    prop_oneof![
        1usize..=17,
        Just(MR - 1),
        Just(MR + 1),
        Just(2 * MR),
        Just(NR - 1),
        Just(NR + 1),
        Just(2 * NR),
        Just(2 * NR + 1),
        Just(31),
        Just(37),
    ]
}

/// Reduction lengths around KC as well as tiny ones.
fn k_dim() -> impl Strategy<Value = usize> {
    prop_oneof![
        1usize..=17,
        Just(KC - 1),
        Just(KC),
        Just(KC + 1),
        Just(2 * KC + 3),
        Just(61)
    ]
}

fn problem() -> impl Strategy<Value = GemmProblem> {
    (
        mn_dim(),
        k_dim(),
        mn_dim(),
        0usize..3,
        prop_oneof![Just(0usize), 1usize..9],
        0u8..COMBOS,
        any::<u64>(),
    )
        .prop_map(|(m, k, n, lp, cp, combo, seed)| GemmProblem::new(m, k, n, lp, cp, combo, seed))
}

/// Shapes that split into several M blocks (m > MC) and several K blocks (k > KC), with a
/// ragged last B panel (n not a multiple of NR): the block loops of `frame.rs`, which the
/// small shapes of [`problem`] never leave.
fn blocked_problem() -> impl Strategy<Value = GemmProblem> {
    let m = prop_oneof![
        Just(MC + 1),
        Just(MC + MR + 1),
        Just(2 * MC + 7),
        (MC + 1)..=(2 * MC + MR)
    ];
    let k = prop_oneof![Just(KC + 1), Just(2 * KC + 3), (KC + 1)..=(2 * KC + 40)];
    let n = prop_oneof![
        Just(NR + 3),
        Just(2 * NR + 5),
        (1usize..=3 * NR).prop_filter("n not a multiple of NR", |n| n % NR != 0)
    ];
    (m, k, n, 0usize..3, 0usize..4, 0u8..COMBOS, any::<u64>())
        .prop_map(|(m, k, n, lp, cp, combo, seed)| GemmProblem::new(m, k, n, lp, cp, combo, seed))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_tier_matches_reference(p in problem()) {
        p.check_every_tier()?;
    }

    #[test]
    fn loop_reordered_equals_reference(p in problem()) {
        let mut c = vec![f32::NAN; p.c_len()];
        reference::gemm_loop_reordered(p.m, p.k, p.n, &p.a, p.lda, &p.b, p.n, &mut c, p.ldc, &p.epi.epilogue())
            .unwrap();
        // Same summation order per element, so the results are identical (NaN outside stays NaN).
        compare(&c, &p.expected(), &Tolerance::Bits, |i| p.locate(i)).map_err(TestCaseError::fail)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn every_tier_matches_reference_across_mc_and_kc_blocks(p in blocked_problem()) {
        p.check_every_tier()?;
    }
}

#[test]
fn every_epilogue_combination_on_edge_shape() {
    for combo in 0..COMBOS {
        let p = GemmProblem::new(2 * MR + 1, KC + 1, NR + 3, 1, 2, combo, 7 + combo as u64);
        p.assert_every_tier();
    }
}

#[test]
fn deep_reduction_many_k_blocks() {
    GemmProblem::new(13, 3 * KC + 17, 35, 0, 0, 5, 99).assert_every_tier();
}

#[test]
fn several_m_and_k_blocks_with_ragged_panels() {
    // 2·MC + 7 rows: two full M blocks and a ragged one whose last MR panel has 1 row;
    // 2·KC + 3: three K blocks; 2·NR + 5 columns: a ragged last B panel; ldc > n.
    GemmProblem::new(2 * MC + 7, 2 * KC + 3, 2 * NR + 5, 1, 3, 23, 41).assert_every_tier();
}

#[test]
fn k_zero_gives_epilogue_of_zero() {
    GemmProblem::new(7, 0, 18, 0, 1, 3, 5).assert_every_tier();
}

#[test]
fn thread_count_does_not_change_bits() {
    // m = 196 splits into two row blocks on 2 threads; m = 400 into several MC blocks.
    for (m, k, n) in [(196, 600, 40), (400, 300, 70), (31, 17, 33)] {
        let p = GemmProblem::new(m, k, n, 0, 3, 23, m as u64);
        for tier in tiers() {
            let one = with_threads(1, || p.run(tier));
            let two = with_threads(2, || p.run(tier));
            if let Err(e) = same_bits(&one, &two) {
                panic!("tier {tier} {m}x{k}x{n}: 1 and 2 threads differ: {e}");
            }
        }
    }
}

#[test]
fn packed_b_round_trips() {
    let mut rng = Rng::new(3);
    for (k, n) in [(1, 1), (5, NR), (KC + 2, NR + 1), (3, 2 * NR + 5)] {
        let b = rng.vec(k * n, -1.0, 1.0);
        let p = PackedB::pack(&b, k, n).unwrap();
        assert_eq!((p.k(), p.n(), p.panels()), (k, n, n.div_ceil(NR)));
        assert_eq!(p.to_row_major(), b);
    }
}

#[test]
fn matrix_a_packs_panels_with_zero_rows() {
    let a: Vec<f32> = (0..4 * 5).map(|x| x as f32).collect(); // 4 x 3 with lda 5
    let ma = MatrixA::new(&a, 4, 3, 5).unwrap();
    let mut dst = vec![f32::NAN; MR * 2];
    ma.pack_panel(1, 3, 1, 2, &mut dst);
    // dst[kk·MR + i] = A[1 + i][1 + kk]
    let mut want = vec![0.0; MR * 2];
    for i in 0..3 {
        for kk in 0..2 {
            want[kk * MR + i] = a[(1 + i) * 5 + 1 + kk];
        }
    }
    assert_eq!(dst, want);
}

#[test]
fn bad_arguments_are_errors() {
    let b = PackedB::pack(&[0.0; 12], 3, 4).unwrap();
    let a_data = [0.0; 6];
    let a = MatrixA::new(&a_data, 2, 3, 3).unwrap();
    let mut c = vec![0.0; 8];
    let e = Epilogue::IDENTITY;
    for tier in tiers() {
        assert!(matches!(
            gemm::gemm_with_tier(tier, &a, &b, &mut c[..7], 4, &e),
            Err(KernelError::LengthMismatch { what: "c", .. })
        ));
        assert!(matches!(
            gemm::gemm_with_tier(tier, &a, &b, &mut c, 3, &e),
            Err(KernelError::InvalidParams { .. })
        ));
        let bias = [0.0; 3];
        assert!(gemm::gemm_with_tier(
            tier,
            &a,
            &b,
            &mut c,
            4,
            &Epilogue::bias_act(&bias, Activation::Relu)
        )
        .is_err());
        let a2 = MatrixA::new(&a_data, 3, 2, 2).unwrap();
        assert!(gemm::gemm_with_tier(tier, &a2, &b, &mut c, 4, &e).is_err());
        assert!(gemm::gemm_with_tier(tier, &a, &b, &mut c, 4, &e).is_ok());
    }
    assert!(MatrixA::new(&a_data, 2, 3, 2).is_err());
    assert!(MatrixA::new(&a_data, 3, 3, 3).is_err());
    assert!(PackedB::pack(&[0.0; 11], 3, 4).is_err());
}

#[test]
fn matmul_matches_reference_for_any_layout() {
    let p = GemmProblem::new(9, 20, 17, 0, 0, 1, 11);
    let packed = PackedB::pack(&p.b, p.k, p.n).unwrap();
    let a = ndarray::Array2::from_shape_vec((p.m, p.k), p.a.clone()).unwrap();
    let want = p.expected();
    let got = gemm::matmul(a.view(), &packed, &p.epi.epilogue()).unwrap();
    // A column-major copy of the same matrix exercises the copying path.
    let a_t = a.t().as_standard_layout().into_owned();
    let got_t = gemm::matmul(a_t.t(), &packed, &p.epi.epilogue()).unwrap();
    for i in 0..p.m {
        for j in 0..p.n {
            let tol = p.tolerance_at(i, j);
            assert!((got[[i, j]] - want[i * p.ldc + j]).abs() <= tol, "C[{i}][{j}]");
            assert_eq!(got[[i, j]].to_bits(), got_t[[i, j]].to_bits());
        }
    }
}

#[test]
fn nan_follows_the_scalar_activation_in_full_and_edge_tiles() {
    // Rows 0 (in a full tile) and MR (an edge tile) of A hold a NaN; columns span a full NR
    // panel and a ragged one. ReLU turns a NaN accumulator into 0 (`f32::max`), ReLU6 keeps it
    // (`f32::clamp`); every tier must agree with `Activation::apply` in both kinds of tile.
    let (m, k, n) = (MR + 1, 5, NR + 3);
    for activation in [Activation::Relu, Activation::Relu6] {
        let mut p = GemmProblem::new(m, k, n, 0, 0, 0, 17);
        p.epi.activation = activation;
        p.a[2] = f32::NAN;
        p.a[MR * k + 1] = f32::NAN;
        let want = activation.apply(f32::NAN);
        for tier in tiers() {
            let c = p.run(tier);
            for i in [0, MR] {
                for j in 0..n {
                    let got = c[i * p.ldc + j];
                    assert_eq!(
                        got.is_nan(),
                        want.is_nan(),
                        "tier {tier} {activation:?} C[{i}][{j}] = {got}"
                    );
                    if !want.is_nan() {
                        assert_eq!(got, want, "tier {tier} {activation:?} C[{i}][{j}]");
                    }
                }
            }
        }
    }
}
