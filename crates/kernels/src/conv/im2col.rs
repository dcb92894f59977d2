//! im2col straight into GEMM panels: the A operand of a dense convolution, never materialised.
//!
//! ```text
//! A[r][kk]  with  r  = (n·OH + oy)·OW + ox          one row per output pixel
//!                 kk = (ky·KW + kx)·Cin + ci         one column per (tap, input channel)
//! A[r][kk] = input[n][oy·SH + ky - pad_top][ox·SW + kx - pad_left][ci], or 0 in the padding
//! ```
//!
//! The column order matches HWIO weights, so B is the weight tensor viewed as a
//! `(KH·KW·Cin) x Cout` matrix. Materialising A for a 416x608 input would take ~290 MiB; packing
//! one `MR x kc` micro-panel at a time needs 6 KiB. Within a tap the Cin values of a pixel are
//! contiguous in NHWC, so each (tap, channel run) segment of a micro-panel is six source slices
//! (one bounds check each; a padded tap or a row past m is a shared static zero slice) that are
//! interleaved into the panel with contiguous writes (`dst[j·MR + i] = src[i][j]`, the same
//! 6-stream loop that packs a dense [`crate::gemm::MatrixA`]).

use crate::error::{check_len, Result};
use crate::gemm::{interleave6, OwnPackA, PackA, KC, MR};

/// What a padded tap (or a row past m) reads: one segment's worth of zeros.
static ZEROS: [f32; KC] = [0.0; KC];
use crate::params::Conv2dParams;

/// The im2col view of a dense convolution's input, as a GEMM A operand.
#[derive(Debug, Clone, Copy)]
pub struct Im2col<'a> {
    params: Conv2dParams,
    input: &'a [f32],
    out_h: usize,
    out_w: usize,
}

impl<'a> Im2col<'a> {
    /// Wraps a contiguous NHWC `input` of the convolution `params` (validated here).
    pub fn new(params: &Conv2dParams, input: &'a [f32]) -> Result<Im2col<'a>> {
        params.validate()?;
        check_len("im2col", "input", params.input_len(), input.len())?;
        let (out_h, out_w) = params.out_hw();
        Ok(Im2col {
            params: *params,
            input,
            out_h,
            out_w,
        })
    }

    /// Input pixel origin of output row `r`: (image, top-left padded y, top-left padded x).
    #[inline]
    fn origin(&self, r: usize) -> (usize, usize, usize) {
        let (n, rem) = (r / (self.out_h * self.out_w), r % (self.out_h * self.out_w));
        let (oy, ox) = (rem / self.out_w, rem % self.out_w);
        (n, oy * self.params.stride_h, ox * self.params.stride_w)
    }
}

impl PackA for Im2col<'_> {
    fn m(&self) -> usize {
        self.params.batch * self.out_h * self.out_w
    }

    fn k(&self) -> usize {
        self.params.kh * self.params.kw * self.params.in_c
    }

    fn as_own(&self) -> OwnPackA<'_> {
        OwnPackA::Im2col(self)
    }

    #[inline(always)]
    fn pack_panel(&self, row0: usize, rows: usize, k0: usize, kc: usize, dst: &mut [f32]) {
        let p = &self.params;
        let cin = p.in_c;
        // Rows past m read the zero slice, like padded taps: the panel is always 6 streams.
        let origins: [Option<(usize, usize, usize)>; MR] =
            std::array::from_fn(|i| (i < rows).then(|| self.origin(row0 + i)));
        // Walk k0..k0+kc one (tap, channel run) segment at a time, at most ZEROS.len() long.
        let mut kk = k0;
        while kk < k0 + kc {
            let (tap, ci0) = (kk / cin, kk % cin);
            let len = (cin - ci0).min(k0 + kc - kk).min(ZEROS.len());
            let (ky, kx) = (tap / p.kw, tap % p.kw);
            let src: [&[f32]; MR] = std::array::from_fn(|i| {
                let Some((n, py, px)) = origins[i] else {
                    return &ZEROS[..len];
                };
                let iy = (py + ky).checked_sub(p.pad_top).filter(|&y| y < p.in_h);
                let ix = (px + kx).checked_sub(p.pad_left).filter(|&x| x < p.in_w);
                match (iy, ix) {
                    (Some(iy), Some(ix)) => {
                        &self.input[((n * p.in_h + iy) * p.in_w + ix) * cin + ci0..][..len]
                    }
                    _ => &ZEROS[..len],
                }
            });
            interleave6(&src, &mut dst[(kk - k0) * MR..][..len * MR]);
            kk += len;
        }
    }
}
