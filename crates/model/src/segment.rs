//! From an image to a class map.
//!
//! [`Segmentation`], [`resize_nearest`] and [`default_palette`] need no image library. With the
//! `image` feature (on by default) `Model::segment` takes a decoded `image::RgbImage` and
//! `Model::segment_file` a PNG or JPEG file. Drawing pictures from a class map (palette PNG,
//! overlay with a legend) is the command line's business: see the `mobilenet-unet-cli` crate.

use crate::resize::LabelResize;
use ndarray::Array2;

#[cfg(feature = "image")]
pub use from_image::load_rgb;

/// The result of segmenting one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Segmentation {
    /// Class per pixel at the model's output resolution (`H/2 x W/2` of the model input): what
    /// keras-segmentation's `predict_segmentation` returns.
    pub model_map: Array2<u16>,
    /// Class per pixel at the original image's size: `model_map` scaled by the model's
    /// `label_resize` rule ([`resize_labels`]).
    pub class_map: Array2<u16>,
    /// Fraction of image pixels assigned to each class.
    pub class_fractions: Vec<f64>,
}

/// Nearest-neighbour resize of a class map (pixel centres: `src = floor((dst + 0.5) · in / out)`).
pub fn resize_nearest(map: &Array2<u16>, out_h: usize, out_w: usize) -> Array2<u16> {
    resize_labels(map, out_h, out_w, LabelResize::Centre)
}

/// Nearest-neighbour resize of a class map by `rule` (`LabelResize::Cv2Nearest` is OpenCV's
/// `INTER_NEAREST`, `src = floor(dst · in / out)`). An empty map or size gives an empty map.
pub fn resize_labels(map: &Array2<u16>, out_h: usize, out_w: usize, rule: LabelResize) -> Array2<u16> {
    let (ih, iw) = map.dim();
    if ih == 0 || iw == 0 {
        return Array2::zeros((0, 0));
    }
    let xs: Vec<usize> = (0..out_w).map(|x| rule.source_index(x, iw, out_w)).collect();
    Array2::from_shape_fn((out_h, out_w), |(y, x)| {
        map[[rule.source_index(y, ih, out_h), xs[x]]]
    })
}

/// A fixed palette of distinct colours (Pascal VOC's bit-interleaving scheme).
pub fn default_palette(n: usize) -> Vec<[u8; 3]> {
    (0..n)
        .map(|i| {
            let (mut r, mut g, mut b, mut c) = (0u8, 0u8, 0u8, i);
            for shift in (0..8).rev() {
                r |= ((c & 1) as u8) << shift;
                g |= (((c >> 1) & 1) as u8) << shift;
                b |= (((c >> 2) & 1) as u8) << shift;
                c >>= 3;
            }
            [r, g, b]
        })
        .collect()
}

/// Decoding and segmenting images: the part of this module that needs the `image` crate.
#[cfg(feature = "image")]
mod from_image {
    use super::{resize_labels, Segmentation};
    use crate::error::{Error, Result};
    use crate::model::{argmax_classes, Model};
    use crate::preprocess::image_to_input_with;
    use image::RgbImage;
    use ndarray::Array4;
    use std::path::Path;

    impl Model {
        /// Segments an RGB image: resize to the model's native size, preprocess, predict, take
        /// the argmax, scale the class map back to the image, each step as the weights'
        /// metadata says (`resize`, `preprocessing`, `label_resize`).
        pub fn segment(&self, image: &RgbImage) -> Result<Segmentation> {
            let cfg = self.config();
            let (h, w) = (cfg.input_height, cfg.input_width);
            if image.width() == 0 || image.height() == 0 {
                return Err(Error::InputShape("the image is empty".into()));
            }
            let resizing = self.resizing();
            let input = image_to_input_with(image, h, w, self.preprocessing(), resizing.image)?;
            let x =
                Array4::from_shape_vec((1, h, w, 3), input).map_err(|e| Error::InputShape(e.to_string()))?;
            let probs = self.predict(x.view())?;
            let map = argmax_classes(probs.view(), h / 2, w / 2)?;
            let model_map = map.index_axis_move(ndarray::Axis(0), 0);
            let (ih, iw) = (image.height() as usize, image.width() as usize);
            let class_map = resize_labels(&model_map, ih, iw, resizing.labels);
            let mut counts = vec![0usize; cfg.n_classes];
            for &c in class_map.iter() {
                counts[c as usize] += 1;
            }
            let total = (ih * iw) as f64;
            Ok(Segmentation {
                model_map,
                class_map,
                class_fractions: counts.iter().map(|&c| c as f64 / total).collect(),
            })
        }

        /// Reads and segments an image file (PNG or JPEG).
        pub fn segment_file(&self, path: impl AsRef<Path>) -> Result<(RgbImage, Segmentation)> {
            let img = load_rgb(path.as_ref())?;
            let seg = self.segment(&img)?;
            Ok((img, seg))
        }
    }

    /// Decodes an image file to RGB8, with an error naming the file.
    pub fn load_rgb(path: &Path) -> Result<RgbImage> {
        let reader = image::ImageReader::open(path).map_err(|e| Error::io(path, e))?;
        let reader = reader.with_guessed_format().map_err(|e| Error::io(path, e))?;
        let img = reader.decode().map_err(|e| Error::Image {
            path: path.into(),
            reason: e.to_string(),
        })?;
        Ok(img.to_rgb8())
    }
}
