//! The one random generator of the kernel tests.

/// A small xorshift64* generator: reproducible inputs from a seed, without a dependency.
pub struct Rng(pub u64);

impl Rng {
    /// A generator for `seed` (xorshift's state must not be 0, so the low bit is set).
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

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
