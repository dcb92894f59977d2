//! Depthwise 3x3 on MobileNet v1's layers: our kernel against the naive reference and against
//! the anti-pattern "depthwise as C tiny GEMMs" (per channel: im2col into an `(OH·OW) x 9`
//! matrix, times the channel's `9 x 1` weights with `matrixmultiply::sgemm`).
//!
//! Depthwise is memory-bound (9 MACs per output element, 18 FLOPs per 8 bytes moved), so the
//! throughput is bytes: input + output, f32, counted once. `memcpy/64MiB` (a `copy_from_slice`
//! counted as read + write bytes the same way) is this machine's streaming reference point.
//! FLOPs (2 x MACs) are printed to stderr for each shape.
//!
//! Every kernel runs inside a 1-thread rayon pool (`ours_2t` in a 2-thread one); all use the
//! epilogue of a MobileNet block with BatchNorm folded: bias + ReLU6.
//!
//! Run: `cargo bench -p mobilenet-unet-benches --bench depthwise`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mobilenet_unet_kernels::depthwise::{
    depthwise_conv2d_nhwc_generic, depthwise_conv2d_nhwc_with_tier, kernel_name,
};
use mobilenet_unet_kernels::{Activation, Conv2dParams, Epilogue, Tier};
use std::time::Duration;

/// (H, W, C, stride) of MobileNet v1's depthwise layers at 224x224 input, padding 1.
const LAYERS: [(usize, usize, usize, usize); 5] = [
    (112, 112, 32, 1),
    (112, 112, 64, 2),
    (56, 56, 128, 1),
    (28, 28, 256, 1),
    (14, 14, 512, 1),
];

fn data(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 20) as f32 / 2048.0 - 1.0)
        .collect()
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool")
}

/// The anti-pattern: for each channel, gather its 3x3 patches into `col` (`(OH·OW) x 9`,
/// zeros where the window hits padding) and run a GEMM with N = 1 writing straight into the
/// channel's strided column of the NHWC output; then a second pass for bias + ReLU6.
fn grouped_im2col(p: &Conv2dParams, x: &[f32], w: &[f32], bias: &[f32], col: &mut [f32], y: &mut [f32]) {
    let (oh, ow) = p.out_hw();
    let c = p.in_c;
    // The raw GEMM below reads col ((OH·OW) x 9) and w (9 x C) and writes y ((OH·OW) x C).
    assert!(p.kh == 3 && p.kw == 3 && col.len() >= oh * ow * 9 && w.len() >= 9 * c && y.len() >= oh * ow * c);
    for ch in 0..c {
        for oy in 0..oh {
            for ox in 0..ow {
                for ky in 0..3 {
                    for kx in 0..3 {
                        let iy = (oy * p.stride_h + ky) as isize - p.pad_top as isize;
                        let ix = (ox * p.stride_w + kx) as isize - p.pad_left as isize;
                        let inside = iy >= 0 && ix >= 0 && (iy as usize) < p.in_h && (ix as usize) < p.in_w;
                        col[(oy * ow + ox) * 9 + ky * 3 + kx] = if inside {
                            x[(iy as usize * p.in_w + ix as usize) * c + ch]
                        } else {
                            0.0
                        };
                    }
                }
            }
        }
        // (OH·OW, 9) @ (9, 1) -> column ch of (OH·OW, C); w[k·C + ch] is the channel's k-th tap.
        // SAFETY: every index the strides reach is in bounds (lengths checked above): col is
        // (OH·OW)x9, w is 9xC read at column ch < C, y is (OH·OW)xC written at column ch.
        unsafe {
            matrixmultiply::sgemm(
                oh * ow,
                9,
                1,
                1.0,
                col.as_ptr(),
                9,
                1,
                w.as_ptr().add(ch),
                c as isize,
                1,
                0.0,
                y.as_mut_ptr().add(ch),
                c as isize,
                1,
            );
        }
    }
    for row in y.chunks_exact_mut(c) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v = (*v + b).clamp(0.0, 6.0);
        }
    }
}

fn bench_depthwise(cr: &mut Criterion) {
    let mut g = cr.benchmark_group("depthwise");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let (one, two) = (pool(1), pool(2));
    let best = Tier::best();

    let n = 16 << 20; // 64 MiB of f32
    let (src, mut dst) = (data(n, 1), vec![0.0f32; n]);
    g.throughput(Throughput::Bytes(2 * 4 * n as u64));
    g.bench_function("memcpy/64MiB", |b| b.iter(|| dst.copy_from_slice(&src)));
    drop((src, dst));

    for &(h, wd, c, s) in &LAYERS {
        let p = Conv2dParams::depthwise(1, h, wd, c, 3, s, 1);
        let id = format!("{h}x{wd}x{c}_s{s}");
        let (x, w, bias) = (data(p.input_len(), 2), data(9 * c, 3), data(c, 4));
        let mut y = vec![0.0f32; p.output_len()];
        let ep = Epilogue::bias_act(&bias, Activation::Relu6);
        let bytes = 4 * (p.input_len() + p.output_len()) as u64;
        eprintln!(
            "depthwise {id}: {:.1} MFLOP, {:.2} MB in+out, kernel {} (threads: 1, and 2 for ours_2t)",
            2.0 * p.macs() as f64 / 1e6,
            bytes as f64 / 1e6,
            kernel_name(best, &p).unwrap_or("unavailable")
        );
        g.throughput(Throughput::Bytes(bytes));
        let mut run = |name: &str, tier: Tier, pool: &rayon::ThreadPool| {
            g.bench_function(BenchmarkId::new(name, &id), |b| {
                pool.install(|| {
                    b.iter(|| depthwise_conv2d_nhwc_with_tier(tier, &p, &x, &w, &mut y, &ep).unwrap())
                })
            });
        };
        run("ours", best, &one);
        run("ours_2t", best, &two);
        run("portable", Tier::Portable, &one);
        run("reference", Tier::Reference, &one);
        g.bench_function(BenchmarkId::new("generic", &id), |b| {
            one.install(|| b.iter(|| depthwise_conv2d_nhwc_generic(&p, &x, &w, &mut y, &ep).unwrap()))
        });
        let (oh, ow) = p.out_hw();
        let mut col = vec![0.0f32; oh * ow * 9];
        g.bench_function(BenchmarkId::new("grouped_im2col", &id), |b| {
            one.install(|| b.iter(|| grouped_im2col(&p, &x, &w, &bias, &mut col, &mut y)))
        });
    }
    g.finish();
}

criterion_group!(depthwise, bench_depthwise);
criterion_main!(depthwise);
