//! Embedding the engine: build a model for your own configuration, run a batch from several
//! threads at once, and read the class map.
//!
//! ```sh
//! cargo run --release -p mobilenet-unet --example embed_predict
//! ```

use mobilenet_unet::{argmax_classes, Config, DecoderActivation, Model};
use ndarray::Array4;

fn main() -> Result<(), mobilenet_unet::Error> {
    // Any architecture the seed's code can build: width, classes, skip, decoder variant.
    let config = Config {
        alpha: 0.5,
        n_classes: 6,
        l1_skip_conn: true,
        decoder_activation: DecoderActivation::Relu,
        input_height: 96,
        input_width: 160,
        ..Config::default()
    };
    // Random weights stand in for a trained file here: use Model::load("w.safetensors") instead.
    let model = Model::random(&config, 7)?.with_threads(2)?;
    let batch = Array4::from_shape_fn((2, 96, 160, 3), |(n, y, x, c)| {
        ((n + y + 2 * x + 3 * c) % 11) as f32 / 11.0
    });

    // The model is Sync: share it between threads; each call gets its own workspace.
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3).map(|_| s.spawn(|| model.predict(batch.view()))).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker thread"))
            .collect()
    });
    let probs = results.into_iter().next().expect("three results")?;
    let classes = argmax_classes(probs.view(), 48, 80)?;
    println!(
        "probabilities {:?}, class map {:?}",
        probs.shape(),
        classes.shape()
    );
    println!(
        "activation arena for this size: {} KiB",
        model.arena_bytes(2, 96, 160)? / 1024
    );
    Ok(())
}
