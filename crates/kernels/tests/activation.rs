//! Activation tiers against the reference: every element, NaN included, on both sides of the
//! ReLU6 bounds; thread-count independence.

use mobilenet_unet_kernels::activation::{self, activation_inplace_with_tier, PAR_CHUNK};
use mobilenet_unet_kernels::{Activation, Tier};
use ndarray::Array4;
use proptest::prelude::*;

mod common;
use common::tiers;

fn same(a: f32, b: f32) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// One activation call: the data straddles 0 and 6 and may hold NaN and infinities.
#[derive(Debug, Clone)]
struct ActProblem {
    act: Activation,
    x: Vec<f32>,
}

impl ActProblem {
    fn strategy() -> impl Strategy<Value = Self> {
        let act = prop::sample::select(vec![Activation::None, Activation::Relu, Activation::Relu6]);
        let value = prop_oneof![
            20 => -8.0f32..14.0,
            1 => prop::sample::select(vec![0.0, -0.0, 6.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY]),
        ];
        // lengths around the 8-lane vector and the 32-float unrolled body
        let len = prop_oneof![0usize..=70, 95usize..=130];
        (act, len).prop_flat_map(move |(act, n)| {
            prop::collection::vec(value.clone(), n).prop_map(move |x| ActProblem { act, x })
        })
    }

    fn reference(&self) -> Vec<f32> {
        self.x.iter().map(|&v| self.act.apply(v)).collect()
    }

    fn run(&self, tier: Tier) -> Vec<f32> {
        let mut x = self.x.clone();
        activation_inplace_with_tier(tier, self.act, &mut x).unwrap();
        x
    }

    fn check(&self, tier: Tier) -> std::result::Result<(), TestCaseError> {
        let (want, got) = (self.reference(), self.run(tier));
        for (i, (&w, &g)) in want.iter().zip(&got).enumerate() {
            prop_assert!(
                same(w, g),
                "{tier} {:?} len {}: x[{i}] = {} -> {g}, expected {w}",
                self.act,
                self.x.len(),
                self.x[i]
            );
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn every_tier_matches_the_reference(p in ActProblem::strategy()) {
        for tier in tiers() {
            p.check(tier)?;
        }
    }
}

#[test]
fn relu6_really_clamps_both_sides() {
    let mut x = vec![-3.0, -0.5, 0.0, 2.5, 6.0, 6.5, 100.0, -1.0];
    activation::relu6_inplace(&mut x).unwrap();
    assert_eq!(x, vec![0.0, 0.0, 0.0, 2.5, 6.0, 6.0, 6.0, 0.0]);
    let mut y = vec![-3.0, 7.0];
    activation::relu_inplace(&mut y).unwrap();
    assert_eq!(y, vec![0.0, 7.0]);
}

#[test]
fn ndarray_wrapper_handles_non_standard_layouts() {
    let a = Array4::from_shape_fn((2, 3, 5, 4), |(n, y, x, c)| {
        (n * 60 + y * 20 + x * 4 + c) as f32 * 0.25 - 7.0
    });
    let t = a.view().reversed_axes(); // (4, 5, 3, 2), not contiguous in standard order
    let got = activation::activation(t, Activation::Relu6).unwrap();
    assert_eq!(got, t.mapv(|v| Activation::Relu6.apply(v)));
}

#[test]
fn bit_identical_for_one_and_two_threads() {
    let n = 3 * PAR_CHUNK + 13;
    let x: Vec<f32> = (0..n).map(|i| ((i * 7919) % 2000) as f32 * 0.011 - 8.0).collect();
    for tier in tiers() {
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut y = x.clone();
            pool.install(|| activation_inplace_with_tier(tier, Activation::Relu6, &mut y))
                .unwrap();
            y.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(2), "{tier}");
    }
}
