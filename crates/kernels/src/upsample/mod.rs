//! Nearest-neighbour upsampling of NHWC tensors by integer factors, Keras's
//! `UpSampling2D(size=(fy, fx), interpolation='nearest')`:
//!
//! ```text
//! out[n, y, x, c] = in[n, y / fy, x / fx, c]          (integer division)
//! ```
//!
//! The destination may be a *channel slice* of a wider NHWC buffer: pixel `(n, y, x)` of the
//! output starts at `((n·H·fy + y)·W·fx + x) · out_pixel_stride`, and the `c` channels go to
//! `[out_c_offset, out_c_offset + c)` within it; the other channels are never touched. This
//! lets the model upsample straight into the buffer of the `concatenate` that follows.
//!
//! Work is split by input row: input row `(n, iy)` produces the `fy` output rows
//! `iy·fy .. iy·fy + fy`, an independent block of the output, so rayon splits over those and
//! the result cannot depend on the thread count (it is all copies anyway).

use crate::dispatch::KernelTable;
#[cfg(target_arch = "x86_64")]
use crate::dispatch::{Kernel, UpsampleFn};
use crate::error::{check_len, KernelError, Result};
use crate::tier::Tier;
use ndarray::{Array4, ArrayView4};
use rayon::prelude::*;

pub(crate) mod portable;
pub mod reference;
#[cfg(target_arch = "x86_64")]
mod x86_64;

const OP: &str = "upsample_nearest";

/// Output floats per rayon task, at least (tasks are whole blocks of `fy` output rows).
pub const PAR_CHUNK: usize = 32 * 1024;

/// Shape of one upsampling call (what every tier receives, validated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpsampleShape {
    /// Images.
    pub batch: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Channels copied per pixel.
    pub c: usize,
    /// Vertical factor.
    pub fy: usize,
    /// Horizontal factor.
    pub fx: usize,
    /// Floats between consecutive output pixels (the destination's channel count).
    pub out_pixel_stride: usize,
    /// First destination channel written.
    pub out_c_offset: usize,
}

impl UpsampleShape {
    /// A contiguous destination: `(batch, h, w, c)` upsampled into `(batch, h·fy, w·fx, c)`.
    pub fn new(batch: usize, h: usize, w: usize, c: usize, fy: usize, fx: usize) -> UpsampleShape {
        UpsampleShape {
            batch,
            h,
            w,
            c,
            fy,
            fx,
            out_pixel_stride: c,
            out_c_offset: 0,
        }
    }

    /// The same upsampling written into channels `offset .. offset + c` of a destination with
    /// `pixel_stride` floats per pixel (a concatenation for free).
    pub fn into_channels(self, pixel_stride: usize, offset: usize) -> UpsampleShape {
        UpsampleShape {
            out_pixel_stride: pixel_stride,
            out_c_offset: offset,
            ..self
        }
    }

    /// Output width `w · fx`.
    pub fn out_w(&self) -> usize {
        self.w * self.fx
    }

    /// Output height `h · fy`.
    pub fn out_h(&self) -> usize {
        self.h * self.fy
    }

    /// Checks the factors, the channel slice and that no size overflows; returns
    /// `(input len, output len)`.
    pub fn validate(&self) -> Result<(usize, usize)> {
        let bad = |reason: String| Err(KernelError::InvalidParams { op: OP, reason });
        if self.fy == 0 || self.fx == 0 {
            return bad(format!("factors must be >= 1, got ({}, {})", self.fy, self.fx));
        }
        let fits = matches!(self.out_c_offset.checked_add(self.c), Some(end) if end <= self.out_pixel_stride);
        if !fits {
            return bad(format!(
                "channels [{}, {}+{}) do not fit a pixel stride of {}",
                self.out_c_offset, self.out_c_offset, self.c, self.out_pixel_stride
            ));
        }
        let prod = |xs: &[usize]| xs.iter().try_fold(1usize, |a, &b| a.checked_mul(b));
        let s = self;
        match (
            prod(&[s.batch, s.h, s.w, s.c]),
            prod(&[s.batch, s.h, s.fy, s.w, s.fx, s.out_pixel_stride]),
        ) {
            (Some(i), Some(o)) => Ok((i, o)),
            _ => bad("tensor size overflows usize".into()),
        }
    }
}

/// The name of the kernel a tier runs for these factors.
pub fn kernel_name(tier: Tier, fy: usize, fx: usize) -> Result<&'static str> {
    let table = KernelTable::for_tier(tier)?;
    Ok(if (fy, fx) == (2, 2) {
        table.upsample_2x2.name
    } else {
        table.upsample.name
    })
}

/// The AVX2 2x2 kernel, if this CPU has AVX2.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx2_kernel() -> Option<Kernel<UpsampleFn>> {
    x86_64::kernel()
}

/// Upsamples `input` `(batch, h, w, c)` into a channel slice of `output`
/// `(batch, h·fy, w·fx, out_pixel_stride)` as `shape` describes, explicit tier. See the
/// module docs.
pub fn upsample_nearest_nhwc_with_tier(
    tier: Tier,
    shape: &UpsampleShape,
    input: &[f32],
    output: &mut [f32],
) -> Result<()> {
    let table = KernelTable::for_tier(tier)?;
    let s = *shape;
    let (fy, fx) = (s.fy, s.fx);
    let (in_len, out_len) = s.validate()?;
    check_len(OP, "input", in_len, input.len())?;
    check_len(OP, "output", out_len, output.len())?;
    if in_len == 0 {
        return Ok(()); // nothing to copy (an empty batch/image, or c == 0)
    }
    // One block = the fy output rows made from one input row.
    let block = s.fy * s.out_w() * s.out_pixel_stride;
    let min_blocks = (PAR_CHUNK / block).max(1);
    let blocks = output
        .par_chunks_mut(block)
        .zip(input.par_chunks(s.w * s.c))
        .with_min_len(min_blocks);
    let kernel = if (fy, fx) == (2, 2) {
        table.upsample_2x2.run
    } else {
        table.upsample.run
    };
    blocks.for_each(|(dst, src)| kernel(&s, src, dst));
    Ok(())
}

/// [`upsample_nearest_nhwc_with_tier`] with [`Tier::active`].
pub fn upsample_nearest_nhwc(shape: &UpsampleShape, input: &[f32], output: &mut [f32]) -> Result<()> {
    upsample_nearest_nhwc_with_tier(Tier::active()?, shape, input, output)
}

/// ndarray convenience: `(N, H, W, C)` of any layout -> `(N, H·fy, W·fx, C)`.
pub fn upsample_nearest(input: ArrayView4<'_, f32>, fy: usize, fx: usize) -> Result<Array4<f32>> {
    let (n, h, w, c) = input.dim();
    let (oh, ow) = match (h.checked_mul(fy), w.checked_mul(fx)) {
        (Some(oh), Some(ow)) => (oh, ow),
        _ => {
            return Err(KernelError::InvalidParams {
                op: OP,
                reason: "output size overflows".into(),
            })
        }
    };
    let src = input.as_standard_layout();
    let src = src
        .as_slice()
        .expect("as_standard_layout returns a contiguous array");
    let mut out = Array4::zeros((n, oh, ow, c));
    let dst = out.as_slice_mut().expect("a fresh array is contiguous");
    upsample_nearest_nhwc(&UpsampleShape::new(n, h, w, c, fy, fx), src, dst)?;
    Ok(out)
}
