//! From an image to a class map, and from a class map to pictures: palette PNG and overlay.

use crate::error::{Error, Result};
use crate::font::{draw_text, GLYPH_H};
use crate::model::{argmax_classes, Model};
use crate::preprocess::image_to_input;
use image::{Rgb, RgbImage};
use ndarray::{Array2, Array4};
use std::path::Path;

/// The result of segmenting one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Segmentation {
    /// Class per pixel at the model's output resolution (`H/2 x W/2` of the model input).
    pub model_map: Array2<u16>,
    /// Class per pixel at the original image's size (nearest-neighbour resize of `model_map`).
    pub class_map: Array2<u16>,
    /// Fraction of image pixels assigned to each class.
    pub class_fractions: Vec<f64>,
}

impl Model {
    /// Segments an RGB image: resize to the model's native size (bilinear), preprocess as the
    /// weights' metadata says, predict, take the argmax, resize back (nearest).
    pub fn segment(&self, image: &RgbImage) -> Result<Segmentation> {
        let cfg = self.config();
        let (h, w) = (cfg.input_height, cfg.input_width);
        if image.width() == 0 || image.height() == 0 {
            return Err(Error::InputShape("the image is empty".into()));
        }
        let input = image_to_input(image, h, w, self.preprocessing());
        let x = Array4::from_shape_vec((1, h, w, 3), input).map_err(|e| Error::InputShape(e.to_string()))?;
        let probs = self.predict(x.view())?;
        let map = argmax_classes(probs.view(), h / 2, w / 2)?;
        let model_map = map.index_axis_move(ndarray::Axis(0), 0);
        let (ih, iw) = (image.height() as usize, image.width() as usize);
        let class_map = resize_nearest(&model_map, ih, iw);
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

/// Nearest-neighbour resize of a class map (pixel centres: `src = floor((dst + 0.5) · in / out)`).
pub fn resize_nearest(map: &Array2<u16>, out_h: usize, out_w: usize) -> Array2<u16> {
    let (ih, iw) = map.dim();
    Array2::from_shape_fn((out_h, out_w), |(y, x)| {
        let sy = ((2 * y + 1) * ih / (2 * out_h)).min(ih - 1);
        let sx = ((2 * x + 1) * iw / (2 * out_w)).min(iw - 1);
        map[[sy, sx]]
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

/// Writes a class map as an 8-bit palette PNG (each pixel's byte is its class index).
pub fn save_palette_png(map: &Array2<u16>, palette: &[[u8; 3]], path: &Path) -> Result<()> {
    let (h, w) = map.dim();
    if palette.len() > 256 {
        return Err(Error::Config(format!(
            "{} classes do not fit an 8-bit palette PNG",
            palette.len()
        )));
    }
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut enc = png_encoder(std::io::BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Indexed);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_palette(palette.iter().flatten().copied().collect::<Vec<u8>>());
    let data: Vec<u8> = map.iter().map(|&c| c as u8).collect();
    let img_err = |e: png::EncodingError| Error::Image {
        path: path.into(),
        reason: e.to_string(),
    };
    enc.write_header()
        .map_err(img_err)?
        .write_image_data(&data)
        .map_err(img_err)?;
    Ok(())
}

fn png_encoder<W: std::io::Write>(w: W, width: u32, height: u32) -> png::Encoder<'static, W> {
    png::Encoder::new(w, width, height)
}

/// Blends the class colours over the image (`alpha` = weight of the colour) and appends a
/// legend below it: per class a colour swatch, its name and its share of the image.
pub fn overlay(
    image: &RgbImage,
    seg: &Segmentation,
    palette: &[[u8; 3]],
    names: &[String],
    alpha: f32,
) -> RgbImage {
    let (w, h) = image.dimensions();
    // Text grows with the image so the legend stays legible on large pictures.
    let scale = (w / 200).clamp(1, 4);
    let row_h = (GLYPH_H + 4) * scale;
    let legend_h = palette.len() as u32 * row_h + 4 * scale;
    let mut out = RgbImage::from_pixel(w, h + legend_h, Rgb([255, 255, 255]));
    for (x, y, p) in image.enumerate_pixels() {
        let c = palette[seg.class_map[[y as usize, x as usize]] as usize];
        let mix = |i: usize| (p[i] as f32 * (1.0 - alpha) + c[i] as f32 * alpha).round() as u8;
        out.put_pixel(x, y, Rgb([mix(0), mix(1), mix(2)]));
    }
    for (k, color) in palette.iter().enumerate() {
        let y0 = h + 2 * scale + k as u32 * row_h;
        let swatch = GLYPH_H * scale + 2 * scale;
        for y in y0..(y0 + swatch).min(out.height()) {
            for x in (2 * scale)..(2 * scale + swatch).min(w) {
                out.put_pixel(x, y, Rgb(*color));
            }
        }
        let name = names.get(k).map(String::as_str).unwrap_or("?");
        let share = 100.0 * seg.class_fractions.get(k).copied().unwrap_or(0.0);
        let label = format!("{name} {share:.1}%");
        draw_text(&mut out, 4 * scale + swatch, y0 + scale, &label, scale, [0, 0, 0]);
    }
    out
}
