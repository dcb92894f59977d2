//! Channel softmax: every tier against the reference (large magnitudes, ties, 1x1 images,
//! channels around the 8-lane tile), rows summing to 1, the exponentials against `f32::exp`,
//! argument errors, thread counts.

use mobilenet_unet_kernels::softmax::{self, exp_with_tier, softmax_channels_inplace_with_tier, PAR_CHUNK};
use mobilenet_unet_kernels::{KernelError, Tier};
use ndarray::{Array4, Axis};
use proptest::prelude::*;

mod common;
use common::tiers;

/// `rows` rows of `c` logits (rows = batch·h·w).
#[derive(Debug, Clone)]
struct SoftmaxProblem {
    c: usize,
    rows: usize,
    x: Vec<f32>,
}

impl SoftmaxProblem {
    fn strategy() -> impl Strategy<Value = Self> {
        let c = prop_oneof![
            1usize..=17,
            prop::sample::select(vec![21, 23, 24, 25, 31, 32, 33])
        ];
        // logits up to ±80, with exact ties (a handful of repeated values) mixed in
        let logit = prop_oneof![6 => -80.0f32..80.0, 2 => -3.0f32..3.0, 1 => prop::sample::select(vec![-80.0, 0.0, 5.0, 80.0])];
        (c, prop::sample::select(vec![1usize, 2, 7, 15, 30, 67])).prop_flat_map(move |(c, rows)| {
            prop::collection::vec(logit.clone(), c * rows).prop_map(move |x| SoftmaxProblem { c, rows, x })
        })
    }

    fn reference(&self) -> Vec<f32> {
        let mut y = self.x.clone();
        softmax_channels_inplace_with_tier(Tier::Reference, &mut y, self.c).unwrap();
        y
    }

    fn run(&self, tier: Tier) -> Vec<f32> {
        let mut y = self.x.clone();
        softmax_channels_inplace_with_tier(tier, &mut y, self.c).unwrap();
        y
    }

    fn check(&self, tier: Tier) -> std::result::Result<(), TestCaseError> {
        let (want, got) = (self.reference(), self.run(tier));
        // each output: exp within a few ulp, a sum of c terms, one division
        let tol = (4.0 + self.c as f32) * f32::EPSILON;
        for (r, (w, g)) in want.chunks(self.c).zip(got.chunks(self.c)).enumerate() {
            for j in 0..self.c {
                let ok = g[j].is_finite() && (g[j] - w[j]).abs() <= tol * w[j].max(1e-30) + 1e-37;
                prop_assert!(
                    ok,
                    "{tier} c={} row {r}/{} j={j}: {} vs {}\nrow in  {:?}\nrow out {:?}\nwanted  {:?}",
                    self.c,
                    self.rows,
                    g[j],
                    w[j],
                    &self.x[r * self.c..][..self.c],
                    g,
                    w
                );
            }
            let sum: f64 = g.iter().map(|&v| v as f64).sum();
            // f32 rounding of c terms and of their sum
            prop_assert!(
                (sum - 1.0).abs() <= 1e-6f64.max(self.c as f64 * 6e-8),
                "{tier} c={} row {r} sums to {sum}",
                self.c
            );
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn every_tier_matches_the_reference(p in SoftmaxProblem::strategy()) {
        for tier in tiers() {
            p.check(tier)?;
        }
    }
}

#[test]
fn ties_and_extremes() {
    for tier in tiers() {
        let mut x = vec![80.0, 80.0, -80.0, 3.0, 3.0, 3.0, 3.0, -80.0, 80.0, 0.0, 0.0, 0.0];
        softmax_channels_inplace_with_tier(tier, &mut x, 3).unwrap();
        assert_eq!(&x[0..2], &[0.5, 0.5], "{tier}");
        assert!(x[2] >= 0.0 && x[2] < 1e-30, "{tier}: {}", x[2]);
        for v in &x[3..6] {
            assert!((v - 1.0 / 3.0).abs() < 1e-7, "{tier}: {v}");
        }
        // row (3, -80, 80): e^-77 is tiny but normal, e^-160 underflows to 0, the max gets ~1
        let e77 = (-77.0f32).exp();
        assert!(
            (x[6] - e77).abs() <= 4.0 * f32::EPSILON * e77,
            "{tier}: {} vs {e77}",
            x[6]
        );
        assert_eq!(&x[7..9], &[0.0, 1.0], "{tier}");
        let mut one = vec![42.0; 5];
        softmax_channels_inplace_with_tier(tier, &mut one, 1).unwrap();
        assert_eq!(one, vec![1.0; 5], "{tier}: c = 1 gives 1");
    }
}

#[test]
fn exponentials_match_libm() {
    let xs: Vec<f32> = (0..40_001)
        .map(|i| -87.0 + i as f32 * (175.0 / 40_000.0))
        .collect();
    for tier in tiers() {
        let mut out = vec![f32::NAN; xs.len()];
        exp_with_tier(tier, &xs, &mut out).unwrap();
        let worst = xs
            .iter()
            .zip(&out)
            .map(|(&x, &y)| ((y as f64 - x.exp() as f64) / x.exp() as f64).abs())
            .fold(0.0, f64::max);
        println!("{tier}: exp max relative error {worst:e} on [-87, 88]");
        assert!(worst < 1e-6, "{tier}: {worst:e}");
        let low = [0.0f32, -88.0, -100.0, -1e3, f32::NEG_INFINITY];
        let mut o = [f32::NAN; 5];
        exp_with_tier(tier, &low, &mut o).unwrap();
        assert_eq!(o[0], 1.0, "{tier}: e^0");
        // libm returns denormals down to e^-103; the polynomials flush below f32::MIN_POSITIVE
        assert!(
            o[1..].iter().all(|&v| (0.0..f32::MIN_POSITIVE).contains(&v)),
            "{tier}: {o:?}"
        );
        if tier != Tier::Reference {
            assert_eq!(o[1..], [0.0; 4], "{tier}: deep negatives give exactly 0, not NaN");
        }
    }
}

#[test]
fn ndarray_wrapper_is_softmax_over_the_last_axis() {
    let a = Array4::from_shape_fn((2, 3, 5, 7), |(n, y, x, c)| {
        ((n * 31 + y * 7 + x * 3 + c * 5) % 13) as f32 - 6.0
    });
    let t = a.view().permuted_axes([0, 2, 1, 3]); // not standard layout
    let got = softmax::softmax_channels(t).unwrap();
    for (lane_in, lane_out) in t.lanes(Axis(3)).into_iter().zip(got.lanes(Axis(3))) {
        let m = lane_in.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let s: f32 = lane_in.iter().map(|v| (v - m).exp()).sum();
        for (i, o) in lane_in.iter().zip(lane_out) {
            assert!(((i - m).exp() / s - o).abs() < 1e-6);
        }
    }
}

#[test]
fn wrong_arguments_are_errors() {
    for tier in tiers() {
        let mut x = vec![0.0; 10];
        let e = softmax_channels_inplace_with_tier(tier, &mut x, 3);
        assert!(
            matches!(e, Err(KernelError::LengthMismatch { what: "x", .. })),
            "{tier}"
        );
        let e = softmax_channels_inplace_with_tier(tier, &mut x, 0);
        assert!(matches!(e, Err(KernelError::InvalidParams { .. })), "{tier}");
        let mut out = vec![0.0; 9];
        assert!(exp_with_tier(tier, &x, &mut out).is_err());
    }
}

#[test]
fn bit_identical_for_one_and_two_threads() {
    for c in [2, 21] {
        let x: Vec<f32> = (0..(3 * PAR_CHUNK / c + 7) * c)
            .map(|i| ((i * 7919) % 1601) as f32 * 0.1 - 80.0)
            .collect();
        for tier in tiers() {
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let mut y = x.clone();
                pool.install(|| softmax_channels_inplace_with_tier(tier, &mut y, c))
                    .unwrap();
                y.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            };
            assert_eq!(run(1), run(2), "{tier} c={c}");
        }
    }
}
