//! Zero padding: every tier against an independent construction, NaN-prefilled outputs
//! (every element must be written, zeros included), argument errors, outputs of several tasks.

use mobilenet_unet_kernels::pad::{self, zero_pad_nhwc_with_tier, PadShape};
use mobilenet_unet_kernels::{KernelError, Tier};
use ndarray::{s, Array4};
use proptest::prelude::*;

mod common;
use common::{tiers, Problem, Rng, Tolerance};

#[derive(Debug, Clone)]
struct PadProblem {
    dims: (usize, usize, usize, usize),
    pads: (usize, usize, usize, usize),
    input: Vec<f32>,
}

impl PadProblem {
    fn strategy() -> impl Strategy<Value = Self> {
        let c = prop_oneof![1usize..=17, prop::sample::select(vec![24, 32, 33])];
        let pads = prop_oneof![
            Just((1, 1, 1, 1)),
            Just((0, 1, 0, 1)),
            (0usize..=3, 0usize..=3, 0usize..=3, 0usize..=3)
        ];
        (1usize..=2, 1usize..=7, 1usize..=7, c, pads).prop_flat_map(|(n, h, w, c, pads)| {
            prop::collection::vec(-5.0f32..5.0, n * h * w * c).prop_map(move |input| PadProblem {
                dims: (n, h, w, c),
                pads,
                input,
            })
        })
    }

    fn random(dims: (usize, usize, usize, usize), pads: (usize, usize, usize, usize), seed: u64) -> Self {
        let input = Rng::new(seed).vec(dims.0 * dims.1 * dims.2 * dims.3, -5.0, 5.0);
        PadProblem { dims, pads, input }
    }

    fn out_hw(&self) -> (usize, usize) {
        let ((_, h, w, _), (t, b, l, r)) = (self.dims, self.pads);
        (h + t + b, w + l + r)
    }
}

impl Problem for PadProblem {
    fn shape(&self) -> String {
        format!(
            "NHWC {:?}, pads (top, bottom, left, right) {:?}",
            self.dims, self.pads
        )
    }

    /// Built with ndarray slicing, independently of the kernels.
    fn expected(&self) -> Vec<f32> {
        let ((n, h, w, c), (t, _, l, _)) = (self.dims, self.pads);
        let (oh, ow) = self.out_hw();
        let mut out = Array4::<f32>::zeros((n, oh, ow, c));
        let inp = Array4::from_shape_vec(self.dims, self.input.clone()).unwrap();
        out.slice_mut(s![.., t..t + h, l..l + w, ..]).assign(&inp);
        out.iter().copied().collect()
    }

    /// Into a NaN-filled output, so the zeros must be written too.
    fn run(&self, tier: Tier) -> Vec<f32> {
        let ((n, h, w, c), (t, b, l, r)) = (self.dims, self.pads);
        let (oh, ow) = self.out_hw();
        let mut out = vec![f32::NAN; n * oh * ow * c];
        zero_pad_nhwc_with_tier(
            tier,
            &PadShape::new((n, h, w, c), (t, b), (l, r)),
            &self.input,
            &mut out,
        )
        .unwrap();
        out
    }

    fn tolerance(&self, _expected: &[f32]) -> Tolerance {
        Tolerance::Bits
    }

    fn locate(&self, i: usize) -> String {
        let c = self.dims.3;
        let (oh, ow) = self.out_hw();
        let (px, ch) = (i / c, i % c);
        let (n, y, x) = (px / (oh * ow), px / ow % oh, px % ow);
        format!("image {n} row {y} column {x} channel {ch}")
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn every_tier_matches_the_reference(p in PadProblem::strategy()) {
        p.check_every_tier()?;
    }
}

#[test]
fn ndarray_wrapper_pads_like_keras() {
    let a = Array4::from_shape_fn((1, 2, 3, 2), |(_, y, x, c)| (y * 10 + x * 2 + c + 1) as f32);
    let p = pad::zero_pad(a.view(), (1, 0), (0, 2)).unwrap();
    assert_eq!(p.dim(), (1, 3, 5, 2));
    assert!(p.slice(s![.., 0, .., ..]).iter().all(|&v| v == 0.0));
    assert!(p.slice(s![.., .., 3.., ..]).iter().all(|&v| v == 0.0));
    assert_eq!(p.slice(s![.., 1.., ..3, ..]), a);
}

#[test]
fn wrong_arguments_are_errors() {
    for tier in tiers() {
        let inp = vec![1.0; 2 * 3 * 3 * 4];
        let mut out = vec![0.0; 2 * 5 * 5 * 4];
        assert!(
            zero_pad_nhwc_with_tier(tier, &PadShape::new((2, 3, 3, 4), (1, 1), (1, 1)), &inp, &mut out)
                .is_ok()
        );
        let e = zero_pad_nhwc_with_tier(
            tier,
            &PadShape::new((2, 3, 3, 4), (1, 1), (1, 1)),
            &inp[1..],
            &mut out,
        );
        assert!(
            matches!(e, Err(KernelError::LengthMismatch { what: "input", .. })),
            "{tier}"
        );
        let e = zero_pad_nhwc_with_tier(tier, &PadShape::new((2, 3, 3, 4), (1, 1), (1, 0)), &inp, &mut out);
        assert!(
            matches!(e, Err(KernelError::LengthMismatch { what: "output", .. })),
            "{tier}"
        );
        let e = zero_pad_nhwc_with_tier(
            tier,
            &PadShape::new((2, 3, 3, 4), (usize::MAX, 1), (1, 1)),
            &inp,
            &mut out,
        );
        assert!(matches!(e, Err(KernelError::InvalidParams { .. })), "{tier}");
    }
}

/// The fast tiers hand rayon whole output rows, at least `PAR_CHUNK` floats per task; the
/// proptest's tensors fit in one task. Outputs of 116 and 202 rows, room for several tasks of
/// at least 31 and 89 rows, against ndarray.
#[test]
fn outputs_of_several_tasks() {
    for (dims, pads) in [((2, 57, 31, 32), (0, 1, 1, 1)), ((1, 200, 121, 3), (1, 1, 0, 1))] {
        PadProblem::random(dims, pads, 9).assert_every_tier();
    }
}
