//! Shape arithmetic of a 2-D convolution, in one place.
//!
//! Layout conventions used by every kernel in this crate:
//!
//! - activations are NHWC, contiguous: element `(n, y, x, c)` is at `((n·H + y)·W + x)·C + c`;
//! - dense convolution weights are Keras's HWIO: `(ky, kx, ci, co)` at `((ky·KW + kx)·Cin + ci)·Cout + co`;
//! - depthwise weights are Keras's `H W C 1` with the trailing 1 dropped: `(ky, kx, c)` at
//!   `(ky·KW + kx)·C + c`.
//!
//! Padding is explicit zero padding on each side (Keras's `ZeroPadding2D((1,1))` followed by a
//! `'valid'` convolution is `pad = 1` on all four sides). [`same_padding`] gives TensorFlow's
//! `'same'` split, which puts the odd pixel at the bottom/right.

use crate::error::{KernelError, Result};

/// Which algorithm computes a convolution. [`Conv2dParams::algorithm`] is the rule;
/// `conv::ConvWeights::prepare_as` (or a `conv::ConvChoice`) can force another one that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConvAlgorithm {
    /// One filter per channel (`groups == in_c == out_c`): a direct NHWC kernel.
    Depthwise,
    /// Dense with at most [`SMALL_N`] output channels (the classifier): one dot product per
    /// output, vectorised along the reduction, no GEMM packing.
    SmallN,
    /// 1x1, stride 1, no padding: the NHWC input already *is* the GEMM's A matrix.
    Pointwise,
    /// Dense 3x3 stride 1: Winograd F(4x4, 3x3), 36 GEMMs over transformed tiles.
    Winograd,
    /// Anything else dense: image patches packed into GEMM panels.
    Im2colGemm,
}

impl ConvAlgorithm {
    /// The lower-case name used in `MOBILENET_UNET_CONV`, profiles and benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            ConvAlgorithm::Depthwise => "depthwise",
            ConvAlgorithm::SmallN => "small_n",
            ConvAlgorithm::Pointwise => "pointwise",
            ConvAlgorithm::Winograd => "winograd",
            ConvAlgorithm::Im2colGemm => "im2col",
        }
    }
}

/// Dense layers with at most this many output channels take [`ConvAlgorithm::SmallN`].
pub const SMALL_N: usize = 8;
/// Winograd is chosen from this many input channels on: below it the transforms cost more
/// than the multiplies they save.
pub const WINOGRAD_MIN_IN_C: usize = 16;
/// Winograd is chosen up to this many filters (`in_c · out_c`), i.e. while the layer's
/// weights take at most 40 MiB in the Winograd domain (36 floats a filter instead of 9: 4x the
/// 3x3 weights). The seed's widest decoder layer, dec1 (512 -> 512, 36 MiB), takes it: the
/// whole alpha-1.0 model then peaks at about 123 MiB at 416x608 with 2 threads. Wider layers
/// keep im2col, to bound the model's memory; `MOBILENET_UNET_CONV=winograd` lifts the limit.
pub const WINOGRAD_MAX_FILTERS: usize = (40 << 20) / (36 * 4);

/// Shape and hyper-parameters of one convolution over a batch of NHWC images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dParams {
    /// Number of images.
    pub batch: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Input channels.
    pub in_c: usize,
    /// Output channels.
    pub out_c: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Zero rows added above the input.
    pub pad_top: usize,
    /// Zero rows added below the input.
    pub pad_bottom: usize,
    /// Zero columns added left of the input.
    pub pad_left: usize,
    /// Zero columns added right of the input.
    pub pad_right: usize,
    /// 1 for a dense convolution, `in_c` (with `out_c == in_c`) for a depthwise one.
    pub groups: usize,
}

impl Conv2dParams {
    /// A dense `k x k` convolution with the same stride and zero padding `pad` on every side.
    #[allow(clippy::too_many_arguments)]
    pub fn dense(
        batch: usize,
        in_h: usize,
        in_w: usize,
        in_c: usize,
        out_c: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Self {
        Conv2dParams {
            batch,
            in_h,
            in_w,
            in_c,
            out_c,
            kh: k,
            kw: k,
            stride_h: stride,
            stride_w: stride,
            pad_top: pad,
            pad_bottom: pad,
            pad_left: pad,
            pad_right: pad,
            groups: 1,
        }
    }

    /// A depthwise `k x k` convolution (depth multiplier 1) over `c` channels.
    pub fn depthwise(
        batch: usize,
        in_h: usize,
        in_w: usize,
        c: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Self {
        Conv2dParams {
            out_c: c,
            groups: c,
            ..Self::dense(batch, in_h, in_w, c, c, k, stride, pad)
        }
    }

    /// The same convolution with explicit (possibly asymmetric) padding.
    pub fn with_padding(self, top: usize, bottom: usize, left: usize, right: usize) -> Self {
        Conv2dParams {
            pad_top: top,
            pad_bottom: bottom,
            pad_left: left,
            pad_right: right,
            ..self
        }
    }

    /// The same convolution over a different batch size.
    pub fn with_batch(self, batch: usize) -> Self {
        Conv2dParams { batch, ..self }
    }

    /// Checks that the parameters describe a computable convolution.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Err(KernelError::InvalidParams { op: "conv2d", reason });
        if self.kh == 0 || self.kw == 0 {
            return bad(format!(
                "kernel size {}x{} must be at least 1x1",
                self.kh, self.kw
            ));
        }
        if self.stride_h == 0 || self.stride_w == 0 {
            return bad(format!(
                "stride {}x{} must be at least 1",
                self.stride_h, self.stride_w
            ));
        }
        if self.in_c == 0 || self.out_c == 0 {
            return bad(format!(
                "channels {} -> {} must be at least 1",
                self.in_c, self.out_c
            ));
        }
        if self.groups != 1 && !(self.groups == self.in_c && self.out_c == self.in_c) {
            return bad(format!(
                "groups = {} with {} -> {} channels: only dense (1) and depthwise (groups = in_c = out_c) are supported",
                self.groups, self.in_c, self.out_c
            ));
        }
        let (ph, pw) = self.padded_hw();
        if ph < self.kh || pw < self.kw {
            return bad(format!(
                "padded input {ph}x{pw} is smaller than the {}x{} kernel",
                self.kh, self.kw
            ));
        }
        Ok(())
    }

    /// Input height and width after zero padding.
    pub fn padded_hw(&self) -> (usize, usize) {
        (
            self.in_h + self.pad_top + self.pad_bottom,
            self.in_w + self.pad_left + self.pad_right,
        )
    }

    /// Output height and width: `(padded - k) / stride + 1` (integer division, as 'valid').
    /// Only meaningful after [`validate`](Self::validate) succeeded; returns (0, 0) otherwise.
    pub fn out_hw(&self) -> (usize, usize) {
        let (ph, pw) = self.padded_hw();
        if ph < self.kh || pw < self.kw || self.stride_h == 0 || self.stride_w == 0 {
            return (0, 0);
        }
        (
            (ph - self.kh) / self.stride_h + 1,
            (pw - self.kw) / self.stride_w + 1,
        )
    }

    /// Elements in the NHWC input.
    pub fn input_len(&self) -> usize {
        self.batch * self.in_h * self.in_w * self.in_c
    }

    /// Elements in the NHWC output.
    pub fn output_len(&self) -> usize {
        let (oh, ow) = self.out_hw();
        self.batch * oh * ow * self.out_c
    }

    /// Elements in the weight tensor (HWIO dense, HWC depthwise).
    pub fn weight_len(&self) -> usize {
        self.kh * self.kw * (self.in_c / self.groups) * self.out_c
    }

    /// Multiply-accumulates for the whole batch (FLOPs = 2 x MACs).
    pub fn macs(&self) -> u64 {
        let (oh, ow) = self.out_hw();
        (self.batch * oh * ow) as u64
            * self.out_c as u64
            * (self.kh * self.kw * (self.in_c / self.groups)) as u64
    }

    /// True for a depthwise convolution.
    pub fn is_depthwise(&self) -> bool {
        self.groups != 1 && self.groups == self.in_c && self.out_c == self.in_c
    }

    /// True for a 1x1, stride-1, unpadded dense convolution.
    pub fn is_pointwise(&self) -> bool {
        self.groups == 1
            && self.kh == 1
            && self.kw == 1
            && self.stride_h == 1
            && self.stride_w == 1
            && self.pad_top + self.pad_bottom + self.pad_left + self.pad_right == 0
    }

    /// True for a dense 3x3 stride-1 convolution (any padding): Winograd F(4x4, 3x3) computes it.
    pub fn winograd_applies(&self) -> bool {
        self.groups == 1 && self.kh == 3 && self.kw == 3 && self.stride_h == 1 && self.stride_w == 1
    }

    /// The algorithm that computes this convolution: the one place the choice is made.
    ///
    /// 1. depthwise weights: [`ConvAlgorithm::Depthwise`];
    /// 2. dense with `out_c <= SMALL_N`: [`ConvAlgorithm::SmallN`] (a GEMM tile would be mostly
    ///    padding);
    /// 3. 1x1 stride 1 unpadded: [`ConvAlgorithm::Pointwise`];
    /// 4. 3x3 stride 1 with `in_c >= WINOGRAD_MIN_IN_C` and `in_c · out_c <= WINOGRAD_MAX_FILTERS`:
    ///    [`ConvAlgorithm::Winograd`] (4x fewer multiplies);
    /// 5. anything else: [`ConvAlgorithm::Im2colGemm`].
    ///
    /// The rule looks at channels only, not at the image size, because weights are prepared
    /// once for every size the model will see. Its known weak spot: on tiny inputs the widest
    /// layers have a handful of tiles, and streaming their 4x larger Winograd weights from DRAM
    /// costs more than im2col's arithmetic (the seed's network, 1 thread: 5.9 vs 3.7 ms at
    /// 32x32; from 64x64 on Winograd wins, 7.1 vs 9.4 ms, and 17.9 vs 33.9 ms at 128x128).
    pub fn algorithm(&self) -> ConvAlgorithm {
        if self.is_depthwise() {
            ConvAlgorithm::Depthwise
        } else if self.out_c <= SMALL_N {
            ConvAlgorithm::SmallN
        } else if self.is_pointwise() {
            ConvAlgorithm::Pointwise
        } else if self.winograd_applies()
            && self.in_c >= WINOGRAD_MIN_IN_C
            && self.in_c * self.out_c <= WINOGRAD_MAX_FILTERS
        {
            ConvAlgorithm::Winograd
        } else {
            ConvAlgorithm::Im2colGemm
        }
    }

    /// Whether `algorithm` can compute this convolution (what forcing one is checked against).
    pub fn supports(&self, algorithm: ConvAlgorithm) -> bool {
        let dense = !self.is_depthwise() && self.groups == 1;
        match algorithm {
            ConvAlgorithm::Depthwise => self.is_depthwise(),
            ConvAlgorithm::SmallN | ConvAlgorithm::Im2colGemm => dense,
            ConvAlgorithm::Pointwise => self.is_pointwise(),
            ConvAlgorithm::Winograd => self.winograd_applies(),
        }
    }

    /// GEMM view of a dense convolution: `(M, K, N) = (batch·OH·OW, KH·KW·Cin, Cout)`.
    pub fn gemm_mkn(&self) -> (usize, usize, usize) {
        let (oh, ow) = self.out_hw();
        (self.batch * oh * ow, self.kh * self.kw * self.in_c, self.out_c)
    }
}

/// TensorFlow/Keras `'same'` padding for one axis: `(before, after)`.
///
/// The output size is `ceil(input / stride)`; when the total padding is odd the extra zero goes
/// after (bottom or right), as in TensorFlow.
pub fn same_padding(input: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = input.div_ceil(stride.max(1));
    let needed = ((out.saturating_sub(1)) * stride + kernel).saturating_sub(input);
    (needed / 2, needed - needed / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_parameter_arithmetic() {
        // The seed's lesson: a 3x3 conv 16 -> 32 has 4608 weights; depthwise 3x3 + pointwise 656.
        let standard = Conv2dParams::dense(1, 112, 112, 16, 32, 3, 1, 1);
        let dw = Conv2dParams::depthwise(1, 112, 112, 16, 3, 1, 1);
        let pw = Conv2dParams::dense(1, 112, 112, 16, 32, 1, 1, 0);
        assert_eq!(standard.weight_len(), 4608);
        assert_eq!(dw.weight_len() + pw.weight_len(), 656);
        assert_eq!(dw.algorithm(), ConvAlgorithm::Depthwise);
        assert_eq!(pw.algorithm(), ConvAlgorithm::Pointwise);
        assert_eq!(standard.algorithm(), ConvAlgorithm::Winograd);
        // The decoder's widest layer keeps im2col; stride 2 and 5x5 cannot take Winograd.
        assert_eq!(
            Conv2dParams::dense(1, 14, 14, 1024, 512, 3, 1, 1).algorithm(),
            ConvAlgorithm::Im2colGemm
        );
        assert_eq!(
            Conv2dParams::dense(1, 14, 14, 768, 256, 3, 1, 1).algorithm(),
            ConvAlgorithm::Winograd
        );
        assert_eq!(
            Conv2dParams::dense(1, 14, 14, 512, 512, 3, 1, 1).algorithm(),
            ConvAlgorithm::Winograd
        );
        assert_eq!(
            Conv2dParams::dense(1, 9, 9, 32, 32, 3, 2, 1).algorithm(),
            ConvAlgorithm::Im2colGemm
        );
        assert_eq!(
            Conv2dParams::dense(1, 9, 9, 32, 32, 5, 1, 2).algorithm(),
            ConvAlgorithm::Im2colGemm
        );
        assert_eq!(
            Conv2dParams::dense(1, 9, 9, 8, 32, 3, 1, 1).algorithm(),
            ConvAlgorithm::Im2colGemm
        );
        assert_eq!(
            Conv2dParams::dense(1, 9, 9, 64, 2, 3, 1, 1).algorithm(),
            ConvAlgorithm::SmallN
        );
    }

    #[test]
    fn output_sizes() {
        // MobileNet's stride-2 blocks: ZeroPadding2D((1,1)) + 3x3 'valid' stride 2.
        let p = Conv2dParams::depthwise(1, 112, 112, 64, 3, 2, 1);
        assert_eq!(p.out_hw(), (56, 56));
        let p = Conv2dParams::dense(1, 7, 5, 3, 4, 3, 2, 1);
        assert_eq!(p.out_hw(), (4, 3));
        assert_eq!(
            Conv2dParams::dense(2, 14, 14, 512, 512, 3, 1, 1).macs(),
            2 * 196 * 512 * 4608
        );
        assert!(Conv2dParams::dense(1, 1, 1, 1, 1, 3, 1, 0).validate().is_err());
        assert!(Conv2dParams::dense(1, 4, 4, 1, 1, 3, 0, 0).validate().is_err());
    }

    #[test]
    fn same_padding_matches_tensorflow() {
        assert_eq!(same_padding(5, 3, 1), (1, 1));
        assert_eq!(same_padding(6, 3, 2), (0, 1));
        assert_eq!(same_padding(7, 3, 2), (1, 1));
        assert_eq!(same_padding(1, 1, 1), (0, 0));
    }
}

/// How a convolution pads its input, stated independently of the input's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// Keras's `'valid'`: no padding.
    Valid,
    /// Keras's `'same'`: output `ceil(input / stride)`, the odd zero at the bottom/right
    /// ([`same_padding`]); the amount depends on the input size.
    Same,
    /// Fixed zeros on each side, whatever the size: Keras's `ZeroPadding2D` followed by a
    /// `'valid'` convolution.
    Explicit {
        /// Zero rows above.
        top: usize,
        /// Zero rows below.
        bottom: usize,
        /// Zero columns on the left.
        left: usize,
        /// Zero columns on the right.
        right: usize,
    },
}

impl Padding {
    /// `p` zeros on every side.
    pub const fn uniform(p: usize) -> Padding {
        Padding::Explicit {
            top: p,
            bottom: p,
            left: p,
            right: p,
        }
    }
}

/// What a convolution layer *is* — kernel, stride, padding rule, channels, groups — without
/// the input size it is run at. [`ConvSpec::at`] makes the [`Conv2dParams`] for one size, so a
/// model stores specs and never edits a params struct's fields by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvSpec {
    /// Input channels.
    pub in_c: usize,
    /// Output channels.
    pub out_c: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// How the input is padded.
    pub padding: Padding,
    /// 1 for a dense convolution, `in_c` (with `out_c == in_c`) for a depthwise one.
    pub groups: usize,
}

impl ConvSpec {
    /// A dense `k x k` convolution with the same stride on both axes.
    pub fn dense(in_c: usize, out_c: usize, k: usize, stride: usize, padding: Padding) -> ConvSpec {
        ConvSpec {
            in_c,
            out_c,
            kh: k,
            kw: k,
            stride_h: stride,
            stride_w: stride,
            padding,
            groups: 1,
        }
    }

    /// A depthwise `k x k` convolution (depth multiplier 1) over `c` channels.
    pub fn depthwise(c: usize, k: usize, stride: usize, padding: Padding) -> ConvSpec {
        ConvSpec {
            groups: c,
            ..ConvSpec::dense(c, c, k, stride, padding)
        }
    }

    /// The convolution run on a `batch x in_h x in_w` input: padding resolved for that size,
    /// and the result validated (an error if the kernel does not fit, the channels or groups
    /// are inconsistent, or a stride is 0).
    pub fn at(&self, batch: usize, in_h: usize, in_w: usize) -> Result<Conv2dParams> {
        let (top, bottom, left, right) = match self.padding {
            Padding::Valid => (0, 0, 0, 0),
            Padding::Same => {
                let (top, bottom) = same_padding(in_h, self.kh, self.stride_h);
                let (left, right) = same_padding(in_w, self.kw, self.stride_w);
                (top, bottom, left, right)
            }
            Padding::Explicit {
                top,
                bottom,
                left,
                right,
            } => (top, bottom, left, right),
        };
        let params = Conv2dParams {
            batch,
            in_h,
            in_w,
            in_c: self.in_c,
            out_c: self.out_c,
            kh: self.kh,
            kw: self.kw,
            stride_h: self.stride_h,
            stride_w: self.stride_w,
            pad_top: top,
            pad_bottom: bottom,
            pad_left: left,
            pad_right: right,
            groups: self.groups,
        };
        params.validate()?;
        Ok(params)
    }
}

#[cfg(test)]
mod spec_tests {
    use super::*;

    #[test]
    fn spec_at_resolves_padding_for_each_size() {
        // ZeroPadding2D((1,1)) + 3x3 'valid' stride 2 (MobileNet's downsampling): ceil(x / 2).
        let down = ConvSpec::depthwise(32, 3, 2, Padding::uniform(1));
        let p = down.at(2, 112, 111).unwrap();
        assert_eq!(p, Conv2dParams::depthwise(2, 112, 111, 32, 3, 2, 1));
        assert_eq!(p.out_hw(), (56, 56));
        // 'same' at stride 2: the split depends on the size (TensorFlow puts the odd zero after).
        let same = ConvSpec::dense(8, 16, 3, 2, Padding::Same);
        let even = same.at(1, 6, 7).unwrap();
        assert_eq!(
            (even.pad_top, even.pad_bottom, even.pad_left, even.pad_right),
            (0, 1, 1, 1)
        );
        assert_eq!(even.out_hw(), (3, 4));
        // 'same' at stride 1 keeps the size; 'valid' shrinks it by k - 1.
        let logits = ConvSpec::dense(64, 2, 3, 1, Padding::Same).at(1, 10, 14).unwrap();
        assert_eq!(logits.out_hw(), (10, 14));
        let valid = ConvSpec::dense(4, 4, 3, 1, Padding::Valid).at(1, 10, 14).unwrap();
        assert_eq!(valid.out_hw(), (8, 12));
        // 1x1 'valid' is pointwise; the spec's groups make a depthwise layer.
        let pw = ConvSpec::dense(16, 32, 1, 1, Padding::Valid).at(1, 5, 5).unwrap();
        assert!(pw.is_pointwise());
        assert!(down.at(1, 4, 4).unwrap().is_depthwise());
    }

    #[test]
    fn spec_at_rejects_what_cannot_run() {
        // The kernel does not fit a 1x1 'valid' input; stride 0; inconsistent groups.
        assert!(ConvSpec::dense(1, 1, 3, 1, Padding::Valid).at(1, 1, 1).is_err());
        assert!(ConvSpec::dense(1, 1, 3, 0, Padding::uniform(1))
            .at(1, 4, 4)
            .is_err());
        let bad_groups = ConvSpec {
            out_c: 8,
            ..ConvSpec::depthwise(4, 3, 1, Padding::Same)
        };
        assert!(bad_groups.at(1, 4, 4).is_err());
    }
}
