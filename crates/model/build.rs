//! Embeds the default weights (trained by tools/train.py) when the `default-model` feature is on.
//! They live inside this crate (`weights/`, which the repository's top-level `weights/` links
//! to), so a build from the published package embeds them too. Without the feature nothing is
//! embedded: a library user who brings their own weights does not carry
//! 7.1 MB [fact:size.default_model_mb] of someone else's model in every binary.
use std::path::Path;

fn main() {
    let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/mobilenet_unet_shapes.safetensors");
    println!("cargo::rustc-check-cfg=cfg(has_default_weights)");
    println!("cargo::rerun-if-changed={}", weights.display());
    if std::env::var_os("CARGO_FEATURE_DEFAULT_MODEL").is_none() {
        return;
    }
    if weights.exists() {
        println!("cargo::rustc-cfg=has_default_weights");
        println!(
            "cargo::rustc-env=MOBILENET_UNET_DEFAULT_WEIGHTS={}",
            weights.display()
        );
    } else {
        // Not fatal (the library works without it), but say so at build time rather than
        // only when `default_weights()` is first called.
        println!(
            "cargo::warning=feature `default-model`: {} is missing; default_weights() will return an error",
            weights.display()
        );
    }
}
