//! Turning an image into the network's input, as keras_segmentation's `get_image_array` does.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// keras_segmentation's `imgNorm` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Preprocessing {
    /// Its default: subtract the BGR channel means (103.939, 116.779, 123.68) from the BGR
    /// image, then flip to RGB order. (The values stay in 0..255 scale.)
    #[default]
    SubMean,
    /// `x / 255`.
    Divide,
    /// `x / 127.5 - 1`.
    SubAndDivide,
}

impl Preprocessing {
    /// The name used on the command line and in weight metadata.
    pub fn name(self) -> &'static str {
        match self {
            Preprocessing::SubMean => "sub_mean",
            Preprocessing::Divide => "divide",
            Preprocessing::SubAndDivide => "sub_and_divide",
        }
    }

    /// Maps one RGB pixel (0..=255) to the network's three input values, in RGB order.
    pub fn apply(self, rgb: [f32; 3]) -> [f32; 3] {
        match self {
            // BGR means applied to B, G, R, then the channels are flipped back to R, G, B:
            // R - 123.68, G - 116.779, B - 103.939.
            Preprocessing::SubMean => [rgb[0] - 123.68, rgb[1] - 116.779, rgb[2] - 103.939],
            Preprocessing::Divide => rgb.map(|v| v / 255.0),
            Preprocessing::SubAndDivide => rgb.map(|v| v / 127.5 - 1.0),
        }
    }
}

impl FromStr for Preprocessing {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "sub_mean" => Ok(Preprocessing::SubMean),
            "divide" => Ok(Preprocessing::Divide),
            "sub_and_divide" => Ok(Preprocessing::SubAndDivide),
            other => Err(Error::Config(format!(
                "preprocessing {other:?}: expected sub_mean, divide or sub_and_divide"
            ))),
        }
    }
}

impl fmt::Display for Preprocessing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Resizes an RGB8 image to `height x width` with the triangle filter (antialiased when
/// shrinking; [`ImageResize::Antialias`](crate::resize::ImageResize)) and preprocesses it into an
/// NHWC `[1, height, width, 3]` buffer. (Needs the `image` feature.)
#[cfg(feature = "image")]
pub fn image_to_input(img: &image::RgbImage, height: usize, width: usize, mode: Preprocessing) -> Vec<f32> {
    let (h, w) = (img.height() as usize, img.width() as usize);
    let pixels = if (h, w) == (height, width) {
        img.as_raw().clone()
    } else {
        antialias_resize(img, height, width)
    };
    apply_to_pixels(&pixels, mode)
}

/// Resizes an RGB8 image to `height x width` as `resize` says and preprocesses it into an NHWC
/// `[1, height, width, 3]` buffer. With [`ImageResize::Cv2Linear`](crate::resize::ImageResize)
/// and [`Preprocessing::SubMean`] this is keras-segmentation's `get_image_array` (which resizes
/// in BGR order; a resize treats channels independently, so the order does not matter).
///
/// # Errors
/// [`Error::InputShape`] for an empty image or a zero target size.
#[cfg(feature = "image")]
pub fn image_to_input_with(
    img: &image::RgbImage,
    height: usize,
    width: usize,
    mode: Preprocessing,
    resize: crate::resize::ImageResize,
) -> Result<Vec<f32>> {
    use crate::resize::{cv2_linear_u8, ImageResize};
    let (h, w) = (img.height() as usize, img.width() as usize);
    if h == 0 || w == 0 || height == 0 || width == 0 {
        return Err(Error::InputShape(format!(
            "resize {h}x{w} to {height}x{width}: every size must be positive"
        )));
    }
    let pixels: Vec<u8> = if (h, w) == (height, width) {
        img.as_raw().clone()
    } else {
        match resize {
            ImageResize::Antialias => antialias_resize(img, height, width),
            ImageResize::Cv2Linear => cv2_linear_u8(img.as_raw(), (h, w), 3, (height, width))?,
        }
    };
    Ok(apply_to_pixels(&pixels, mode))
}

/// The `image` crate's triangle filter (widened when shrinking), as raw RGB bytes.
#[cfg(feature = "image")]
fn antialias_resize(img: &image::RgbImage, height: usize, width: usize) -> Vec<u8> {
    image::imageops::resize(
        img,
        width as u32,
        height as u32,
        image::imageops::FilterType::Triangle,
    )
    .into_raw()
}

/// Interleaved RGB bytes to the network's input values.
#[cfg(feature = "image")]
fn apply_to_pixels(pixels: &[u8], mode: Preprocessing) -> Vec<f32> {
    pixels
        .chunks_exact(3)
        .flat_map(|p| mode.apply([p[0] as f32, p[1] as f32, p[2] as f32]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(Preprocessing::Divide.apply([255.0, 0.0, 51.0]), [1.0, 0.0, 0.2]);
        assert_eq!(
            Preprocessing::SubAndDivide.apply([0.0, 127.5, 255.0]),
            [-1.0, 0.0, 1.0]
        );
        let s = Preprocessing::SubMean.apply([123.68, 116.779, 103.939]);
        assert!(s.iter().all(|v| v.abs() < 1e-4));
        assert!("bogus".parse::<Preprocessing>().is_err());
    }
}
