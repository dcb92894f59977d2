//! Depthwise convolution: every available tier against the naive reference.
//!
//! A `Problem` holds one convolution (shape, data, epilogue). `reference()` runs the oracle
//! once and caches it, `run(tier)` runs the tier under test into a NaN-filled output, and
//! `check(tier)` compares them: bit for bit for the portable tier (and rung 2 of the ladder),
//! which sum the same products in the same order with the same roundings; within a tolerance
//! scaled by the magnitude of each output's reduction for the SIMD tiers (FMA rounds once
//! where the reference rounds twice). Failures print every parameter and a found/expected grid.

mod common;

use common::tiers;
use mobilenet_unet_kernels::depthwise::{
    depthwise_conv2d, depthwise_conv2d_nhwc, depthwise_conv2d_nhwc_generic, depthwise_conv2d_nhwc_with_tier,
    kernel_name, CHANNEL_TILE, CHANNEL_TILE_AVX512,
};
use mobilenet_unet_kernels::{Activation, ChannelAffine, Conv2dParams, Epilogue, KernelError, Tier};
use proptest::prelude::*;
use std::sync::OnceLock;

/// Deterministic data in `[-amp, amp)` (xorshift64*), so big problems need no proptest vectors.
fn data(seed: u64, len: usize, amp: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            let u = (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32;
            (2.0 * u - 1.0) * amp
        })
        .collect()
}

/// Which optional epilogue parts are present.
#[derive(Debug, Clone, Copy)]
struct EpSpec {
    scale: bool,
    bias: bool,
    act: Activation,
    post: bool,
}

#[derive(Debug)]
struct Problem {
    params: Conv2dParams,
    input: Vec<f32>,
    weights: Vec<f32>,
    scale: Option<Vec<f32>>,
    bias: Option<Vec<f32>>,
    act: Activation,
    post: Option<(Vec<f32>, Vec<f32>)>,
    /// The reference output and the per-output tolerance, computed on first use: every tier
    /// of a case is compared against the same oracle run.
    expected: OnceLock<(Vec<f32>, Vec<f32>)>,
}

/// How a result must agree with the reference.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Agreement {
    /// Bit for bit (the same sums in the same order, rounded the same way).
    Exact,
    /// Within [`Problem::tolerance`] (FMA, which rounds once where the reference rounds twice).
    Tolerance,
}

impl Problem {
    /// Inputs in [-3, 3) and weights in [-1.5, 1.5): 3x3 sums land well on both sides of 0 and 6.
    fn new(params: Conv2dParams, ep: EpSpec, seed: u64) -> Problem {
        let c = params.in_c;
        Problem {
            params,
            input: data(seed, params.input_len(), 3.0),
            weights: data(seed + 1, params.kh * params.kw * c, 1.5),
            scale: ep
                .scale
                .then(|| data(seed + 2, c, 1.0).iter().map(|v| 1.5 + v).collect()),
            bias: ep.bias.then(|| data(seed + 3, c, 3.0)),
            act: ep.act,
            post: ep.post.then(|| (data(seed + 4, c, 2.0), data(seed + 5, c, 1.0))),
            expected: OnceLock::new(),
        }
    }

    /// The same convolution and data with another activation (and its own reference).
    fn with_activation(&self, act: Activation) -> Problem {
        Problem {
            params: self.params,
            input: self.input.clone(),
            weights: self.weights.clone(),
            scale: self.scale.clone(),
            bias: self.bias.clone(),
            act,
            post: self.post.clone(),
            expected: OnceLock::new(),
        }
    }

    fn epilogue(&self) -> Epilogue<'_> {
        Epilogue {
            scale: self.scale.as_deref(),
            bias: self.bias.as_deref(),
            activation: self.act,
            post: self
                .post
                .as_ref()
                .map(|(s, t)| ChannelAffine { scale: s, shift: t }),
        }
    }

    fn run(&self, tier: Tier) -> Vec<f32> {
        let mut out = vec![f32::NAN; self.params.output_len()];
        depthwise_conv2d_nhwc_with_tier(
            tier,
            &self.params,
            &self.input,
            &self.weights,
            &mut out,
            &self.epilogue(),
        )
        .unwrap();
        out
    }

    /// The oracle's output and the tolerance of each element, computed once per problem.
    fn expected(&self) -> &(Vec<f32>, Vec<f32>) {
        self.expected
            .get_or_init(|| (self.run(Tier::Reference), self.tolerance()))
    }

    fn reference(&self) -> &[f32] {
        &self.expected().0
    }

    /// Per output: a bound on its rounding error, from `Σ|x·w|` over the window and the
    /// epilogue's magnitudes (f32 epsilon times the reduction length plus the epilogue's steps).
    fn tolerance(&self) -> Vec<f32> {
        let abs = |v: &[f32]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
        let mut mag = vec![f32::NAN; self.params.output_len()];
        let (x, w) = (abs(&self.input), abs(&self.weights));
        depthwise_conv2d_nhwc_with_tier(
            Tier::Reference,
            &self.params,
            &x,
            &w,
            &mut mag,
            &Epilogue::IDENTITY,
        )
        .unwrap();
        let steps = (self.params.kh * self.params.kw + 4) as f32;
        let c = self.params.in_c;
        mag.iter()
            .enumerate()
            .map(|(i, &m)| {
                let ch = i % c;
                let s = self.scale.as_ref().map_or(1.0, |s| s[ch].abs());
                let b = self.bias.as_ref().map_or(0.0, |b| b[ch].abs());
                let (ps, pt) = self
                    .post
                    .as_ref()
                    .map_or((1.0, 0.0), |(s, t)| (s[ch].abs(), t[ch].abs()));
                2.0 * steps * f32::EPSILON * ((m * s + b) * ps + pt) + f32::MIN_POSITIVE
            })
            .collect()
    }

    /// Rung 2 of the ladder (channel-innermost, any shape) instead of a tier's dispatch.
    fn run_generic(&self) -> Vec<f32> {
        let mut out = vec![f32::NAN; self.params.output_len()];
        depthwise_conv2d_nhwc_generic(
            &self.params,
            &self.input,
            &self.weights,
            &mut out,
            &self.epilogue(),
        )
        .unwrap();
        out
    }

    fn check(&self, tier: Tier) -> std::result::Result<(), String> {
        let agreement = match tier {
            // SIMD128 has no FMA: a separate multiply and add in the reference's order.
            Tier::Reference | Tier::Portable | Tier::WasmSimd128 => Agreement::Exact,
            Tier::Avx2 | Tier::Avx512 | Tier::Neon => Agreement::Tolerance,
        };
        self.compare(
            &tier.to_string(),
            kernel_name(tier, &self.params).unwrap_or("unavailable"),
            &self.run(tier),
            agreement,
        )
    }

    fn compare(
        &self,
        label: &str,
        kernel: &str,
        found: &[f32],
        agreement: Agreement,
    ) -> std::result::Result<(), String> {
        let (expected, tol) = self.expected();
        assert_eq!(found.len(), expected.len(), "{label}: output length");
        let bad = (0..found.len())
            .filter(|&i| match agreement {
                Agreement::Exact => found[i].to_bits() != expected[i].to_bits(),
                // NaN (an unwritten output) fails: it is never within the tolerance.
                Agreement::Tolerance => {
                    let d = (found[i] - expected[i]).abs();
                    d.is_nan() || d > tol[i]
                }
            })
            .collect::<Vec<_>>();
        if bad.is_empty() {
            return Ok(());
        }
        Err(self.report(label, kernel, agreement, found, expected, &bad))
    }

    /// Every parameter, the first mismatches, and a found/expected grid of the first bad channel.
    fn report(
        &self,
        label: &str,
        kernel: &str,
        agreement: Agreement,
        found: &[f32],
        expected: &[f32],
        bad: &[usize],
    ) -> String {
        let p = &self.params;
        let (oh, ow) = p.out_hw();
        let c = p.in_c;
        let mut s = format!(
            "{label} ({kernel}, {agreement:?}): {} of {} outputs wrong\nparams {p:?}\nepilogue scale={} bias={} act={:?} post={}\n",
            bad.len(),
            found.len(),
            self.scale.is_some(),
            self.bias.is_some(),
            self.act,
            self.post.is_some()
        );
        for &i in bad.iter().take(8) {
            let (n, y, x, ch) = (i / (oh * ow * c), i / (ow * c) % oh, i / c % ow, i % c);
            s += &format!(
                "  [n={n} y={y} x={x} c={ch}] found {} expected {}\n",
                found[i], expected[i]
            );
        }
        let i0 = bad[0];
        let (n0, ch0) = (i0 / (oh * ow * c), i0 % c);
        s += &format!("grid of image {n0}, channel {ch0} (found / expected):\n");
        for y in 0..oh.min(12) {
            for x in 0..ow.min(10) {
                let i = ((n0 * oh + y) * ow + x) * c + ch0;
                s += &format!("{:>9.3}/{:<9.3}", found[i], expected[i]);
            }
            s += "\n";
        }
        s
    }
}

/// The tiers under test beyond the oracle; prints the ones this machine lacks.
fn fast_tiers() -> Vec<Tier> {
    tiers().into_iter().filter(|&t| t != Tier::Reference).collect()
}

/// Every available tier, and rung 2 of the ladder, against the reference.
fn check_all(p: &Problem) {
    if let Err(e) = check_all_tiers(p) {
        panic!("{e}");
    }
}

fn check_all_tiers(p: &Problem) -> std::result::Result<(), String> {
    for tier in fast_tiers() {
        p.check(tier)?;
    }
    p.compare(
        "ladder rung 2",
        "depthwise_conv2d_nhwc_generic",
        &p.run_generic(),
        Agreement::Exact,
    )
}

fn ep_strategy() -> impl Strategy<Value = EpSpec> {
    let act = prop_oneof![
        Just(Activation::None),
        Just(Activation::Relu),
        Just(Activation::Relu6)
    ];
    (any::<bool>(), any::<bool>(), act, any::<bool>()).prop_map(|(scale, bias, act, post)| EpSpec {
        scale,
        bias,
        act,
        post,
    })
}

prop_compose! {
    fn problem()(
        batch in 1usize..=2,
        in_h in 1usize..=19,
        in_w in 1usize..=19,
        c in prop_oneof![1usize..=17, Just(24), Just(31), Just(33)],
        k in prop_oneof![3 => Just(3usize), 1 => Just(1usize), 1 => Just(5usize)],
        (sh, sw) in prop_oneof![3 => (1usize..=2).prop_map(|s| (s, s)), 1 => (1usize..=3, 1usize..=3)],
        pads in [0usize..=2, 0usize..=2, 0usize..=2, 0usize..=2],
        ep in ep_strategy(),
        seed in any::<u64>(),
    ) -> Problem {
        // Grow the input until the padded image holds at least one window.
        let in_h = in_h.max(k.saturating_sub(pads[0] + pads[1]));
        let in_w = in_w.max(k.saturating_sub(pads[2] + pads[3]));
        let params = Conv2dParams { stride_h: sh, stride_w: sw, ..Conv2dParams::depthwise(batch, in_h, in_w, c, k, 1, 0) }
            .with_padding(pads[0], pads[1], pads[2], pads[3]);
        Problem::new(params, ep, seed)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn every_tier_matches_reference(p in problem()) {
        check_all_tiers(&p).map_err(TestCaseError::fail)?;
    }
}

const ALL_EPILOGUES: EpSpec = EpSpec {
    scale: true,
    bias: true,
    act: Activation::Relu6,
    post: true,
};

/// Channel counts at, around and between both tiles (8 and 16): full tiles, every tail length
/// of the 8-lane tiers and most of the 16-lane one, a tail after several full tiles.
fn channel_counts() -> Vec<usize> {
    let mut cs = vec![1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 40];
    for t in [CHANNEL_TILE, CHANNEL_TILE_AVX512] {
        cs.extend([t - 1, t, t + 1, 2 * t - 1, 2 * t, 2 * t + 1, 3 * t]);
    }
    cs.sort_unstable();
    cs.dedup();
    cs
}

#[test]
fn channels_around_the_tile() {
    // Odd sizes (ncnn's 15x7, 18x17), stride 2 on odd inputs, 1x1 and 2x2 images, batch 2.
    let pads: [[usize; 4]; 3] = [[1, 1, 1, 1], [0, 0, 0, 0], [0, 1, 2, 0]];
    for c in channel_counts() {
        for (h, w, s) in [
            (15, 7, 1),
            (18, 17, 1),
            (15, 7, 2),
            (17, 17, 2),
            (1, 1, 1),
            (2, 2, 2),
        ] {
            for [t, b, l, r] in pads {
                let p = Conv2dParams::depthwise(2, h, w, c, 3, s, 0).with_padding(t, b, l, r);
                if p.validate().is_err() {
                    continue; // no window fits (a 1x1 image without padding)
                }
                check_all(&Problem::new(p, ALL_EPILOGUES, c as u64));
            }
        }
    }
}

#[test]
fn minimized_unpadded_interior_pairs() {
    // proptest's shrink of a broken second accumulator (acc1 reading x[kx] instead of x[S + kx]):
    // one channel, no padding, a single output row made only of interior pairs.
    for s in [1, 2] {
        let ep = EpSpec {
            scale: false,
            bias: false,
            act: Activation::None,
            post: false,
        };
        check_all(&Problem::new(Conv2dParams::depthwise(1, 3, 6, 1, 3, s, 0), ep, 1));
    }
}

#[test]
fn column_blocks_with_channel_tail() {
    // Wide channel counts make the fast paths split each row into blocks of 2..8 output columns
    // (see `Geometry::ox_block`), so block edges cut through the interior and the border.
    for c in [300, 260, 129] {
        for (s, pads) in [
            (1, [1, 1, 1, 1]),
            (2, [1, 1, 1, 1]),
            (1, [0, 1, 2, 0]),
            (2, [0, 1, 0, 1]),
        ] {
            let p = Conv2dParams::depthwise(1, 7, 13, c, 3, s, 0)
                .with_padding(pads[0], pads[1], pads[2], pads[3]);
            check_all(&Problem::new(p, ALL_EPILOGUES, c as u64));
        }
    }
}

#[test]
fn asymmetric_padding_and_other_kernels() {
    for (k, pads) in [
        (3, [0, 1, 0, 1]),
        (3, [1, 0, 2, 0]),
        (3, [2, 2, 2, 2]),
        (5, [2, 2, 2, 2]),
        (1, [0, 0, 1, 0]),
    ] {
        for s in [1, 2] {
            let p = Conv2dParams::depthwise(1, 9, 11, 19, k, s, 0)
                .with_padding(pads[0], pads[1], pads[2], pads[3]);
            check_all(&Problem::new(p, ALL_EPILOGUES, 7));
        }
    }
}

#[test]
fn every_epilogue_variant() {
    // Each optional step present or absent, each activation; a full 16-lane tile plus tails.
    let shapes = [
        Conv2dParams::depthwise(1, 6, 5, 13, 3, 1, 1),
        Conv2dParams::depthwise(2, 9, 7, 17, 3, 2, 0).with_padding(0, 1, 1, 0),
        Conv2dParams::depthwise(1, 7, 8, 40, 3, 1, 1),
    ];
    for p in shapes {
        for bits in 0..8u8 {
            for act in [Activation::None, Activation::Relu, Activation::Relu6] {
                let ep = EpSpec {
                    scale: bits & 1 != 0,
                    bias: bits & 2 != 0,
                    act,
                    post: bits & 4 != 0,
                };
                check_all(&Problem::new(p, ep, bits as u64));
            }
        }
    }
}

#[test]
fn relu6_really_clamps_both_sides() {
    let ep = EpSpec {
        scale: false,
        bias: false,
        act: Activation::Relu6,
        post: false,
    };
    let p = Problem::new(Conv2dParams::depthwise(1, 12, 12, 16, 3, 1, 1), ep, 3);
    let unclamped = p.with_activation(Activation::None);
    let raw = unclamped.reference();
    assert!(
        raw.iter().any(|&v| v < 0.0) && raw.iter().any(|&v| v > 6.0),
        "data never crosses the bounds"
    );
    for tier in Tier::available() {
        let out = p.run(tier);
        assert!(
            out.contains(&0.0) && out.contains(&6.0),
            "{tier}: no clamping seen"
        );
        assert!(
            out.iter().all(|&v| (0.0..=6.0).contains(&v)),
            "{tier}: value outside [0, 6]"
        );
    }
    check_all(&p);
}

#[test]
fn reference_means_the_formula() {
    // All-ones 3x3 over all-ones 4x4 with pad 1: each output counts the taps inside the image.
    let p = Conv2dParams::depthwise(1, 4, 4, 1, 3, 1, 1);
    let mut out = vec![f32::NAN; 16];
    depthwise_conv2d_nhwc_with_tier(
        Tier::Reference,
        &p,
        &[1.0; 16],
        &[1.0; 9],
        &mut out,
        &Epilogue::IDENTITY,
    )
    .unwrap();
    #[rustfmt::skip]
    let counts = [4.0, 6.0, 6.0, 4.0, 6.0, 9.0, 9.0, 6.0, 6.0, 9.0, 9.0, 6.0, 4.0, 6.0, 6.0, 4.0];
    assert_eq!(out, counts);
    // Channel 1 has weight 1 only at the top-left tap: output (y, x) = input (y-1, x-1), 0 outside.
    let p = Conv2dParams::depthwise(1, 3, 3, 2, 3, 1, 1);
    let input: Vec<f32> = (0..18).map(|i| i as f32).collect();
    let mut w = vec![0.0; 18];
    w[1] = 1.0;
    let mut out = vec![f32::NAN; 18];
    for tier in Tier::available() {
        depthwise_conv2d_nhwc_with_tier(tier, &p, &input, &w, &mut out, &Epilogue::IDENTITY).unwrap();
        let ch1: Vec<f32> = out.iter().skip(1).step_by(2).copied().collect();
        assert_eq!(ch1, [0.0, 0.0, 0.0, 0.0, 1.0, 3.0, 0.0, 7.0, 9.0], "{tier}");
    }
}

/// MobileNet v1's depthwise layers (ZeroPadding2D((1,1)) + 3x3 'valid'), batch 1 or 2.
const MOBILENET: [(usize, usize, usize, usize); 9] = [
    (112, 112, 32, 1),
    (112, 112, 64, 2),
    (56, 56, 128, 1),
    (56, 56, 128, 2),
    (28, 28, 256, 1),
    (28, 28, 256, 2),
    (14, 14, 512, 1),
    (14, 14, 512, 2),
    (7, 7, 1024, 1),
];

#[test]
fn mobilenet_layers() {
    let ep = EpSpec {
        scale: true,
        bias: true,
        act: Activation::Relu6,
        post: false,
    };
    for (i, &(h, w, c, s)) in MOBILENET.iter().enumerate() {
        let batch = if h <= 28 { 2 } else { 1 };
        check_all(&Problem::new(
            Conv2dParams::depthwise(batch, h, w, c, 3, s, 1),
            ep,
            i as u64,
        ));
    }
}

#[test]
fn one_and_two_threads_are_bit_identical() {
    let pool = |n| rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap();
    let (one, two) = (pool(1), pool(2));
    for &(h, w, c, s) in &[(56, 56, 128, 2), (28, 28, 256, 1), (15, 7, 17, 1)] {
        let p = Problem::new(Conv2dParams::depthwise(2, h, w, c, 3, s, 1), ALL_EPILOGUES, 11);
        for tier in Tier::available() {
            let a = one.install(|| p.run(tier));
            let b = two.install(|| p.run(tier));
            assert!(
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{tier} {h}x{w}x{c} s{s}"
            );
        }
    }
}

#[test]
fn wrong_lengths_are_errors() {
    let p = Conv2dParams::depthwise(1, 5, 5, 3, 3, 1, 1);
    let (x, w, b) = (vec![0.0; 75], vec![0.0; 27], vec![0.0; 3]);
    let mut y = vec![0.0; 75];
    let ep = Epilogue::bias_act(&b, Activation::Relu6);
    for tier in Tier::available() {
        let run = |x: &[f32], w: &[f32], y: &mut [f32], ep: &Epilogue| {
            depthwise_conv2d_nhwc_with_tier(tier, &p, x, w, y, ep)
        };
        let what = |r: mobilenet_unet_kernels::Result<()>| match r {
            Err(KernelError::LengthMismatch { what, .. }) => what,
            other => panic!("{tier}: expected a length error, got {other:?}"),
        };
        assert_eq!(what(run(&x[1..], &w, &mut y, &ep)), "input");
        assert_eq!(what(run(&x, &w[..26], &mut y, &ep)), "weights");
        assert_eq!(what(run(&x, &w, &mut y[..74], &ep)), "output");
        assert_eq!(
            what(run(
                &x,
                &w,
                &mut y,
                &Epilogue::bias_act(&b[..2], Activation::Relu)
            )),
            "epilogue.bias"
        );
        run(&x, &w, &mut y, &ep).unwrap();
    }
}

#[test]
fn non_depthwise_params_are_errors() {
    let dense = Conv2dParams::dense(1, 5, 5, 4, 4, 3, 1, 1);
    let multiplier = Conv2dParams {
        out_c: 8,
        ..Conv2dParams::depthwise(1, 5, 5, 4, 3, 1, 1)
    };
    let too_small = Conv2dParams::depthwise(1, 1, 1, 4, 3, 1, 0);
    let no_stride = Conv2dParams::depthwise(1, 5, 5, 4, 3, 0, 1);
    for p in [dense, multiplier, too_small, no_stride] {
        let mut y = vec![0.0; p.output_len()];
        let r = depthwise_conv2d_nhwc(
            &p,
            &vec![0.0; p.input_len()],
            &[0.0; 36],
            &mut y,
            &Epilogue::IDENTITY,
        );
        assert!(
            matches!(r, Err(KernelError::InvalidParams { .. })),
            "{p:?}: {r:?}"
        );
    }
}

#[test]
fn ndarray_wrapper_matches_slices() {
    use ndarray::{Array3, Array4};
    let p = Problem::new(Conv2dParams::depthwise(2, 9, 6, 11, 3, 2, 1), ALL_EPILOGUES, 5);
    let x = Array4::from_shape_vec((2, 9, 6, 11), p.input.clone()).unwrap();
    let w = Array3::from_shape_vec((3, 3, 11), p.weights.clone()).unwrap();
    let y = depthwise_conv2d(x.view(), w.view(), (2, 2), [1, 1, 1, 1], &p.epilogue()).unwrap();
    assert_eq!(y.dim(), (2, 5, 3, 11));
    assert_eq!(y.as_slice().unwrap(), p.run(Tier::active().unwrap()));
    // A non-contiguous view (NCHW data viewed as NHWC) is copied to standard layout first.
    let nchw = x
        .view()
        .permuted_axes([0, 3, 1, 2])
        .as_standard_layout()
        .into_owned();
    let nhwc_view = nchw.view().permuted_axes([0, 2, 3, 1]);
    let y2 = depthwise_conv2d(nhwc_view, w.view(), (2, 2), [1, 1, 1, 1], &p.epilogue()).unwrap();
    assert_eq!(y, y2);
    let bad = Array3::<f32>::zeros((3, 3, 10));
    assert!(depthwise_conv2d(x.view(), bad.view(), (1, 1), [1; 4], &Epilogue::IDENTITY).is_err());
}

#[test]
fn empty_batch_and_all_padding_inputs() {
    let bias = [0.5, -2.0, 7.0];
    let ep = Epilogue::bias_act(&bias, Activation::Relu6);
    for tier in Tier::available() {
        // batch 0: nothing to read or write, and that is not an error.
        let p = Conv2dParams::depthwise(0, 5, 5, 3, 3, 1, 1);
        depthwise_conv2d_nhwc_with_tier(tier, &p, &[], &[0.0; 27], &mut [], &ep).unwrap();
        // A 0x0 image with padding 2: every window is all padding, so out = act(bias).
        let p = Conv2dParams::depthwise(1, 0, 0, 3, 3, 1, 2);
        let mut out = vec![f32::NAN; p.output_len()];
        assert_eq!(out.len(), 2 * 2 * 3);
        depthwise_conv2d_nhwc_with_tier(tier, &p, &[], &[1.0; 27], &mut out, &ep).unwrap();
        assert_eq!(out, [0.5, 0.0, 6.0].repeat(4), "{tier}");
    }
}

#[test]
fn kernel_names_follow_the_tier() {
    // The crate's unit tests check that each table's names are its functions' names; this
    // checks that each tier reports (and so runs) its own functions, AVX-512 its 16-lane ones.
    let s1 = Conv2dParams::depthwise(1, 8, 8, 16, 3, 1, 1);
    let s2 = Conv2dParams::depthwise(1, 8, 8, 16, 3, 2, 1);
    let k5 = Conv2dParams::depthwise(1, 8, 8, 16, 5, 1, 2);
    let expected = |tier| match tier {
        Tier::Reference => ["depthwise_row_reference"; 3],
        Tier::Portable => [
            "f32_dwconv_3x3s1_8c_portable",
            "f32_dwconv_3x3s2_8c_portable",
            "f32_dwconv_generic_portable",
        ],
        Tier::Avx2 => [
            "f32_dwconv_3x3s1_8c_fma",
            "f32_dwconv_3x3s2_8c_fma",
            "f32_dwconv_generic_avx2",
        ],
        Tier::Avx512 => [
            "f32_dwconv_3x3s1_16c_avx512",
            "f32_dwconv_3x3s2_16c_avx512",
            "f32_dwconv_generic_avx512",
        ],
        Tier::Neon => [
            "f32_dwconv_3x3s1_4c_neon",
            "f32_dwconv_3x3s2_4c_neon",
            "f32_dwconv_generic_neon",
        ],
        Tier::WasmSimd128 => [
            "f32_dwconv_3x3s1_4c_simd128",
            "f32_dwconv_3x3s2_4c_simd128",
            "f32_dwconv_generic_simd128",
        ],
    };
    let available = tiers();
    for tier in Tier::ALL {
        let found = [s1, s2, k5].map(|p| kernel_name(tier, &p).unwrap_or("unavailable"));
        if available.contains(&tier) {
            assert_eq!(found, expected(tier), "{tier}");
        } else {
            assert_eq!(found, ["unavailable"; 3], "{tier}");
        }
    }
}
