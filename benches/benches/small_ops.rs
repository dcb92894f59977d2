//! The small memory-bound ops around the convolutions, on MobileNet-UNet's shapes at 224x224:
//! every available tier side by side (reference = the naive oracle, portable, avx2), each in a
//! 1-thread rayon pool, plus the best tier in a 2-thread pool (`<tier>_2t`).
//!
//! Throughput is bytes moved: every input float read once plus every output float written
//! once (in-place ops count the tensor twice), so criterion prints GB/s. `memcpy` of the
//! largest tensor, counted the same way, is this machine's streaming reference point.
//! The kernel name each tier runs is printed to stderr.
//!
//! In-place ops (relu6, softmax) are re-applied to their own output every iteration: both
//! are valid on their output (ReLU6 is idempotent, softmax rows stay finite), so no reset
//! pass pollutes the timing.
//!
//! Run: `cargo bench -p mobilenet-unet-benches --bench small_ops`.

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use mobilenet_unet_kernels::batchnorm::{self, BatchNorm, KERAS_EPSILON};
use mobilenet_unet_kernels::{activation, concat, pad, softmax, upsample, Activation, Tier};
use std::time::Duration;

fn data(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 20) as f32 / 256.0 - 8.0)
        .collect()
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool")
}

/// `(tier, threads)` pairs to run: every available tier single-threaded, the best on two.
fn runs() -> Vec<(Tier, usize)> {
    let mut v: Vec<_> = Tier::available().into_iter().map(|t| (t, 1)).collect();
    v.push((Tier::best(), 2));
    v
}

fn id(tier: Tier, threads: usize, shape: &str) -> BenchmarkId {
    let name = if threads == 1 {
        tier.name().to_string()
    } else {
        format!("{}_{threads}t", tier.name())
    };
    BenchmarkId::new(name, shape)
}

fn configure<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1200));
    g
}

fn bench_upsample(c: &mut Criterion) {
    let mut g = configure(c, "upsample");
    // the decoder's 2x2 upsamplings: (H, W, C) -> (2H, 2W, C)
    for (h, w, ch) in [(14, 14, 512), (28, 28, 256), (56, 56, 128)] {
        let x = data(h * w * ch, 1);
        let mut y = vec![0.0f32; 4 * x.len()];
        g.throughput(Throughput::Bytes(((x.len() + y.len()) * 4) as u64));
        let shape = format!("{h}x{w}x{ch}");
        for (tier, threads) in runs() {
            eprintln!(
                "upsample {shape} {tier}: {}",
                upsample::kernel_name(tier, 2, 2).unwrap_or("unavailable")
            );
            let p = pool(threads);
            g.bench_function(id(tier, threads, &shape), |b| {
                b.iter(|| {
                    p.install(|| {
                        upsample::upsample_nearest_nhwc_with_tier(
                            tier,
                            &upsample::UpsampleShape::new(1, h, w, ch, 2, 2),
                            &x,
                            &mut y,
                        )
                    })
                    .unwrap()
                })
            });
        }
    }
    g.finish();
}

fn bench_batchnorm(c: &mut Criterion) {
    let mut g = configure(c, "batchnorm");
    let (h, w, ch) = (112, 112, 64);
    let bn = BatchNorm::new(
        data(ch, 2),
        data(ch, 3),
        data(ch, 4),
        data(ch, 5).iter().map(|v| v.abs()).collect(),
        KERAS_EPSILON,
    )
    .expect("valid bn");
    let (scale, shift) = bn.to_scale_shift();
    let x = data(h * w * ch, 6);
    let mut y = vec![0.0f32; x.len()];
    g.throughput(Throughput::Bytes((2 * x.len() * 4) as u64));
    let shape = format!("{h}x{w}x{ch}");
    for (tier, threads) in runs() {
        eprintln!(
            "batchnorm {shape} {tier}: {}",
            batchnorm::kernel_name(tier).unwrap_or("unavailable")
        );
        let p = pool(threads);
        g.bench_function(id(tier, threads, &shape), |b| {
            // the reference tier evaluates the literal formula; the others the prepared scale/shift
            b.iter(|| match tier {
                Tier::Reference => p
                    .install(|| batchnorm::batchnorm_nhwc_with_tier(tier, &bn, &x, &mut y))
                    .unwrap(),
                _ => p
                    .install(|| batchnorm::scale_shift_nhwc_with_tier(tier, &scale, &shift, &x, &mut y))
                    .unwrap(),
            })
        });
    }
    g.finish();
}

fn bench_concat(c: &mut Criterion) {
    let mut g = configure(c, "concat");
    let (pixels, c1, c2) = (28 * 28, 512, 256);
    let (a, b2) = (data(pixels * c1, 7), data(pixels * c2, 8));
    let mut y = vec![0.0f32; pixels * (c1 + c2)];
    g.throughput(Throughput::Bytes((2 * y.len() * 4) as u64));
    for (tier, threads) in runs() {
        eprintln!(
            "concat {tier}: {}",
            concat::kernel_name(tier).unwrap_or("unavailable")
        );
        let p = pool(threads);
        g.bench_function(id(tier, threads, "28x28x(512+256)"), |b| {
            b.iter(|| {
                p.install(|| {
                    concat::concat_channels_nhwc_with_tier(tier, &[&a, &b2], &[c1, c2], pixels, &mut y)
                })
                .unwrap()
            })
        });
    }
    // the streaming reference point: one memcpy of the same output size, read + write
    let src = data(y.len(), 9);
    g.bench_function(BenchmarkId::new("memcpy", "28x28x768"), |b| {
        b.iter(|| y.copy_from_slice(&src))
    });
    g.finish();
}

fn bench_pad(c: &mut Criterion) {
    let mut g = configure(c, "pad");
    // conv_pw_1's input padded (0, 1, 0, 1) before the stride-2 depthwise
    let (h, w, ch) = (112, 112, 64);
    let x = data(h * w * ch, 10);
    let mut y = vec![0.0f32; (h + 1) * (w + 1) * ch];
    g.throughput(Throughput::Bytes(((x.len() + y.len()) * 4) as u64));
    for (tier, threads) in runs() {
        eprintln!("pad {tier}: {}", pad::kernel_name(tier).unwrap_or("unavailable"));
        let p = pool(threads);
        g.bench_function(id(tier, threads, "112x112x64+(0,1,0,1)"), |b| {
            b.iter(|| {
                p.install(|| {
                    pad::zero_pad_nhwc_with_tier(
                        tier,
                        &pad::PadShape::new((1, h, w, ch), (0, 1), (0, 1)),
                        &x,
                        &mut y,
                    )
                })
                .unwrap()
            })
        });
    }
    g.finish();
}

fn bench_softmax(c: &mut Criterion) {
    let mut g = configure(c, "softmax");
    for classes in [2, 21] {
        let mut x = data(112 * 112 * classes, 11);
        g.throughput(Throughput::Bytes((2 * x.len() * 4) as u64));
        let shape = format!("112x112x{classes}");
        for (tier, threads) in runs() {
            eprintln!(
                "softmax {shape} {tier}: {}",
                softmax::kernel_name(tier, classes).unwrap_or("unavailable")
            );
            let p = pool(threads);
            g.bench_function(id(tier, threads, &shape), |b| {
                b.iter(|| {
                    p.install(|| softmax::softmax_channels_inplace_with_tier(tier, &mut x, classes))
                        .unwrap()
                })
            });
        }
    }
    g.finish();
}

fn bench_relu6(c: &mut Criterion) {
    let mut g = configure(c, "relu6");
    let mut x = data(112 * 112 * 64, 12);
    g.throughput(Throughput::Bytes((2 * x.len() * 4) as u64));
    for (tier, threads) in runs() {
        eprintln!(
            "relu6 {tier}: {}",
            activation::kernel_name(tier).unwrap_or("unavailable")
        );
        let p = pool(threads);
        g.bench_function(id(tier, threads, "112x112x64"), |b| {
            b.iter(|| {
                p.install(|| activation::activation_inplace_with_tier(tier, Activation::Relu6, &mut x))
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_upsample,
    bench_batchnorm,
    bench_concat,
    bench_pad,
    bench_softmax,
    bench_relu6
);
criterion_main!(benches);
