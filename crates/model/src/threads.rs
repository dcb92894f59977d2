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
//! [`with_workers_awake`] has the other threads of the caller's pool wait for work by polling
//! for it (`rayon::yield_now`, which runs any job that is there) instead of sleeping, until
//! the pass ends. This changes only *when* a thread picks work up. Rayon's splitting may then
//! differ (it splits more where work is stolen), but every kernel gives each output element to
//! one work item and never splits a reduction, so results stay bit-identical for any thread
//! count. The cost is that those threads burn their cores during the serial stretches of the
//! pass, which the pass has reserved anyway.
//!
//! Whether a pass polls is the caller's choice ([`Spin`], set with
//! [`crate::ModelBuilder::spin`]): `Spin::Off` (threads sleep as rayon makes them, no CPU used
//! between loops beyond rayon's own brief spinning) is the default on the global pool and on a
//! pool the caller passes in, which other work shares; a pool the model owns polls
//! (`Spin::WithinPass`) unless told otherwise.
//!
//! Only one pass *per pool* polls at a time ([`Polling`] is the pool's slot). A poller is a
//! job that waits, and rayon may run it on a thread *above* a suspended job of another pass
//! in the same pool; with two passes polling there, each one's poller could sit above the
//! other's caller and each wait for the other's pass to end. A second pass that starts while
//! one polls in its pool (an embedder running images in parallel) simply runs without
//! pollers: its threads are busy with the other pass anyway. Passes in different pools (two
//! models, each with its own threads) poll independently.
//!
//! Starting the pollers costs one small allocation per pass (rayon's `spawn_broadcast` job),
//! so a pass with `Spin::WithinPass` on two or more threads is not allocation-free; with
//! `Spin::Off` a pass allocates nothing.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Whether the pool's other threads poll for work during a forward pass instead of sleeping
/// between its parallel loops (see [`crate::ModelBuilder::spin`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Spin {
    /// Threads wait for work as rayon makes them (a brief spin, then sleep): no CPU burnt
    /// between loops, at the cost of a wake-up per loop.
    Off,
    /// During a pass, the other threads of the pool poll for work (like OpenMP's active wait
    /// policy); a poller that finds no work for `max_idle` goes back to sleep. Nothing polls
    /// between passes.
    WithinPass {
        /// How long a poller waits without work before it sleeps.
        max_idle: Duration,
    },
}

impl Spin {
    /// A poller that has found no work for this long goes back to sleeping as rayon does.
    /// Within a pass the gaps between parallel loops are microseconds; this ends polling only
    /// through a long serial stretch (or when the pass's caller is busy elsewhere), so idle
    /// cores are not burnt.
    pub const DEFAULT_MAX_IDLE: Duration = Duration::from_millis(1);

    /// `WithinPass` with [`Spin::DEFAULT_MAX_IDLE`].
    pub const fn within_pass() -> Spin {
        Spin::WithinPass {
            max_idle: Self::DEFAULT_MAX_IDLE,
        }
    }
}

/// One pool's polling slot (see the module docs: one polling pass per pool at a time).
#[derive(Debug, Default)]
pub(crate) struct Polling {
    /// Set while a pass of this pool has pollers out.
    busy: AtomicBool,
    /// Pollers started in this pool so far (for the tests).
    started: AtomicUsize,
}

impl Polling {
    /// Pollers started in this pool so far.
    #[cfg(test)]
    pub fn started(&self) -> usize {
        self.started.load(Ordering::Acquire)
    }
}

/// What one pass shares with its pollers.
#[derive(Default)]
struct Pollers {
    /// Set when the pass ends (returns or unwinds).
    stop: AtomicBool,
    /// Pollers currently in their loop (for the tests).
    running: AtomicUsize,
}

/// Runs `f` on the calling thread, a thread of a rayon pool whose slot is `polling`; with
/// `Spin::WithinPass`, the pool's other threads poll for work instead of sleeping meanwhile. A
/// poller stops when `f` returns or unwinds (once the job it may be running at that moment
/// has finished), or after `max_idle` without work. With `Spin::Off`, in a pool of one thread,
/// outside any pool, or while another pass of this pool polls, `f` just runs.
pub(crate) fn with_workers_awake<R>(polling: &Arc<Polling>, spin: Spin, f: impl FnOnce() -> R) -> R {
    match spin {
        Spin::Off => f(),
        Spin::WithinPass { max_idle } => with_workers_awake_for(polling, &Arc::default(), max_idle, f),
    }
}

/// [`with_workers_awake`] with the shared state and the idle limit given, for the tests.
fn with_workers_awake_for<R>(
    polling: &Arc<Polling>,
    pollers: &Arc<Pollers>,
    max_idle: Duration,
    f: impl FnOnce() -> R,
) -> R {
    // Outside a pool the caller would block on a latch at every loop anyway (and rayon would
    // count the global pool's threads here).
    let Some(caller) = rayon::current_thread_index() else {
        return f();
    };
    if rayon::current_num_threads() < 2
        || polling
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
    {
        return f();
    }
    // Stops the pollers and frees the slot on return and on unwind alike.
    struct StopOnDrop<'a>(Arc<Pollers>, &'a Polling);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.stop.store(true, Ordering::Release);
            self.1.busy.store(false, Ordering::Release);
        }
    }
    let _stop = StopOnDrop(pollers.clone(), polling);
    let (shared, slot) = (pollers.clone(), polling.clone());
    // One job per thread of the pool, each queued on that thread alone. The caller's own copy
    // returns at once: polling there would block the caller's `f` under it.
    rayon::spawn_broadcast(move |ctx| {
        if ctx.index() == caller {
            return;
        }
        slot.started.fetch_add(1, Ordering::AcqRel);
        shared.running.fetch_add(1, Ordering::AcqRel);
        let mut last_job = Instant::now();
        while !shared.stop.load(Ordering::Acquire) {
            if rayon::yield_now() == Some(rayon::Yield::Executed) {
                last_job = Instant::now();
            } else if last_job.elapsed() > max_idle {
                break;
            } else {
                std::hint::spin_loop();
            }
        }
        shared.running.fetch_sub(1, Ordering::AcqRel);
    });
    f()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    /// Long enough that a poller only stops because it was told to.
    const PATIENT: Duration = Duration::from_secs(60);

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    /// Waits up to 10 s for `cond`.
    fn eventually(cond: impl Fn() -> bool) -> bool {
        let t0 = Instant::now();
        while !cond() {
            if t0.elapsed() > Duration::from_secs(10) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    #[test]
    fn every_other_thread_polls_during_the_pass_and_stops_after_it() {
        for threads in [1, 2, 3] {
            let (slot, pollers) = (Arc::<Polling>::default(), Arc::default());
            let sum = pool(threads).install(|| {
                with_workers_awake_for(&slot, &pollers, PATIENT, || {
                    // All threads but the caller poll (none with one thread) ...
                    let others = threads - 1;
                    assert!(eventually(|| pollers.running.load(Ordering::Acquire) == others));
                    assert_eq!(pollers.running.load(Ordering::Acquire), others);
                    // ... and run the pass's parallel work.
                    (0..10_000u64).into_par_iter().map(|i| i * i).sum::<u64>()
                })
            });
            assert_eq!(sum, (0..10_000u64).map(|i| i * i).sum::<u64>());
            // Told to stop long before their 60 s idle limit.
            assert!(eventually(|| pollers.running.load(Ordering::Acquire) == 0));
            assert!(!slot.busy.load(Ordering::Acquire));
            assert_eq!(slot.started(), threads - 1);
        }
    }

    #[test]
    fn a_panic_inside_releases_the_pollers() {
        let p = pool(2);
        let (slot, pollers) = (Arc::<Polling>::default(), Arc::<Pollers>::default());
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            p.install(|| with_workers_awake_for(&slot, &pollers, PATIENT, || panic!("inside")))
        }));
        assert!(result.is_err());
        assert!(pollers.stop.load(Ordering::Acquire));
        assert!(eventually(|| pollers.running.load(Ordering::Acquire) == 0));
        assert!(!slot.busy.load(Ordering::Acquire), "the slot was not freed");
        // The pool still works.
        assert_eq!(p.install(|| (0..100).into_par_iter().sum::<i32>()), 4950);
    }

    #[test]
    fn outside_a_pool_nothing_polls() {
        let pollers: Arc<Pollers> = Arc::default();
        let v = with_workers_awake_for(&Arc::default(), &pollers, PATIENT, || 7);
        assert_eq!(v, 7);
        assert!(!pollers.stop.load(Ordering::Acquire), "pollers were started");
    }

    #[test]
    fn concurrent_passes_in_one_pool_finish() {
        // Eight passes at once in one pool (an embedder running images in parallel), each with
        // the patient idle limit: were two allowed to poll at once, each's poller could sit
        // above the other's caller for the full 60 s. Run under a watchdog.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let slot = Arc::<Polling>::default();
            let totals: Vec<u64> = pool(2).install(|| {
                (0..8u64)
                    .into_par_iter()
                    .map(|k| {
                        with_workers_awake_for(&slot, &Arc::default(), PATIENT, || {
                            (0..20_000u64).into_par_iter().map(|i| i + k).sum::<u64>()
                        })
                    })
                    .collect()
            });
            let _ = tx.send(totals);
        });
        let totals = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("concurrent passes did not finish within 30 s");
        for (k, t) in totals.iter().enumerate() {
            assert_eq!(*t, (0..20_000u64).map(|i| i + k as u64).sum::<u64>());
        }
    }

    #[test]
    fn two_pools_poll_at_the_same_time() {
        // Two passes in two pools, each waiting inside its pass until both see their pollers:
        // with one slot per process the second would never poll and this would time out.
        let barrier = std::sync::Barrier::new(2);
        let run = |slot: &Arc<Polling>| {
            let pollers = Arc::<Pollers>::default();
            pool(2).install(|| {
                with_workers_awake_for(slot, &pollers, PATIENT, || {
                    let polled = eventually(|| pollers.running.load(Ordering::Acquire) == 1);
                    barrier.wait();
                    polled
                })
            })
        };
        let (a, b) = (Arc::<Polling>::default(), Arc::<Polling>::default());
        let (pa, pb) = std::thread::scope(|s| {
            let ha = s.spawn(|| run(&a));
            let hb = s.spawn(|| run(&b));
            (ha.join().unwrap(), hb.join().unwrap())
        });
        assert!(pa && pb, "pool A polled: {pa}, pool B polled: {pb}");
        assert_eq!((a.started(), b.started()), (1, 1));
    }

    #[test]
    fn spin_off_starts_no_poller() {
        let slot = Arc::<Polling>::default();
        let sum = pool(2)
            .install(|| with_workers_awake(&slot, Spin::Off, || (0..10_000u64).into_par_iter().sum::<u64>()));
        assert_eq!(sum, (0..10_000u64).sum::<u64>());
        assert_eq!(slot.started(), 0);
        // The same pool and slot with polling on: the other thread polls.
        pool(2).install(|| with_workers_awake(&slot, Spin::within_pass(), || ()));
        assert!(eventually(|| slot.started() == 1));
    }
}
