//! Image patches of a u8 NHWC tensor packed straight into the int8 GEMM's c4 panels.
//!
//! A dense convolution is the GEMM `(batch·out_h·out_w, kh·kw·in_c) @ (kh·kw·in_c, out_c)`:
//! row `r` of A is the receptive field of output pixel `r`, in the order of Keras's HWIO
//! weights (`(ky·kw + kx)·in_c + ci`), so B is the weights' `[kh·kw·in_c][out_c]` matrix as
//! stored. [`Im2colA`] writes those rows into the micro-panels the GEMM asks for, one tap's
//! `in_c` contiguous bytes at a time, without ever building the im2col matrix.
//!
//! Padding reads as the **zero point**, the code of real 0.0: a quantized zero pad is `za`,
//! not the byte 0 (which is real `−za·scale`).

use super::pack::PackA;
use super::{KR, MR};
use crate::error::{check_len, KernelError, Result};
use crate::params::Conv2dParams;

/// The im2col view of a u8 NHWC input of a dense convolution, as the int8 GEMM's A.
#[derive(Debug, Clone, Copy)]
pub struct Im2colA<'a> {
    input: &'a [u8],
    p: Conv2dParams,
    zero_point: u8,
    out_w: usize,
    out_hw: usize,
}

impl<'a> Im2colA<'a> {
    /// Wraps `input` (NHWC `[batch, in_h, in_w, in_c]`, zero point `zero_point`) for the dense
    /// convolution `params`.
    pub fn new(params: &Conv2dParams, input: &'a [u8], zero_point: u8) -> Result<Im2colA<'a>> {
        params.validate()?;
        if params.groups != 1 {
            return Err(KernelError::InvalidParams {
                op: "gemm_i8::Im2colA",
                reason: format!("groups = {}: only dense convolutions are a GEMM", params.groups),
            });
        }
        check_len("gemm_i8::Im2colA", "input", params.input_len(), input.len())?;
        let (out_h, out_w) = params.out_hw();
        Ok(Im2colA {
            input,
            p: *params,
            zero_point,
            out_w,
            out_hw: out_h * out_w,
        })
    }

    /// Writes patch row `r` (output pixel `r`) into lane `i` of a c4 micro-panel.
    fn pack_row(&self, r: usize, i: usize, dst: &mut [u8]) {
        let p = &self.p;
        let (n, rem) = (r / self.out_hw, r % self.out_hw);
        let (oy, ox) = (rem / self.out_w, rem % self.out_w);
        let c = p.in_c;
        // kk -> byte (kk / 4, lane i, kk % 4) of the panel
        let mut put = |kk: usize, v: u8| dst[((kk / KR) * MR + i) * KR + kk % KR] = v;
        for ky in 0..p.kh {
            for kx in 0..p.kw {
                let k0 = (ky * p.kw + kx) * c;
                let iy = (oy * p.stride_h + ky)
                    .checked_sub(p.pad_top)
                    .filter(|&y| y < p.in_h);
                let ix = (ox * p.stride_w + kx)
                    .checked_sub(p.pad_left)
                    .filter(|&x| x < p.in_w);
                match (iy, ix) {
                    (Some(iy), Some(ix)) => {
                        let src = &self.input[((n * p.in_h + iy) * p.in_w + ix) * c..][..c];
                        src.iter().enumerate().for_each(|(ci, &v)| put(k0 + ci, v));
                    }
                    _ => (0..c).for_each(|ci| put(k0 + ci, self.zero_point)),
                }
            }
        }
    }
}

impl PackA for Im2colA<'_> {
    fn m(&self) -> usize {
        self.p.batch * self.out_hw
    }

    fn k(&self) -> usize {
        self.p.kh * self.p.kw * self.p.in_c
    }

    fn zero_point(&self) -> u8 {
        self.zero_point
    }

    fn pack_panel(&self, row0: usize, rows: usize, dst: &mut [u8]) {
        // The bytes past k in the last group, and the rows past `rows`, must be zero.
        if rows < MR || !self.k().is_multiple_of(KR) {
            dst.fill(0);
        }
        for i in 0..rows {
            self.pack_row(row0 + i, i, dst);
        }
    }
}
