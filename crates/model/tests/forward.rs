//! The optimised forward pass (BN folded, weights packed, epilogues fused, arena planned)
//! against the plain composition of the kernels' reference implementations.

use mobilenet_unet::{reference, Config, DecoderActivation, Model, Weights};
use ndarray::{Array4, ArrayView, Dimension};

/// Deterministic input in the range of a preprocessed image.
fn input(n: usize, h: usize, w: usize, seed: u64) -> Array4<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    Array4::from_shape_simple_fn((n, h, w, 3), || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 40) as f32 / (1u64 << 24) as f32) * 3.0 - 1.5
    })
}

/// Max |a - b| relative to the larger of 1 and b's largest magnitude.
fn rel_err<D: Dimension>(a: ArrayView<f32, D>, b: ArrayView<f32, D>) -> f32 {
    assert_eq!(a.shape(), b.shape());
    let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b.iter())
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

fn check(cfg: Config, n: usize, h: usize, w: usize) {
    let weights = Weights::random(&cfg, 11).unwrap();
    let model = Model::from_weights(&weights).unwrap();
    let x = input(n, h, w, 5);
    let (fast, fast_taps) = model.predict_with_taps(x.view()).unwrap();
    let (slow, slow_taps) = reference::forward(&weights, x.view()).unwrap();
    let label = format!("{cfg:?} input {n}x{h}x{w}");
    // Both passes must copy out every tap, or the loops below compare nothing.
    for (who, taps) in [("engine", &fast_taps), ("oracle", &slow_taps)] {
        assert_eq!(taps.f.len(), 4, "{label}: {who} encoder taps");
        assert_eq!(taps.dec.len(), 4, "{label}: {who} decoder taps");
        assert_eq!(
            taps.logits.shape(),
            &[n, h / 2, w / 2, cfg.n_classes],
            "{label}: {who}"
        );
    }
    // f32 sums in a different order (folded BN, blocked GEMM): allow a few ulps per layer.
    for (i, (a, b)) in fast_taps.f.iter().zip(&slow_taps.f).enumerate() {
        let e = rel_err(a.view(), b.view());
        assert!(e < 1e-4, "{label}: f{} rel err {e}", i + 1);
    }
    for (i, (a, b)) in fast_taps.dec.iter().zip(&slow_taps.dec).enumerate() {
        let e = rel_err(a.view(), b.view());
        assert!(e < 2e-4, "{label}: dec{} rel err {e}", i + 1);
    }
    let e = rel_err(fast_taps.logits.view(), slow_taps.logits.view());
    assert!(e < 2e-4, "{label}: logits rel err {e}");
    let e = rel_err(fast.view(), slow.view());
    assert!(e < 1e-4, "{label}: probabilities err {e}");
    assert_eq!(fast.shape(), &[n, (h / 2) * (w / 2), cfg.n_classes]);
    for row in fast.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn alpha_025_seed_decoder() {
    check(
        Config {
            alpha: 0.25,
            n_classes: 3,
            ..Config::default()
        },
        1,
        32,
        32,
    );
}

#[test]
fn alpha_05_l1_skip_relu_decoder_non_square() {
    let cfg = Config {
        alpha: 0.5,
        n_classes: 5,
        l1_skip_conn: true,
        decoder_activation: DecoderActivation::Relu,
        ..Config::default()
    };
    check(cfg, 1, 48, 80);
}

#[test]
fn alpha_1_batch_2() {
    check(
        Config {
            alpha: 1.0,
            n_classes: 2,
            ..Config::default()
        },
        2,
        32,
        16,
    );
}

#[test]
fn alpha_075_relu_decoder_no_skip() {
    let cfg = Config {
        alpha: 0.75,
        n_classes: 21,
        decoder_activation: DecoderActivation::Relu,
        ..Config::default()
    };
    check(cfg, 1, 16, 48);
}

#[test]
fn alpha_025_l1_skip_batch_2() {
    check(
        Config {
            alpha: 0.25,
            n_classes: 4,
            l1_skip_conn: true,
            ..Config::default()
        },
        2,
        64,
        32,
    );
}

#[test]
fn thread_count_does_not_change_results() {
    let cfg = Config {
        alpha: 0.5,
        n_classes: 3,
        l1_skip_conn: true,
        ..Config::default()
    };
    let w = Weights::random(&cfg, 3).unwrap();
    let x = input(1, 64, 48, 9);
    let one = Model::from_weights(&w)
        .unwrap()
        .with_threads(1)
        .unwrap()
        .predict(x.view())
        .unwrap();
    let two = Model::from_weights(&w)
        .unwrap()
        .with_threads(2)
        .unwrap()
        .predict(x.view())
        .unwrap();
    assert!(
        one.iter()
            .zip(two.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "1 and 2 threads differ"
    );
}

/// Calls of two sizes, interleaved and from several threads at once, give the first call's bits
/// every time: a workspace left behind by one size or one thread never leaks into another
/// call. (Whether workspaces are reused rather than reallocated is not observable here; the
/// allocation count is the place to check that.)
#[test]
fn interleaved_and_concurrent_calls_repeat_the_first_result() {
    let cfg = Config {
        alpha: 0.25,
        n_classes: 2,
        ..Config::default()
    };
    let model = Model::random(&cfg, 1).unwrap();
    let (a, b) = (input(1, 32, 32, 1), input(2, 48, 32, 2));
    let ra = model.predict(a.view()).unwrap();
    let rb = model.predict(b.view()).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..3 {
                    assert_eq!(model.predict(a.view()).unwrap(), ra);
                    assert_eq!(model.predict(b.view()).unwrap(), rb);
                }
            });
        }
    });
}

#[test]
fn non_contiguous_input_is_accepted() {
    let cfg = Config {
        alpha: 0.25,
        n_classes: 2,
        ..Config::default()
    };
    let model = Model::random(&cfg, 1).unwrap();
    let x = input(1, 32, 32, 4);
    let mut t = Array4::<f32>::zeros((1, 32, 3, 32));
    t.assign(&x.view().permuted_axes([0, 1, 3, 2]));
    let view = t.view().permuted_axes([0, 1, 3, 2]);
    assert!(view.as_slice().is_none());
    assert_eq!(model.predict(view).unwrap(), model.predict(x.view()).unwrap());
}

#[test]
fn every_execution_choice_gives_the_same_bits() {
    use mobilenet_unet::Spin;
    use std::sync::Arc;
    let cfg = Config {
        alpha: 0.25,
        n_classes: 3,
        ..Config::default()
    };
    let w = Weights::random(&cfg, 4).unwrap();
    let x = input(2, 48, 64, 5);
    let want = Model::from_weights(&w).unwrap().predict(x.view()).unwrap();
    let pool = Arc::new(rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap());
    let builders = [
        Model::builder().threads(2).spin(Spin::Off),
        Model::builder().threads(2).spin(Spin::within_pass()),
        Model::builder().thread_pool(pool.clone()),
        Model::builder().thread_pool(pool).spin(Spin::within_pass()),
        Model::builder().threads(1).max_workspaces(0),
    ];
    for b in builders {
        let label = format!("{b:?}");
        let model = b.from_weights(w.clone()).unwrap();
        for _ in 0..2 {
            let got = model.predict(x.view()).unwrap();
            assert!(
                got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()),
                "{label}"
            );
        }
        // predict_into, into a non-contiguous output (a transposed view of a buffer).
        let mut t = ndarray::Array3::<f32>::zeros((2, 3, 24 * 32));
        let mut view = t.view_mut().permuted_axes([0, 2, 1]);
        assert!(view.as_slice_mut().is_none());
        model.prepare(2, 48, 64).unwrap();
        model.predict_into(x.view(), view).unwrap();
        assert_eq!(t.view().permuted_axes([0, 2, 1]), want.view(), "{label}");
        model.clear_workspaces();
        assert!(model.workspace_bytes(2, 48, 64).unwrap() > 0);
        assert!(format!("{model:?}").contains("spin"));
    }
}
