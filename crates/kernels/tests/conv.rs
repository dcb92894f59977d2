//! Convolution tests: the dispatcher (every tier, every algorithm) against the direct-loop oracle
//! given the original HWIO / HWC weights, so weight packing and im2col are tested too.
//!
//! Odd sizes, stride 2 on odd inputs, asymmetric padding, batch 2, 1x1 images, kernels 1/3/5,
//! channels 1..17 around the GEMM tile. Outputs are written with a pixel stride into a
//! NaN-filled wider buffer; every element outside the written channel slice must stay NaN.

use mobilenet_unet_kernels::conv::{self, reference, ConvWeights};
use mobilenet_unet_kernels::{
    Activation, ChannelAffine, Conv2dParams, ConvAlgorithm, Epilogue, KernelError, Tier,
};
use proptest::prelude::*;

mod common;
use common::tiers;

struct Rng(u64);

impl Rng {
    fn next_f32(&mut self, lo: f32, hi: f32) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let u = (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }

    fn vec(&mut self, len: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..len).map(|_| self.next_f32(lo, hi)).collect()
    }
}

#[derive(Debug, Clone)]
struct ConvProblem {
    params: Conv2dParams,
    input: Vec<f32>,
    weights: Vec<f32>,
    scale: Option<Vec<f32>>,
    bias: Option<Vec<f32>>,
    activation: Activation,
    post: Option<(Vec<f32>, Vec<f32>)>,
    /// Extra channels per output pixel (dense only) and the channel offset written into.
    extra: usize,
    offset: usize,
}

impl ConvProblem {
    fn new(params: Conv2dParams, combo: u8, extra: usize, seed: u64) -> Self {
        let mut rng = Rng(seed | 1);
        let c = params.out_c;
        let extra = if params.is_depthwise() { 0 } else { extra };
        ConvProblem {
            params,
            input: rng.vec(params.input_len(), -2.0, 2.0),
            weights: rng.vec(params.weight_len(), -1.0, 1.0),
            scale: (combo & 1 != 0).then(|| rng.vec(c, -2.0, 3.0)),
            bias: (combo & 2 != 0).then(|| rng.vec(c, -3.0, 8.0)),
            activation: [Activation::None, Activation::Relu, Activation::Relu6][(combo / 4 % 3) as usize],
            post: (combo >= 12).then(|| (rng.vec(c, -1.5, 1.5), rng.vec(c, -1.0, 1.0))),
            extra,
            offset: extra / 2,
        }
    }

    fn epilogue(&self) -> Epilogue<'_> {
        Epilogue {
            scale: self.scale.as_deref(),
            bias: self.bias.as_deref(),
            activation: self.activation,
            post: self
                .post
                .as_ref()
                .map(|(s, t)| ChannelAffine { scale: s, shift: t }),
        }
    }

    fn stride(&self) -> usize {
        self.params.out_c + self.extra
    }

    fn reference(&self) -> Vec<f32> {
        let mut out = vec![f32::NAN; self.params.output_len()];
        reference::conv2d_nhwc(
            &self.params,
            &self.input,
            &self.weights,
            &mut out,
            &self.epilogue(),
        )
        .unwrap();
        out
    }

    /// Σ|x|·|w| per output element: the scale of the rounding error.
    fn magnitudes(&self) -> Vec<f32> {
        let abs = |v: &[f32]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
        let mut out = vec![0.0; self.params.output_len()];
        reference::conv2d_nhwc(
            &self.params,
            &abs(&self.input),
            &abs(&self.weights),
            &mut out,
            &Epilogue::IDENTITY,
        )
        .unwrap();
        out
    }

    /// The whole wide buffer after the dispatcher wrote its channel slice.
    fn run(&self, tier: Tier) -> Vec<f32> {
        let w = ConvWeights::prepare(&self.params, &self.weights).unwrap();
        let pixels = self.params.output_len() / self.params.out_c;
        let mut buf = vec![f32::NAN; pixels * self.stride()];
        conv::conv2d_nhwc_with_tier(
            tier,
            &self.params,
            &self.input,
            &w,
            &mut buf[self.offset..],
            self.stride(),
            &self.epilogue(),
        )
        .unwrap();
        buf
    }

    fn check(&self, tier: Tier) -> Result<(), TestCaseError> {
        let (want, mag, got) = (self.reference(), self.magnitudes(), self.run(tier));
        let c = self.params.out_c;
        let k = self.params.weight_len() / c;
        let mut bad = Vec::new();
        for (idx, &g) in got.iter().enumerate() {
            let (px, ch) = (idx / self.stride(), idx % self.stride());
            let inside = ch >= self.offset && ch < self.offset + c;
            if !inside {
                if !g.is_nan() {
                    bad.push(format!(
                        "  pixel {px} channel {ch}: written outside the slice ({g})"
                    ));
                }
                continue;
            }
            let co = ch - self.offset;
            let w = want[px * c + co];
            let gain = self.scale.as_ref().map_or(1.0, |s| s[co].abs())
                * self.post.as_ref().map_or(1.0, |p| p.0[co].abs());
            let extra = self.bias.as_ref().map_or(0.0, |b| b[co].abs()) * gain + 1.0;
            let tol = 2.0 * (k as f32 + 8.0) * f32::EPSILON * (mag[px * c + co] * gain + extra);
            if (g - w).abs() > tol {
                bad.push(format!(
                    "  pixel {px} channel {co}: found {g} expected {w} (tol {tol})"
                ));
            }
        }
        prop_assert!(
            bad.is_empty(),
            "tier {tier}, {:?} ({:?}), stride {} offset {}, epilogue {:?}\n{} bad, first:\n{}",
            self.params,
            self.params.algorithm(),
            self.stride(),
            self.offset,
            self.epilogue(),
            bad.len(),
            bad.iter().take(12).cloned().collect::<Vec<_>>().join("\n")
        );
        Ok(())
    }
}

fn channels() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..=17, Just(31), Just(33)]
}

/// Output channels: 1..=21 covers the small-N path (<= SMALL_N) and the classifier widths.
fn out_channels() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..=21, Just(31), Just(33)]
}

#[allow(clippy::type_complexity)]
fn params() -> impl Strategy<Value = Conv2dParams> {
    (
        (1usize..=2, 1usize..=9, 1usize..=9),
        (
            channels(),
            out_channels(),
            prop_oneof![Just(1usize), Just(3), Just(5)],
            1usize..=2,
        ),
        (0usize..=2, 0usize..=2, 0usize..=2, 0usize..=2),
        0u8..4,
    )
        .prop_filter_map(
            "kernel larger than the padded input",
            |((b, h, w), (ci, co, k, s), (t, bo, l, r), kind)| {
                let p = if kind == 0 {
                    Conv2dParams::depthwise(b, h, w, ci, k, s, 0)
                } else if kind == 1 {
                    Conv2dParams::dense(b, h, w, ci, co, 1, 1, 0) // pointwise
                } else {
                    Conv2dParams::dense(b, h, w, ci, co, k, s, 0)
                };
                let p = if kind == 1 { p } else { p.with_padding(t, bo, l, r) };
                p.validate().ok().map(|_| p)
            },
        )
}

fn problem() -> impl Strategy<Value = ConvProblem> {
    (
        params(),
        0u8..24,
        prop_oneof![Just(0usize), 1usize..6],
        any::<u64>(),
    )
        .prop_map(|(p, combo, extra, seed)| ConvProblem::new(p, combo, extra, seed))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_tier_matches_reference(p in problem()) {
        for tier in tiers() {
            p.check(tier)?;
        }
    }
}

#[test]
fn named_shapes() {
    let cases = [
        Conv2dParams::dense(1, 1, 1, 5, 7, 3, 1, 1), // 1x1 image, 3x3 kernel
        Conv2dParams::dense(2, 7, 5, 3, 17, 3, 2, 1), // stride 2 on odd sizes, batch 2
        Conv2dParams::dense(1, 9, 8, 4, 16, 5, 1, 0).with_padding(2, 0, 1, 3), // asymmetric
        Conv2dParams::dense(1, 15, 7, 16, 32, 3, 1, 1),
        Conv2dParams::dense(2, 6, 6, 33, 13, 1, 1, 0), // pointwise
        Conv2dParams::dense(1, 6, 6, 9, 12, 1, 2, 0),  // 1x1 stride 2: im2col
        Conv2dParams::dense(1, 11, 9, 20, 2, 3, 1, 1), // classifier: small N, Cin not a multiple of 8
        Conv2dParams::dense(2, 5, 7, 16, 7, 3, 2, 1),  // small N, stride 2, 7 = 4 + 3 columns
        Conv2dParams::dense(1, 6, 5, 24, 3, 1, 1, 0),  // small N pointwise
        Conv2dParams::depthwise(2, 9, 7, 17, 3, 2, 1),
        Conv2dParams::depthwise(1, 8, 8, 8, 3, 1, 1),
    ];
    for (i, p) in cases.into_iter().enumerate() {
        for combo in [0, 6, 10, 23] {
            let prob = ConvProblem::new(p, combo, 3, i as u64 * 31 + combo as u64);
            for tier in tiers() {
                prob.check(tier).unwrap();
            }
        }
    }
}

#[test]
fn decoder_like_conv_is_bit_identical_on_one_and_two_threads() {
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    // A decoder conv (GEMM) and a classifier (small N, several pixel blocks).
    for (params, seed) in [
        (Conv2dParams::dense(1, 14, 14, 48, 40, 3, 1, 1), 5),
        (Conv2dParams::dense(1, 23, 17, 64, 2, 3, 1, 1), 6),
    ] {
        let p = ConvProblem::new(params, 23, 4, seed);
        for tier in tiers() {
            let a = one.install(|| p.run(tier));
            let b = two.install(|| p.run(tier));
            assert!(
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "tier {tier}, out_c {}",
                params.out_c
            );
        }
    }
}

#[test]
fn algorithm_choice_and_weight_preparation() {
    let dense = Conv2dParams::dense(1, 5, 5, 3, 4, 3, 1, 1);
    let dw = Conv2dParams::depthwise(1, 5, 5, 3, 3, 1, 1);
    assert!(conv::use_small_n(&dense));
    assert!(
        matches!(ConvWeights::prepare(&dense, &[0.0; 108]).unwrap(), ConvWeights::Columns(w) if w.len() == 108)
    );
    let wide = Conv2dParams::dense(1, 5, 5, 3, conv::SMALL_N + 1, 3, 1, 1);
    assert!(!conv::use_small_n(&wide) && !conv::use_small_n(&dw));
    let w = vec![0.0; wide.weight_len()];
    assert!(
        matches!(ConvWeights::prepare(&wide, &w).unwrap(), ConvWeights::Gemm(b) if b.k() == 27 && b.n() == conv::SMALL_N + 1)
    );
    assert!(
        matches!(ConvWeights::prepare(&dw, &[0.0; 27]).unwrap(), ConvWeights::Depthwise(w) if w.len() == 27)
    );
    assert_eq!(dw.algorithm(), ConvAlgorithm::Depthwise);
    assert!(ConvWeights::prepare(&dense, &[0.0; 107]).is_err());
}

#[test]
fn bad_arguments_are_errors() {
    let dense = Conv2dParams::dense(1, 5, 5, 3, 4, 3, 1, 1);
    let dw = Conv2dParams::depthwise(1, 5, 5, 3, 3, 1, 1);
    let wd = ConvWeights::prepare(&dense, &[0.5; 108]).unwrap();
    let ww = ConvWeights::prepare(&dw, &[0.5; 27]).unwrap();
    let input = vec![1.0; 75];
    let mut out = vec![0.0; 200];
    let e = Epilogue::IDENTITY;
    for tier in tiers() {
        let run = |p: &Conv2dParams, x: &[f32], w: &ConvWeights, o: &mut [f32], s: usize| {
            conv::conv2d_nhwc_with_tier(tier, p, x, w, o, s, &e)
        };
        assert!(run(&dense, &input, &wd, &mut out, 4).is_ok());
        assert!(matches!(
            run(&dense, &input, &wd, &mut out[..99], 4),
            Err(KernelError::LengthMismatch { .. })
        ));
        assert!(matches!(
            run(&dense, &input[..74], &wd, &mut out, 4),
            Err(KernelError::LengthMismatch { .. })
        ));
        assert!(matches!(
            run(&dense, &input, &wd, &mut out, 3),
            Err(KernelError::InvalidParams { .. })
        ));
        assert!(matches!(
            run(&dense, &input, &ww, &mut out, 4),
            Err(KernelError::InvalidParams { .. })
        ));
        assert!(matches!(
            run(&dw, &input, &wd, &mut out, 3),
            Err(KernelError::InvalidParams { .. })
        ));
        assert!(matches!(
            run(&dw, &input, &ww, &mut out, 4),
            Err(KernelError::InvalidParams { .. })
        ));
        assert!(run(&dw, &input, &ww, &mut out[..75], 3).is_ok());
        let other = Conv2dParams::dense(1, 5, 5, 3, 4, 1, 1, 0);
        assert!(matches!(
            run(&other, &input, &wd, &mut out, 4),
            Err(KernelError::InvalidParams { .. })
        ));
    }
}

#[test]
fn ndarray_wrapper_matches_reference() {
    let p = ConvProblem::new(Conv2dParams::dense(2, 6, 5, 3, 7, 3, 2, 1), 10, 0, 3);
    let input = ndarray::Array4::from_shape_vec((2, 6, 5, 3), p.input.clone()).unwrap();
    let w = ConvWeights::prepare(&p.params, &p.weights).unwrap();
    let got = conv::conv2d(input.view(), &p.params, &w, &p.epilogue()).unwrap();
    let (oh, ow) = p.params.out_hw();
    assert_eq!(got.dim(), (2, oh, ow, 7));
    let want = p.reference();
    let mag = p.magnitudes();
    for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() <= 1e-5 * (mag[i] + 10.0), "element {i}: {g} vs {w}");
    }
    let wrong = ndarray::Array4::<f32>::zeros((2, 6, 5, 4));
    assert!(conv::conv2d(wrong.view(), &p.params, &w, &p.epilogue()).is_err());
}
