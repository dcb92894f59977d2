//! Helpers shared by the kernel test files (each `tests/*.rs` is its own crate: `mod common;`).

use mobilenet_unet_kernels::Tier;

/// The tiers this CPU can run, printing the ones it cannot, so a skip is never silent.
pub fn tiers() -> Vec<Tier> {
    for t in Tier::ALL.into_iter().filter(|t| !t.is_available()) {
        println!("SKIPPED tier {t}: not available on this CPU");
    }
    Tier::available()
}
