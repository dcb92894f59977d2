//! Activation tiers against the reference: every element, NaN included, on both sides of the
//! ReLU6 bounds; lengths around the parallel split's chunks.

use mobilenet_unet_kernels::activation::{self, activation_inplace_with_tier, PAR_CHUNK};
use mobilenet_unet_kernels::{Activation, Tier};
use ndarray::Array4;
use proptest::prelude::*;

mod common;
use common::{Problem, Rng, Tolerance};

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
}

impl Problem for ActProblem {
    fn shape(&self) -> String {
        format!("{:?} on {} elements", self.act, self.x.len())
    }

    fn expected(&self) -> Vec<f32> {
        self.x.iter().map(|&v| self.act.apply(v)).collect()
    }

    fn run(&self, tier: Tier) -> Vec<f32> {
        let mut x = self.x.clone();
        activation_inplace_with_tier(tier, self.act, &mut x).unwrap();
        x
    }

    /// Exact, NaN for NaN; `0.0` and `-0.0` are equal (ReLU of `-0.0` may give either).
    fn tolerance(&self, _expected: &[f32]) -> Tolerance {
        Tolerance::Equal
    }

    fn locate(&self, i: usize) -> String {
        format!("x[{i}] = {}", self.x[i])
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn every_tier_matches_the_reference(p in ActProblem::strategy()) {
        p.check_every_tier()?;
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

/// The slice is split into `PAR_CHUNK`-element tasks, each with its own vector body and tail:
/// lengths just past one and two chunks leave last tasks of 1, 31 or 33 elements. The proptest's
/// lengths stay inside one task. Every value lies outside [0, 6], so ReLU6 changes each one and
/// an element a task skipped would keep its input and show.
#[test]
fn chunk_boundaries_of_the_parallel_split() {
    let mut rng = Rng::new(12);
    for len in [
        PAR_CHUNK - 1,
        PAR_CHUNK,
        PAR_CHUNK + 1,
        PAR_CHUNK + 31,
        2 * PAR_CHUNK + 33,
    ] {
        let x = (0..len)
            .map(|i| {
                if i % 2 == 0 {
                    rng.next_f32(-8.0, -0.5)
                } else {
                    rng.next_f32(6.5, 14.0)
                }
            })
            .collect();
        ActProblem {
            act: Activation::Relu6,
            x,
        }
        .assert_every_tier();
    }
}
