//! The command implementations behind `main.rs`'s argument parsing.

use crate::picture::{overlay, save_palette_png};
use indicatif::{ProgressBar, ProgressStyle};
use mobilenet_unet::summary::{summary_json, summary_text};
use mobilenet_unet::{npy, Architecture, Config, ConvChoice, Error, Model, ModelBuilder, Result, Weights};
use ndarray::Array4;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Parses `HxW` (e.g. `416x608`).
pub fn parse_size(s: &str) -> Result<(usize, usize)> {
    let bad = || Error::Config(format!("--size {s:?}: expected HxW, e.g. 224x224"));
    let (h, w) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let h = h.trim().parse().map_err(|_| bad())?;
    let w = w.trim().parse().map_err(|_| bad())?;
    mobilenet_unet::check_input_size(h, w)?;
    Ok((h, w))
}

/// Loads `--weights`, or the embedded default model.
fn load_weights(path: Option<&Path>) -> Result<Weights> {
    match path {
        Some(p) => Weights::load(p),
        None => mobilenet_unet::defaults::default_weights(),
    }
}

/// A model builder with the environment's overrides, read once here (the library reads no
/// environment variable): `MOBILENET_UNET_TIER` forces a tier, `MOBILENET_UNET_CONV` the
/// convolution choice (`auto`, `im2col`, `winograd`); `threads` gives the model its own pool.
fn builder(threads: Option<usize>) -> Result<ModelBuilder> {
    use mobilenet_unet_kernels::conv::CONV_ENV;
    let conv = match std::env::var(CONV_ENV) {
        Ok(v) => ConvChoice::from_name(&v)?,
        Err(_) => ConvChoice::Auto,
    };
    let b = Model::builder()
        .tier(mobilenet_unet_kernels::Tier::active()?)
        .conv_algorithm(conv);
    Ok(match threads {
        Some(t) => b.threads(t),
        None => b,
    })
}

fn load_model(path: Option<&Path>, threads: Option<usize>) -> Result<Model> {
    builder(threads)?.from_weights(load_weights(path)?)
}

pub fn summary(weights: Option<&Path>, cfg: &Config, json: bool) -> Result<()> {
    let cfg = match weights {
        Some(p) => Config {
            input_height: cfg.input_height,
            input_width: cfg.input_width,
            ..Weights::load(p)?.config
        },
        None => *cfg,
    };
    let arch = Architecture::new(&cfg)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary_json(&arch)).unwrap_or_default()
        );
    } else {
        print!("{}", summary_text(&arch));
    }
    Ok(())
}

pub fn infer(weights: Option<&Path>, input: &Path, output: &Path, threads: Option<usize>) -> Result<()> {
    let model = load_model(weights, threads)?;
    let x = npy::read_input(input)?;
    if x.shape()[3] != 3 {
        return Err(Error::Npy {
            path: input.into(),
            reason: format!("shape {:?}: the last axis must be 3 (RGB)", x.shape()),
        });
    }
    mobilenet_unet::check_input_size(x.shape()[1], x.shape()[2]).map_err(|e| Error::Npy {
        path: input.into(),
        reason: e.to_string(),
    })?;
    let probs = model.predict(x.view())?;
    npy::write_output(output, &probs)?;
    eprintln!("wrote {} with shape {:?}", output.display(), probs.shape());
    Ok(())
}

/// Expands folders into the PNG/JPEG files they hold (sorted).
fn expand_images(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| Error::io(p, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    let ext = f
                        .extension()
                        .and_then(|e| e.to_str())
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    matches!(ext.as_str(), "png" | "jpg" | "jpeg")
                })
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(Error::Image {
                    path: p.clone(),
                    reason: "folder holds no PNG or JPEG image".into(),
                });
            }
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

pub fn segment(
    images: &[PathBuf],
    out_dir: Option<&Path>,
    weights: Option<&Path>,
    with_overlay: bool,
    threads: Option<usize>,
) -> Result<()> {
    let model = load_model(weights, threads)?;
    let files = expand_images(images)?;
    if let Some(d) = out_dir {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let bar = if files.len() > 1 {
        ProgressBar::new(files.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let palette = model.class_colors();
    let names = model.class_names();
    for f in &files {
        bar.set_message(f.display().to_string());
        let (img, seg) = model.segment_file(f)?;
        let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or("image");
        let dir = out_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| f.parent().unwrap_or(Path::new(".")).to_path_buf());
        let mask = dir.join(format!("{stem}_mask.png"));
        save_palette_png(&seg.class_map, &palette, &mask)?;
        let mut line = format!("{} -> {}", f.display(), mask.display());
        if with_overlay {
            let ov = dir.join(format!("{stem}_overlay.png"));
            overlay(&img, &seg, &palette, &names, 0.5)
                .save(&ov)
                .map_err(|e| Error::Image {
                    path: ov.clone(),
                    reason: e.to_string(),
                })?;
            line.push_str(&format!(", {}", ov.display()));
        }
        let shares: Vec<String> = names
            .iter()
            .zip(&seg.class_fractions)
            .filter(|(_, &p)| p > 0.0)
            .map(|(n, p)| format!("{n} {:.1}%", 100.0 * p))
            .collect();
        bar.suspend(|| println!("{line} [{}]", shares.join(", ")));
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

/// Options of `bench`.
pub struct BenchOptions {
    pub threads: Option<usize>,
    pub runs: usize,
    pub batch: usize,
    pub json: bool,
    pub layers: bool,
}

pub fn bench(weights: Option<&Path>, cfg: &Config, size_given: bool, o: &BenchOptions) -> Result<()> {
    if o.runs == 0 || o.batch == 0 {
        return Err(Error::Config("--runs and --batch must be at least 1".into()));
    }
    let w = match weights {
        Some(p) => Weights::load(p)?,
        None => Weights::random(cfg, 0)?,
    };
    let (h, wd) = if size_given || weights.is_none() {
        (cfg.input_height, cfg.input_width)
    } else {
        (w.config.input_height, w.config.input_width)
    };
    // The model takes the tensors one layer at a time: never the file and the model in full.
    let model = builder(o.threads)?.from_weights(w)?;
    let threads = o.threads.unwrap_or_else(rayon::current_num_threads);
    let arch = Architecture::with_input(model.config(), h, wd)?;
    let x = Array4::from_shape_fn((o.batch, h, wd, 3), |(_, y, x, c)| {
        ((y * 7 + x * 3 + c) % 17) as f32 / 17.0
    });
    for _ in 0..3 {
        model.predict(x.view())?;
    }
    let mut times = Vec::with_capacity(o.runs);
    for _ in 0..o.runs {
        let t = Instant::now();
        model.predict(x.view())?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let (min, max) = (times[0], times[times.len() - 1]);
    let gflops = 2.0 * arch.macs() as f64 * o.batch as f64 / (median * 1e-3) / 1e9;
    let images_per_s = o.batch as f64 / (median * 1e-3);
    let layer_table = if o.layers {
        Some(layer_profile(&model, &x, o.runs)?)
    } else {
        None
    };
    let tier = model.tier().name();
    if o.json {
        let j = serde_json::json!({
            "size": [h, wd], "batch": o.batch, "threads": threads, "runs": o.runs, "tier": tier,
            "alpha": model.config().alpha, "n_classes": model.config().n_classes, "weights": model.source(),
            "macs": arch.macs(), "median_ms": median, "min_ms": min, "max_ms": max,
            "images_per_s": images_per_s, "gflops": gflops,
            "layers": layer_table.as_ref().map(|t| t.iter().map(|(name, ms, macs)| serde_json::json!({
                "name": name, "median_ms": ms, "macs": macs,
                "gflops": if *ms > 0.0 { 2.0 * *macs as f64 / (ms * 1e-3) / 1e9 } else { 0.0 },
            })).collect::<Vec<_>>()),
        });
        println!("{}", serde_json::to_string_pretty(&j).unwrap_or_default());
    } else {
        println!(
            "{h}x{wd} batch {} alpha {} classes {} ({}), {threads} thread(s), tier {tier}, {} runs",
            o.batch,
            model.config().alpha,
            model.config().n_classes,
            model.source(),
            o.runs
        );
        println!("median {median:.2} ms  min {min:.2} ms  max {max:.2} ms  {images_per_s:.1} images/s  {gflops:.1} GFLOP/s");
        if let Some(table) = &layer_table {
            let total: f64 = table.iter().map(|(_, ms, _)| ms).sum();
            println!(
                "\n{:<24} {:>10} {:>7} {:>10}",
                "step", "median ms", "share", "GFLOP/s"
            );
            for (name, ms, macs) in table {
                let g = if *ms > 0.0 && *macs > 0 {
                    format!("{:.1}", 2.0 * *macs as f64 / (ms * 1e-3) / 1e9)
                } else {
                    String::new()
                };
                println!("{name:<24} {ms:>10.3} {:>6.1}% {g:>10}", 100.0 * ms / total);
            }
        }
    }
    Ok(())
}

/// Per-step median milliseconds over `runs` profiled runs: `(name, ms, macs)`.
fn layer_profile(model: &Model, x: &Array4<f32>, runs: usize) -> Result<Vec<(String, f64, u64)>> {
    let mut samples: Vec<Vec<f64>> = Vec::new();
    let mut names = Vec::new();
    for _ in 0..runs {
        let steps = model.profile(x.view())?;
        if samples.is_empty() {
            samples = vec![Vec::new(); steps.len()];
            names = steps.iter().map(|s| (s.name.clone(), s.macs)).collect();
        }
        for (i, s) in steps.iter().enumerate() {
            samples[i].push(s.seconds * 1e3);
        }
    }
    Ok(names
        .into_iter()
        .zip(samples)
        .map(|((name, macs), mut v)| {
            v.sort_by(f64::total_cmp);
            (name, v[v.len() / 2], macs)
        })
        .collect())
}

pub fn eval(weights: Option<&Path>, data: Option<&Path>, threads: Option<usize>, json: bool) -> Result<()> {
    let model = load_model(weights, threads)?;
    let dir = data
        .map(Path::to_path_buf)
        .unwrap_or_else(mobilenet_unet::defaults::default_test_set);
    let report = mobilenet_unet::eval::evaluate(&model, &dir)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report.to_json(&model.class_names())).unwrap_or_default()
        );
    } else {
        print!("{}", report.to_text(&model.class_names()));
    }
    Ok(())
}
