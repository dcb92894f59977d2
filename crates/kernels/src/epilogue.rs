//! The fused epilogue every convolution and GEMM applies to its accumulators.
//!
//! For output channel `c` and accumulator `acc`:
//!
//! ```text
//! y = act(acc · scale[c] + bias[c])          scale defaults to 1, bias to 0
//! y = y · post.scale[c] + post.shift[c]      only if `post` is set
//! ```
//!
//! The first affine step is where a BatchNormalization that follows a convolution goes when it
//! is not folded into the weights; the activation is ReLU or ReLU6; the second affine step
//! serves keras_segmentation's decoder, `Conv2D(activation='relu')` *then* BatchNormalization,
//! where BN cannot be folded through the ReLU. Fusing these saves a full pass over the output.

use crate::error::{check_len, Result};

/// The nonlinearity applied after the first affine step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activation {
    /// Identity.
    #[default]
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`, MobileNet's activation.
    Relu6,
}

impl Activation {
    /// Applies the activation to one value.
    #[inline(always)]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::None => x,
            Activation::Relu => x.max(0.0),
            Activation::Relu6 => x.clamp(0.0, 6.0),
        }
    }

    /// `(lower, upper)` clamp bounds equivalent to the activation (infinite where unbounded),
    /// which lets SIMD code apply any activation as one `max` and one `min`.
    pub fn bounds(self) -> (f32, f32) {
        match self {
            Activation::None => (f32::NEG_INFINITY, f32::INFINITY),
            Activation::Relu => (0.0, f32::INFINITY),
            Activation::Relu6 => (0.0, 6.0),
        }
    }
}

/// A per-channel affine map `y = x · scale[c] + shift[c]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelAffine<'a> {
    /// Multiplier per channel.
    pub scale: &'a [f32],
    /// Addend per channel.
    pub shift: &'a [f32],
}

/// What happens to each accumulator before it is stored. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Epilogue<'a> {
    /// Per-channel multiplier of the accumulator (`None`: 1).
    pub scale: Option<&'a [f32]>,
    /// Per-channel addend (`None`: 0).
    pub bias: Option<&'a [f32]>,
    /// Activation after the first affine step.
    pub activation: Activation,
    /// Optional second per-channel affine step after the activation.
    pub post: Option<ChannelAffine<'a>>,
}

impl<'a> Epilogue<'a> {
    /// Stores the accumulators unchanged.
    pub const IDENTITY: Epilogue<'static> = Epilogue {
        scale: None,
        bias: None,
        activation: Activation::None,
        post: None,
    };

    /// `act(acc + bias[c])`: a convolution whose BatchNorm was folded into its weights.
    pub fn bias_act(bias: &'a [f32], activation: Activation) -> Self {
        Epilogue {
            bias: Some(bias),
            activation,
            ..Epilogue::IDENTITY
        }
    }

    /// Checks every per-channel slice has `channels` entries (`op` names the caller).
    pub fn validate(&self, op: &'static str, channels: usize) -> Result<()> {
        if let Some(s) = self.scale {
            check_len(op, "epilogue.scale", channels, s.len())?;
        }
        if let Some(b) = self.bias {
            check_len(op, "epilogue.bias", channels, b.len())?;
        }
        if let Some(p) = self.post {
            check_len(op, "epilogue.post.scale", channels, p.scale.len())?;
            check_len(op, "epilogue.post.shift", channels, p.shift.len())?;
        }
        Ok(())
    }

    /// True when the epilogue changes nothing.
    pub fn is_identity(&self) -> bool {
        self.scale.is_none()
            && self.bias.is_none()
            && self.activation == Activation::None
            && self.post.is_none()
    }

    /// The epilogue of one value in channel `c` (the scalar definition all SIMD paths match).
    #[inline(always)]
    pub fn apply(&self, c: usize, acc: f32) -> f32 {
        let mut y = acc;
        if let Some(s) = self.scale {
            y *= s[c];
        }
        if let Some(b) = self.bias {
            y += b[c];
        }
        y = self.activation.apply(y);
        if let Some(p) = self.post {
            y = y * p.scale[c] + p.shift[c];
        }
        y
    }

    /// Applies the epilogue in place to `row`, whose element `j` belongs to channel `c0 + j`.
    pub fn apply_row(&self, row: &mut [f32], c0: usize) {
        for (j, v) in row.iter_mut().enumerate() {
            *v = self.apply(c0 + j, *v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_scale_bias_act_post() {
        let (s, b, ps, pt) = ([2.0], [1.0], [10.0], [0.5]);
        let e = Epilogue {
            scale: Some(&s),
            bias: Some(&b),
            activation: Activation::Relu6,
            post: Some(ChannelAffine {
                scale: &ps,
                shift: &pt,
            }),
        };
        assert_eq!(e.apply(0, 1.0), 30.5); // (1·2+1) = 3 -> relu6 3 -> 3·10+0.5
        assert_eq!(e.apply(0, 9.0), 60.5); // 19 clamps to 6
        assert_eq!(e.apply(0, -9.0), 0.5); // clamps to 0
        assert!(Epilogue::IDENTITY.is_identity());
        assert!(e.validate("test", 2).is_err());
    }
}
