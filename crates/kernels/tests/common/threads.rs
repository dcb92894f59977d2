//! Thread pools of a fixed size, for the tests that compare thread counts.

/// A rayon pool of exactly `threads` threads.
pub fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool of a few threads")
}

/// Runs `f` inside a fresh pool of `threads` threads (every rayon call in `f` uses it).
pub fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    pool(threads).install(f)
}
