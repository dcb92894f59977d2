//! The harness the kernel test files share (each `tests/*.rs` is its own crate: `mod common;`).
//!
//! - [`Rng`]: the one reproducible random generator;
//! - [`EpilogueData`]: a random epilogue that owns its vectors and lends an `Epilogue`;
//! - [`pool`] / [`with_threads`]: fixed-size rayon pools for thread-count tests;
//! - [`Problem`], [`compare`], [`Tolerance`]: a kernel call, its oracle and the comparison
//!   that reports the worst element on failure;
//! - [`ChannelSlice`]: an output written into some channels of a wider buffer;
//! - [`tiers`]: the tiers to test, never skipping one silently.

// Each test crate uses only some of the helpers.
#![allow(dead_code, unused_imports)]

mod epilogue;
mod problem;
mod rng;
mod slice;
mod threads;

pub use epilogue::{EpilogueData, COMBOS};
pub use problem::{compare, same_bits, Problem, Tolerance};
pub use rng::Rng;
pub use slice::ChannelSlice;
pub use threads::{pool, with_threads};

use mobilenet_unet_kernels::Tier;

/// Set to a comma-separated list of tier names (`avx2,avx512`) to make the tests fail on a
/// machine that lacks one of them, instead of skipping it (for CI runners that must test them).
pub const REQUIRE_TIERS_ENV: &str = "MOBILENET_UNET_REQUIRE_TIERS";

/// The tiers this CPU can run. The ones it cannot are printed (so a skip is never silent), and
/// are an error if [`REQUIRE_TIERS_ENV`] names them.
pub fn tiers() -> Vec<Tier> {
    let required = std::env::var(REQUIRE_TIERS_ENV).unwrap_or_default();
    for name in required.split(',').filter(|s| !s.trim().is_empty()) {
        let tier = Tier::from_name(name).unwrap_or_else(|e| panic!("{REQUIRE_TIERS_ENV}: {e}"));
        assert!(
            tier.is_available(),
            "{REQUIRE_TIERS_ENV} requires tier {tier}, which this CPU cannot run"
        );
    }
    for t in Tier::ALL.into_iter().filter(|t| !t.is_available()) {
        println!("SKIPPED tier {t}: not available on this CPU");
    }
    Tier::available()
}
