//! Warmed-up kernels allocate nothing: a counting global allocator watches the calls that run
//! in the model's hot path (im2col + GEMM, pointwise GEMM, Winograd over an NHWC input and over
//! an upsample-concat input in both schedules, small-N, depthwise) on 1 and 2 threads.
//!
//! Each pool thread reserves its scratch ([`reserve_thread_scratch`]), each case runs a few
//! times to warm up, then the count over the next calls must be zero. Only the pools' own threads are counted, and the two pools live for the
//! whole test: a thread that exits allocates (crossbeam-epoch hands its garbage bag to the
//! global queue), which is not the kernels' doing. rayon's injection of the job into the pool
//! is outside the counted window (opened and closed inside `install`).

use mobilenet_unet_kernels::conv::{self, ConvWeights};
use mobilenet_unet_kernels::winograd::UpsampleConcat;
use mobilenet_unet_kernels::{
    reserve_thread_scratch, Activation, Conv2dParams, ConvAlgorithm, Epilogue, Tier,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The system allocator, counting allocations while `COUNTING` is set.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread is one of the pool's (only those are counted).
    static IN_POOL: Cell<bool> = const { Cell::new(false) };
}

/// Counts one allocation if counting is on and this is a pool thread.
fn count() {
    if COUNTING.load(Ordering::Relaxed) && IN_POOL.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to `System` unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A pool of `threads` threads whose allocations are counted.
fn counted_pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .start_handler(|_| IN_POOL.with(|p| p.set(true)))
        .build()
        .unwrap()
}

/// Allocations made by `run` after `warm` calls of it, over 3 more calls, inside `pool`, whose
/// threads reserved their scratch first (as the model does).
fn allocations_after_warmup(pool: &rayon::ThreadPool, warm: usize, mut run: impl FnMut() + Send) -> usize {
    pool.broadcast(|_| reserve_thread_scratch(true));
    pool.install(|| {
        for _ in 0..warm {
            run();
        }
        ALLOCATIONS.store(0, Ordering::SeqCst);
        COUNTING.store(true, Ordering::SeqCst);
        for _ in 0..3 {
            run();
        }
        COUNTING.store(false, Ordering::SeqCst);
        ALLOCATIONS.load(Ordering::SeqCst)
    })
}

fn data(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7919 + seed) % 997) as f32 / 500.0 - 1.0)
        .collect()
}

/// One convolution with prepared weights, run into a reused output.
fn conv_case(params: Conv2dParams, algorithm: ConvAlgorithm) -> impl FnMut() + Send {
    let x = data(params.input_len(), 1);
    let w = ConvWeights::prepare_as(&params, &data(params.weight_len(), 2), algorithm).unwrap();
    let bias = data(params.out_c, 3);
    let mut out = vec![0.0; params.output_len()];
    let tier = Tier::best();
    move || {
        let e = Epilogue::bias_act(&bias, Activation::Relu6);
        conv::conv2d_nhwc_with_tier(tier, &params, &x, &w, &mut out, params.out_c, &e).unwrap();
    }
}

#[test]
fn warmed_up_convolutions_allocate_nothing() {
    // The tests in this file share the counter, so they run one after the other here.
    let cases = [
        (
            "im2col 3x3 s2",
            Conv2dParams::dense(1, 57, 43, 8, 32, 3, 2, 1),
            ConvAlgorithm::Im2colGemm,
        ),
        (
            "pointwise",
            Conv2dParams::dense(2, 28, 28, 64, 128, 1, 1, 0),
            ConvAlgorithm::Pointwise,
        ),
        // Few tiles, large weights: blocks one after the other, phases in parallel.
        (
            "winograd phases",
            Conv2dParams::dense(1, 14, 14, 256, 256, 3, 1, 1),
            ConvAlgorithm::Winograd,
        ),
        // Many tiles, small weights: one block per thread.
        (
            "winograd per thread",
            Conv2dParams::dense(1, 208, 304, 32, 32, 3, 1, 1),
            ConvAlgorithm::Winograd,
        ),
        (
            "small n",
            Conv2dParams::dense(1, 56, 56, 16, 3, 3, 1, 1),
            ConvAlgorithm::SmallN,
        ),
        (
            "depthwise",
            Conv2dParams::depthwise(1, 56, 56, 32, 3, 2, 1),
            ConvAlgorithm::Depthwise,
        ),
    ];
    let pools = [counted_pool(1), counted_pool(2)];
    for (name, params, algorithm) in cases {
        assert!(params.supports(algorithm), "{name}");
        for pool in &pools {
            let threads = pool.current_num_threads();
            let n = allocations_after_warmup(pool, 4, conv_case(params, algorithm));
            assert_eq!(
                n, 0,
                "{name} on {threads} threads allocated {n} times after warm-up"
            );
        }
    }

    // The decoder's Winograd over concat(upsample2x(low), skip), read in place.
    let params = Conv2dParams::dense(1, 56, 56, 96, 32, 3, 1, 1);
    let (low, skip) = (data(28 * 28 * 64, 4), data(56 * 56 * 32, 5));
    let w = ConvWeights::prepare_as(&params, &data(params.weight_len(), 6), ConvAlgorithm::Winograd).unwrap();
    let mut out = vec![0.0; params.output_len()];
    for pool in &pools {
        let threads = pool.current_num_threads();
        let n = allocations_after_warmup(pool, 4, || {
            let input = UpsampleConcat {
                low: &low,
                low_c: 64,
                skip: &skip,
            };
            conv::conv2d_upsample_concat_with_tier(
                Tier::best(),
                &params,
                &input,
                &w,
                &mut out,
                params.out_c,
                &Epilogue::IDENTITY,
            )
            .unwrap();
        });
        assert_eq!(
            n, 0,
            "upsample-concat Winograd on {threads} threads allocated {n} times"
        );
    }
}
