//! Zero padding: every tier against an independent construction, NaN-prefilled outputs
//! (every element must be written, zeros included), argument errors, thread counts.

use mobilenet_unet_kernels::pad::{self, zero_pad_nhwc_with_tier, PadShape};
use mobilenet_unet_kernels::{KernelError, Tier};
use ndarray::{s, Array4};
use proptest::prelude::*;

mod common;
use common::tiers;

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

    /// Built with ndarray slicing, independently of the kernels.
    fn reference(&self) -> Array4<f32> {
        let ((n, h, w, c), (t, b, l, r)) = (self.dims, self.pads);
        let mut out = Array4::<f32>::zeros((n, h + t + b, w + l + r, c));
        let inp = Array4::from_shape_vec(self.dims, self.input.clone()).unwrap();
        out.slice_mut(s![.., t..t + h, l..l + w, ..]).assign(&inp);
        out
    }

    fn run(&self, tier: Tier) -> Vec<f32> {
        let ((n, h, w, c), (t, b, l, r)) = (self.dims, self.pads);
        let mut out = vec![f32::NAN; n * (h + t + b) * (w + l + r) * c];
        zero_pad_nhwc_with_tier(
            tier,
            &PadShape::new((n, h, w, c), (t, b), (l, r)),
            &self.input,
            &mut out,
        )
        .unwrap();
        out
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn every_tier_matches_the_reference(p in PadProblem::strategy()) {
        let want = p.reference();
        for tier in tiers() {
            let got = p.run(tier);
            prop_assert_eq!(want.as_slice().unwrap(), &got[..], "{} {:?} {:?}", tier, p.dims, p.pads);
        }
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

#[test]
fn bit_identical_for_one_and_two_threads() {
    let (n, h, w, c) = (2, 57, 31, 32);
    let inp: Vec<f32> = (0..n * h * w * c).map(|i| i as f32).collect();
    for tier in tiers() {
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut out = vec![f32::NAN; n * (h + 1) * (w + 2) * c];
            pool.install(|| {
                zero_pad_nhwc_with_tier(tier, &PadShape::new((n, h, w, c), (0, 1), (1, 1)), &inp, &mut out)
            })
            .unwrap();
            out.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(2), "{tier}");
    }
}
