//! Helpers shared by the kernel test files (each `tests/*.rs` is its own crate: `mod common;`).

// Each test crate uses only some of the helpers.
#![allow(dead_code)]

use mobilenet_unet_kernels::Tier;

/// The tiers this CPU can run, printing the ones it cannot, so a skip is never silent.
pub fn tiers() -> Vec<Tier> {
    for t in Tier::ALL.into_iter().filter(|t| !t.is_available()) {
        println!("SKIPPED tier {t}: not available on this CPU");
    }
    Tier::available()
}

/// A small xorshift generator: reproducible inputs without a dependency.
pub struct Rng(pub u64);

impl Rng {
    /// A float uniformly in `[lo, hi)`.
    pub fn next_f32(&mut self, lo: f32, hi: f32) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let u = (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }

    /// `len` floats uniformly in `[lo, hi)`.
    pub fn vec(&mut self, len: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..len).map(|_| self.next_f32(lo, hi)).collect()
    }
}
