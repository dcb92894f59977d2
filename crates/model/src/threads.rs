//! Keeping the pool's threads awake for the length of one forward pass.
//!
//! A forward pass is ~60 layers, each one or a few rayon parallel loops, with a little serial
//! work between them (the arena bookkeeping, small ops). Between two loops rayon's idle workers
//! spin briefly and then go to sleep on a futex, and the next loop has to wake them. On this
//! project's machine (a KVM guest) that wake-up takes 40-100 µs, against under 1 µs for a
//! worker that is still spinning (measured with a 2-thread pool: a `join` of two 200 µs tasks
//! after the joining thread had worked alone for 10 µs / 50 µs / 1 ms: the second task started
//! after 0.6 / 37 / 63 µs). A 1 ms layer split over two threads loses 5-10% to that, and the
//! whole image at 224x224 a few ms: two threads ran 1.5-1.7x faster than one while two
//! independent one-thread processes ran 2.0x (`tools/thread_scaling.sh`).
//!
//! So, like OpenMP runtimes' "active" wait policy (and ONNX Runtime's spinning thread pool),
//! [`with_workers_awake`] has every other thread of the pool wait for work by polling for it
//! (`rayon::yield_now`, which runs any job that is there) instead of sleeping, until the pass
//! ends. This changes only *when* a thread picks work up, never how work is split, so results
//! stay bit-identical for any thread count. The cost is that those threads burn their cores
//! during the serial stretches of the pass, which the pass has reserved anyway.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A poller that has found no work for this long goes back to sleeping as rayon does. Within a
/// pass the gaps between parallel loops are microseconds, so this only ends polling through a
/// long serial stretch, and it bounds the one way polling could stall: a poller is a job that
/// waits, and rayon may run it on a thread *above* a suspended job of another pass (two passes
/// at once in one pool), whose own poller may sit above this pass's caller; each would wait for
/// the other's pass to end. After `MAX_IDLE` both give up and the passes go on.
const MAX_IDLE: Duration = Duration::from_millis(1);

/// Runs `f` on the calling thread while the other threads of the current rayon pool (the
/// pool the caller runs in, else the global one) poll for work instead of sleeping. They stop
/// when `f` returns or unwinds, or after [`MAX_IDLE`] without work. Pools of one thread run `f`
/// alone.
pub(crate) fn with_workers_awake<R>(f: impl FnOnce() -> R) -> R {
    with_workers_awake_until(Arc::new(AtomicBool::new(false)), f)
}

/// [`with_workers_awake`] with the stop flag given, so that tests can watch the pollers go:
/// each holds a clone of `stop` until it returns.
fn with_workers_awake_until<R>(stop: Arc<AtomicBool>, f: impl FnOnce() -> R) -> R {
    if rayon::current_num_threads() < 2 {
        return f();
    }
    // Set on drop, so that a panic in `f` releases the pollers too.
    struct StopOnDrop(Arc<AtomicBool>);
    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Release);
        }
    }
    let _stop = StopOnDrop(stop.clone());
    let caller = rayon::current_thread_index();
    // One job per thread of the pool, each queued on that thread alone. The caller's own copy
    // returns at once: polling there would block the caller's `f` under it.
    rayon::spawn_broadcast(move |ctx| {
        if Some(ctx.index()) == caller {
            return;
        }
        let mut last_job = Instant::now();
        while !stop.load(Ordering::Acquire) {
            if rayon::yield_now() == Some(rayon::Yield::Executed) {
                last_job = Instant::now();
            } else if last_job.elapsed() > MAX_IDLE {
                return;
            } else {
                std::hint::spin_loop();
            }
        }
    });
    f()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    /// Waits (up to 10 s) until nothing but the test holds `stop`: every poller has returned.
    fn pollers_gone(stop: &Arc<AtomicBool>) -> bool {
        let t0 = Instant::now();
        while Arc::strong_count(stop) > 1 {
            if t0.elapsed() > Duration::from_secs(10) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    #[test]
    fn parallel_work_inside_gets_the_same_result_and_the_pollers_stop() {
        for threads in [1, 2, 3] {
            let stop = Arc::new(AtomicBool::new(false));
            let sum = pool(threads).install(|| {
                with_workers_awake_until(stop.clone(), || {
                    (0..10_000u64).into_par_iter().map(|i| i * i).sum::<u64>()
                })
            });
            assert_eq!(sum, (0..10_000u64).map(|i| i * i).sum::<u64>());
            // One thread needs no pollers, so it never touches the flag.
            assert_eq!(stop.load(Ordering::Acquire), threads > 1);
            assert!(
                pollers_gone(&stop),
                "{threads} threads: a poller is still running"
            );
        }
    }

    #[test]
    fn a_panic_inside_releases_the_pollers() {
        let p = pool(2);
        let stop = Arc::new(AtomicBool::new(false));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            p.install(|| with_workers_awake_until(stop.clone(), || panic!("inside")))
        }));
        assert!(result.is_err());
        assert!(stop.load(Ordering::Acquire));
        assert!(pollers_gone(&stop));
        // The pool still works.
        assert_eq!(p.install(|| (0..100).into_par_iter().sum::<i32>()), 4950);
    }

    #[test]
    fn nested_and_concurrent_calls_finish() {
        // Two passes at once in the same pool (an embedder running images in parallel), each
        // keeping the other threads awake: a poller may run the other pass's jobs, or its
        // poller, but every pass still completes.
        let p = pool(2);
        let totals: Vec<u64> = p.install(|| {
            (0..8u64)
                .into_par_iter()
                .map(|k| with_workers_awake(|| (0..2_000u64).into_par_iter().map(|i| i + k).sum::<u64>()))
                .collect()
        });
        for (k, t) in totals.iter().enumerate() {
            assert_eq!(*t, (0..2_000u64).map(|i| i + k as u64).sum::<u64>());
        }
    }
}
