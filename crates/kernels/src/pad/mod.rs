//! Zero padding of NHWC tensors, Keras's `ZeroPadding2D(((top, bottom), (left, right)))`:
//!
//! ```text
//! out[n, y, x, c] = in[n, y − top, x − left, c]   inside,   0 outside
//! out shape: (N, H + top + bottom, W + left + right, C)
//! ```
//!
//! Each output row is independent: a padding row is one `fill(0)`, an interior row is
//! `fill(0)` of `left·C` floats, one `copy_from_slice` of the `W·C` input row, and `fill(0)` of
//! `right·C`. Rayon splits over output rows, so the result does not depend on the thread
//! count.
//!
//! There is no `x86_64.rs`: the portable row copy compiles to `memcpy`/`memset`, which already
//! move data at memory bandwidth with the widest stores the CPU has. Hand-written AVX2 would be
//! the same loads and stores with more code, so the kernel table gives the SIMD tiers the
//! portable kernel on purpose.

use crate::dispatch::KernelTable;
use crate::error::{check_len, KernelError, Result};
use crate::tier::Tier;
use ndarray::{Array4, ArrayView4};
use rayon::prelude::*;

pub(crate) mod portable;
pub mod reference;

const OP: &str = "zero_pad";

/// Output floats per rayon task, at least (tasks are whole output rows).
pub const PAR_CHUNK: usize = 32 * 1024;

/// Shape of one padding call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PadShape {
    /// Images.
    pub batch: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Channels.
    pub c: usize,
    /// Rows of zeros above.
    pub top: usize,
    /// Rows of zeros below.
    pub bottom: usize,
    /// Columns of zeros on the left.
    pub left: usize,
    /// Columns of zeros on the right.
    pub right: usize,
}

impl PadShape {
    /// `(batch, h, w, c)` padded by `(top, bottom)` rows and `(left, right)` columns.
    pub fn new(
        (batch, h, w, c): (usize, usize, usize, usize),
        (top, bottom): (usize, usize),
        (left, right): (usize, usize),
    ) -> PadShape {
        PadShape {
            batch,
            h,
            w,
            c,
            top,
            bottom,
            left,
            right,
        }
    }

    /// Output height.
    pub fn out_h(&self) -> usize {
        self.h + self.top + self.bottom
    }

    /// Output width.
    pub fn out_w(&self) -> usize {
        self.w + self.left + self.right
    }

    /// Checks nothing overflows; returns `(input len, output len)`.
    pub fn validate(&self) -> Result<(usize, usize)> {
        let s = self;
        let prod = |xs: &[usize]| xs.iter().try_fold(1usize, |a, &b| a.checked_mul(b));
        let oh = s.h.checked_add(s.top).and_then(|v| v.checked_add(s.bottom));
        let ow = s.w.checked_add(s.left).and_then(|v| v.checked_add(s.right));
        let sizes = oh
            .zip(ow)
            .and_then(|(oh, ow)| Some((prod(&[s.batch, s.h, s.w, s.c])?, prod(&[s.batch, oh, ow, s.c])?)));
        sizes.ok_or_else(|| KernelError::InvalidParams {
            op: OP,
            reason: "tensor size overflows usize".into(),
        })
    }
}

/// The name of the kernel a tier runs.
pub fn kernel_name(tier: Tier) -> Result<&'static str> {
    Ok(KernelTable::for_tier(tier)?.pad_row.name)
}

/// Pads `input` `(batch, h, w, c)` with zeros into `output`
/// `(batch, h + top + bottom, w + left + right, c)` as `shape` describes, explicit tier.
pub fn zero_pad_nhwc_with_tier(
    tier: Tier,
    shape: &PadShape,
    input: &[f32],
    output: &mut [f32],
) -> Result<()> {
    let kernel = KernelTable::for_tier(tier)?.pad_row.run;
    let s = *shape;
    let c = s.c;
    let (in_len, out_len) = s.validate()?;
    check_len(OP, "input", in_len, input.len())?;
    check_len(OP, "output", out_len, output.len())?;
    if out_len == 0 {
        return Ok(());
    }
    let row = s.out_w() * c;
    output
        .par_chunks_mut(row)
        .with_min_len((PAR_CHUNK / row).max(1))
        .enumerate()
        .for_each(|(r, dst)| kernel(&s, input, r, dst));
    Ok(())
}

/// [`zero_pad_nhwc_with_tier`] with [`Tier::active`].
pub fn zero_pad_nhwc(shape: &PadShape, input: &[f32], output: &mut [f32]) -> Result<()> {
    zero_pad_nhwc_with_tier(Tier::active()?, shape, input, output)
}

/// ndarray convenience: `(N, H, W, C)` of any layout, padded by `(top, bottom)` rows and
/// `(left, right)` columns.
pub fn zero_pad(
    input: ArrayView4<'_, f32>,
    (top, bottom): (usize, usize),
    (left, right): (usize, usize),
) -> Result<Array4<f32>> {
    let (n, h, w, c) = input.dim();
    let s = PadShape::new((n, h, w, c), (top, bottom), (left, right));
    s.validate()?;
    let src = input.as_standard_layout();
    let src = src
        .as_slice()
        .expect("as_standard_layout returns a contiguous array");
    let mut out = Array4::zeros((n, s.out_h(), s.out_w(), c));
    let dst = out.as_slice_mut().expect("a fresh array is contiguous");
    zero_pad_nhwc(&s, src, dst)?;
    Ok(out)
}
