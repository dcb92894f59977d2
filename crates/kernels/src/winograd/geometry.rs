//! The shape of one Winograd call, checked once: its tiles, and where each tile's 6x6 input
//! window lies in a source tensor.

use super::transform::TileWindow;
use super::{ALPHA, OP, TILE};
use crate::epilogue::Epilogue;
use crate::error::{check_len, KernelError, Result};
use crate::params::Conv2dParams;

/// The shape of one Winograd convolution, checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub in_c: usize,
    pub out_c: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub tiles_h: usize,
    pub tiles_w: usize,
}

impl Geometry {
    /// The 36 input pixel offsets of tile `(ty, tx)` of image `n`: the padded input window
    /// rows `4·ty .. 4·ty + 6`, columns `4·tx .. 4·tx + 6`, in a source tensor of `c` channels
    /// per pixel whose pixels are `up x up` blocks of the input (`up = 2`: the input is that
    /// tensor upsampled by nearest neighbour, input pixel `(y, x)` is source pixel
    /// `(y/2, x/2)`).
    pub fn window(&self, n: usize, ty: usize, tx: usize, up: usize, c: usize) -> TileWindow {
        let (h, w) = (self.in_h / up, self.in_w / up);
        std::array::from_fn(|i| {
            let (r, s) = (i / ALPHA, i % ALPHA);
            let iy = (ty * TILE + r).checked_sub(self.pad_top)?;
            let ix = (tx * TILE + s).checked_sub(self.pad_left)?;
            (iy < self.in_h && ix < self.in_w).then(|| ((n * h + iy / up) * w + ix / up) * c)
        })
    }

    /// Tiles over the whole batch.
    pub fn tiles(&self) -> usize {
        self.batch * self.tiles_h * self.tiles_w
    }
}

/// Checks a Winograd call and returns its geometry.
pub(crate) fn validate(
    params: &Conv2dParams,
    input: Option<&[f32]>,
    output: &[f32],
    out_pixel_stride: usize,
    epilogue: &Epilogue,
) -> Result<Geometry> {
    params.validate()?;
    if !params.winograd_applies() {
        return Err(KernelError::InvalidParams {
            op: OP,
            reason: format!(
                "Winograd F(4x4, 3x3) needs a dense 3x3 stride-1 convolution, got {}x{} stride {}x{} groups {}",
                params.kh, params.kw, params.stride_h, params.stride_w, params.groups
            ),
        });
    }
    if let Some(input) = input {
        check_len(OP, "input", params.input_len(), input.len())?;
    }
    epilogue.validate(OP, params.out_c)?;
    if out_pixel_stride < params.out_c {
        return Err(KernelError::InvalidParams {
            op: OP,
            reason: format!("out_pixel_stride {out_pixel_stride} < out_c {}", params.out_c),
        });
    }
    let (out_h, out_w) = params.out_hw();
    let pixels = params.batch * out_h * out_w;
    let needed = if pixels == 0 {
        0
    } else {
        (pixels - 1) * out_pixel_stride + params.out_c
    };
    if output.len() < needed {
        return Err(KernelError::LengthMismatch {
            op: OP,
            what: "output",
            expected: needed,
            got: output.len(),
        });
    }
    Ok(Geometry {
        batch: params.batch,
        in_h: params.in_h,
        in_w: params.in_w,
        in_c: params.in_c,
        out_c: params.out_c,
        pad_top: params.pad_top,
        pad_left: params.pad_left,
        out_h,
        out_w,
        tiles_h: out_h.div_ceil(TILE),
        tiles_w: out_w.div_ceil(TILE),
    })
}
