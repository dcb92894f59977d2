//! BatchNorm: every tier against the literal formula, scale/shift tiers against the naive
//! loop, folding into convolutions against conv-then-BN, argument errors, the parallel split.

use mobilenet_unet_kernels::batchnorm::{self, BatchNorm, KERAS_EPSILON, PAR_CHUNK};
use mobilenet_unet_kernels::{KernelError, Tier};
use ndarray::Array4;
use proptest::prelude::*;

mod common;
use common::{compare, tiers, Problem, Rng, Tolerance};

/// Channels 1..17, around the 8-channel tile and its multiples.
fn channels() -> impl Strategy<Value = usize> {
    prop_oneof![
        1usize..=17,
        prop::sample::select(vec![23, 24, 25, 31, 32, 33, 64])
    ]
}

fn bn_strategy(c: usize) -> impl Strategy<Value = BatchNorm> {
    let v = |lo: f32, hi: f32| prop::collection::vec(lo..hi, c);
    (v(-2.0, 2.0), v(-1.0, 1.0), v(-3.0, 3.0), v(0.0, 4.0))
        .prop_map(|(gamma, beta, mean, var)| BatchNorm::new(gamma, beta, mean, var, KERAS_EPSILON).unwrap())
}

/// One BatchNorm over an NHWC tensor of `pixels` pixels.
#[derive(Debug, Clone)]
struct BnProblem {
    bn: BatchNorm,
    pixels: usize,
    input: Vec<f32>,
}

impl BnProblem {
    fn strategy() -> impl Strategy<Value = Self> {
        // pixels: 1x1 images, odd sizes, batch 2 of 5x3 (= 30)
        (channels(), prop::sample::select(vec![1usize, 2, 7, 15, 30, 33])).prop_flat_map(|(c, pixels)| {
            (bn_strategy(c), prop::collection::vec(-10.0f32..10.0, c * pixels))
                .prop_map(move |(bn, input)| BnProblem { bn, pixels, input })
        })
    }

    /// A case of `pixels` pixels with random parameters in the ranges of [`bn_strategy`].
    fn random(c: usize, pixels: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let (gamma, beta) = (rng.vec(c, -2.0, 2.0), rng.vec(c, -1.0, 1.0));
        let (mean, var) = (rng.vec(c, -3.0, 3.0), rng.vec(c, 0.0, 4.0));
        BnProblem {
            bn: BatchNorm::new(gamma, beta, mean, var, KERAS_EPSILON).unwrap(),
            pixels,
            input: rng.vec(c * pixels, -10.0, 10.0),
        }
    }
}

impl Problem for BnProblem {
    fn shape(&self) -> String {
        format!("{} channels x {} pixels", self.bn.channels(), self.pixels)
    }

    /// The literal formula (the Reference tier, which does not split the work).
    fn expected(&self) -> Vec<f32> {
        let mut out = vec![f32::NAN; self.input.len()];
        batchnorm::batchnorm_nhwc_with_tier(Tier::Reference, &self.bn, &self.input, &mut out).unwrap();
        out
    }

    /// Out-of-place (into a NaN-filled buffer) and in place; both must agree exactly.
    fn run(&self, tier: Tier) -> Vec<f32> {
        let mut out = vec![f32::NAN; self.input.len()];
        batchnorm::batchnorm_nhwc_with_tier(tier, &self.bn, &self.input, &mut out).unwrap();
        let mut inplace = self.input.clone();
        batchnorm::batchnorm_nhwc_inplace_with_tier(tier, &self.bn, &mut inplace).unwrap();
        assert_eq!(out, inplace, "{tier}: in-place differs from out-of-place");
        out
    }

    /// A few roundings of values of size |x·scale| + |mean·scale|.
    fn tolerance(&self, _expected: &[f32]) -> Tolerance {
        let c = self.bn.channels();
        let bound = |(i, x): (usize, &f32)| {
            let scale = (self.bn.gamma[i % c] / (self.bn.var[i % c] + self.bn.eps).sqrt()).abs();
            4.0 * f32::EPSILON * (x.abs() * scale + self.bn.mean[i % c].abs() * scale + 1.0)
        };
        Tolerance::Within(self.input.iter().enumerate().map(bound).collect())
    }

    fn locate(&self, i: usize) -> String {
        let c = self.bn.channels();
        format!("pixel {} channel {} (x = {})", i / c, i % c, self.input[i])
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn every_tier_matches_the_formula(p in BnProblem::strategy()) {
        p.check_every_tier()?;
    }

    #[test]
    fn scale_shift_tiers_match_the_naive_loop_exactly(p in BnProblem::strategy()) {
        let (scale, shift) = p.bn.to_scale_shift();
        let mut want = vec![f32::NAN; p.input.len()];
        batchnorm::scale_shift_nhwc_with_tier(Tier::Reference, &scale, &shift, &p.input, &mut want).unwrap();
        for tier in tiers() {
            let mut got = vec![f32::NAN; p.input.len()];
            batchnorm::scale_shift_nhwc_with_tier(tier, &scale, &shift, &p.input, &mut got).unwrap();
            // x·s + t with one multiply and one add in every tier: bit for bit
            compare(&got, &want, &Tolerance::Bits, |i| format!("[{i}]"))
                .map_err(|e| TestCaseError::fail(format!("{tier}, {}: {e}", p.shape())))?;
        }
    }
}

/// A naive 'valid' HWIO convolution of one image, for the folding test.
fn conv_hwio(
    x: &[f32],
    (h, w, ci): (usize, usize, usize),
    wts: &[f32],
    k: usize,
    co: usize,
    bias: &[f32],
) -> Vec<f32> {
    let (oh, ow) = (h - k + 1, w - k + 1);
    let mut out = vec![0.0f32; oh * ow * co];
    for oy in 0..oh {
        for ox in 0..ow {
            for o in 0..co {
                let mut acc = bias[o] as f64;
                for ky in 0..k {
                    for kx in 0..k {
                        for i in 0..ci {
                            acc += x[((oy + ky) * w + ox + kx) * ci + i] as f64
                                * wts[((ky * k + kx) * ci + i) * co + o] as f64;
                        }
                    }
                }
                out[(oy * ow + ox) * co + o] = acc as f32;
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn folded_conv_equals_conv_then_bn(
        (ci, co) in (1usize..=5, 1usize..=10),
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let mut next = move || rng.next_f32(-1.0, 1.0);
        let (h, w, k) = (5, 4, 3);
        let x: Vec<f32> = (0..h * w * ci).map(|_| next() * 3.0).collect();
        let wts: Vec<f32> = (0..k * k * ci * co).map(|_| next()).collect();
        let bn = BatchNorm::new(
            (0..co).map(|_| next() * 2.0).collect(), (0..co).map(|_| next()).collect(),
            (0..co).map(|_| next()).collect(), (0..co).map(|_| next().abs() * 3.0).collect(), KERAS_EPSILON,
        ).unwrap();
        // unfolded: conv (no bias) then BN by the literal formula
        let y = conv_hwio(&x, (h, w, ci), &wts, k, co, &vec![0.0; co]);
        let mut want = vec![f32::NAN; y.len()];
        batchnorm::batchnorm_nhwc_with_tier(Tier::Reference, &bn, &y, &mut want).unwrap();
        // folded: one conv with scaled weights and a bias
        let (mut fw, mut fb) = (wts.clone(), vec![0.0f32; co]);
        batchnorm::fold_into_conv_hwio(&mut fw, &mut fb, co, &bn).unwrap();
        let got = conv_hwio(&x, (h, w, ci), &fw, k, co, &fb);
        let mag = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        for (i, (&a, &b)) in got.iter().zip(&want).enumerate() {
            prop_assert!((a - b).abs() <= 1e-5 * mag, "ci={ci} co={co} i={i}: folded {a} vs {b}");
        }
        // depthwise folding is the same per-last-axis scaling
        let (mut dw, mut db) = (wts[..k * k * co].to_vec(), vec![0.5f32; co]);
        batchnorm::fold_into_depthwise_hwc(&mut dw, &mut db, co, &bn).unwrap();
        let (scale, shift) = bn.to_scale_shift();
        for (i, &v) in dw.iter().enumerate() {
            prop_assert!((v - wts[i] * scale[i % co]).abs() <= 1e-6 * v.abs().max(1.0));
        }
        for o in 0..co {
            prop_assert!((db[o] - (0.5 * scale[o] + shift[o])).abs() <= 1e-5);
        }
    }
}

#[test]
fn to_scale_shift_is_the_formula() {
    let bn = BatchNorm::new(
        vec![2.0, -1.0],
        vec![0.5, 0.0],
        vec![1.0, -2.0],
        vec![3.999, 0.0],
        KERAS_EPSILON,
    )
    .unwrap();
    let (s, t) = bn.to_scale_shift();
    // computed in f64, rounded once
    assert_eq!(
        s,
        vec![
            (2.0 / (3.999f32 as f64 + KERAS_EPSILON as f64).sqrt()) as f32,
            (-1.0 / (KERAS_EPSILON as f64).sqrt()) as f32
        ]
    );
    assert_eq!(t[0], 0.5 - 1.0);
    assert!((t[1] - (0.0 - (-2.0) * s[1])).abs() < 1e-4);
}

#[test]
fn wrong_arguments_are_errors() {
    let bad_len = BatchNorm::new(vec![1.0; 3], vec![0.0; 3], vec![0.0; 2], vec![1.0; 3], 1e-3);
    assert!(matches!(
        bad_len,
        Err(KernelError::LengthMismatch { what: "mean", .. })
    ));
    let bad_var = BatchNorm::new(vec![1.0], vec![0.0], vec![0.0], vec![-1e-3], 1e-3);
    assert!(matches!(bad_var, Err(KernelError::InvalidParams { .. })));
    let bn = BatchNorm::new(vec![1.0; 3], vec![0.0; 3], vec![0.0; 3], vec![1.0; 3], 1e-3).unwrap();
    for tier in tiers() {
        let mut out = vec![0.0; 6];
        let err = batchnorm::batchnorm_nhwc_with_tier(tier, &bn, &[0.0; 7], &mut out);
        assert!(
            matches!(err, Err(KernelError::LengthMismatch { what: "input", .. })),
            "{tier}: {err:?}"
        );
        let err = batchnorm::batchnorm_nhwc_with_tier(tier, &bn, &[0.0; 6], &mut out[..3]);
        assert!(
            matches!(err, Err(KernelError::LengthMismatch { what: "output", .. })),
            "{tier}: {err:?}"
        );
        let err = batchnorm::scale_shift_nhwc_inplace_with_tier(tier, &[1.0; 3], &[0.0; 2], &mut out);
        assert!(
            matches!(err, Err(KernelError::LengthMismatch { what: "shift", .. })),
            "{tier}: {err:?}"
        );
        let err = batchnorm::scale_shift_nhwc_inplace_with_tier(tier, &[], &[], &mut out);
        assert!(
            matches!(err, Err(KernelError::InvalidParams { .. })),
            "{tier}: {err:?}"
        );
    }
    let (mut w, mut b) = (vec![0.0; 9], vec![0.0; 3]);
    assert!(batchnorm::fold_into_conv_hwio(&mut w[..8], &mut b, 3, &bn).is_err());
    assert!(batchnorm::fold_into_conv_hwio(&mut w, &mut b[..2], 3, &bn).is_err());
    assert!(batchnorm::fold_into_conv_hwio(&mut w, &mut b, 0, &bn).is_err());
}

#[test]
fn ndarray_wrapper_matches_the_slice_version() {
    let c = 64;
    let bn = BatchNorm::new(
        (0..c).map(|i| 1.0 + i as f32 * 0.01).collect(),
        (0..c).map(|i| i as f32 * -0.02).collect(),
        (0..c).map(|i| (i % 7) as f32 * 0.3).collect(),
        (0..c).map(|i| 0.5 + (i % 5) as f32).collect(),
        KERAS_EPSILON,
    )
    .unwrap();
    let a = Array4::from_shape_fn((2, 3, 5, c), |(n, y, x, ch)| {
        ((n * 7 + y * 5 + x * 3 + ch) % 11) as f32 - 5.0
    });
    let got = batchnorm::batchnorm(a.view(), &bn).unwrap();
    let mut want = vec![0.0; a.len()];
    batchnorm::batchnorm_nhwc(&bn, a.as_slice().unwrap(), &mut want).unwrap();
    assert_eq!(got.as_slice().unwrap(), &want[..]);
}

/// The work is split into tasks of `PAR_CHUNK / c` whole pixels; a task that started inside a
/// pixel would apply channel `i`'s scale to channel `i + k`. Channel counts that do not divide
/// `PAR_CHUNK` (3, 24, 33) and pixel counts just past one and two tasks, against the literal
/// formula (which does not split): the proptest's tensors fit in one task.
#[test]
fn tasks_hold_whole_pixels() {
    for c in [3, 24, 33, 64] {
        let per_task = PAR_CHUNK / c;
        for pixels in [per_task + 1, 2 * per_task + 3] {
            BnProblem::random(c, pixels, (c * pixels) as u64).assert_every_tier();
        }
    }
}
