//! The engine behind the WebAssembly exports, run natively: the shipped model on an example
//! image, and every kind of bad input answered with a message.

use mobilenet_unet_wasm::{Engine, Flags};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn engine() -> Engine {
    let weights = std::fs::read(root().join("weights/mobilenet_unet_shapes.safetensors")).unwrap();
    Engine::load(&weights).unwrap()
}

#[test]
fn segments_an_example_like_the_fixture() {
    let mut e = engine();
    let img = image::open(root().join("examples/images/shapes_1.png"))
        .unwrap()
        .to_rgba8();
    let flags = Flags {
        probabilities: true,
        profile: true,
    };
    e.segment_rgba(img.as_raw(), 128, 128, flags).unwrap();
    let out = &e.output;
    assert_eq!((out.width, out.height, out.classes.len()), (64, 64, 64 * 64));
    assert_eq!(out.probabilities.len(), 64 * 64 * 4);
    let fixture = std::fs::read(root().join("docs/src/try/fixtures/shapes_1.classes.u8")).unwrap();
    let same = fixture.iter().zip(&out.classes).filter(|(a, b)| a == b).count();
    assert_eq!(fixture.len(), out.classes.len());
    assert!(
        same * 1000 >= fixture.len() * 999,
        "{same} of {} agree",
        fixture.len()
    );
    assert!(out.classes.iter().any(|&c| c != 0), "the example has shapes");
    assert!(out.steps.len() > 20 && out.steps.iter().any(|s| s.0 == "softmax"));
    let json = e.output_json();
    assert_eq!(json["steps"].as_array().unwrap().len(), out.steps.len());
}

#[test]
fn bad_inputs_are_messages() {
    let mut e = engine();
    let before = e.output.clone();
    let err = e.segment_rgba(&[0; 100], 10, 10, Flags::default()).unwrap_err();
    assert!(err.contains("16"), "{err}");
    let err = e.segment_rgba(&[0; 100], 16, 16, Flags::default()).unwrap_err();
    assert!(err.contains("1024 bytes"), "{err}");
    assert_eq!(e.output, before, "a failed call keeps the previous results");
    assert!(Engine::load(b"not a safetensors file").is_err());
    assert_eq!(
        Flags::from_bits(3),
        Flags {
            probabilities: true,
            profile: true
        }
    );
}
