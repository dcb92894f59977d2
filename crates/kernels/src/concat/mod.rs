//! Channel concatenation of NHWC tensors, Keras's `Concatenate(axis=-1)`, and its building
//! block, writing one tensor into a channel slice of a wider buffer.
//!
//! ```text
//! out[p, off_i + ch] = in_i[p, ch]      p = pixel (n, y, x), off_i = c_0 + … + c_{i−1}
//! ```
//!
//! Both are pure copies: per pixel, one `copy_from_slice` of `c_i` floats per input. Rayon
//! splits the pixels into fixed blocks (each block owns its output pixels), so the result does
//! not depend on the thread count.
//!
//! There is no `x86_64.rs`: the portable copies compile to `memcpy`, which already runs at
//! memory bandwidth with the widest loads and stores the CPU has; hand-written AVX2 would be
//! the same instructions with more code. The kernel table therefore gives the SIMD tiers the
//! portable kernels, on purpose. (The model can also avoid some copies entirely: `upsample` writes straight into a
//! channel slice of the concat buffer.)

use crate::dispatch::KernelTable;
use crate::error::{check_len, KernelError, Result};
use crate::tier::Tier;
use ndarray::{Array4, ArrayView4, Axis};
use rayon::prelude::*;

pub(crate) mod portable;
pub mod reference;

const OP: &str = "concat_channels";

/// Output floats per rayon task, at least (tasks are whole pixels).
pub const PAR_CHUNK: usize = 32 * 1024;

/// The name of the kernel a tier runs.
pub fn kernel_name(tier: Tier) -> Result<&'static str> {
    Ok(KernelTable::for_tier(tier)?.concat.name)
}

/// Pixels per rayon task for `stride` output floats per pixel.
fn pixels_per_task(stride: usize) -> usize {
    (PAR_CHUNK / stride.max(1)).max(1)
}

/// Concatenates `inputs[i]` (`pixels × channels[i]`) along channels into `output`
/// (`pixels × Σ channels`), explicit tier. `pixels = batch · h · w`.
pub fn concat_channels_nhwc_with_tier(
    tier: Tier,
    inputs: &[&[f32]],
    channels: &[usize],
    pixels: usize,
    output: &mut [f32],
) -> Result<()> {
    let kernel = KernelTable::for_tier(tier)?.concat.run;
    check_len(OP, "channels", inputs.len(), channels.len())?;
    let overflow = || KernelError::InvalidParams {
        op: OP,
        reason: "tensor size overflows usize".into(),
    };
    let total = channels
        .iter()
        .try_fold(0usize, |a, &c| a.checked_add(c))
        .ok_or_else(overflow)?;
    for (x, &c) in inputs.iter().zip(channels) {
        check_len(
            OP,
            "inputs[i]",
            pixels.checked_mul(c).ok_or_else(overflow)?,
            x.len(),
        )?;
    }
    check_len(
        OP,
        "output",
        pixels.checked_mul(total).ok_or_else(overflow)?,
        output.len(),
    )?;
    if output.is_empty() {
        return Ok(());
    }
    let per_task = pixels_per_task(total);
    output
        .par_chunks_mut(per_task * total)
        .enumerate()
        .for_each(|(t, dst)| kernel(inputs, channels, t * per_task, dst));
    Ok(())
}

/// [`concat_channels_nhwc_with_tier`] with [`Tier::active`].
pub fn concat_channels_nhwc(
    inputs: &[&[f32]],
    channels: &[usize],
    pixels: usize,
    output: &mut [f32],
) -> Result<()> {
    concat_channels_nhwc_with_tier(Tier::active()?, inputs, channels, pixels, output)
}

/// Writes `src` (`pixels × c`) into channels `[dst_c_offset, dst_c_offset + c)` of `dst`
/// (`pixels × dst_pixel_stride`), leaving the other channels untouched; explicit tier.
pub fn copy_channels_into_with_tier(
    tier: Tier,
    src: &[f32],
    pixels: usize,
    c: usize,
    dst: &mut [f32],
    dst_pixel_stride: usize,
    dst_c_offset: usize,
) -> Result<()> {
    let kernel = KernelTable::for_tier(tier)?.copy_channels.run;
    let fits = matches!(dst_c_offset.checked_add(c), Some(end) if end <= dst_pixel_stride);
    if !fits {
        let reason = format!(
            "channels [{dst_c_offset}, {dst_c_offset}+{c}) do not fit a pixel stride of {dst_pixel_stride}"
        );
        return Err(KernelError::InvalidParams { op: OP, reason });
    }
    let overflow = || KernelError::InvalidParams {
        op: OP,
        reason: "tensor size overflows usize".into(),
    };
    check_len(OP, "src", pixels.checked_mul(c).ok_or_else(overflow)?, src.len())?;
    check_len(
        OP,
        "dst",
        pixels.checked_mul(dst_pixel_stride).ok_or_else(overflow)?,
        dst.len(),
    )?;
    if src.is_empty() {
        return Ok(());
    }
    let per_task = pixels_per_task(dst_pixel_stride);
    dst.par_chunks_mut(per_task * dst_pixel_stride)
        .zip(src.par_chunks(per_task * c))
        .for_each(|(d, s)| kernel(s, c, d, dst_pixel_stride, dst_c_offset));
    Ok(())
}

/// [`copy_channels_into_with_tier`] with [`Tier::active`].
pub fn copy_channels_into(
    src: &[f32],
    pixels: usize,
    c: usize,
    dst: &mut [f32],
    dst_pixel_stride: usize,
    dst_c_offset: usize,
) -> Result<()> {
    copy_channels_into_with_tier(
        Tier::active()?,
        src,
        pixels,
        c,
        dst,
        dst_pixel_stride,
        dst_c_offset,
    )
}

/// ndarray convenience: concatenates `(N, H, W, C_i)` arrays (any layouts, equal `N, H, W`)
/// along the channel axis.
pub fn concat_channels(inputs: &[ArrayView4<'_, f32>]) -> Result<Array4<f32>> {
    let Some(first) = inputs.first() else {
        return Err(KernelError::InvalidParams {
            op: OP,
            reason: "no inputs".into(),
        });
    };
    let (n, h, w, _) = first.dim();
    if let Some(bad) = inputs
        .iter()
        .find(|x| (x.dim().0, x.dim().1, x.dim().2) != (n, h, w))
    {
        let reason = format!(
            "input of shape {:?} does not match (N, H, W) = {:?}",
            bad.dim(),
            (n, h, w)
        );
        return Err(KernelError::InvalidParams { op: OP, reason });
    }
    let owned: Vec<_> = inputs.iter().map(|x| x.as_standard_layout()).collect();
    let slices: Vec<&[f32]> = owned
        .iter()
        .map(|x| x.as_slice().expect("standard layout is contiguous"))
        .collect();
    let channels: Vec<usize> = inputs.iter().map(|x| x.len_of(Axis(3))).collect();
    let mut out = Array4::zeros((n, h, w, channels.iter().sum()));
    let dst = out.as_slice_mut().expect("a fresh array is contiguous");
    concat_channels_nhwc(&slices, &channels, n * h * w, dst)?;
    Ok(out)
}
