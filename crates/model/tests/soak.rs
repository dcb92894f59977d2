//! Concurrent soak: several threads predict at the same time on one shared `Model`, at two input
//! sizes interleaved, for many iterations. Every result must equal, bit for bit, what a
//! one-thread model with the same weights computes for the same input, one call at a time.
//!
//! What this catches: workspaces handed to two callers at once, a workspace planned for one
//! size reused at another, state left in the arena by the previous call, and results that
//! depend on how many threads the kernels split the work over.

use mobilenet_unet::{Config, Model, Weights};
use ndarray::{Array3, Array4};

const THREADS: usize = 4;
const ITERATIONS: usize = 24;

/// Deterministic input in the range of a preprocessed image (LCG, seeded).
fn input(h: usize, w: usize, seed: u64) -> Array4<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    Array4::from_shape_simple_fn((1, h, w, 3), || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 40) as f32 / (1u64 << 24) as f32) * 255.0 - 128.0
    })
}

fn bits(a: &Array3<f32>) -> Vec<u32> {
    a.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn concurrent_predictions_equal_single_thread_ones() {
    let cfg = Config {
        alpha: 0.25,
        n_classes: 3,
        input_height: 32,
        input_width: 32,
        l1_skip_conn: true,
        ..Config::default()
    };
    let weights = Weights::random(&cfg, 5).unwrap();
    // Two sizes, two inputs each: a different size or a different input on the next call
    // must not see anything of the previous one.
    let inputs = [
        input(32, 32, 1),
        input(48, 64, 2),
        input(32, 32, 3),
        input(48, 64, 4),
    ];
    let single = Model::from_weights(&weights).unwrap().with_threads(1).unwrap();
    let expected: Vec<Array3<f32>> = inputs.iter().map(|x| single.predict(x.view()).unwrap()).collect();
    for (i, e) in expected.iter().enumerate() {
        assert!(
            e.iter().all(|v| v.is_finite()),
            "input {i}: non-finite reference output"
        );
    }
    // The reference itself must tell the inputs apart, or equality below would prove little.
    assert_ne!(bits(&expected[0]), bits(&expected[2]));
    assert_ne!(bits(&expected[1]), bits(&expected[3]));

    let shared = Model::from_weights(&weights).unwrap();
    let checked = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (shared, inputs, expected, checked) = (&shared, &inputs, &expected, &checked);
            scope.spawn(move || {
                for it in 0..ITERATIONS {
                    // Even threads walk the inputs forwards, odd ones backwards, each from its
                    // own start: every call switches size, and the threads are out of step.
                    let step = if t % 2 == 0 { 1 } else { inputs.len() - 1 };
                    let k = (t + it * step) % inputs.len();
                    let got = shared.predict(inputs[k].view()).unwrap();
                    assert_eq!(got.shape(), expected[k].shape());
                    assert!(
                        bits(&got) == bits(&expected[k]),
                        "thread {t}, iteration {it}, input {k}: differs from the one-thread run \
                         (max |diff| {})",
                        got.iter()
                            .zip(expected[k].iter())
                            .map(|(a, b)| (a - b).abs())
                            .fold(0.0f32, f32::max)
                    );
                    checked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(checked.into_inner(), THREADS * ITERATIONS);
}
