//! From a class map to pictures: the palette PNG mask and the overlay with a legend.
//!
//! Only the command line draws pictures, so this lives here and not in the library: an
//! embedder gets the class map ([`Segmentation`]) and paints it however it likes.

use crate::font::{draw_text, GLYPH_H};
use image::{Rgb, RgbImage};
use mobilenet_unet::{Error, Result, Segmentation};
use ndarray::Array2;
use std::path::Path;

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
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(map: Array2<u16>, k: usize) -> Segmentation {
        let n = map.len() as f64;
        let class_fractions = (0..k)
            .map(|c| map.iter().filter(|&&v| v as usize == c).count() as f64 / n)
            .collect();
        Segmentation {
            model_map: map.clone(),
            class_map: map,
            class_fractions,
        }
    }

    #[test]
    fn palette_png_stores_class_indices_and_the_palette() {
        let map = Array2::from_shape_fn((3, 5), |(y, x)| ((y * 5 + x) % 3) as u16);
        let palette = [[10, 20, 30], [200, 0, 0], [0, 255, 7]];
        let path = std::env::temp_dir().join(format!("mobilenet-unet-palette-{}.png", std::process::id()));
        save_palette_png(&map, &palette, &path).unwrap();
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!((info.width, info.height), (5, 3));
        assert_eq!(info.color_type, png::ColorType::Indexed);
        assert_eq!(info.palette.as_deref(), Some(&palette.concat()[..]));
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        let expected: Vec<u8> = map.iter().map(|&c| c as u8).collect();
        assert_eq!(&buf[..15], &expected[..]);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn more_than_256_classes_is_an_error() {
        let map = Array2::zeros((1, 1));
        let path = std::env::temp_dir().join("never-written.png");
        let e = save_palette_png(&map, &[[0; 3]; 257], &path).unwrap_err();
        assert!(e.to_string().contains("257 classes"), "{e}");
    }

    #[test]
    fn overlay_blends_and_adds_a_legend_row_per_class() {
        let image = RgbImage::from_pixel(4, 2, Rgb([100, 100, 100]));
        let map = Array2::from_shape_fn((2, 4), |(_, x)| (x / 2) as u16);
        let palette = [[0, 0, 0], [200, 100, 0]];
        let names = vec!["bg".to_string(), "thing".to_string()];
        let out = overlay(&image, &seg(map, 2), &palette, &names, 0.5);
        assert_eq!(out.width(), 4);
        assert_eq!(out.height(), 2 + 2 * (GLYPH_H + 4) + 4);
        assert_eq!(out.get_pixel(0, 0), &Rgb([50, 50, 50]));
        assert_eq!(out.get_pixel(3, 1), &Rgb([150, 100, 50]));
    }
}
