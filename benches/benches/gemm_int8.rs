//! Int8 GEMM throughput on the model's shapes, beside our f32 GEMM on the same shapes.
//!
//! Shapes (M x K x N) are the GEMMs of MobileNet-UNet at 224x224, as in `gemm.rs`: the four
//! dense 3x3 decoder convolutions and four pointwise convolutions. Throughput is `2·M·K·N`
//! elements, so criterion's "elem/s" reads as OP/s (a multiply and an add per product).
//! Every run requantizes to u8 with ReLU6-like clamping (the encoder's epilogue).
//!
//! - group `gemm_int8`: 1 thread (a 1-thread rayon pool): `ours` (the tier the engine picks),
//!   each SIMD tier the CPU has (`avx2`: widened `vpmaddwd`; `avx512`: VNNI `vpdpbusd` where
//!   present), `portable` on the cheap pointwise shapes, and `f32` — our f32 GEMM on the same
//!   shape, the speed int8 has to beat.
//! - group `gemm_int8_2t`: `ours` and `f32` on 2 threads.
//!
//! Run: `cargo bench -p mobilenet-unet-benches --bench gemm_int8 -- 'gemm_int8/'`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mobilenet_unet_benches::{gemm_group_pool, hash, GEMM_SHAPES};
use mobilenet_unet_kernels::gemm::{self as f32_gemm};
use mobilenet_unet_kernels::gemm_i8::{self, MatrixA, PackedB};
use mobilenet_unet_kernels::quant::Requantize;
use mobilenet_unet_kernels::{Epilogue, Tier};
use std::time::Duration;

fn bench_group(cr: &mut Criterion, group: &str, threads: usize) {
    let tier = Tier::active().expect("tier");
    let pool = gemm_group_pool(
        group,
        threads,
        tier,
        gemm_i8::kernel_name(tier).unwrap_or("unavailable"),
    );
    let mut g = cr.benchmark_group(group);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (m, k, n) in GEMM_SHAPES {
        let id = format!("{m}x{k}x{n}");
        let a: Vec<u8> = (0..m * k).map(|i| hash(i, 1) as u8).collect();
        let b: Vec<i8> = (0..k * n).map(|i| hash(i, 2) as i8).collect();
        let packed = PackedB::pack(&b, k, n).expect("pack");
        let ma = MatrixA::new(&a, m, k, k, 3).expect("a");
        let (scale, bias) = (vec![1e-4f32; n], vec![10.0f32; n]);
        let rq = Requantize {
            clamp: (0.0, 200.0),
            output_zero_point: 0,
            ..Requantize::new(&scale, &bias)
        };
        let mut c = vec![0u8; m * n];
        // Our f32 GEMM on the same shape, for comparison.
        let (af, bf): (Vec<f32>, Vec<f32>) = (
            a.iter().map(|&x| x as f32).collect(),
            b.iter().map(|&x| x as f32).collect(),
        );
        let (packed_f32, maf) = (
            f32_gemm::PackedB::pack(&bf, k, n).expect("pack"),
            f32_gemm::MatrixA::new(&af, m, k, k).expect("a"),
        );
        let mut cf = vec![0.0f32; m * n];
        g.throughput(Throughput::Elements(2 * (m * k * n) as u64));
        g.bench_function(BenchmarkId::new("ours", &id), |bch| {
            bch.iter(|| pool.install(|| gemm_i8::gemm_u8_out(&ma, &packed, &mut c, n, &rq).expect("gemm")))
        });
        g.bench_function(BenchmarkId::new("f32", &id), |bch| {
            bch.iter(|| {
                pool.install(|| {
                    f32_gemm::gemm(&maf, &packed_f32, &mut cf, n, &Epilogue::IDENTITY).expect("gemm")
                })
            })
        });
        if threads > 1 {
            continue;
        }
        for simd in [Tier::Avx2, Tier::Avx512]
            .into_iter()
            .filter(|t| t.is_available())
        {
            g.bench_function(BenchmarkId::new(simd.name(), &id), |bch| {
                bch.iter(|| {
                    pool.install(|| {
                        gemm_i8::gemm_u8_out_with_tier(simd, &ma, &packed, &mut c, n, &rq).expect("gemm")
                    })
                })
            });
        }
        if k <= 512 {
            g.bench_function(BenchmarkId::new("portable", &id), |bch| {
                bch.iter(|| {
                    pool.install(|| {
                        gemm_i8::gemm_u8_out_with_tier(Tier::Portable, &ma, &packed, &mut c, n, &rq)
                            .expect("gemm")
                    })
                })
            });
        }
    }
    g.finish();
}

fn gemm_int8_1t(cr: &mut Criterion) {
    bench_group(cr, "gemm_int8", 1);
}

fn gemm_int8_2t(cr: &mut Criterion) {
    bench_group(cr, "gemm_int8_2t", 2);
}

criterion_group!(benches, gemm_int8_1t, gemm_int8_2t);
criterion_main!(benches);
