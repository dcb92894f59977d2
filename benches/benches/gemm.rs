//! GEMM throughput on the model's shapes: ours vs matrixmultiply vs the `gemm` crate.
//!
//! Shapes (M x K x N) are the GEMMs of MobileNet-UNet at 224x224: the four dense 3x3 decoder
//! convolutions (89% of the model's MACs) and four pointwise convolutions. Throughput is
//! `2·M·K·N` elements, so criterion's "elem/s" reads as FLOP/s.
//!
//! - group `gemm`: everything on 1 thread (ours inside a 1-thread rayon pool, the gemm crate
//!   with `Parallelism::None`), with the rungs of our ladder: `reference` (naive) and
//!   `loop_reordered` only on the cheap pointwise shapes, `portable` (blocked, no intrinsics),
//!   `avx2` (the 6x16 ymm tile) and `avx512` (the 6x16 zmm tile) where the CPU has them, and
//!   `ours` (the tier the engine picks) everywhere.
//! - group `gemm_2t`: 2 threads (ours in a 2-thread pool, the gemm crate `Parallelism::Rayon(2)`).
//!   matrixmultiply is left out: its `threading` feature is off in this workspace, and turning
//!   it on would also change the ndarray `dot` every other crate links.
//!
//! Run: `cargo bench -p mobilenet-unet-benches --bench gemm -- 'gemm/'`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mobilenet_unet_benches::{data, gemm_group_pool, GEMM_SHAPES};
use mobilenet_unet_kernels::gemm::{self as ours, MatrixA, PackedB};
use mobilenet_unet_kernels::{Epilogue, Tier};
use std::time::Duration;

/// Panics unless `a`, `b` and `c` hold the `m x k`, `k x n` and `m x n` matrices a raw GEMM
/// call below reads and writes: the check its `unsafe` block rests on.
fn assert_gemm_lens(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &[f32]) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "gemm {m}x{k}x{n}: a {}, b {}, c {} floats",
        a.len(),
        b.len(),
        c.len()
    );
}

fn gemm_crate(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], par: gemm::Parallelism) {
    assert_gemm_lens(m, k, n, a, b, c);
    // SAFETY: a is m x k, b is k x n, c is m x n (checked above), all row-major and
    // contiguous, as the strides say.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            par,
        )
    }
}

fn matrixmultiply(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert_gemm_lens(m, k, n, a, b, c);
    // SAFETY: a is m x k, b is k x n, c is m x n (checked above), all row-major and
    // contiguous, as the strides say.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        )
    }
}

fn bench_group(cr: &mut Criterion, group: &str, threads: usize) {
    let tier = Tier::active().expect("tier");
    let pool = gemm_group_pool(
        group,
        threads,
        tier,
        ours::kernel_name(tier).unwrap_or("unavailable"),
    );
    let mut g = cr.benchmark_group(group);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (m, k, n) in GEMM_SHAPES {
        let id = format!("{m}x{k}x{n}");
        let (a, b) = (data(m * k, 1), data(k * n, 2));
        let packed = PackedB::pack(&b, k, n).expect("pack");
        let ma = MatrixA::new(&a, m, k, k).expect("a");
        let mut c = vec![0.0f32; m * n];
        g.throughput(Throughput::Elements(2 * (m * k * n) as u64));
        g.bench_function(BenchmarkId::new("ours", &id), |bch| {
            bch.iter(|| {
                pool.install(|| ours::gemm(&ma, &packed, &mut c, n, &Epilogue::IDENTITY).expect("gemm"))
            })
        });
        if threads == 1 {
            for simd in [Tier::Avx2, Tier::Avx512]
                .into_iter()
                .filter(|t| t.is_available())
            {
                g.bench_function(BenchmarkId::new(simd.name(), &id), |bch| {
                    bch.iter(|| {
                        pool.install(|| {
                            ours::gemm_with_tier(simd, &ma, &packed, &mut c, n, &Epilogue::IDENTITY)
                                .expect("gemm")
                        })
                    })
                });
            }
            g.bench_function(BenchmarkId::new("matrixmultiply", &id), |bch| {
                bch.iter(|| matrixmultiply(m, k, n, &a, &b, &mut c))
            });
            g.bench_function(BenchmarkId::new("gemm_crate", &id), |bch| {
                bch.iter(|| gemm_crate(m, k, n, &a, &b, &mut c, gemm::Parallelism::None))
            });
            g.bench_function(BenchmarkId::new("portable", &id), |bch| {
                bch.iter(|| {
                    pool.install(|| {
                        ours::gemm_with_tier(Tier::Portable, &ma, &packed, &mut c, n, &Epilogue::IDENTITY)
                            .expect("gemm")
                    })
                })
            });
            if k <= 512 {
                g.bench_function(BenchmarkId::new("loop_reordered", &id), |bch| {
                    bch.iter(|| {
                        ours::reference::gemm_loop_reordered(
                            m,
                            k,
                            n,
                            &a,
                            k,
                            &b,
                            n,
                            &mut c,
                            n,
                            &Epilogue::IDENTITY,
                        )
                        .expect("loop_reordered")
                    })
                });
                g.bench_function(BenchmarkId::new("reference", &id), |bch| {
                    bch.iter(|| {
                        ours::reference::gemm_reference(m, k, n, &a, k, &b, n, &mut c, n, &Epilogue::IDENTITY)
                            .expect("reference")
                    })
                });
            }
        } else {
            g.bench_function(BenchmarkId::new("gemm_crate", &id), |bch| {
                bch.iter(|| {
                    pool.install(|| gemm_crate(m, k, n, &a, &b, &mut c, gemm::Parallelism::Rayon(threads)))
                })
            });
        }
    }
    g.finish();
}

fn gemm_1t(cr: &mut Criterion) {
    bench_group(cr, "gemm", 1);
}

fn gemm_2t(cr: &mut Criterion) {
    bench_group(cr, "gemm_2t", 2);
}

criterion_group!(benches, gemm_1t, gemm_2t);
criterion_main!(benches);
