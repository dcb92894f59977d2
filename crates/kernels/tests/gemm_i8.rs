//! Int8 GEMM tests: every tier bit-identical to the naive oracle on plain (unpacked) matrices.
//!
//! Shapes sweep around the register tile (MR, NR), k around the group of 4 and past the A
//! block, zero points at 0, 255 and between; the requantization straddles both ends of the u8
//! range and the clamp; C is pre-filled with a sentinel and has spare columns (ldc > n) and a
//! spare tail that must keep it. Integer kernels are exact: every comparison is equality.

use mobilenet_unet_kernels::gemm_i8::{self, reference, Im2colA, MatrixA, PackA, PackedB, KR, MR, NR};
use mobilenet_unet_kernels::quant::{Requantize, I8_MAX_K};
use mobilenet_unet_kernels::{ChannelAffine, Conv2dParams, KernelError, Tier};
use proptest::prelude::*;

mod common;
use common::{tiers, with_threads, Rng};

/// What C holds where the kernel must not write.
const SENTINEL: u8 = 0xA5;

#[derive(Debug, Clone)]
struct I8Problem {
    m: usize,
    k: usize,
    n: usize,
    lda: usize,
    ldc: usize,
    za: u8,
    a: Vec<u8>,
    b: Vec<i8>,
    scale: Vec<f32>,
    bias: Vec<f32>,
    clamp: (f32, f32),
    post: Option<(Vec<f32>, Vec<f32>)>,
    zo: u8,
}

/// Random bytes in `lo..=hi`.
fn bytes(rng: &mut Rng, len: usize, lo: i32, hi: i32) -> Vec<i32> {
    (0..len)
        .map(|_| (rng.next_f32(lo as f32, hi as f32 + 1.0).floor() as i32).min(hi))
        .collect()
}

impl I8Problem {
    /// A random problem; `style` picks the clamp (0: none, 1: ReLU-like, 2: ReLU6-like) and,
    /// from 3 on, adds a post step.
    #[allow(clippy::too_many_arguments)]
    fn new(m: usize, k: usize, n: usize, pads: (usize, usize), za: u8, zo: u8, style: u8, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let (lda, ldc) = (k + pads.0, n + pads.1);
        let a = bytes(&mut rng, m * lda, 0, 255)
            .into_iter()
            .map(|v| v as u8)
            .collect();
        let b = bytes(&mut rng, k * n, -128, 127)
            .into_iter()
            .map(|v| v as i8)
            .collect();
        // A typical |acc| is about 128·74·sqrt(k); scale it to a few hundred output steps so
        // outputs land on both sides of 0 and 255.
        let typical = 128.0 * 74.0 * (k.max(1) as f32).sqrt();
        let scale = (0..n)
            .map(|_| rng.next_f32(-2.0, 3.0) * 150.0 / typical)
            .collect();
        let bias = rng.vec(n, -60.0, 60.0);
        let clamp = match style % 3 {
            0 => (f32::NEG_INFINITY, f32::INFINITY),
            1 => (-(zo as f32), f32::INFINITY),
            _ => (-(zo as f32), rng.next_f32(-(zo as f32), 200.0)),
        };
        let post = (style >= 3).then(|| (rng.vec(n, -2.0, 2.0), rng.vec(n, -40.0, 40.0)));
        I8Problem {
            m,
            k,
            n,
            lda,
            ldc,
            za,
            a,
            b,
            scale,
            bias,
            clamp,
            post,
            zo,
        }
    }

    fn rq(&self) -> Requantize<'_> {
        Requantize {
            scale: &self.scale,
            bias: &self.bias,
            clamp: self.clamp,
            post: self
                .post
                .as_ref()
                .map(|(s, t)| ChannelAffine { scale: s, shift: t }),
            output_zero_point: self.zo,
        }
    }

    /// C buffer: rows of ldc plus a 5-element tail.
    fn c_len(&self) -> usize {
        self.m * self.ldc + 5
    }

    fn shape(&self) -> String {
        format!(
            "m={} k={} n={} lda={} ldc={} za={} zo={} clamp={:?} post={}",
            self.m,
            self.k,
            self.n,
            self.lda,
            self.ldc,
            self.za,
            self.zo,
            self.clamp,
            self.post.is_some()
        )
    }

    fn expected_u8(&self) -> Vec<u8> {
        let mut c = vec![SENTINEL; self.c_len()];
        let (a, b, rq) = (&self.a, &self.b, self.rq());
        reference::gemm_u8_out_reference(
            (self.m, self.k, self.n),
            a,
            self.lda,
            self.za,
            b,
            self.n,
            &mut c,
            self.ldc,
            &rq,
        )
        .unwrap();
        c
    }

    fn expected_f32(&self) -> Vec<f32> {
        let mut c = vec![f32::NAN; self.c_len()];
        let (a, b, rq) = (&self.a, &self.b, self.rq());
        reference::gemm_f32_out_reference(
            (self.m, self.k, self.n),
            a,
            self.lda,
            self.za,
            b,
            self.n,
            &mut c,
            self.ldc,
            &rq,
        )
        .unwrap();
        c
    }

    /// Packs B as the model does and runs a tier into the sentinel-filled C.
    fn run_u8(&self, tier: Tier) -> Vec<u8> {
        let packed = PackedB::pack(&self.b, self.k, self.n).unwrap();
        let a = MatrixA::new(&self.a, self.m, self.k, self.lda, self.za).unwrap();
        let mut c = vec![SENTINEL; self.c_len()];
        gemm_i8::gemm_u8_out_with_tier(tier, &a, &packed, &mut c, self.ldc, &self.rq()).unwrap();
        c
    }

    fn run_f32(&self, tier: Tier) -> Vec<f32> {
        let packed = PackedB::pack(&self.b, self.k, self.n).unwrap();
        let a = MatrixA::new(&self.a, self.m, self.k, self.lda, self.za).unwrap();
        let mut c = vec![f32::NAN; self.c_len()];
        gemm_i8::gemm_f32_out_with_tier(tier, &a, &packed, &mut c, self.ldc, &self.rq()).unwrap();
        c
    }

    /// `Err` naming the shape, the number of wrong elements and the first few.
    fn diff<T: PartialEq + std::fmt::Debug>(
        &self,
        tier: Tier,
        found: &[T],
        want: &[T],
        same: impl Fn(&T, &T) -> bool,
    ) -> Result<(), String> {
        let bad: Vec<usize> = (0..want.len()).filter(|&i| !same(&found[i], &want[i])).collect();
        if bad.is_empty() {
            return Ok(());
        }
        let show: Vec<String> = bad
            .iter()
            .take(8)
            .map(|&i| {
                format!(
                    "C[{}][{}] found {:?} expected {:?}",
                    i / self.ldc,
                    i % self.ldc,
                    found[i],
                    want[i]
                )
            })
            .collect();
        Err(format!(
            "tier {tier} {}: {} wrong: {}",
            self.shape(),
            bad.len(),
            show.join("; ")
        ))
    }

    /// Both outputs of every tier against the oracle, bit for bit.
    fn check_every_tier(&self) -> Result<(), String> {
        let (want_u8, want_f32) = (self.expected_u8(), self.expected_f32());
        for tier in tiers() {
            self.diff(tier, &self.run_u8(tier), &want_u8, |x, y| x == y)?;
            self.diff(tier, &self.run_f32(tier), &want_f32, |x, y| {
                x.to_bits() == y.to_bits()
            })?;
        }
        Ok(())
    }
}

/// Sizes around the register tile: 1..17, tile±1, 2·tile, primes.
fn m_dim() -> impl Strategy<Value = usize> {
    prop_oneof![
        1usize..=17,
        Just(MR - 1),
        Just(MR + 1),
        Just(2 * MR + 1),
        Just(31),
        Just(37)
    ]
}

/// Widths around one, two and four zmm of columns.
fn n_dim() -> impl Strategy<Value = usize> {
    prop_oneof![
        1usize..=17,
        Just(NR - 1),
        Just(2 * NR - 1),
        Just(2 * NR),
        Just(2 * NR + 1),
        Just(63),
        Just(64),
        Just(65)
    ]
}

/// Reductions around the group of 4 (k % 4 = 1, 2, 3, 0) and longer ones.
fn k_dim() -> impl Strategy<Value = usize> {
    prop_oneof![
        1usize..=17,
        Just(31),
        Just(32),
        Just(33),
        Just(4 * KR + 2),
        100usize..300
    ]
}

/// Zero points at both ends of the range and between.
fn zero_point() -> impl Strategy<Value = u8> {
    prop_oneof![Just(0u8), Just(255u8), any::<u8>()]
}

fn problem() -> impl Strategy<Value = I8Problem> {
    (
        m_dim(),
        k_dim(),
        n_dim(),
        (0usize..3, 0usize..5),
        zero_point(),
        zero_point(),
        0u8..6,
        any::<u64>(),
    )
        .prop_map(|(m, k, n, pads, za, zo, style, seed)| I8Problem::new(m, k, n, pads, za, zo, style, seed))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_tier_matches_reference_bit_for_bit(p in problem()) {
        p.check_every_tier().map_err(TestCaseError::fail)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Long reductions make the A block shorter than the rows (several blocks per item).
    #[test]
    fn several_a_blocks_and_ragged_panels(m in 200usize..420, k in 1500usize..2100, n in 17usize..40, seed in any::<u64>()) {
        I8Problem::new(m, k, n, (1, 3), 37, 200, 5, seed).check_every_tier().map_err(TestCaseError::fail)?;
    }
}

#[test]
fn outputs_saturate_at_both_ends() {
    let mut p = I8Problem::new(2 * MR + 3, 45, NR + 5, (0, 2), 128, 9, 0, 5);
    // Huge positive and negative scales send most outputs to 255 and to 0.
    for (j, s) in p.scale.iter_mut().enumerate() {
        *s = if j % 2 == 0 { 1.0 } else { -1.0 };
    }
    p.check_every_tier().unwrap();
    let c = p.expected_u8();
    let inside: Vec<u8> = (0..p.m).flat_map(|i| c[i * p.ldc..][..p.n].to_vec()).collect();
    assert!(inside.contains(&0) && inside.contains(&255), "both ends reached");
}

#[test]
fn the_longest_reduction_cannot_overflow() {
    // a = 0 with za = 255 and b = -128: every term is (0 − 255)·(−128), the largest there is;
    // the raw sum is 0 and the correction −255·Σb is the other extreme.
    let k = I8_MAX_K;
    for (a_val, za, b_val) in [(0u8, 255u8, -128i8), (255, 0, -128), (255, 0, 127), (0, 255, 127)] {
        let mut p = I8Problem::new(MR + 1, k, NR + 1, (0, 0), za, 0, 0, 3);
        p.a.iter_mut().for_each(|v| *v = a_val);
        p.b.iter_mut().for_each(|v| *v = b_val);
        // Outputs in f32 keep the whole sum: check it is the exact extreme.
        p.scale.iter_mut().for_each(|s| *s = 1.0);
        p.bias.iter_mut().for_each(|b| *b = 0.0);
        let want = (a_val as i64 - za as i64) * b_val as i64 * k as i64;
        assert_eq!(p.expected_f32()[0], want as f32);
        p.check_every_tier().unwrap();
    }
}

#[test]
fn k_one_to_nine_on_full_and_edge_tiles() {
    for k in 1..=9 {
        for (za, zo) in [(0, 0), (255, 255), (17, 130)] {
            I8Problem::new(MR + 3, k, NR + 7, (2, 1), za, zo, k as u8 % 6, k as u64)
                .check_every_tier()
                .unwrap();
        }
    }
}

#[test]
fn k_zero_gives_the_requantization_of_zero() {
    I8Problem::new(MR + 2, 0, NR + 3, (0, 2), 9, 4, 4, 1)
        .check_every_tier()
        .unwrap();
}

#[test]
fn batches_of_images_are_just_more_rows() {
    // The model runs a batch of images as one GEMM over batch·H·W rows: a 3-image 7x7 batch.
    I8Problem::new(3 * 49, 96, 48, (0, 0), 3, 250, 2, 77)
        .check_every_tier()
        .unwrap();
}

#[test]
fn thread_count_does_not_change_bits() {
    for (m, k, n) in [(196, 600, 40), (400, 300, 70), (31, 17, 33)] {
        let p = I8Problem::new(m, k, n, (0, 3), 11, 5, 4, m as u64);
        for tier in tiers() {
            let (one, two) = (
                with_threads(1, || p.run_u8(tier)),
                with_threads(2, || p.run_u8(tier)),
            );
            assert_eq!(one, two, "tier {tier} {m}x{k}x{n}: 1 and 2 threads differ");
            let (one, two) = (
                with_threads(1, || p.run_f32(tier)),
                with_threads(2, || p.run_f32(tier)),
            );
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&one),
                bits(&two),
                "tier {tier} {m}x{k}x{n}: f32 out, 1 and 2 threads differ"
            );
        }
    }
}

#[test]
fn every_tier_names_its_kernel() {
    for tier in tiers() {
        let name = gemm_i8::kernel_name(tier).unwrap();
        println!("{tier}: {name}");
        assert!(name.starts_with("i8_gemm"), "{name}");
        if tier == Tier::Avx2 {
            assert_eq!(name, "i8_gemm_8x16c4_avx2");
        }
    }
}

#[test]
fn packed_b_round_trips_and_sums_columns() {
    let mut rng = Rng::new(3);
    for (k, n) in [(1, 1), (5, NR), (7, NR + 1), (3, 2 * NR + 5), (0, 4)] {
        let b: Vec<i8> = bytes(&mut rng, k * n, -128, 127)
            .into_iter()
            .map(|v| v as i8)
            .collect();
        let p = PackedB::pack(&b, k, n).unwrap();
        assert_eq!((p.k(), p.n(), p.panels()), (k, n, n.div_ceil(NR)));
        assert_eq!(p.to_row_major(), b);
    }
}

#[test]
fn matrix_a_packs_groups_of_four_with_zero_padding() {
    let a: Vec<u8> = (0..4 * 7).map(|x| x as u8 + 1).collect(); // 4 x 6 with lda 7
    let ma = MatrixA::new(&a, 4, 6, 7, 0).unwrap();
    let mut dst = vec![SENTINEL; MR * KR * 2];
    ma.pack_panel(1, 3, &mut dst);
    let mut want = vec![0u8; MR * KR * 2];
    for i in 0..3 {
        for kk in 0..6 {
            want[((kk / KR) * MR + i) * KR + kk % KR] = a[(1 + i) * 7 + kk];
        }
    }
    assert_eq!(dst, want);
}

#[test]
fn bad_arguments_are_errors() {
    let b = PackedB::pack(&[1; 12], 3, 4).unwrap();
    let a_data = [1u8; 6];
    let a = MatrixA::new(&a_data, 2, 3, 3, 0).unwrap();
    let (scale, bias) = ([1.0f32; 4], [0.0f32; 4]);
    let rq = Requantize::new(&scale, &bias);
    let mut c = vec![0u8; 8];
    for tier in tiers() {
        assert!(matches!(
            gemm_i8::gemm_u8_out_with_tier(tier, &a, &b, &mut c[..7], 4, &rq),
            Err(KernelError::LengthMismatch { what: "c", .. })
        ));
        assert!(gemm_i8::gemm_u8_out_with_tier(tier, &a, &b, &mut c, 3, &rq).is_err());
        assert!(gemm_i8::gemm_u8_out_with_tier(
            tier,
            &a,
            &b,
            &mut c,
            4,
            &Requantize::new(&scale[..3], &bias[..3])
        )
        .is_err());
        let nan = [f32::NAN; 4];
        assert!(
            gemm_i8::gemm_u8_out_with_tier(tier, &a, &b, &mut c, 4, &Requantize::new(&nan, &bias)).is_err()
        );
        let a2 = MatrixA::new(&a_data, 3, 2, 2, 0).unwrap();
        assert!(gemm_i8::gemm_u8_out_with_tier(tier, &a2, &b, &mut c, 4, &rq).is_err());
        assert!(gemm_i8::gemm_u8_out_with_tier(tier, &a, &b, &mut c, 4, &rq).is_ok());
        let mut cf = vec![0.0f32; 8];
        assert!(gemm_i8::gemm_f32_out_with_tier(tier, &a, &b, &mut cf, 4, &rq).is_ok());
    }
    assert!(MatrixA::new(&a_data, 2, 3, 2, 0).is_err());
    assert!(MatrixA::new(&a_data, 3, 3, 3, 0).is_err());
    assert!(PackedB::pack(&[0; 11], 3, 4).is_err());
    assert!(PackedB::pack(&[], I8_MAX_K + 1, 0).is_err());
}

/// A dense int8 convolution by the definition: `Σ (x − za)·w` over the window, padding
/// counted as real zero (so it adds nothing), then the requantization.
fn conv_reference(p: &Conv2dParams, x: &[u8], za: u8, w: &[i8], rq: &Requantize) -> Vec<u8> {
    let (oh, ow) = p.out_hw();
    let mut out = vec![0u8; p.batch * oh * ow * p.out_c];
    for n in 0..p.batch {
        for oy in 0..oh {
            for ox in 0..ow {
                for co in 0..p.out_c {
                    let mut acc = 0i32;
                    for ky in 0..p.kh {
                        for kx in 0..p.kw {
                            let (y, x_) = (
                                (oy * p.stride_h + ky) as isize - p.pad_top as isize,
                                (ox * p.stride_w + kx) as isize - p.pad_left as isize,
                            );
                            if y < 0 || x_ < 0 || y >= p.in_h as isize || x_ >= p.in_w as isize {
                                continue;
                            }
                            for ci in 0..p.in_c {
                                let xv = x[((n * p.in_h + y as usize) * p.in_w + x_ as usize) * p.in_c + ci]
                                    as i32
                                    - za as i32;
                                acc += xv * w[((ky * p.kw + kx) * p.in_c + ci) * p.out_c + co] as i32;
                            }
                        }
                    }
                    out[((n * oh + oy) * ow + ox) * p.out_c + co] = rq.apply_u8(co, acc);
                }
            }
        }
    }
    out
}

#[test]
fn im2col_convolution_matches_the_direct_definition() {
    // 3x3 stride 1 and 2 with padding on odd sizes, a 1x1, batch 2, channels around 4 and 16,
    // zero points at both ends (the pad must read as the zero point, not as the byte 0).
    let cases = [
        Conv2dParams::dense(2, 7, 5, 3, 17, 3, 1, 1),
        Conv2dParams::dense(1, 9, 8, 16, 16, 3, 2, 1),
        Conv2dParams::dense(1, 6, 6, 5, 33, 3, 1, 0).with_padding(0, 1, 0, 1),
        Conv2dParams::dense(2, 4, 3, 20, 9, 1, 1, 0),
    ];
    let mut rng = Rng::new(8);
    for (t, p) in cases.iter().enumerate() {
        for za in [0u8, 255, 100] {
            let x: Vec<u8> = bytes(&mut rng, p.input_len(), 0, 255)
                .into_iter()
                .map(|v| v as u8)
                .collect();
            let w: Vec<i8> = bytes(&mut rng, p.weight_len(), -127, 127)
                .into_iter()
                .map(|v| v as i8)
                .collect();
            let k = p.kh * p.kw * p.in_c;
            let scale: Vec<f32> = (0..p.out_c)
                .map(|_| rng.next_f32(0.2, 1.0) * 200.0 / (128.0 * 74.0 * (k as f32).sqrt()))
                .collect();
            let bias = rng.vec(p.out_c, -30.0, 60.0);
            let rq = Requantize {
                clamp: (0.0, 200.0),
                output_zero_point: 3,
                ..Requantize::new(&scale, &bias)
            };
            let want = conv_reference(p, &x, za, &w, &rq);
            let packed = PackedB::pack(&w, k, p.out_c).unwrap();
            let a = Im2colA::new(p, &x, za).unwrap();
            for tier in tiers() {
                let mut got = vec![SENTINEL; want.len()];
                gemm_i8::gemm_u8_out_with_tier(tier, &a, &packed, &mut got, p.out_c, &rq).unwrap();
                assert_eq!(got, want, "case {t} za {za} tier {tier}: {p:?}");
            }
        }
    }
    assert!(Im2colA::new(&Conv2dParams::depthwise(1, 4, 4, 8, 3, 1, 1), &[0; 128], 0).is_err());
    assert!(Im2colA::new(&cases[0], &[0; 3], 0).is_err());
}
