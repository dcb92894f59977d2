//! Segment one image with the embedded default model and print the share of each class.
//!
//! ```sh
//! cargo run --release -p mobilenet-unet --features default-model --example segment_image -- examples/images/shapes_1.png
//! ```

use mobilenet_unet::{defaults, Model};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: segment_image IMAGE")?;
    let model = Model::from_weights(&defaults::default_weights()?)?;
    let (image, seg) = model.segment_file(&path)?;
    println!("{path}: {}x{} pixels", image.width(), image.height());
    for (name, share) in model.class_names().iter().zip(&seg.class_fractions) {
        println!("  {name:<12} {:5.1}%", 100.0 * share);
    }
    Ok(())
}
