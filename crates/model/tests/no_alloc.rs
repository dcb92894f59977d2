//! `predict_into` allocates nothing once a size is prepared: a counting global allocator over
//! every thread of the process, at 224x224 and 416x608, on 1 and 2 threads.
//!
//! The models (and so their pools) all live until the end of the test: a thread that exits
//! allocates (crossbeam-epoch hands its garbage to the global queue), which is not the
//! engine's doing. The passes do not spin (`Spin::Off`): starting pollers costs one small
//! allocation per pass (see `Model::predict_into`). Few enough calls run per pool that rayon's
//! injector (one block per 63 calls from outside the pool) never fills a block here.

use mobilenet_unet::{Config, Model, Spin, Weights};
use ndarray::{Array3, Array4};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The system allocator, counting allocations (and reallocations) while `COUNTING` is set.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

fn count() {
    if COUNTING.load(Ordering::Relaxed) {
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

#[test]
fn predict_into_allocates_nothing_after_prepare() {
    // A narrow encoder keeps the test quick; the decoder (Winograd) is the full model's.
    let config = Config {
        alpha: 0.25,
        n_classes: 3,
        ..Config::default()
    };
    let weights = Weights::random(&config, 5).unwrap();
    let models: Vec<Model> = [1, 2]
        .iter()
        .map(|&t| {
            Model::builder()
                .threads(t)
                .spin(Spin::Off)
                .from_weights(weights.clone())
                .unwrap()
        })
        .collect();
    for model in &models {
        for (h, w) in [(224, 224), (416, 608)] {
            let input = Array4::from_shape_fn((1, h, w, 3), |(_, y, x, c)| {
                ((y * 3 + x * 5 + c) % 11) as f32 / 11.0
            });
            let mut output = Array3::<f32>::zeros((1, (h / 2) * (w / 2), 3));
            model.prepare(1, h, w).unwrap();
            ALLOCATIONS.store(0, Ordering::SeqCst);
            COUNTING.store(true, Ordering::SeqCst);
            for _ in 0..3 {
                model.predict_into(input.view(), output.view_mut()).unwrap();
            }
            COUNTING.store(false, Ordering::SeqCst);
            let n = ALLOCATIONS.load(Ordering::SeqCst);
            assert_eq!(
                n,
                0,
                "{h}x{w} on {} threads: {n} allocations in 3 calls",
                model.threads()
            );
            // The buffers were really written: probabilities summing to 1 per pixel.
            let sum: f32 = output.sum();
            assert!((sum - (h / 2 * w / 2) as f32).abs() < 1e-2 * sum, "{sum}");
        }
    }
}
