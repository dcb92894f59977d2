//! Random epilogues that own their vectors and lend an [`Epilogue`] view of them.

use super::Rng;
use mobilenet_unet_kernels::{Activation, ChannelAffine, Epilogue};

/// The number of epilogue combinations [`EpilogueData::random`] knows:
/// scale? x bias? x {None, ReLU, ReLU6} x post-affine?.
pub const COMBOS: u8 = 24;

/// Owned per-channel epilogue data; [`EpilogueData::epilogue`] borrows it.
#[derive(Debug, Clone, Default)]
pub struct EpilogueData {
    pub scale: Option<Vec<f32>>,
    pub bias: Option<Vec<f32>>,
    pub activation: Activation,
    /// `(scale, shift)` of the second affine step.
    pub post: Option<(Vec<f32>, Vec<f32>)>,
}

impl EpilogueData {
    /// Combination `combo` (`0..COMBOS`; bit 0: scale, bit 1: bias, `combo / 4 % 3`: the
    /// activation, `combo >= 12`: the post-affine step) over `channels` channels.
    ///
    /// The ranges put accumulators on both sides of the ReLU6 bounds: scale in [-2, 3),
    /// bias in `bias` (the callers pass ranges that straddle 0 and 6), post scale in
    /// [-1.5, 1.5) and shift in [-1, 1).
    pub fn random(combo: u8, channels: usize, bias: (f32, f32), rng: &mut Rng) -> Self {
        let activation = [Activation::None, Activation::Relu, Activation::Relu6][(combo / 4 % 3) as usize];
        EpilogueData {
            scale: (combo & 1 != 0).then(|| rng.vec(channels, -2.0, 3.0)),
            bias: (combo & 2 != 0).then(|| rng.vec(channels, bias.0, bias.1)),
            activation,
            post: (combo >= 12).then(|| (rng.vec(channels, -1.5, 1.5), rng.vec(channels, -1.0, 1.0))),
        }
    }

    /// The borrowed view the kernels take.
    pub fn epilogue(&self) -> Epilogue<'_> {
        Epilogue {
            scale: self.scale.as_deref(),
            bias: self.bias.as_deref(),
            activation: self.activation,
            post: self
                .post
                .as_ref()
                .map(|(s, t)| ChannelAffine { scale: s, shift: t }),
        }
    }

    /// How much the epilogue can magnify an accumulator error in channel `c`: `|scale|·|post.scale|`.
    pub fn gain(&self, c: usize) -> f32 {
        self.scale.as_ref().map_or(1.0, |s| s[c].abs()) * self.post.as_ref().map_or(1.0, |p| p.0[c].abs())
    }

    /// The size of what rounds in channel `c` before the shift, for an accumulator whose terms
    /// add up to `acc_magnitude` (Σ|a|·|b|): `(acc_magnitude · |scale| + |bias|) · |post.scale|`.
    /// The bias is added after the scale, so a small scale does not shrink the rounding of a
    /// large bias (scale 0.003, bias 7.4: the sum rounds at 7.4's ulp, 4.8e-7).
    pub fn magnitude(&self, c: usize, acc_magnitude: f32) -> f32 {
        let scale = self.scale.as_ref().map_or(1.0, |s| s[c].abs());
        let post = self.post.as_ref().map_or(1.0, |p| p.0[c].abs());
        let bias = self.bias.as_ref().map_or(0.0, |b| b[c].abs());
        (acc_magnitude * scale + bias) * post
    }

    /// `|post.shift[c]|` (0 without a post-affine step).
    pub fn abs_shift(&self, c: usize) -> f32 {
        self.post.as_ref().map_or(0.0, |p| p.1[c].abs())
    }
}
