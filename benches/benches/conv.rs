//! Convolution throughput on the model's layers (224x224 input, 1 thread).
//!
//! - group `conv`: the four dense 3x3 decoder convolutions (89% of the model's MACs) at
//!   224x224 and 416x608, and the 3x3 classifier (64 -> 2 classes, and 64 -> 8, the widest
//!   the small-N path takes): ours as `im2col/...` (patches packed straight into GEMM panels)
//!   and `winograd/...` (F(4x4, 3x3)), or `small_n/...` for the classifier, all with the fused
//!   epilogue, vs the textbook baseline at 224x224: a full im2col matrix materialised every
//!   call, then matrixmultiply's sgemm. Throughput is the direct convolution's `2·MACs` for
//!   every algorithm, so "elem/s" reads as FLOP/s and Winograd's saving shows as a higher rate.
//! - group `separable_vs_standard`: the seed's lesson on a 112x112x16 image: a standard 3x3
//!   conv 16 -> 32 (4608 weights) vs depthwise 3x3 + pointwise 16 -> 32 (656 weights). One
//!   iteration is one image, so criterion's time is the time per image.
//!
//! Run: `cargo bench -p mobilenet-unet-benches --bench conv`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mobilenet_unet_kernels::conv::{self, ConvWeights};
use mobilenet_unet_kernels::{gemm, Activation, Conv2dParams, ConvAlgorithm, Epilogue, Tier};
use std::time::Duration;

fn data(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32 / 16_777_216.0 - 0.5)
        .collect()
}

/// The baseline's im2col: the whole `(N·OH·OW) x (KH·KW·Cin)` matrix, zeros in the padding.
fn im2col_full(p: &Conv2dParams, input: &[f32], cols: &mut [f32]) {
    let (oh, ow) = p.out_hw();
    let k = p.kh * p.kw * p.in_c;
    for n in 0..p.batch {
        for oy in 0..oh {
            for ox in 0..ow {
                let row = &mut cols[((n * oh + oy) * ow + ox) * k..][..k];
                for ky in 0..p.kh {
                    for kx in 0..p.kw {
                        let dst = &mut row[(ky * p.kw + kx) * p.in_c..][..p.in_c];
                        let iy = (oy * p.stride_h + ky)
                            .checked_sub(p.pad_top)
                            .filter(|&y| y < p.in_h);
                        let ix = (ox * p.stride_w + kx)
                            .checked_sub(p.pad_left)
                            .filter(|&x| x < p.in_w);
                        match (iy, ix) {
                            (Some(iy), Some(ix)) => dst.copy_from_slice(
                                &input[((n * p.in_h + iy) * p.in_w + ix) * p.in_c..][..p.in_c],
                            ),
                            _ => dst.fill(0.0),
                        }
                    }
                }
            }
        }
    }
}

fn baseline(p: &Conv2dParams, input: &[f32], weights: &[f32], cols: &mut [f32], out: &mut [f32]) {
    im2col_full(p, input, cols);
    let (m, k, n) = p.gemm_mkn();
    assert!(cols.len() >= m * k && weights.len() >= k * n && out.len() >= m * n);
    // SAFETY: cols is m x k, weights k x n, out m x n (checked above), all row-major and
    // contiguous.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            cols.as_ptr(),
            k as isize,
            1,
            weights.as_ptr(),
            n as isize,
            1,
            0.0,
            out.as_mut_ptr(),
            n as isize,
            1,
        )
    }
}

fn one_thread() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool")
}

/// The seed decoder's four dense 3x3 convolutions at 224x224 and 416x608 (height, width,
/// in, out), then the classifier shapes the small-N path runs.
const DECODER: [(usize, usize, usize, usize); 8] = [
    (14, 14, 512, 512),
    (28, 28, 768, 256),
    (56, 56, 384, 128),
    (112, 112, 128, 64),
    (26, 38, 512, 512),
    (52, 76, 768, 256),
    (104, 152, 384, 128),
    (208, 304, 128, 64),
];
const CLASSIFIER: [(usize, usize, usize, usize); 2] = [(112, 112, 64, 2), (112, 112, 64, 8)];

fn decoder_convs(cr: &mut Criterion) {
    let tier = Tier::active().expect("tier");
    eprintln!(
        "conv: 1 thread, tier {tier}, GEMM kernel {}; throughput counts the direct convolution's FLOPs for every algorithm",
        gemm::kernel_name(tier).unwrap_or("unavailable")
    );
    let pool = one_thread();
    let mut g = cr.benchmark_group("conv");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (h, w, cin, cout) in DECODER.into_iter().chain(CLASSIFIER) {
        let p = Conv2dParams::dense(1, h, w, cin, cout, 3, 1, 1);
        let id = format!("{h}x{w}x{cin}->{cout}");
        let (input, weights) = (data(p.input_len(), 1), data(p.weight_len(), 2));
        let bias = data(cout, 3);
        let epi = Epilogue::bias_act(&bias, Activation::Relu);
        let mut out = vec![0.0f32; p.output_len()];
        // Same FLOPs for every algorithm (the direct convolution's), so a faster algorithm
        // shows as a higher "FLOP/s".
        g.throughput(Throughput::Elements(2 * p.macs()));
        let algorithms = if cout <= conv::SMALL_N {
            vec![ConvAlgorithm::SmallN]
        } else {
            vec![ConvAlgorithm::Im2colGemm, ConvAlgorithm::Winograd]
        };
        for algorithm in algorithms {
            let prepared = ConvWeights::prepare_as(&p, &weights, algorithm).expect("prepare");
            g.bench_function(BenchmarkId::new(algorithm.name(), &id), |b| {
                b.iter(|| {
                    pool.install(|| {
                        conv::conv2d_nhwc(&p, &input, &prepared, &mut out, cout, &epi).expect("conv")
                    })
                })
            });
        }
        if h > 112 {
            continue; // the baseline's full im2col matrix would take hundreds of MB
        }
        let (m, k, _) = p.gemm_mkn();
        let mut cols = vec![0.0f32; m * k];
        g.bench_function(BenchmarkId::new("im2col_matrixmultiply", &id), |b| {
            b.iter(|| baseline(&p, &input, &weights, &mut cols, &mut out))
        });
    }
    g.finish();
}

fn separable_vs_standard(cr: &mut Criterion) {
    let pool = one_thread();
    let mut g = cr.benchmark_group("separable_vs_standard");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g.throughput(Throughput::Elements(1)); // one image per iteration
    let standard = Conv2dParams::dense(1, 112, 112, 16, 32, 3, 1, 1);
    let dw = Conv2dParams::depthwise(1, 112, 112, 16, 3, 1, 1);
    let pw = Conv2dParams::dense(1, 112, 112, 16, 32, 1, 1, 0);
    let input = data(standard.input_len(), 4);
    let w_std = ConvWeights::prepare(&standard, &data(standard.weight_len(), 5)).expect("prepare");
    let w_dw = ConvWeights::prepare(&dw, &data(dw.weight_len(), 6)).expect("prepare");
    let w_pw = ConvWeights::prepare(&pw, &data(pw.weight_len(), 7)).expect("prepare");
    eprintln!(
        "separable_vs_standard: standard 3x3 16->32 has {} weights, depthwise 3x3 + pointwise {}",
        standard.weight_len(),
        dw.weight_len() + pw.weight_len()
    );
    let mut out = vec![0.0f32; standard.output_len()];
    let mut mid = vec![0.0f32; dw.output_len()];
    let e = Epilogue::IDENTITY;
    g.bench_function("standard_3x3_16to32", |b| {
        b.iter(|| {
            pool.install(|| conv::conv2d_nhwc(&standard, &input, &w_std, &mut out, 32, &e).expect("conv"))
        })
    });
    g.bench_function("depthwise_3x3_plus_pointwise_16to32", |b| {
        b.iter(|| {
            pool.install(|| {
                conv::conv2d_nhwc(&dw, &input, &w_dw, &mut mid, 16, &e).expect("dw");
                conv::conv2d_nhwc(&pw, &mid, &w_pw, &mut out, 32, &e).expect("pw")
            })
        })
    });
    g.finish();
}

criterion_group!(benches, decoder_convs, separable_vs_standard);
criterion_main!(benches);
