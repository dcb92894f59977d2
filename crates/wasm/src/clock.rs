//! Milliseconds for the per-layer profile. `std::time::Instant` does not exist in
//! `wasm32-unknown-unknown` (calling it panics), so there the page passes its
//! `performance.now()` in as the import `env.mu_now_ms`; natively it is `Instant`.

/// Seconds since some fixed moment.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub(crate) fn now_seconds() -> f64 {
    // The import takes nothing and returns a number, so calling it cannot break Rust's
    // rules: declared `safe`, it needs no `unsafe` block.
    #[link(wasm_import_module = "env")]
    unsafe extern "C" {
        /// `performance.now()`: milliseconds, monotonic.
        safe fn mu_now_ms() -> f64;
    }
    mu_now_ms() / 1000.0
}

/// Seconds since the first call.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub(crate) fn now_seconds() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}
