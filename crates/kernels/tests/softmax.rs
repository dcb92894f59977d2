//! Channel softmax: every tier against the reference (large magnitudes, ties, 1x1 images,
//! channels around the 8-lane tile), rows summing to 1, the exponentials against `f32::exp`,
//! argument errors, the parallel split.

use mobilenet_unet_kernels::softmax::{self, exp_with_tier, softmax_channels_inplace_with_tier, PAR_CHUNK};
use mobilenet_unet_kernels::{KernelError, Tier};
use ndarray::{Array4, Axis};
use proptest::prelude::*;

mod common;
use common::{tiers, Problem, Rng, Tolerance};

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

    /// `rows` rows of `c` random logits in [-80, 80).
    fn random(c: usize, rows: usize, seed: u64) -> Self {
        let x = Rng::new(seed).vec(c * rows, -80.0, 80.0);
        SoftmaxProblem { c, rows, x }
    }
}

impl Problem for SoftmaxProblem {
    fn shape(&self) -> String {
        format!("{} rows of c={}", self.rows, self.c)
    }

    /// The Reference tier one row at a time, so the oracle never sees the parallel split.
    fn expected(&self) -> Vec<f32> {
        let mut y = self.x.clone();
        for row in y.chunks_mut(self.c) {
            softmax_channels_inplace_with_tier(Tier::Reference, row, self.c).unwrap();
        }
        y
    }

    fn run(&self, tier: Tier) -> Vec<f32> {
        let mut y = self.x.clone();
        softmax_channels_inplace_with_tier(tier, &mut y, self.c).unwrap();
        y
    }

    /// Each output: exp within a few ulp, a sum of c terms, one division (relative).
    fn tolerance(&self, expected: &[f32]) -> Tolerance {
        let tol = (4.0 + self.c as f32) * f32::EPSILON;
        Tolerance::Within(expected.iter().map(|w| tol * w.max(1e-30) + 1e-37).collect())
    }

    fn locate(&self, i: usize) -> String {
        let (r, c) = (i / self.c, self.c);
        format!("row {r} channel {} (row in {:?})", i % c, &self.x[r * c..][..c])
    }

    /// Every row sums to 1 up to the f32 rounding of its c terms and of their sum.
    fn invariants(&self, found: &[f32]) -> Result<(), String> {
        for (r, row) in found.chunks(self.c).enumerate() {
            let sum: f64 = row.iter().map(|&v| v as f64).sum();
            if (sum - 1.0).abs() > 1e-6f64.max(self.c as f64 * 6e-8) {
                return Err(format!("row {r} sums to {sum}: {row:?}"));
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn every_tier_matches_the_reference(p in SoftmaxProblem::strategy()) {
        p.check_every_tier()?;
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

/// Rows are split into tasks of `PAR_CHUNK / c` whole rows; a task that started inside a row
/// would normalise across two rows. Channel counts that do not divide `PAR_CHUNK` (21, 3;
/// narrow and wide kernels) and row counts just past one and two tasks, against the reference
/// row by row: the proptest's tensors fit in one task.
#[test]
fn tasks_hold_whole_rows() {
    for c in [2, 3, 21] {
        let per_task = PAR_CHUNK / c;
        for rows in [per_task + 1, 2 * per_task + 3] {
            SoftmaxProblem::random(c, rows, (c * rows) as u64).assert_every_tier();
        }
    }
}
