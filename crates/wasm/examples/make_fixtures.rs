//! Writes what the browser self-test (`docs/src/try/selftest.html`) compares with: the native
//! engine's class map and probabilities for every example image, through the same
//! [`Engine`] the WebAssembly module runs, on this machine's best native tier.
//!
//! ```sh
//! cargo run --release -p mobilenet-unet-wasm --example make_fixtures
//! ```
//!
//! Writes `docs/src/try/fixtures/NAME.classes.u8` (`[h/2, w/2]` class indices),
//! `NAME.probs.f32` (little-endian `[h/2 · w/2, classes]` probabilities) and `index.json`
//! (the images, their shapes, the weights file's size and the tier that made them).

use mobilenet_unet_kernels::Tier;
use mobilenet_unet_wasm::{Engine, Flags};
use serde_json::json;
use std::error::Error;
use std::fs;
use std::path::Path;

fn main() -> Result<(), Box<dyn Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let weights = fs::read(root.join("weights/mobilenet_unet_shapes.safetensors"))?;
    let mut engine = Engine::load(&weights)?;
    let out_dir = root.join("docs/src/try/fixtures");
    fs::create_dir_all(&out_dir)?;
    let mut names: Vec<String> = fs::read_dir(root.join("examples/images"))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".png"))
        .collect();
    names.sort();
    let mut images = Vec::new();
    for name in &names {
        let rgba = image::open(root.join("examples/images").join(name))?.to_rgba8();
        let (w, h) = (rgba.width() as usize, rgba.height() as usize);
        let flags = Flags {
            probabilities: true,
            profile: false,
        };
        engine.segment_rgba(rgba.as_raw(), w, h, flags)?;
        let stem = name.trim_end_matches(".png");
        let out = &engine.output;
        fs::write(out_dir.join(format!("{stem}.classes.u8")), &out.classes)?;
        let probs: Vec<u8> = out.probabilities.iter().flat_map(|p| p.to_le_bytes()).collect();
        fs::write(out_dir.join(format!("{stem}.probs.f32")), probs)?;
        images.push(json!({ "image": name, "stem": stem, "width": w, "height": h,
                            "out_width": out.width, "out_height": out.height }));
        println!("{name}: {w}x{h} -> {}x{}", out.width, out.height);
    }
    let index = json!({
        "made_by": "cargo run --release -p mobilenet-unet-wasm --example make_fixtures",
        "native_tier": Tier::active()?.name(),
        "weights": "weights/mobilenet_unet_shapes.safetensors",
        "weights_bytes": weights.len(),
        "n_classes": engine.info()["n_classes"],
        "images": images,
    });
    fs::write(
        out_dir.join("index.json"),
        serde_json::to_string_pretty(&index)? + "\n",
    )?;
    Ok(())
}
