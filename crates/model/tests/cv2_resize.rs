//! `resize::cv2_linear_u8` and `resize::cv2_nearest_index` against OpenCV itself: every byte
//! of `cv2.resize` (INTER_LINEAR and INTER_NEAREST) on the cases in
//! `fixtures/cv2_resize.json`, written by `tools/cv2_resize_fixture.py` with opencv-python.

use mobilenet_unet::resize::{cv2_linear_u8, cv2_nearest_index};

struct Case {
    src_hw: (usize, usize),
    dst_hw: (usize, usize),
    src: Vec<u8>,
    linear: Vec<u8>,
    nearest: Vec<u8>,
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cv2_resize.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let n = |c: &serde_json::Value, k: &str| c[k].as_u64().expect(k) as usize;
    let cases: Vec<Case> = json["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| Case {
            src_hw: (n(c, "src_h"), n(c, "src_w")),
            dst_hw: (n(c, "dst_h"), n(c, "dst_w")),
            src: unhex(c["src"].as_str().expect("src")),
            linear: unhex(c["linear"].as_str().expect("linear")),
            nearest: unhex(c["nearest"].as_str().expect("nearest")),
        })
        .collect();
    assert!(cases.len() >= 20, "only {} cases", cases.len());
    cases
}

/// Where two images differ: (row, column, channel, ours, OpenCV's) for the first few.
fn differences(got: &[u8], want: &[u8], w: usize) -> Vec<(usize, usize, usize, u8, u8)> {
    got.iter()
        .zip(want)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .take(8)
        .map(|(i, (&a, &b))| (i / 3 / w, i / 3 % w, i % 3, a, b))
        .collect()
}

#[test]
fn linear_equals_opencv_bit_for_bit() {
    let mut failures = Vec::new();
    for c in cases() {
        let got = cv2_linear_u8(&c.src, c.src_hw, 3, c.dst_hw).expect("resize");
        assert_eq!(got.len(), c.linear.len(), "{:?} -> {:?}", c.src_hw, c.dst_hw);
        if got != c.linear {
            failures.push(format!(
                "{:?} -> {:?}: {:?}",
                c.src_hw,
                c.dst_hw,
                differences(&got, &c.linear, c.dst_hw.1)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "(row, col, channel, ours, OpenCV's):\n{}",
        failures.join("\n")
    );
}

#[test]
fn nearest_index_equals_opencv() {
    for c in cases() {
        let ((h, w), (dh, dw)) = (c.src_hw, c.dst_hw);
        let mut got = Vec::with_capacity(dh * dw * 3);
        for y in 0..dh {
            let sy = cv2_nearest_index(y, h, dh);
            for x in 0..dw {
                let sx = cv2_nearest_index(x, w, dw);
                got.extend_from_slice(&c.src[(sy * w + sx) * 3..(sy * w + sx) * 3 + 3]);
            }
        }
        assert_eq!(got, c.nearest, "{:?} -> {:?}", c.src_hw, c.dst_hw);
    }
}
