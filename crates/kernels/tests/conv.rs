//! Convolution tests: the dispatcher (every tier, every algorithm) against the direct-loop oracle
//! given the original HWIO / HWC weights, so weight packing and im2col are tested too.
//!
//! Odd sizes, stride 2 on odd inputs, asymmetric padding, batch 2, 1x1 images, kernels 1/3/5,
//! channels 1..17 around the GEMM tile. Outputs are written with a pixel stride into a
//! NaN-filled wider buffer; every element outside the written channel slice must stay NaN.

use mobilenet_unet_kernels::conv::{self, reference, ConvWeights};
use mobilenet_unet_kernels::{Conv2dParams, ConvAlgorithm, Epilogue, KernelError, Tier};
use proptest::prelude::*;

mod common;
use common::{
    compare, same_bits, tiers, with_threads, ChannelSlice, EpilogueData, Problem, Rng, Tolerance, COMBOS,
};

#[derive(Debug, Clone)]
struct ConvProblem {
    params: Conv2dParams,
    input: Vec<f32>,
    weights: Vec<f32>,
    epi: EpilogueData,
    /// Extra channels per output pixel (dense only) and the channel offset written into.
    extra: usize,
    offset: usize,
}

impl ConvProblem {
    fn new(params: Conv2dParams, combo: u8, extra: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let extra = if params.is_depthwise() { 0 } else { extra };
        ConvProblem {
            params,
            input: rng.vec(params.input_len(), -2.0, 2.0),
            weights: rng.vec(params.weight_len(), -1.0, 1.0),
            epi: EpilogueData::random(combo, params.out_c, (-3.0, 8.0), &mut rng),
            extra,
            offset: extra / 2,
        }
    }

    fn stride(&self) -> usize {
        self.params.out_c + self.extra
    }

    /// The direct-loop oracle, dense (`out_c` channels per pixel).
    fn reference(&self) -> Vec<f32> {
        let mut out = vec![f32::NAN; self.params.output_len()];
        reference::conv2d_nhwc(
            &self.params,
            &self.input,
            &self.weights,
            &mut out,
            &self.epi.epilogue(),
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

    /// Where [`Problem::run`] writes in its wide buffer.
    fn slice(&self) -> ChannelSlice {
        ChannelSlice {
            c: self.params.out_c,
            stride: self.stride(),
            offset: self.offset,
        }
    }
}

impl Problem for ConvProblem {
    fn shape(&self) -> String {
        format!(
            "{:?} ({:?}), stride {} offset {}, epilogue {:?}",
            self.params,
            self.params.algorithm(),
            self.stride(),
            self.offset,
            self.epi.epilogue()
        )
    }

    /// The reference in the channel slice, NaN in the other channels (which must stay NaN).
    fn expected(&self) -> Vec<f32> {
        self.slice().widen(&self.reference(), f32::NAN)
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
            &self.epi.epilogue(),
        )
        .unwrap();
        buf
    }

    /// A few roundings per term of the `k`-long reduction, magnified by the epilogue.
    fn tolerance(&self, _expected: &[f32]) -> Tolerance {
        let c = self.params.out_c;
        let k = self.params.weight_len() / c;
        let bounds: Vec<f32> = (self.magnitudes().iter().enumerate())
            .map(|(i, &mag)| 2.0 * (k as f32 + 8.0) * f32::EPSILON * (self.epi.magnitude(i % c, mag) + 1.0))
            .collect();
        Tolerance::Within(self.slice().widen(&bounds, 0.0))
    }

    fn locate(&self, i: usize) -> String {
        self.slice().locate(i)
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
        0u8..COMBOS,
        prop_oneof![Just(0usize), 1usize..6],
        any::<u64>(),
    )
        .prop_map(|(p, combo, extra, seed)| ConvProblem::new(p, combo, extra, seed))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_tier_matches_reference(p in problem()) {
        p.check_every_tier()?;
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
            ConvProblem::new(p, combo, 3, i as u64 * 31 + combo as u64).assert_every_tier();
        }
    }
}

#[test]
fn decoder_like_conv_is_bit_identical_on_one_and_two_threads() {
    // A decoder conv (GEMM) and a classifier (small N, several pixel blocks).
    for (params, seed) in [
        (Conv2dParams::dense(1, 14, 14, 48, 40, 3, 1, 1), 5),
        (Conv2dParams::dense(1, 23, 17, 64, 2, 3, 1, 1), 6),
    ] {
        let p = ConvProblem::new(params, 23, 4, seed);
        for tier in tiers() {
            let one = with_threads(1, || p.run(tier));
            let two = with_threads(2, || p.run(tier));
            if let Err(e) = same_bits(&one, &two) {
                panic!("tier {tier}, out_c {}: 1 and 2 threads differ: {e}", params.out_c);
            }
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
    let got = conv::conv2d(input.view(), &p.params, &w, &p.epi.epilogue()).unwrap();
    let (oh, ow) = p.params.out_hw();
    assert_eq!(got.dim(), (2, oh, ow, 7));
    // extra = 0: the problem's layout is the dense output the wrapper returns.
    let want = p.expected();
    let found = got.as_standard_layout();
    let found = found.as_slice().unwrap();
    if let Err(e) = compare(found, &want, &p.tolerance(&want), |i| p.locate(i)) {
        panic!("{}: {e}", p.shape());
    }
    let wrong = ndarray::Array4::<f32>::zeros((2, 6, 5, 4));
    assert!(conv::conv2d(wrong.view(), &p.params, &w, &p.epi.epilogue()).is_err());
}
