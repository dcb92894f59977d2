//! `mobilenet-unet`: summary, inference, segmentation, benchmarking and evaluation from the
//! command line. Every failure prints one line naming what is at fault and exits non-zero.
//!
//! This crate is the app around the `mobilenet-unet` library: argument parsing (here), the
//! commands (`commands.rs`), and the pictures they write (`picture.rs`, `font.rs`).

#![forbid(unsafe_code)]

use clap::{Args, Parser, Subcommand};
use mobilenet_unet::{Config, DecoderActivation, Result};
use std::path::PathBuf;
use std::process::ExitCode;

mod commands;
mod font;
mod picture;

#[derive(Parser)]
#[command(
    name = "mobilenet-unet",
    version,
    about = "MobileNet-UNet semantic segmentation on hand-written Rust kernels"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Layers, output shapes, parameters and MACs (as Keras's model.summary()), and the
    /// depthwise-separable vs standard convolution comparison for every block.
    Summary(SummaryArgs),
    /// Runs the network on an NHWC float32 .npy and writes the [N, H/2·W/2, classes] probabilities.
    Infer(InferArgs),
    /// Segments PNG/JPEG images (or every image in a folder) into palette PNG masks.
    Segment(SegmentArgs),
    /// Measures end-to-end latency after warm-up.
    Bench(BenchArgs),
    /// Pixel accuracy and IoU of the engine on a labelled image set.
    Eval(EvalArgs),
}

/// Architecture flags, used when no weights file says otherwise.
#[derive(Args, Clone)]
struct ArchArgs {
    /// Width multiplier alpha.
    #[arg(long)]
    alpha: Option<f64>,
    /// Number of classes.
    #[arg(long)]
    classes: Option<usize>,
    /// Input size HxW (multiples of 16).
    #[arg(long)]
    size: Option<String>,
    /// Concatenate f1 before the last decoder convolution.
    #[arg(long)]
    l1_skip: bool,
    /// Decoder activation: none (the seed) or relu (keras_segmentation).
    #[arg(long)]
    decoder_activation: Option<String>,
}

#[derive(Args)]
struct SummaryArgs {
    #[command(flatten)]
    arch: ArchArgs,
    /// Take the architecture from a weights file.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct InferArgs {
    /// Weights (default: the embedded model).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// NHWC float32 input .npy [N, H, W, 3], already preprocessed.
    #[arg(long)]
    input: PathBuf,
    /// Output .npy: float32 [N, H/2·W/2, classes].
    #[arg(long)]
    output: PathBuf,
    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Args)]
struct SegmentArgs {
    /// Image files or folders.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Output folder (default: next to each image).
    #[arg(short = 'o', long)]
    output_dir: Option<PathBuf>,
    /// Weights (default: the embedded model).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Also write the mask blended over the image, with a legend.
    #[arg(long)]
    overlay: bool,
    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Args)]
struct BenchArgs {
    #[command(flatten)]
    arch: ArchArgs,
    /// Weights (default: random weights for the architecture flags; alpha 1.0, 2 classes, 224x224).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Timed runs after 3 warm-up runs.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Batch size.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Also time every layer (median over the runs).
    #[arg(long)]
    layers: bool,
}

#[derive(Args)]
struct EvalArgs {
    /// Weights (default: the embedded model).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Folder with images/ and labels/ (default: the committed test set, data/test).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Summary(a) => a
            .arch
            .config()
            .and_then(|cfg| commands::summary(a.weights.as_deref(), &cfg, a.json)),
        Command::Infer(a) => commands::infer(a.weights.as_deref(), &a.input, &a.output, a.threads),
        Command::Segment(a) => commands::segment(
            &a.images,
            a.output_dir.as_deref(),
            a.weights.as_deref(),
            a.overlay,
            a.threads,
        ),
        Command::Bench(a) => a.arch.config().and_then(|cfg| {
            let opts = commands::BenchOptions {
                threads: a.threads,
                runs: a.runs,
                batch: a.batch,
                json: a.json,
                layers: a.layers,
            };
            commands::bench(a.weights.as_deref(), &cfg, a.arch.size.is_some(), &opts)
        }),
        Command::Eval(a) => commands::eval(a.weights.as_deref(), a.data.as_deref(), a.threads, a.json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

impl ArchArgs {
    fn config(&self) -> Result<Config> {
        let mut cfg = Config::default();
        if let Some(a) = self.alpha {
            cfg.alpha = a;
        }
        if let Some(k) = self.classes {
            cfg.n_classes = k;
        }
        if let Some(s) = &self.size {
            (cfg.input_height, cfg.input_width) = commands::parse_size(s)?;
        }
        cfg.l1_skip_conn = self.l1_skip;
        if let Some(d) = &self.decoder_activation {
            cfg.decoder_activation = d.parse::<DecoderActivation>()?;
        }
        cfg.validate()?;
        Ok(cfg)
    }
}
