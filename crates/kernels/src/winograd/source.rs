//! Where a Winograd convolution reads its input: an NHWC tensor, or the decoder's
//! `concat(upsample2x(low), skip)` described instead of materialised ([`UpsampleConcat`]),
//! which the input transform reads in place.

use super::OP;
use crate::concat::copy_channels_into_with_tier;
use crate::error::{check_len, KernelError, Result};
use crate::params::Conv2dParams;
use crate::tier::Tier;
use crate::upsample::{upsample_nearest_nhwc_with_tier, UpsampleShape};

/// The decoder's input, `concat(upsample2x(low), skip)` along channels, described instead of
/// materialised: the Winograd input transform reads both tensors where the concatenated,
/// upsampled tensor would have its pixels (saving a pass over memory and the buffer).
///
/// For a convolution over a `batch x H x W x in_c` input (`H`, `W` even): `low` is NHWC
/// `[batch, H/2, W/2, low_c]`, `skip` is NHWC `[batch, H, W, in_c - low_c]` (empty when
/// `low_c == in_c`).
#[derive(Debug, Clone, Copy)]
pub struct UpsampleConcat<'a> {
    /// The tensor upsampled 2x by nearest neighbour: channels `0 .. low_c`.
    pub low: &'a [f32],
    /// Channels of `low`.
    pub low_c: usize,
    /// The skip connection: channels `low_c .. in_c`.
    pub skip: &'a [f32],
}

/// Where a Winograd convolution reads its input.
#[derive(Debug, Clone, Copy)]
pub(super) enum Source<'a> {
    Nhwc(&'a [f32]),
    UpsampleConcat(UpsampleConcat<'a>),
}

/// One tensor the input transform reads: `(data, channels, upsampling, first channel of V)`.
pub(super) type Part<'a> = (&'a [f32], usize, usize, usize);

impl Source<'_> {
    /// The source tensors as one or two [`Part`]s (the second slot unused when `.1 == 1`).
    pub(super) fn parts(&self, in_c: usize) -> ([Part<'_>; 2], usize) {
        let none: Part = (&[], 0, 1, 0);
        match *self {
            Source::Nhwc(x) => ([(x, in_c, 1, 0), none], 1),
            Source::UpsampleConcat(u) if u.low_c == in_c => ([(u.low, in_c, 2, 0), none], 1),
            Source::UpsampleConcat(u) => ([(u.low, u.low_c, 2, 0), (u.skip, in_c - u.low_c, 1, u.low_c)], 2),
        }
    }

    /// Checks the source against the convolution's input shape.
    pub(super) fn validate(&self, params: &Conv2dParams) -> Result<()> {
        let Source::UpsampleConcat(u) = self else {
            return Ok(());
        };
        let p = params;
        if !p.in_h.is_multiple_of(2) || !p.in_w.is_multiple_of(2) || u.low_c == 0 || u.low_c > p.in_c {
            return Err(KernelError::InvalidParams {
                op: OP,
                reason: format!(
                    "an upsample-concat input needs an even {}x{} size and 1 ..= {} upsampled channels, got {}",
                    p.in_h, p.in_w, p.in_c, u.low_c
                ),
            });
        }
        check_len(
            OP,
            "low",
            p.batch * (p.in_h / 2) * (p.in_w / 2) * u.low_c,
            u.low.len(),
        )?;
        check_len(
            OP,
            "skip",
            p.batch * p.in_h * p.in_w * (p.in_c - u.low_c),
            u.skip.len(),
        )
    }
}

impl UpsampleConcat<'_> {
    /// The concatenated, upsampled NHWC input `[batch, in_h, in_w, in_c]` of `params`, made
    /// (allocates): for algorithms that cannot read it in place, and for tests.
    pub fn to_nhwc(self, params: &Conv2dParams) -> Result<Vec<f32>> {
        self.to_nhwc_with_tier(Tier::active()?, params)
    }

    /// [`to_nhwc`](Self::to_nhwc) with the upsampling and the channel copy run at `tier`:
    /// the same two kernels the decoder used before it read this input in place.
    pub fn to_nhwc_with_tier(self, tier: Tier, params: &Conv2dParams) -> Result<Vec<f32>> {
        params.validate()?;
        Source::UpsampleConcat(self).validate(params)?;
        let p = params;
        let (h, w, skip_c) = (p.in_h / 2, p.in_w / 2, p.in_c - self.low_c);
        let mut x = vec![0.0f32; p.input_len()];
        let up = UpsampleShape::new(p.batch, h, w, self.low_c, 2, 2).into_channels(p.in_c, 0);
        upsample_nearest_nhwc_with_tier(tier, &up, self.low, &mut x)?;
        if skip_c > 0 {
            let pixels = p.batch * p.in_h * p.in_w;
            copy_channels_into_with_tier(tier, self.skip, pixels, skip_c, &mut x, p.in_c, self.low_c)?;
        }
        Ok(x)
    }
}
