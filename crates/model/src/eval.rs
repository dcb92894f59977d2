//! Pixel accuracy and intersection-over-union on a labelled image set.
//!
//! Layout: `DIR/images/NAME.png` and `DIR/labels/NAME.png`, the label an 8-bit grayscale PNG
//! holding the class index of each pixel. Metrics are computed at the model's output
//! resolution (half the input): the label is resized to it by nearest neighbour
//! (`label[y · LH / OH][x · LW / OW]`, i.e. every second pixel from 0 when the label has the
//! model's input size), the same convention as `tools/eval_keras.py`.

use crate::error::{Error, Result};
use crate::model::Model;
use crate::segment::load_rgb;
use serde_json::json;
use std::fmt::Write;
use std::path::Path;

/// Confusion counts and the metrics derived from them.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    /// Images evaluated.
    pub images: usize,
    /// `confusion[truth][predicted]` pixel counts.
    pub confusion: Vec<Vec<u64>>,
}

impl EvalReport {
    /// Correct pixels / all pixels.
    pub fn pixel_accuracy(&self) -> f64 {
        let total: u64 = self.confusion.iter().flatten().sum();
        let right: u64 = (0..self.confusion.len()).map(|i| self.confusion[i][i]).sum();
        right as f64 / total.max(1) as f64
    }

    /// IoU per class: TP / (TP + FP + FN), `None` where the class is absent from both.
    pub fn class_iou(&self) -> Vec<Option<f64>> {
        let k = self.confusion.len();
        (0..k)
            .map(|c| {
                let tp = self.confusion[c][c];
                let fn_: u64 = self.confusion[c].iter().sum::<u64>() - tp;
                let fp: u64 = (0..k).map(|t| self.confusion[t][c]).sum::<u64>() - tp;
                let union = tp + fp + fn_;
                (union > 0).then(|| tp as f64 / union as f64)
            })
            .collect()
    }

    /// Mean IoU over the classes present.
    pub fn mean_iou(&self) -> f64 {
        let ious: Vec<f64> = self.class_iou().into_iter().flatten().collect();
        ious.iter().sum::<f64>() / ious.len().max(1) as f64
    }

    /// The report as a table.
    pub fn to_text(&self, names: &[String]) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "images: {}", self.images);
        let _ = writeln!(s, "pixel accuracy: {:.4}", self.pixel_accuracy());
        for (i, iou) in self.class_iou().iter().enumerate() {
            let name = names.get(i).map(String::as_str).unwrap_or("?");
            match iou {
                Some(v) => {
                    let _ = writeln!(s, "IoU {name:<12} {v:.4}");
                }
                None => {
                    let _ = writeln!(s, "IoU {name:<12} (absent)");
                }
            }
        }
        let _ = writeln!(s, "mean IoU: {:.4}", self.mean_iou());
        s
    }

    /// The report as JSON (`pixel_accuracy`, `mean_iou`, `class_iou`, `images`, `confusion`).
    pub fn to_json(&self, names: &[String]) -> serde_json::Value {
        json!({
            "images": self.images,
            "pixel_accuracy": self.pixel_accuracy(),
            "mean_iou": self.mean_iou(),
            "class_iou": names.iter().zip(self.class_iou()).map(|(n, v)| (n.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "confusion": self.confusion,
        })
    }
}

/// Runs `model` on every image of `dir/images` and compares with `dir/labels`.
pub fn evaluate(model: &Model, dir: &Path) -> Result<EvalReport> {
    let images_dir = dir.join("images");
    let labels_dir = dir.join("labels");
    let mut names: Vec<_> = std::fs::read_dir(&images_dir)
        .map_err(|e| Error::io(&images_dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(Error::Dataset(format!(
            "{} holds no PNG images",
            images_dir.display()
        )));
    }
    let k = model.config().n_classes;
    let mut confusion = vec![vec![0u64; k]; k];
    for img_path in &names {
        let file = img_path.file_name().unwrap_or_default();
        let label_path = labels_dir.join(file);
        let label = image::open(&label_path)
            .map_err(|e| Error::Image {
                path: label_path.clone(),
                reason: e.to_string(),
            })?
            .to_luma8();
        let img = load_rgb(img_path)?;
        if img.dimensions() != label.dimensions() {
            return Err(Error::Dataset(format!(
                "{} is {:?} but its label is {:?}",
                img_path.display(),
                img.dimensions(),
                label.dimensions()
            )));
        }
        let seg = model.segment(&img)?;
        let (oh, ow) = seg.model_map.dim();
        let (lw, lh) = (label.width() as usize, label.height() as usize);
        for y in 0..oh {
            for x in 0..ow {
                let truth = label.get_pixel((x * lw / ow) as u32, (y * lh / oh) as u32)[0] as usize;
                if truth >= k {
                    return Err(Error::Dataset(format!(
                        "{}: class {truth} but the model has {k}",
                        label_path.display()
                    )));
                }
                confusion[truth][seg.model_map[[y, x]] as usize] += 1;
            }
        }
    }
    Ok(EvalReport {
        images: names.len(),
        confusion,
    })
}
