//! The portable tier's lanes: eight f32 in an array, which the compiler vectorises.

use super::Lanes;

/// Eight lanes in an array (the portable tier's channel tile).
pub(crate) type Portable = [f32; 8];

impl Lanes for Portable {
    const N: usize = 8;
    /// The number of lanes.
    type Mask = usize;

    #[inline(always)]
    fn first(n: usize) -> usize {
        n.min(8)
    }

    #[inline(always)]
    fn zero() -> Self {
        [0.0; 8]
    }

    #[inline(always)]
    fn splat(x: f32) -> Self {
        [x; 8]
    }

    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        let mut v = [0.0; 8];
        v.copy_from_slice(&src[..8]);
        v
    }

    #[inline(always)]
    fn load_masked(src: &[f32], n: usize) -> Self {
        let mut v = [0.0; 8];
        v[..n].copy_from_slice(&src[..n]);
        v
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        dst[..8].copy_from_slice(&self);
    }

    #[inline(always)]
    fn store_masked(self, dst: &mut [f32], n: usize) {
        dst[..n].copy_from_slice(&self[..n]);
    }

    #[inline(always)]
    fn add(mut self, o: Self) -> Self {
        for (a, b) in self.iter_mut().zip(o) {
            *a += b;
        }
        self
    }

    #[inline(always)]
    fn sub(mut self, o: Self) -> Self {
        for (a, b) in self.iter_mut().zip(o) {
            *a -= b;
        }
        self
    }

    #[inline(always)]
    fn mul(mut self, o: Self) -> Self {
        for (a, b) in self.iter_mut().zip(o) {
            *a *= b;
        }
        self
    }

    #[inline(always)]
    fn mul_add(mut self, b: Self, acc: Self) -> Self {
        for l in 0..8 {
            self[l] = acc[l] + self[l] * b[l]; // two roundings, as the reference's `acc += x * w`
        }
        self
    }

    #[inline(always)]
    fn max(mut self, o: Self) -> Self {
        for (a, b) in self.iter_mut().zip(o) {
            *a = a.max(b);
        }
        self
    }

    #[inline(always)]
    fn min(mut self, o: Self) -> Self {
        for (a, b) in self.iter_mut().zip(o) {
            *a = a.min(b);
        }
        self
    }
}
