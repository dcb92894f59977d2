//! Resizing images to the model's input and class maps back to the image, two ways each.
//!
//! keras-segmentation resizes with OpenCV: `cv2.resize(img, (w, h))` (bilinear, `INTER_LINEAR`)
//! for the input and `INTER_NEAREST` for label maps. A model converted from it must see the
//! same pixels to give the same masks, so [`cv2_linear_u8`] and [`cv2_nearest_index`] reproduce
//! OpenCV 4's arithmetic bit for bit (checked against fixtures written by OpenCV itself, see
//! `tests/cv2_resize.rs`). Our own models are trained on antialiased inputs
//! ([`ImageResize::Antialias`], the `image` crate's triangle filter, which widens its kernel
//! when shrinking) and scale class maps by pixel centres ([`LabelResize::Centre`]). Which pair a
//! model wants is part of its weights' metadata (`resize`, `label_resize`; see `weights.rs`).
//!
//! # `INTER_LINEAR` on 8-bit images, as OpenCV computes it
//!
//! * Coordinates: destination pixel `d` samples source position `(d + 0.5) · s − 0.5` with
//!   `s = 1 / (dst / src)` in f64, rounded to f32; `i = floor(f)`, `f −= i`.
//! * Weights are fixed point: `round_half_even((1 − f) · 2048)` and `round_half_even(f · 2048)`
//!   (`INTER_RESIZE_COEF_BITS` = 11).
//! * Horizontally, a source index outside the image is clamped *with* its weight (`i < 0`:
//!   `i = 0, f = 0`; `i ≥ w − 1`: `i = w − 1, f = 0`). Vertically only the row indices are
//!   clamped (`clip(i), clip(i + 1)`) and the weights are kept.
//! * Rows are first blended horizontally in exact i32 (`p0·a0 + p1·a1`, scale 2048), then
//!   vertically with OpenCV's SIMD rounding, which its scalar tail copies:
//!   `((h0 >> 4)·b0 >> 16) + ((h1 >> 4)·b1 >> 16) + 2 >> 2`, saturated to 0..=255. (Not the
//!   textbook `(h0·b0 + h1·b1 + 2^21) >> 22`: that differs by one in about 1 pixel of 50.)
//! * An exact 2x reduction in both axes is done as `INTER_AREA`: the rounded mean of each 2x2
//!   block, `(a + b + c + d + 2) >> 2`.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// How an image is resized to the model's input size (metadata key `resize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageResize {
    /// OpenCV's `cv2.resize(img, (w, h))`, `INTER_LINEAR`: keras-segmentation's resize.
    Cv2Linear,
    /// The `image` crate's triangle filter, antialiased when shrinking (our models' training).
    #[default]
    Antialias,
}

/// How the class map at the model's output size is scaled to the image (key `label_resize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelResize {
    /// OpenCV's `INTER_NEAREST`: `src = floor(dst · in / out)` (as f64 `dst · (1 / (out / in))`).
    Cv2Nearest,
    /// Pixel centres: `src = floor((dst + 0.5) · in / out)`.
    #[default]
    Centre,
}

/// The two resize rules a model's metadata fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resizing {
    /// Image to model input.
    pub image: ImageResize,
    /// Class map to image.
    pub labels: LabelResize,
}

impl ImageResize {
    /// The metadata / command-line name.
    pub fn name(self) -> &'static str {
        match self {
            ImageResize::Cv2Linear => "cv2_linear",
            ImageResize::Antialias => "antialias",
        }
    }
}

impl LabelResize {
    /// The metadata / command-line name.
    pub fn name(self) -> &'static str {
        match self {
            LabelResize::Cv2Nearest => "cv2_nearest",
            LabelResize::Centre => "centre",
        }
    }
}

impl FromStr for ImageResize {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "cv2_linear" => Ok(ImageResize::Cv2Linear),
            "antialias" => Ok(ImageResize::Antialias),
            other => Err(Error::Config(format!(
                "resize {other:?}: expected cv2_linear or antialias"
            ))),
        }
    }
}

impl FromStr for LabelResize {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "cv2_nearest" => Ok(LabelResize::Cv2Nearest),
            "centre" => Ok(LabelResize::Centre),
            other => Err(Error::Config(format!(
                "label_resize {other:?}: expected cv2_nearest or centre"
            ))),
        }
    }
}

impl fmt::Display for ImageResize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for LabelResize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `INTER_RESIZE_COEF_BITS`: interpolation weights are multiples of 1/2048.
const COEF_SCALE: f32 = 2048.0;

/// One output coordinate's source index (may be -1 or past the end vertically) and weights.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tap {
    index: isize,
    weights: [i32; 2],
}

/// OpenCV's scale: `1 / (dst / src)` in f64 (not `src / dst`, which can differ in the last bit).
fn cv2_scale(src: usize, dst: usize) -> f64 {
    1.0 / (dst as f64 / src as f64)
}

/// The bilinear taps along one axis; `clamp` is OpenCV's horizontal border rule.
fn linear_taps(src: usize, dst: usize, clamp: bool) -> Vec<Tap> {
    let scale = cv2_scale(src, dst);
    (0..dst)
        .map(|d| {
            let pos = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let mut index = pos.floor() as isize;
            let mut frac = pos - index as f32;
            if clamp && index < 0 {
                (index, frac) = (0, 0.0);
            }
            if clamp && index >= src as isize - 1 {
                (index, frac) = (src as isize - 1, 0.0);
            }
            let weights = [
                ((1.0 - frac) * COEF_SCALE).round_ties_even() as i32,
                (frac * COEF_SCALE).round_ties_even() as i32,
            ];
            Tap { index, weights }
        })
        .collect()
}

/// OpenCV's "is this an exact 2x reduction" test (then it resizes by 2x2 block means).
fn is_exact_half(src: usize, dst: usize) -> bool {
    let scale = cv2_scale(src, dst);
    (scale - scale.round()).abs() < f64::EPSILON && scale.round() == 2.0
}

/// Checks the sizes of a resize of `[h][w][channels]` bytes to `[dh][dw][channels]`, and that
/// both byte counts fit in `usize` (a huge destination size is an error, not an overflow).
fn check_image(src: &[u8], (h, w): (usize, usize), channels: usize, (dh, dw): (usize, usize)) -> Result<()> {
    if h == 0 || w == 0 || channels == 0 || dh == 0 || dw == 0 {
        return Err(Error::InputShape(format!(
            "resize {h}x{w}x{channels} to {dh}x{dw}: every size must be positive"
        )));
    }
    let bytes = |a: usize, b: usize| a.checked_mul(b).and_then(|n| n.checked_mul(channels));
    let (Some(src_len), Some(_)) = (bytes(h, w), bytes(dh, dw)) else {
        return Err(Error::InputShape(format!(
            "resize {h}x{w}x{channels} to {dh}x{dw}: too large to address"
        )));
    };
    if src.len() != src_len {
        return Err(Error::InputShape(format!(
            "resize: {} bytes for a {h}x{w}x{channels} image",
            src.len()
        )));
    }
    Ok(())
}

/// `cv2.resize(src, (dw, dh))` with `INTER_LINEAR` on an 8-bit image of `channels` interleaved
/// channels, `src` row-major `[h][w][channels]`; returns `[dh][dw][channels]`.
pub fn cv2_linear_u8(
    src: &[u8],
    (h, w): (usize, usize),
    channels: usize,
    (dh, dw): (usize, usize),
) -> Result<Vec<u8>> {
    check_image(src, (h, w), channels, (dh, dw))?;
    if is_exact_half(w, dw) && is_exact_half(h, dh) {
        return Ok(half_by_block_means(src, w, channels, (dh, dw)));
    }
    let xs = linear_taps(w, dw, true);
    let ys = linear_taps(h, dh, false);
    let row_len = dw * channels;
    let source_row = |y: usize| &src[y * w * channels..(y + 1) * w * channels];
    let clip = |i: isize| i.clamp(0, h as isize - 1) as usize;
    // The two horizontally blended source rows the current output row mixes. Output rows walk
    // the source rows in order, so most rows reuse one or both of the previous pair.
    let (mut r0, mut r1) = (vec![0i32; row_len], vec![0i32; row_len]);
    let (mut y0_held, mut y1_held) = (usize::MAX, usize::MAX);
    let mut dst = Vec::with_capacity(dh * row_len);
    for t in &ys {
        let (y0, y1) = (clip(t.index), clip(t.index + 1));
        if y0 != y0_held && y0 == y1_held {
            std::mem::swap(&mut r0, &mut r1);
            (y0_held, y1_held) = (y1_held, y0_held);
        }
        if y0 != y0_held {
            blend_row_horizontally(source_row(y0), &xs, channels, &mut r0);
            y0_held = y0;
        }
        if y1 != y1_held {
            blend_row_horizontally(source_row(y1), &xs, channels, &mut r1);
            y1_held = y1;
        }
        blend_rows_vertically(&r0, &r1, t.weights, &mut dst);
    }
    Ok(dst)
}

/// The horizontal pass of one source row `[w][channels]` into `out` `[dw][channels]`: exact, in
/// units of 1/2048 (at most 255 · 2048, far inside i32).
fn blend_row_horizontally(row: &[u8], xs: &[Tap], channels: usize, out: &mut [i32]) {
    let w = row.len() / channels;
    for (t, out_px) in xs.iter().zip(out.chunks_exact_mut(channels)) {
        let x0 = t.index as usize; // clamped into 0..w by `linear_taps`
        let x1 = (x0 + 1).min(w - 1); // weight 0 whenever x0 + 1 would be outside
        let (p0, p1) = (&row[x0 * channels..], &row[x1 * channels..]);
        for (c, o) in out_px.iter_mut().enumerate() {
            *o = p0[c] as i32 * t.weights[0] + p1[c] as i32 * t.weights[1];
        }
    }
}

/// The vertical pass: mixes two blended rows with weights `[b0, b1]` and appends the u8 pixels.
fn blend_rows_vertically(r0: &[i32], r1: &[i32], [b0, b1]: [i32; 2], dst: &mut Vec<u8>) {
    for (&h0, &h1) in r0.iter().zip(r1) {
        // OpenCV's v_mul_hi of (h >> 4) and the i16 weight, then a rounding shift by 2.
        let v = (((h0 >> 4) * b0) >> 16) + (((h1 >> 4) * b1) >> 16);
        dst.push(((v + 2) >> 2).clamp(0, 255) as u8);
    }
}

/// An exact 2x reduction: each output is the rounded mean of a 2x2 block (OpenCV's `INTER_AREA`
/// fast path, which it takes for `INTER_LINEAR` too at this ratio).
fn half_by_block_means(src: &[u8], w: usize, channels: usize, (dh, dw): (usize, usize)) -> Vec<u8> {
    let at = |y: usize, x: usize, c: usize| src[(y * w + x) * channels + c] as u32;
    let mut dst = Vec::with_capacity(dh * dw * channels);
    for y in 0..dh {
        for x in 0..dw {
            for c in 0..channels {
                let sum = at(2 * y, 2 * x, c)
                    + at(2 * y, 2 * x + 1, c)
                    + at(2 * y + 1, 2 * x, c)
                    + at(2 * y + 1, 2 * x + 1, c);
                dst.push(((sum + 2) >> 2) as u8);
            }
        }
    }
    dst
}

/// The source index OpenCV's `INTER_NEAREST` reads for destination index `d` when resizing
/// `src` samples to `dst`: `min(floor(d · (1 / (dst / src))), src − 1)`. `src`, `dst` > 0.
pub fn cv2_nearest_index(d: usize, src: usize, dst: usize) -> usize {
    let s = (d as f64 * cv2_scale(src, dst)).floor() as usize;
    s.min(src - 1)
}

/// The source index of the pixel-centre rule: `min(floor((d + 0.5) · src / dst), src − 1)`,
/// in exact integers (u128, so `(2d + 1) · src` cannot overflow on any target). `src`, `dst` > 0.
pub fn centre_index(d: usize, src: usize, dst: usize) -> usize {
    let s = (2 * d as u128 + 1) * src as u128 / (2 * dst as u128);
    s.min(src as u128 - 1) as usize
}

impl LabelResize {
    /// The source index for destination index `d` (`src`, `dst` > 0).
    pub fn source_index(self, d: usize, src: usize, dst: usize) -> usize {
        match self {
            LabelResize::Cv2Nearest => cv2_nearest_index(d, src, dst),
            LabelResize::Centre => centre_index(d, src, dst),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_names_fail() {
        for r in [ImageResize::Cv2Linear, ImageResize::Antialias] {
            assert_eq!(r.name().parse::<ImageResize>().unwrap(), r);
        }
        for r in [LabelResize::Cv2Nearest, LabelResize::Centre] {
            assert_eq!(r.name().parse::<LabelResize>().unwrap(), r);
        }
        assert!("bilinear".parse::<ImageResize>().is_err());
        assert!("nearest".parse::<LabelResize>().is_err());
    }

    #[test]
    fn same_size_is_the_identity() {
        let src: Vec<u8> = (0..5 * 7 * 3).map(|i| (i * 37 % 256) as u8).collect();
        assert_eq!(cv2_linear_u8(&src, (5, 7), 3, (5, 7)).unwrap(), src);
    }

    #[test]
    fn constant_images_stay_constant() {
        for (h, w, dh, dw) in [(3, 4, 7, 9), (9, 7, 2, 3), (1, 1, 5, 3), (6, 8, 3, 4)] {
            let src = vec![201u8; h * w * 3];
            let out = cv2_linear_u8(&src, (h, w), 3, (dh, dw)).unwrap();
            assert!(out.iter().all(|&v| v == 201), "{h}x{w} -> {dh}x{dw}: {out:?}");
        }
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(cv2_linear_u8(&[0; 5], (1, 2), 3, (2, 2)).is_err());
        assert!(cv2_linear_u8(&[], (0, 2), 3, (2, 2)).is_err());
        assert!(cv2_linear_u8(&[0; 6], (1, 2), 3, (0, 2)).is_err());
        // A destination whose byte count overflows is an error naming the sizes, not a panic.
        let e = cv2_linear_u8(&[0; 6], (1, 2), 3, (usize::MAX / 2, 3)).unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
    }

    #[test]
    fn centre_index_does_not_overflow() {
        // (2d + 1) · src overflows u64 here; the exact answer is 2^29.
        assert_eq!(centre_index(1 << 40, 1 << 30, 1 << 41), 1 << 29);
        assert_eq!(centre_index(usize::MAX / 2, 7, usize::MAX / 2 + 1), 6);
    }

    #[test]
    fn nearest_rules() {
        // 4 -> 6: OpenCV reads 0,0,1,2,2,3; pixel centres read 0,1,1,2,3,3.
        let cv: Vec<usize> = (0..6).map(|d| cv2_nearest_index(d, 4, 6)).collect();
        let centre: Vec<usize> = (0..6).map(|d| centre_index(d, 4, 6)).collect();
        assert_eq!(cv, [0, 0, 1, 2, 2, 3]);
        assert_eq!(centre, [0, 1, 1, 2, 3, 3]);
        // Never past the end, even at awkward ratios.
        for (src, dst) in [(112, 300), (112, 7), (3, 1000), (1000, 3)] {
            assert!((0..dst).all(|d| cv2_nearest_index(d, src, dst) < src));
        }
    }
}
