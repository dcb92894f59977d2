//! Winograd F(4x4, 3x3) tests.
//!
//! - The f64 textbook algorithm equals the direct reference convolution (the matrices are right).
//! - Every fast tier equals the direct reference within a tolerance scaled by Σ|x|·|w| (the
//!   error Winograd adds in f32), on random shapes: odd sizes, 1x1 images, asymmetric padding,
//!   batch 2, channels around the 8-lane vectors and the 6x16 GEMM tile, every epilogue, a
//!   pixel stride into a NaN-filled wider buffer (every element outside the slice stays NaN).
//! - 1 and 2 threads give bit-identical results (the tile blocks differ, the sums must not).
//! - The error on the model's decoder shapes, printed and bounded.

use mobilenet_unet_kernels::conv::{self, reference, ConvWeights};
use mobilenet_unet_kernels::winograd::{self, WinogradWeights};
use mobilenet_unet_kernels::{Activation, Conv2dParams, ConvAlgorithm, Epilogue, KernelError, Tier};
use proptest::prelude::*;

mod common;
use common::{compare, same_bits, tiers, with_threads, ChannelSlice, EpilogueData, Problem, Rng, Tolerance};

/// Allowed error, in units of `f32::EPSILON` times [`WinogradProblem::winograd_magnitudes`]: the
/// size of every term the transformed algorithm adds up. Measured: below 1 on random shapes
/// (the f32 direct reference itself differs from the f64 Winograd by up to ~0.5), ~0.1 on the
/// model's shapes. A wrong tap or a misplaced tile errs by ~1/EPSILON units.
const ULPS_OF_MAGNITUDE: f32 = 2.0;

/// `|x|` of every entry of a small matrix.
fn abs<const R: usize, const C: usize>(m: &[[f64; C]; R]) -> [[f64; C]; R] {
    m.map(|row| row.map(f64::abs))
}

/// `x · y` for small matrices.
fn mul<const R: usize, const K: usize, const C: usize>(
    x: &[[f64; K]; R],
    y: &[[f64; C]; K],
) -> [[f64; C]; R] {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..K).map(|k| x[i][k] * y[k][j]).sum()))
}

fn transpose<const R: usize, const C: usize>(x: &[[f64; C]; R]) -> [[f64; R]; C] {
    std::array::from_fn(|j| std::array::from_fn(|i| x[i][j]))
}

#[derive(Debug, Clone)]
struct WinogradProblem {
    params: Conv2dParams,
    input: Vec<f32>,
    weights: Vec<f32>,
    epi: EpilogueData,
    /// Extra channels per output pixel and the channel offset written into.
    extra: usize,
    offset: usize,
}

impl WinogradProblem {
    fn new(params: Conv2dParams, combo: u8, extra: usize, seed: u64) -> WinogradProblem {
        let mut rng = Rng::new(seed);
        WinogradProblem {
            params,
            input: rng.vec(params.input_len(), -2.0, 2.0),
            weights: rng.vec(params.weight_len(), -1.0, 1.0),
            epi: EpilogueData::random(combo, params.out_c, (-3.0, 8.0), &mut rng),
            extra,
            offset: extra / 2,
        }
    }

    /// Where [`Problem::run`] writes in its wide buffer.
    fn slice(&self) -> ChannelSlice {
        ChannelSlice {
            c: self.params.out_c,
            stride: self.params.out_c + self.extra,
            offset: self.offset,
        }
    }

    /// The direct reference convolution, dense (`out_c` channels per pixel).
    fn direct(&self) -> Vec<f32> {
        let mut want = vec![f32::NAN; self.params.output_len()];
        reference::conv2d_nhwc(
            &self.params,
            &self.input,
            &self.weights,
            &mut want,
            &self.epi.epilogue(),
        )
        .unwrap();
        want
    }

    /// `EPSILON · (magnitude · gain + |bias| · gain + 1)` per element of the wide buffer (0
    /// outside the slice): the unit [`ULPS_OF_MAGNITUDE`] counts in.
    fn units(&self) -> Vec<f32> {
        let c = self.params.out_c;
        let units: Vec<f32> = (self.winograd_magnitudes().iter().enumerate())
            .map(|(i, &mag)| f32::EPSILON * (self.epi.magnitude(i % c, mag) + 1.0))
            .collect();
        self.slice().widen(&units, 0.0)
    }

    /// The largest error of `found` in `units` (from [`WinogradProblem::units`]), for the
    /// printed report.
    fn error_ulps(found: &[f32], expected: &[f32], units: &[f32]) -> f32 {
        (found.iter().zip(expected).zip(units))
            .filter(|&((_, e), _)| !e.is_nan())
            .map(|((f, e), u)| (f - e).abs() / u)
            .fold(0.0, f32::max)
    }

    /// `|Aᵀ| [ Σ_ci (|G| |g| |Gᵀ|) ⊙ (|Bᵀ| |d| |B|) ] |A|` per output: what Winograd's rounding
    /// error is proportional to (the transforms add terms of this size), in f64.
    fn winograd_magnitudes(&self) -> Vec<f32> {
        use winograd::reference::{AT, BT, G};
        let p = &self.params;
        let (oh, ow) = p.out_hw();
        let (bt, g, at) = (abs(&BT), abs(&G), abs(&AT));
        let (b, gt, a) = (transpose(&bt), transpose(&g), transpose(&at));
        let u: Vec<[[f64; 6]; 6]> = (0..p.in_c * p.out_c)
            .map(|i| {
                let (ci, co) = (i / p.out_c, i % p.out_c);
                let f: [[f64; 3]; 3] = std::array::from_fn(|ky| {
                    std::array::from_fn(|kx| {
                        self.weights[((ky * 3 + kx) * p.in_c + ci) * p.out_c + co].abs() as f64
                    })
                });
                mul(&mul(&g, &f), &gt)
            })
            .collect();
        let mut mag = vec![0.0f32; p.output_len()];
        for n in 0..p.batch {
            for ty in 0..oh.div_ceil(4) {
                for tx in 0..ow.div_ceil(4) {
                    let v: Vec<[[f64; 6]; 6]> = (0..p.in_c)
                        .map(|ci| {
                            let d: [[f64; 6]; 6] = std::array::from_fn(|r| {
                                std::array::from_fn(|s| {
                                    let iy = (4 * ty + r).checked_sub(p.pad_top).filter(|&y| y < p.in_h);
                                    let ix = (4 * tx + s).checked_sub(p.pad_left).filter(|&x| x < p.in_w);
                                    match (iy, ix) {
                                        (Some(y), Some(x)) => {
                                            self.input[((n * p.in_h + y) * p.in_w + x) * p.in_c + ci].abs()
                                                as f64
                                        }
                                        _ => 0.0,
                                    }
                                })
                            });
                            mul(&mul(&bt, &d), &b)
                        })
                        .collect();
                    for co in 0..p.out_c {
                        let mut m = [[0.0f64; 6]; 6];
                        for (ci, vc) in v.iter().enumerate() {
                            for r in 0..6 {
                                for s in 0..6 {
                                    m[r][s] += u[ci * p.out_c + co][r][s] * vc[r][s];
                                }
                            }
                        }
                        let y = mul(&mul(&at, &m), &a);
                        for (i, row) in y.iter().enumerate() {
                            for (j, &val) in row.iter().enumerate() {
                                let (oy, ox) = (4 * ty + i, 4 * tx + j);
                                if oy < oh && ox < ow {
                                    mag[((n * oh + oy) * ow + ox) * p.out_c + co] = val as f32;
                                }
                            }
                        }
                    }
                }
            }
        }
        mag
    }
}

impl Problem for WinogradProblem {
    fn shape(&self) -> String {
        let s = self.slice();
        let e = self.epi.epilogue();
        format!(
            "{:?}, stride {} offset {}, epilogue {e:?}",
            self.params, s.stride, s.offset
        )
    }

    /// The direct convolution in the channel slice, NaN elsewhere (which must stay NaN).
    fn expected(&self) -> Vec<f32> {
        self.slice().widen(&self.direct(), f32::NAN)
    }

    /// The whole NaN-filled wide buffer after the tier wrote its channel slice.
    fn run(&self, tier: Tier) -> Vec<f32> {
        let (p, s) = (&self.params, self.slice());
        let weights = WinogradWeights::prepare(p.in_c, p.out_c, &self.weights).unwrap();
        let mut buf = vec![f32::NAN; p.output_len() / p.out_c * s.stride];
        winograd::winograd_conv3x3_nhwc_with_tier(
            tier,
            p,
            &self.input,
            &weights,
            &mut buf[s.offset..],
            s.stride,
            &self.epi.epilogue(),
        )
        .unwrap();
        buf
    }

    fn tolerance(&self, _expected: &[f32]) -> Tolerance {
        tolerance_of(&self.units())
    }

    fn locate(&self, i: usize) -> String {
        self.slice().locate(i)
    }
}

/// [`ULPS_OF_MAGNITUDE`] of each unit.
fn tolerance_of(units: &[f32]) -> Tolerance {
    Tolerance::Within(units.iter().map(|u| ULPS_OF_MAGNITUDE * u).collect())
}

fn channels() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..=18, Just(24), Just(31), Just(33)]
}

fn problem() -> impl Strategy<Value = WinogradProblem> {
    (
        (1usize..=2, 1usize..=13, 1usize..=13),
        (channels(), channels()),
        (0usize..=2, 0usize..=2, 0usize..=2, 0usize..=2),
        (0u8..18, 0usize..=3, any::<u64>()),
    )
        .prop_filter_map(
            "padded input must hold the kernel",
            |((n, h, w), (ci, co), (pt, pb, pl, pr), (combo, extra, seed))| {
                let p = Conv2dParams::dense(n, h, w, ci, co, 3, 1, 0).with_padding(pt, pb, pl, pr);
                p.validate()
                    .is_ok()
                    .then(|| WinogradProblem::new(p, combo, extra, seed))
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn every_tier_matches_the_direct_convolution(p in problem()) {
        p.check_every_tier()?;
    }
}

/// A decoder stage's input: `low` (half size) upsampled, then `skip` channels.
fn upsample_concat_case() -> impl Strategy<Value = (Conv2dParams, usize, u64)> {
    (
        1usize..=2,
        1usize..=6,
        1usize..=6,
        1usize..=20,
        0usize..=19,
        8usize..=20,
        any::<u64>(),
    )
        .prop_map(|(n, h2, w2, low_c, skip_c, out_c, seed)| {
            (
                Conv2dParams::dense(n, 2 * h2, 2 * w2, low_c + skip_c, out_c, 3, 1, 1),
                low_c,
                seed,
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Reading the upsampled, concatenated input in place gives exactly (bit for bit) what the
    /// materialised input gives: the same values meet the same transforms.
    #[test]
    fn fused_upsample_concat_equals_the_materialised_input((params, low_c, seed) in upsample_concat_case()) {
        let mut rng = Rng::new(seed);
        let (h2, w2) = (params.in_h / 2, params.in_w / 2);
        let low = rng.vec(params.batch * h2 * w2 * low_c, -2.0, 2.0);
        let skip = rng.vec(params.batch * params.in_h * params.in_w * (params.in_c - low_c), -2.0, 2.0);
        let input = winograd::UpsampleConcat { low: &low, low_c, skip: &skip };
        let x = input.to_nhwc(&params).unwrap();
        let weights = rng.vec(params.weight_len(), -1.0, 1.0);
        let bias = rng.vec(params.out_c, -1.0, 1.0);
        let e = Epilogue::bias_act(&bias, Activation::Relu6);
        let prepared = ConvWeights::prepare_as(&params, &weights, ConvAlgorithm::Winograd).unwrap();
        for tier in tiers().into_iter().filter(|&t| t != Tier::Reference) {
            let mut plain = vec![f32::NAN; params.output_len()];
            conv::conv2d_nhwc_with_tier(tier, &params, &x, &prepared, &mut plain, params.out_c, &e).unwrap();
            let mut fused = vec![f32::NAN; params.output_len()];
            conv::conv2d_upsample_concat_with_tier(tier, &params, &input, &prepared, &mut fused, params.out_c, &e).unwrap();
            same_bits(&plain, &fused).map_err(|e| TestCaseError::fail(format!("tier {tier}, {params:?}: {e}")))?;
        }
        // Other algorithms take the materialised path: the same as running them on x.
        let im2col = ConvWeights::prepare_as(&params, &weights, ConvAlgorithm::Im2colGemm).unwrap();
        let mut want = vec![0.0; params.output_len()];
        conv::conv2d_nhwc_with_tier(Tier::Portable, &params, &x, &im2col, &mut want, params.out_c, &e).unwrap();
        let mut got = vec![0.0; params.output_len()];
        conv::conv2d_upsample_concat_with_tier(Tier::Portable, &params, &input, &im2col, &mut got, params.out_c, &e).unwrap();
        prop_assert_eq!(want, got);
    }
}

#[test]
fn upsample_concat_shapes_are_checked() {
    let params = Conv2dParams::dense(1, 6, 4, 5, 9, 3, 1, 1);
    let (low, skip) = (vec![0.0; 3 * 2 * 2], vec![0.0; 6 * 4 * 3]);
    let ok = winograd::UpsampleConcat {
        low: &low,
        low_c: 2,
        skip: &skip,
    };
    assert_eq!(ok.to_nhwc(&params).unwrap().len(), params.input_len());
    let short = winograd::UpsampleConcat {
        low: &low[1..],
        low_c: 2,
        skip: &skip,
    };
    assert!(matches!(
        short.to_nhwc(&params),
        Err(KernelError::LengthMismatch { what: "low", .. })
    ));
    let wrong_c = winograd::UpsampleConcat {
        low: &low,
        low_c: 3,
        skip: &skip,
    };
    assert!(wrong_c.to_nhwc(&params).is_err());
    let odd = Conv2dParams::dense(1, 5, 4, 5, 9, 3, 1, 1);
    assert!(matches!(ok.to_nhwc(&odd), Err(KernelError::InvalidParams { .. })));
}

#[test]
fn textbook_algorithm_equals_the_direct_convolution() {
    // In f64 the transforms are exact up to rounding: only the f32 output rounding is left.
    for (n, h, w, ci, co, pad) in [
        (1, 4, 4, 1, 1, 1),
        (2, 7, 9, 3, 5, 1),
        (1, 13, 6, 17, 9, 0),
        (1, 1, 1, 2, 3, 1),
    ] {
        let params = Conv2dParams::dense(n, h, w, ci, co, 3, 1, pad);
        let p = WinogradProblem::new(params, 0, 0, 7 + h as u64);
        let mut got = vec![f32::NAN; params.output_len()];
        winograd::reference::winograd_conv3x3_nhwc(
            &params,
            &p.input,
            &p.weights,
            &mut got,
            co,
            &Epilogue::IDENTITY,
        )
        .unwrap();
        // No extra channels: the problem's wide buffer is the dense output.
        let want = p.expected();
        if let Err(e) = compare(&got, &want, &p.tolerance(&want), |i| p.locate(i)) {
            panic!("{}: {e}", p.shape());
        }
    }
}

#[test]
fn one_and_two_threads_are_bit_identical() {
    // 30x22 at batch 2: 8x6 tiles per image, 96 tiles: the blocks differ with the thread count.
    let params = Conv2dParams::dense(2, 30, 22, 40, 24, 3, 1, 1);
    let p = WinogradProblem::new(params, 15, 3, 99);
    for tier in tiers().into_iter().filter(|&t| t != Tier::Reference) {
        let one = with_threads(1, || p.run(tier));
        for threads in [2, 3] {
            let many = with_threads(threads, || p.run(tier));
            if let Err(e) = same_bits(&one, &many) {
                panic!("tier {tier}: 1 vs {threads} threads differ: {e}");
            }
        }
    }
}

#[test]
fn decoder_shapes_error() {
    // The seed decoder's channel counts (dec2, dec3, dec4) on a small image, every fast tier.
    for (ci, co) in [(768, 256), (384, 128), (128, 64)] {
        let params = Conv2dParams::dense(1, 10, 9, ci, co, 3, 1, 1);
        let p = WinogradProblem::new(params, 2, 0, ci as u64);
        let (want, units) = (p.expected(), p.units());
        let tolerance = tolerance_of(&units);
        for tier in tiers().into_iter().filter(|&t| t != Tier::Reference) {
            let got = p.run(tier);
            let ulps = WinogradProblem::error_ulps(&got, &want, &units);
            let rel = got
                .iter()
                .zip(&want)
                .map(|(g, w)| (g - w).abs())
                .fold(0.0f32, f32::max)
                / want.iter().map(|w| w.abs()).fold(0.0f32, f32::max);
            println!("{ci:>4} -> {co:<4} {tier:<8} error {ulps:.2} x EPSILON x Winograd magnitude, max |error| / max |y| = {rel:.2e}");
            if let Err(e) = compare(&got, &want, &tolerance, |i| p.locate(i)) {
                panic!("{ci} -> {co} on {tier}: {e}");
            }
            assert!(
                rel < 1e-5,
                "{ci} -> {co} on {tier}: max |error| / max |y| = {rel}"
            );
        }
    }
}

#[test]
fn the_dispatcher_runs_winograd_and_can_be_told_not_to() {
    let params = Conv2dParams::dense(1, 9, 7, 32, 24, 3, 1, 1);
    assert_eq!(params.algorithm(), ConvAlgorithm::Winograd);
    let p = WinogradProblem::new(params, 3, 0, 5);
    let wino = ConvWeights::prepare_as(&params, &p.weights, ConvAlgorithm::Winograd).unwrap();
    let im2col = ConvWeights::prepare_as(&params, &p.weights, ConvAlgorithm::Im2colGemm).unwrap();
    assert!(matches!(wino, ConvWeights::Winograd(_)) && matches!(im2col, ConvWeights::Gemm(_)));
    let want = p.expected();
    let tolerance = p.tolerance(&want);
    for tier in tiers() {
        for w in [&wino, &im2col] {
            let mut got = vec![f32::NAN; params.output_len()];
            conv::conv2d_nhwc_with_tier(tier, &params, &p.input, w, &mut got, 24, &p.epi.epilogue()).unwrap();
            if let Err(e) = compare(&got, &want, &tolerance, |i| p.locate(i)) {
                panic!("{tier} {:?}: {e}", w.algorithm(&params));
            }
        }
    }
    // Stride 2 and 5x5 cannot be forced onto Winograd.
    for bad in [
        Conv2dParams::dense(1, 9, 9, 4, 4, 3, 2, 1),
        Conv2dParams::dense(1, 9, 9, 4, 4, 5, 1, 2),
    ] {
        let w = vec![0.0; bad.weight_len()];
        assert!(matches!(
            ConvWeights::prepare_as(&bad, &w, ConvAlgorithm::Winograd),
            Err(KernelError::InvalidParams { .. })
        ));
    }
}

#[test]
fn bad_arguments_are_errors() {
    let params = Conv2dParams::dense(1, 6, 6, 4, 5, 3, 1, 1);
    let w = WinogradWeights::prepare(4, 5, &[0.5; 180]).unwrap();
    let input = vec![0.0; params.input_len()];
    let mut out = vec![0.0; params.output_len()];
    let e = Epilogue::IDENTITY;
    let tier = Tier::Portable;
    let run = |p: &Conv2dParams, input: &[f32], out: &mut [f32], stride: usize, w: &WinogradWeights| {
        winograd::winograd_conv3x3_nhwc_with_tier(tier, p, input, w, out, stride, &e)
    };
    assert!(matches!(
        run(&params, &input[1..], &mut out, 5, &w),
        Err(KernelError::LengthMismatch { what: "input", .. })
    ));
    assert!(matches!(
        run(&params, &input, &mut out[1..], 5, &w),
        Err(KernelError::LengthMismatch { what: "output", .. })
    ));
    assert!(matches!(
        run(&params, &input, &mut out, 4, &w),
        Err(KernelError::InvalidParams { .. })
    ));
    let other = WinogradWeights::prepare(4, 6, &[0.5; 216]).unwrap();
    assert!(matches!(
        run(&params, &input, &mut out, 5, &other),
        Err(KernelError::InvalidParams { .. })
    ));
    let strided = Conv2dParams::dense(1, 6, 6, 4, 5, 3, 2, 1);
    assert!(matches!(
        run(&strided, &input, &mut out, 5, &w),
        Err(KernelError::InvalidParams { .. })
    ));
    assert!(WinogradWeights::prepare(4, 5, &[0.5; 179]).is_err());
    assert!(WinogradWeights::prepare(0, 5, &[]).is_err());
}
