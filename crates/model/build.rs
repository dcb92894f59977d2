//! Embeds the default weights (trained by tools/train.py) when the repository has them.
use std::path::Path;

fn main() {
    let weights =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../weights/mobilenet_unet_shapes.safetensors");
    println!("cargo::rustc-check-cfg=cfg(has_default_weights)");
    println!("cargo::rerun-if-changed={}", weights.display());
    if weights.exists() {
        println!("cargo::rustc-cfg=has_default_weights");
        println!(
            "cargo::rustc-env=MOBILENET_UNET_DEFAULT_WEIGHTS={}",
            weights.display()
        );
    }
}
