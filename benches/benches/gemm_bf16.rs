//! bf16 GEMM throughput on the model's shapes, beside our f32 GEMM on the same shapes.
//!
//! Shapes (M x K x N) are the GEMMs of MobileNet-UNet at 224x224, as in `gemm.rs`: the four
//! dense 3x3 decoder convolutions and four pointwise convolutions. Throughput is `2·M·K·N`
//! elements, so criterion's "elem/s" reads as FLOP/s. A is f32 and rounded to bf16 while it
//! is packed (part of the measured time, as in the model); B was packed as bf16 beforehand.
//!
//! - group `gemm_bf16`: 1 thread: `ours` (the tier the engine picks: `vdpbf16ps` where the CPU
//!   has AVX512_BF16), `portable` (the exact software model of `vdpbf16ps`, slow) on the cheap
//!   pointwise shapes, and `f32` — our f32 GEMM on the same shape.
//! - group `gemm_bf16_2t`: `ours` and `f32` on 2 threads.
//!
//! Run: `cargo bench -p mobilenet-unet-benches --bench gemm_bf16 -- 'gemm_bf16/'`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mobilenet_unet_benches::{data, gemm_group_pool, GEMM_SHAPES};
use mobilenet_unet_kernels::gemm::{self as f32_gemm, MatrixA};
use mobilenet_unet_kernels::gemm_bf16::{self, PackedB};
use mobilenet_unet_kernels::{Epilogue, Tier};
use std::time::Duration;

fn bench_group(cr: &mut Criterion, group: &str, threads: usize) {
    let tier = Tier::active().expect("tier");
    let pool = gemm_group_pool(
        group,
        threads,
        tier,
        gemm_bf16::kernel_name(tier).unwrap_or("unavailable"),
    );
    let mut g = cr.benchmark_group(group);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (m, k, n) in GEMM_SHAPES {
        let id = format!("{m}x{k}x{n}");
        let (a, b) = (data(m * k, 1), data(k * n, 2));
        let packed = PackedB::pack(&b, k, n).expect("pack");
        let packed_f32 = f32_gemm::PackedB::pack(&b, k, n).expect("pack");
        let ma = MatrixA::new(&a, m, k, k).expect("a");
        let mut c = vec![0.0f32; m * n];
        g.throughput(Throughput::Elements(2 * (m * k * n) as u64));
        g.bench_function(BenchmarkId::new("ours", &id), |bch| {
            bch.iter(|| {
                pool.install(|| gemm_bf16::gemm(&ma, &packed, &mut c, n, &Epilogue::IDENTITY).expect("gemm"))
            })
        });
        g.bench_function(BenchmarkId::new("f32", &id), |bch| {
            bch.iter(|| {
                pool.install(|| {
                    f32_gemm::gemm(&ma, &packed_f32, &mut c, n, &Epilogue::IDENTITY).expect("gemm")
                })
            })
        });
        if threads == 1 && k <= 512 {
            g.bench_function(BenchmarkId::new("portable", &id), |bch| {
                bch.iter(|| {
                    pool.install(|| {
                        gemm_bf16::gemm_with_tier(
                            Tier::Portable,
                            &ma,
                            &packed,
                            &mut c,
                            n,
                            &Epilogue::IDENTITY,
                        )
                        .expect("gemm")
                    })
                })
            });
        }
    }
    g.finish();
}

fn gemm_bf16_1t(cr: &mut Criterion) {
    bench_group(cr, "gemm_bf16", 1);
}

fn gemm_bf16_2t(cr: &mut Criterion) {
    bench_group(cr, "gemm_bf16_2t", 2);
}

criterion_group!(benches, gemm_bf16_1t, gemm_bf16_2t);
criterion_main!(benches);
