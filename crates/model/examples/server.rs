//! A server's inner loop: one shared `Model`, N request threads, each with its own input and
//! output buffers, reused for every request through `predict_into` (no allocation per
//! request once its size is prepared). Prints images per second.
//!
//! ```sh
//! cargo run --release -p mobilenet-unet --features default-model --example server -- \
//!     [--requests-threads N] [--threads T] [--spin off|within-pass] [--size HxW] [--seconds S]
//! ```
//!
//! `--threads T` gives the model its own pool of T threads (shared by every request thread);
//! without it the passes run on rayon's global pool. The default model is the embedded one
//! (feature `default-model`); `--weights FILE` loads another.

use mobilenet_unet::{defaults, Model, Spin};
use ndarray::{Array3, Array4};
use std::time::{Duration, Instant};

/// The command line, parsed by hand to keep the example free of dependencies.
struct Options {
    request_threads: usize,
    threads: Option<usize>,
    spin: Option<Spin>,
    size: (usize, usize),
    seconds: f64,
    weights: Option<String>,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        request_threads: 2,
        threads: None,
        spin: None,
        size: (224, 224),
        seconds: 5.0,
        weights: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<usize>().map_err(|e| format!("{v}: {e}"));
        match flag.as_str() {
            "--requests-threads" => o.request_threads = number(value()?)?.max(1),
            "--threads" => o.threads = Some(number(value()?)?),
            "--spin" => {
                o.spin = Some(match value()?.as_str() {
                    "off" => Spin::Off,
                    "within-pass" => Spin::within_pass(),
                    other => return Err(format!("--spin {other}: expected off or within-pass")),
                })
            }
            "--size" => {
                let v = value()?;
                let (h, w) = v.split_once('x').ok_or(format!("--size {v}: expected HxW"))?;
                o.size = (number(h.into())?, number(w.into())?);
            }
            "--seconds" => o.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--weights" => o.weights = Some(value()?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = parse()?;
    let mut builder = Model::builder();
    if let Some(t) = o.threads {
        builder = builder.threads(t);
    }
    if let Some(spin) = o.spin {
        builder = builder.spin(spin);
    }
    let model = match &o.weights {
        Some(path) => builder.load(path)?,
        None => builder.from_weights(defaults::default_weights()?)?,
    };
    let (h, w) = o.size;
    let classes = model.config().n_classes;
    // Warm the size up once, before any request: the calls below then allocate nothing.
    model.prepare(1, h, w)?;

    let deadline = Instant::now() + Duration::from_secs_f64(o.seconds);
    let start = Instant::now();
    let served: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..o.request_threads)
            .map(|i| {
                let model = &model;
                s.spawn(move || -> Result<usize, mobilenet_unet::Error> {
                    // This request thread's buffers, reused for every request it serves.
                    let mut input = Array4::<f32>::zeros((1, h, w, 3));
                    let mut output = Array3::<f32>::zeros((1, (h / 2) * (w / 2), classes));
                    let mut served = 0;
                    while Instant::now() < deadline {
                        // A real server would decode its request into `input` here.
                        input.fill((served + i) as f32 % 7.0 / 7.0);
                        model.predict_into(input.view(), output.view_mut())?;
                        served += 1;
                    }
                    Ok(served)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|h| h.join().expect("request thread panicked"))
            .sum::<Result<usize, _>>()
    })?;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{served} images of {h}x{w} in {seconds:.2} s: {:.1} images/s ({} request threads, {} engine threads, spin {:?}, tier {})",
        served as f64 / seconds,
        o.request_threads,
        model.threads(),
        model.spin(),
        model.tier().name()
    );
    Ok(())
}
