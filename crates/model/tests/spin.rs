//! What spinning costs between passes: with `Spin::Off` (and with `Spin::WithinPass`, whose
//! pollers stop when the pass ends) no thread of the model's pool is runnable once a pass has
//! returned. Read from `/proc/self/task/*/stat` (Linux): each pool thread is named
//! `mobilenet-unet-<i>` and its state must be `S` (sleeping), not `R` (running or runnable).

#![cfg(target_os = "linux")]

use mobilenet_unet::{Config, Model, Spin, Weights};
use ndarray::Array4;
use std::time::{Duration, Instant};

/// The (name, state) of every thread of this process.
fn thread_states() -> Vec<(String, char)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // "tid (comm) S ...": the name may hold spaces, so split at the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let state = stat[close + 1..].trim_start().chars().next().unwrap_or('?');
        out.push((stat[open + 1..close].to_string(), state));
    }
    out
}

/// Waits up to 5 s for every pool thread to be asleep; returns the last states seen.
fn pool_threads_asleep() -> Result<(), Vec<(String, char)>> {
    let t0 = Instant::now();
    loop {
        let pool: Vec<_> = thread_states()
            .into_iter()
            .filter(|(name, _)| name.starts_with("mobilenet-unet"))
            .collect();
        assert!(!pool.is_empty(), "no pool thread found");
        if pool.iter().all(|(_, s)| *s == 'S') {
            return Ok(());
        }
        if t0.elapsed() > Duration::from_secs(5) {
            return Err(pool);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn no_pool_thread_runs_between_passes() {
    let config = Config {
        alpha: 0.25,
        n_classes: 2,
        ..Config::default()
    };
    let weights = Weights::random(&config, 2).unwrap();
    let x = Array4::<f32>::zeros((1, 96, 96, 3));
    // A long idle limit: were the pollers not stopped at the end of the pass, they would
    // still be polling (runnable) when the states are read.
    let patient = Spin::WithinPass {
        max_idle: Duration::from_secs(30),
    };
    for spin in [Spin::Off, patient] {
        let model = Model::builder()
            .threads(2)
            .spin(spin)
            .from_weights(weights.clone())
            .unwrap();
        for _ in 0..3 {
            model.predict(x.view()).unwrap();
        }
        if let Err(states) = pool_threads_asleep() {
            panic!("{spin:?}: pool threads still runnable 5 s after the pass: {states:?}");
        }
    }
}
