//! A seeded mutation fuzz of the safetensors loader: thousands of corrupted files derived from
//! one valid small model file, each fed to `Weights::from_bytes` and, when that accepts it, to
//! `Model::from_owned_weights`.
//!
//! The contract: no input panics (every case runs under `catch_unwind`; a panic fails the test
//! with the case's label and seed), every rejection is an `Err` whose message names the file,
//! and the targeted mutations (a wrong shape, dtype or offset of one tensor, a bad metadata
//! key, a NaN flood) are rejected with a message that names the tensor or key at fault.
//! Non-finite weights are rejected at load, naming the tensor: a model that loads never
//! produces NaN from its weights.
//!
//! Mutations:
//! - random byte flips in the JSON header and in the tensor data (restored after each case, so
//!   no case copies the ~9 MB file);
//! - truncations at every offset through the header and at random offsets in the data;
//! - a length prefix that lies (0, too small, too large, larger than the file, huge);
//! - the header re-written with one tensor's shape, dtype or offsets wrong, a tensor missing or
//!   extra, metadata bad or absent;
//! - NaN / ±Inf floods in one tensor at a time, and a zero variance with a zero epsilon.
//!
//! `FUZZ_PRINT=1 cargo test --release -p mobilenet-unet --test fuzz_loader -- --nocapture`
//! prints every case with the error it got.

use mobilenet_unet::{Config, Model, Weights};
use serde_json::{json, Map, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};

const SOURCE: &str = "fuzz.safetensors";
const SEED: u64 = 0x5eed_f00d;

/// `SafeTensorError`'s variant names, which its `Display` prints and nothing more.
const BARE_SAFETENSORS_ERRORS: [&str; 10] = [
    "InvalidHeader",
    "HeaderTooLarge",
    "HeaderTooSmall",
    "InvalidHeaderLength",
    "TensorInvalidInfo",
    "InvalidOffset",
    "MetadataIncompleteBuffer",
    "ValidationOverflow",
    "JsonError",
    "InvalidTensorView",
];

/// SplitMix64: a tiny deterministic generator, so every case can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi` (`hi > lo`).
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo) as u64) as usize
    }

    /// A byte to XOR with: never 0, so the flip always changes the byte.
    fn flip(&mut self) -> u8 {
        (self.next_u64() % 255) as u8 + 1
    }
}

/// What the loader did with one case.
#[derive(Debug)]
enum Outcome {
    Accepted,
    Rejected(String),
}

/// The valid file every case is derived from, and where its parts are.
struct Base {
    bytes: Vec<u8>,
    /// Length of the JSON header (the 8-byte little-endian prefix's value).
    header_len: usize,
    /// The header as JSON: tensor name -> `{dtype, shape, data_offsets}`, plus `__metadata__`.
    header: Map<String, Value>,
}

impl Base {
    fn new() -> Base {
        // The smallest architecture the loader accepts is still ~2.4 M parameters: the
        // decoder's filter counts (512, 256, 128, 64) do not scale with alpha.
        let cfg = Config {
            alpha: 0.25,
            n_classes: 3,
            input_height: 32,
            input_width: 32,
            ..Config::default()
        };
        let mut w = Weights::random(&cfg, 11).unwrap();
        w.class_names = vec!["bg".into(), "a".into(), "b".into()];
        let bytes = w.to_safetensors().unwrap();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
        Base {
            bytes,
            header_len,
            header,
        }
    }

    fn body(&self) -> &[u8] {
        &self.bytes[8 + self.header_len..]
    }

    fn data_start(&self) -> usize {
        8 + self.header_len
    }

    /// Tensor names in file order (by data offset).
    fn tensor_names(&self) -> Vec<String> {
        let mut names: Vec<(u64, String)> = self
            .header
            .iter()
            .filter(|(k, _)| *k != "__metadata__")
            .map(|(k, v)| (v["data_offsets"][0].as_u64().unwrap(), k.clone()))
            .collect();
        names.sort();
        names.into_iter().map(|(_, n)| n).collect()
    }

    /// `(start, end)` of tensor `name` within the data section.
    fn offsets(&self, name: &str) -> (usize, usize) {
        let o = &self.header[name]["data_offsets"];
        (o[0].as_u64().unwrap() as usize, o[1].as_u64().unwrap() as usize)
    }
}

/// A file with `header` (length prefix set to match) followed by `body`.
fn assemble(header: &Map<String, Value>, body: &[u8]) -> Vec<u8> {
    let text = serde_json::to_vec(header).unwrap();
    let mut out = Vec::with_capacity(8 + text.len() + body.len());
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(body);
    out
}

/// Loads `bytes` as weights and then as a model, under `catch_unwind`. A panic fails the test
/// with `label`; a rejection must say which file it is about.
fn run_case(label: &str, bytes: &[u8]) -> Outcome {
    let result = catch_unwind(AssertUnwindSafe(|| {
        Weights::from_bytes(bytes, SOURCE).and_then(Model::from_owned_weights)
    }));
    match result {
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("<non-string panic>");
            panic!("case {label} (fuzz seed {SEED:#x}) panicked: {msg}");
        }
        Ok(Ok(_)) => Outcome::Accepted,
        Ok(Err(e)) => {
            let msg = e.to_string();
            assert!(
                msg.contains(SOURCE),
                "case {label}: the error does not name the file: {msg}"
            );
            // The safetensors crate's bare variant names say too little; the loader words them.
            assert!(
                !BARE_SAFETENSORS_ERRORS.iter().any(|v| msg.contains(v)),
                "case {label}: the error is the safetensors crate's bare word: {msg}"
            );
            if std::env::var_os("FUZZ_PRINT").is_some() {
                eprintln!("{label}\n    -> {msg}");
            }
            Outcome::Rejected(msg)
        }
    }
}

/// Runs a case that must be rejected with a message containing every one of `needles`.
fn expect_rejected(label: &str, bytes: &[u8], needles: &[&str]) {
    match run_case(label, bytes) {
        Outcome::Accepted => panic!("case {label}: accepted, expected a rejection naming {needles:?}"),
        Outcome::Rejected(msg) => {
            for n in needles {
                assert!(msg.contains(n), "case {label}: {n:?} not in the error: {msg}");
            }
        }
    }
}

#[test]
fn the_base_file_loads() {
    let base = Base::new();
    assert!(matches!(run_case("base", &base.bytes), Outcome::Accepted));
}

#[test]
fn header_byte_flips() {
    let base = Base::new();
    let mut bytes = base.bytes.clone();
    let mut rng = Rng(SEED);
    let (mut accepted, mut rejected) = (0, 0);
    for case in 0..2500 {
        let flips: Vec<(usize, u8)> = (0..rng.range(1, 4))
            .map(|_| (rng.range(8, base.data_start()), rng.flip()))
            .collect();
        for &(at, x) in &flips {
            bytes[at] ^= x;
        }
        match run_case(&format!("header flip #{case} {flips:?}"), &bytes) {
            Outcome::Accepted => accepted += 1,
            Outcome::Rejected(_) => rejected += 1,
        }
        for &(at, x) in flips.iter().rev() {
            bytes[at] ^= x;
        }
    }
    assert_eq!(bytes, base.bytes, "flips were not undone");
    // Most flips break the JSON or a name; some land in a digit or a class name and survive.
    assert!(rejected > 2000, "{rejected} rejected, {accepted} accepted");
    eprintln!("header flips: {rejected} rejected, {accepted} accepted");
}

#[test]
fn data_byte_flips() {
    let base = Base::new();
    let mut bytes = base.bytes.clone();
    let mut rng = Rng(SEED ^ 1);
    let (mut accepted, mut rejected) = (0, 0);
    // Each accepted case builds a whole model, so fewer cases here than for the header.
    for case in 0..16 {
        let flips: Vec<(usize, u8)> = (0..rng.range(1, 9))
            .map(|_| (rng.range(base.data_start(), bytes.len()), rng.flip()))
            .collect();
        for &(at, x) in &flips {
            bytes[at] ^= x;
        }
        match run_case(&format!("data flip #{case} {flips:?}"), &bytes) {
            Outcome::Accepted => accepted += 1,
            Outcome::Rejected(msg) => {
                // A flip in the data can only make a value non-finite (or a variance negative).
                assert!(
                    msg.contains("non-finite") || msg.contains("negative variance"),
                    "data flip #{case}: {msg}"
                );
                rejected += 1
            }
        }
        for &(at, x) in flips.iter().rev() {
            bytes[at] ^= x;
        }
    }
    assert_eq!(bytes, base.bytes, "flips were not undone");
    assert!(accepted > 0, "no data flip was accepted");
    eprintln!("data flips: {rejected} rejected, {accepted} accepted");
}

#[test]
fn truncations() {
    let base = Base::new();
    let mut rng = Rng(SEED ^ 2);
    let mut cuts: Vec<usize> = (0..=base.data_start() + 64).collect();
    cuts.extend((0..500).map(|_| rng.range(base.data_start(), base.bytes.len())));
    cuts.push(base.bytes.len() - 1);
    for cut in cuts {
        let reason = match run_case(&format!("truncated at {cut}"), &base.bytes[..cut]) {
            Outcome::Accepted => panic!("truncated at {cut} of {}: accepted", base.bytes.len()),
            Outcome::Rejected(msg) => msg,
        };
        assert!(
            reason.contains("not a readable safetensors file"),
            "cut {cut}: {reason}"
        );
    }
    // One byte too many is as wrong as one too few.
    let mut longer = base.bytes.clone();
    longer.push(0);
    expect_rejected("one trailing byte", &longer, &["not a readable safetensors file"]);
}

#[test]
fn length_prefix_lies() {
    let base = Base::new();
    let n = base.header_len as u64;
    let len = base.bytes.len() as u64;
    let lies = [
        0,
        1,
        2,
        n / 2,
        n - 1,
        n + 1,
        n + 8,
        len - 8,
        len - 7,
        len,
        100_000_000,
        100_000_001,
        u32::MAX as u64,
        1 << 40,
        1 << 63,
        u64::MAX,
    ];
    let mut bytes = base.bytes.clone();
    for lie in lies {
        bytes[..8].copy_from_slice(&lie.to_le_bytes());
        expect_rejected(
            &format!("length prefix {lie} (true {n})"),
            &bytes,
            &["not a readable safetensors file"],
        );
    }
    // Only the prefix: a file shorter than the 8 bytes that hold the length.
    for short in 0..8 {
        expect_rejected(&format!("{short}-byte file"), &base.bytes[..short], &[SOURCE]);
    }
}

/// The header with one tensor's entry replaced by `f(entry)`.
fn with_entry(base: &Base, name: &str, f: impl FnOnce(&mut Value)) -> Map<String, Value> {
    let mut h = base.header.clone();
    f(h.get_mut(name).unwrap());
    h
}

/// A sample of tensors of every kind: kernels of every layer type, biases, BN parameters.
const SAMPLE: [&str; 8] = [
    "conv1/kernel",
    "conv_dw_5/kernel",
    "conv_pw_11/kernel",
    "conv_pw_1_bn/gamma",
    "dec2_conv/kernel",
    "dec4_bn/moving_variance",
    "logits_conv/bias",
    "logits_conv/kernel",
];

#[test]
fn wrong_shapes() {
    let base = Base::new();
    for name in SAMPLE {
        let shape: Vec<u64> = base.header[name]["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap())
            .collect();
        let count: u64 = shape.iter().product();
        // Same element count, so the offsets stay right and only our shape check can object:
        // flattened, reversed, and with a 1 appended.
        let mut reversed = shape.clone();
        reversed.reverse();
        let mut more_rank = shape.clone();
        more_rank.push(1);
        for (what, s) in [
            ("flat", vec![count]),
            ("reversed", reversed),
            ("rank+1", more_rank),
        ] {
            if s == shape {
                continue;
            }
            let h = with_entry(&base, name, |e| e["shape"] = json!(s));
            // logits_conv/kernel's last axis and a few others define the architecture; either
            // the inference or the shape check must name the tensor.
            expect_rejected(
                &format!("{name} shape {what} {s:?}"),
                &assemble(&h, base.body()),
                &[name],
            );
        }
        // A shape that does not match the bytes: safetensors' own check.
        let mut bigger = shape.clone();
        bigger[0] += 1;
        let h = with_entry(&base, name, |e| e["shape"] = json!(bigger));
        expect_rejected(
            &format!("{name} shape {bigger:?}"),
            &assemble(&h, base.body()),
            &[name],
        );
        // Dimensions whose product overflows.
        let h = with_entry(&base, name, |e| e["shape"] = json!([u64::MAX, u64::MAX, 2]));
        expect_rejected(
            &format!("{name} overflowing shape"),
            &assemble(&h, base.body()),
            &[SOURCE],
        );
        let h = with_entry(&base, name, |e| e["shape"] = json!([]));
        expect_rejected(
            &format!("{name} scalar shape"),
            &assemble(&h, base.body()),
            &[name],
        );
    }
}

#[test]
fn wrong_dtypes() {
    let base = Base::new();
    for name in SAMPLE {
        // Same width as F32, so the file is well-formed and the loader must refuse the type.
        for dtype in ["I32", "U32"] {
            let h = with_entry(&base, name, |e| e["dtype"] = json!(dtype));
            expect_rejected(
                &format!("{name} as {dtype}"),
                &assemble(&h, base.body()),
                &[name, dtype],
            );
        }
        // Other widths: the byte count no longer matches the shape.
        for dtype in ["F64", "F16", "BF16", "U8", "BOOL", "I64"] {
            let h = with_entry(&base, name, |e| e["dtype"] = json!(dtype));
            expect_rejected(&format!("{name} as {dtype}"), &assemble(&h, base.body()), &[name]);
        }
        // Not a dtype at all.
        for dtype in [json!("F33"), json!(""), json!(32), json!(null)] {
            let h = with_entry(&base, name, |e| e["dtype"] = dtype.clone());
            expect_rejected(
                &format!("{name} dtype {dtype}"),
                &assemble(&h, base.body()),
                &[SOURCE],
            );
        }
    }
}

#[test]
fn wrong_offsets() {
    let base = Base::new();
    let names = base.tensor_names();
    let body_len = base.body().len() as u64;
    for (i, name) in names.iter().enumerate().step_by(7) {
        let (s, e) = base.offsets(name);
        let (s, e) = (s as u64, e as u64);
        let mut cases = vec![
            ("reversed", json!([e, s])),
            ("shifted by 4", json!([s + 4, e + 4])),
            ("one short", json!([s, e - 1])),
            ("past the end", json!([body_len, body_len + (e - s)])),
            ("huge", json!([u64::MAX - 1, u64::MAX])),
            ("one number", json!([s])),
            ("not numbers", json!(["a", "b"])),
        ];
        if i > 0 {
            // Overlapping the previous tensor by one element.
            cases.push(("overlapping", json!([s - 4, e - 4])));
        }
        for (what, offsets) in cases {
            let h = with_entry(&base, name, |entry| entry["data_offsets"] = offsets.clone());
            expect_rejected(
                &format!("{name} offsets {what} {offsets}"),
                &assemble(&h, base.body()),
                &[SOURCE],
            );
        }
    }
}

#[test]
fn missing_and_extra_tensors() {
    let base = Base::new();
    let names = base.tensor_names();
    // Drop the last tensor and its bytes so the file stays well-formed.
    let last = names.last().unwrap();
    let (s, _) = base.offsets(last);
    let mut h = base.header.clone();
    h.remove(last);
    expect_rejected(
        &format!("{last} missing"),
        &assemble(&h, &base.body()[..s]),
        &[last],
    );
    // Any other tensor missing: its bytes stay, so the offsets no longer tile the data.
    for name in SAMPLE {
        let mut h = base.header.clone();
        h.remove(name);
        expect_rejected(&format!("{name} removed"), &assemble(&h, base.body()), &[SOURCE]);
    }
    // An extra tensor at the end.
    let end = base.body().len() as u64;
    let mut h = base.header.clone();
    h.insert(
        "conv_dw_12/kernel".into(),
        json!({"dtype": "F32", "shape": [2], "data_offsets": [end, end + 8]}),
    );
    let mut body = base.body().to_vec();
    body.extend_from_slice(&[0; 8]);
    expect_rejected(
        "extra tensor",
        &assemble(&h, &body),
        &["conv_dw_12/kernel", "unexpected"],
    );
}

#[test]
fn bad_metadata() {
    let base = Base::new();
    let with_meta = |key: &str, value: Option<Value>| {
        let mut h = base.header.clone();
        let meta = h.get_mut("__metadata__").unwrap().as_object_mut().unwrap();
        match value {
            Some(v) => meta.insert(key.to_string(), v),
            None => meta.remove(key),
        };
        assemble(&h, base.body())
    };
    let cases: &[(&str, Value)] = &[
        ("alpha", json!("abc")),
        ("alpha", json!("0.5")),
        ("alpha", json!("NaN")),
        ("alpha", json!("-0.25")),
        ("n_classes", json!("7")),
        ("n_classes", json!("-1")),
        ("l1_skip_conn", json!("maybe")),
        ("l1_skip_conn", json!("true")),
        ("decoder_activation", json!("tanh")),
        ("bn_epsilon", json!("-1")),
        ("bn_epsilon", json!("NaN")),
        ("bn_epsilon", json!("inf")),
        ("bn_epsilon", json!("x")),
        ("preprocessing", json!("xyz")),
        ("class_names", json!("[1, 2]")),
        ("class_names", json!("[\"only one\"]")),
        ("class_names", json!("not json")),
        ("class_colors", json!("[[300, 0, 0], [0, 0, 0], [0, 0, 0]]")),
        ("class_colors", json!("[[1, 2]]")),
        ("input_height", json!("17")),
        ("input_height", json!("0")),
        ("input_height", json!("99999999999999999999999")),
        ("input_width", json!("32768")),
        ("depth_multiplier", json!("2")),
        ("format", json!("onnx")),
    ];
    for (key, value) in cases {
        expect_rejected(
            &format!("metadata {key} = {value}"),
            &with_meta(key, Some(value.clone())),
            &[key],
        );
    }
    // Metadata values must be strings (safetensors' own rule).
    expect_rejected(
        "metadata alpha = 0.25 (a number)",
        &with_meta("alpha", Some(json!(0.25))),
        &[SOURCE],
    );
    let mut h = base.header.clone();
    h.insert("__metadata__".into(), json!(["not", "a", "map"]));
    expect_rejected("metadata is a list", &assemble(&h, base.body()), &[SOURCE]);
    // Unknown keys are ignored, and every key is optional: the shapes give the architecture.
    assert!(matches!(
        run_case("unknown key", &with_meta("comment", Some(json!("hello")))),
        Outcome::Accepted
    ));
    let mut h = base.header.clone();
    h.remove("__metadata__");
    assert!(matches!(
        run_case("no metadata", &assemble(&h, base.body())),
        Outcome::Accepted
    ));
}

/// The file with every f32 of tensor `name` replaced by `f(index)`.
fn flooded(base: &Base, name: &str, f: impl Fn(usize) -> f32) -> Vec<u8> {
    let mut bytes = base.bytes.clone();
    let (s, e) = base.offsets(name);
    let at = base.data_start();
    for (i, chunk) in bytes[at + s..at + e].chunks_exact_mut(4).enumerate() {
        chunk.copy_from_slice(&f(i).to_le_bytes());
    }
    bytes
}

#[test]
fn non_finite_floods_are_rejected_naming_the_tensor() {
    let base = Base::new();
    for name in SAMPLE {
        for (what, value) in [
            ("NaN", f32::NAN),
            ("+Inf", f32::INFINITY),
            ("-Inf", f32::NEG_INFINITY),
        ] {
            let bytes = flooded(&base, name, |_| value);
            expect_rejected(&format!("{name} all {what}"), &bytes, &[name, "non-finite"]);
        }
        // One bad value among good ones, far from the start.
        let (s, e) = base.offsets(name);
        let last = (e - s) / 4 - 1;
        let bytes = flooded(&base, name, |i| if i == last { f32::NAN } else { 0.5 });
        expect_rejected(
            &format!("{name} one NaN"),
            &bytes,
            &[name, "1 non-finite", &format!("index {last}")],
        );
    }
}

#[test]
fn zero_variance_needs_a_positive_epsilon() {
    let base = Base::new();
    let name = "conv_pw_3_bn/moving_variance";
    let zero_var = flooded(&base, name, |_| 0.0);
    // With Keras's epsilon 1e-3 a zero variance is fine (scale = gamma / sqrt(1e-3)).
    assert!(matches!(run_case("zero variance", &zero_var), Outcome::Accepted));
    // With epsilon 0 BatchNorm would divide by zero: the error names the tensor.
    let mut header = base.header.clone();
    header["__metadata__"]["bn_epsilon"] = json!("0");
    let bytes = assemble(&header, &zero_var[base.data_start()..]);
    expect_rejected("zero variance, epsilon 0", &bytes, &[name, "bn_epsilon"]);
}

#[test]
fn corrupted_files_on_disk() {
    // The same checks through `Weights::load` and `Model::load`: the path is in every error.
    let base = Base::new();
    let dir = std::env::temp_dir().join(format!("mobilenet-unet-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng(SEED ^ 3);
    for case in 0..20 {
        let cut = rng.range(0, base.bytes.len());
        let path = dir.join(format!("cut{case}.safetensors"));
        std::fs::write(&path, &base.bytes[..cut]).unwrap();
        let shown = path.display().to_string();
        let e = Weights::load(&path).unwrap_err().to_string();
        assert!(e.contains(&shown), "{e}");
        let e = Model::load(&path).err().unwrap().to_string();
        assert!(e.contains(&shown), "{e}");
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn batchnorm_that_overflows_when_folded_is_rejected_naming_the_layer() {
    // Every tensor is finite, but gamma / sqrt(0 + 1e-3) is ~1e40: folded into the kernel it
    // would be infinite, and every output NaN.
    let base = Base::new();
    for (bn, layer) in [
        ("conv_dw_3_bn", "conv_dw_3"),
        ("conv_pw_3_bn", "conv_pw_3"),
        ("dec2_bn", "dec2_conv"),
    ] {
        let mut bytes = flooded(&base, &format!("{bn}/gamma"), |_| 3.0e38);
        let (s, e) = base.offsets(&format!("{bn}/moving_variance"));
        let at = base.data_start();
        bytes[at + s..at + e].fill(0);
        expect_rejected(
            &format!("{bn} gamma 3e38, variance 0"),
            &bytes,
            &[layer, "not finite", "BatchNormalization"],
        );
    }
}
