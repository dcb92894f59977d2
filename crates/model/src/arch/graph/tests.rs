//! Unit tests of the parent module (kept in their own file so the module reads top to bottom).

use super::*;
use crate::Architecture;

fn configs() -> Vec<Config> {
    let relu_l1 = Config {
        alpha: 0.5,
        n_classes: 5,
        l1_skip_conn: true,
        decoder_activation: DecoderActivation::Relu,
        ..Config::default()
    };
    vec![Config::default(), relu_l1]
}

/// The step that writes each value.
fn writers(g: &Graph) -> Vec<Vec<usize>> {
    let mut w = vec![Vec::new(); g.values.len()];
    for (i, s) in g.steps.iter().enumerate() {
        w[s.output.0].push(i);
    }
    w
}

#[test]
fn lifetimes_run_from_definition_to_last_use() {
    for cfg in configs() {
        let g = Graph::new(&cfg).unwrap();
        let (life, writers) = (g.lifetimes(), writers(&g));
        for (v, w) in writers.iter().enumerate() {
            assert_eq!(w.len(), 1, "{} is written by steps {w:?}", g.values[v].name);
            assert_eq!(life[v].first, w[0], "{}", g.values[v].name);
        }
        let mut readers = vec![Vec::new(); g.values.len()];
        for (i, s) in g.steps.iter().enumerate() {
            for v in s.inputs.reads().into_iter().flatten() {
                assert!(
                    life[v.0].first < i,
                    "{} reads {} before it is written",
                    s.name,
                    g.values[v.0].name
                );
                assert!(
                    i <= life[v.0].last,
                    "{} reads {} after its lifetime",
                    s.name,
                    g.values[v.0].name
                );
                readers[v.0].push(i);
            }
        }
        // Tight: a value dies at its last reader; only the result has none.
        for (v, r) in readers.iter().enumerate() {
            match r.last() {
                Some(&last) => assert_eq!(life[v].last, last, "{}", g.values[v].name),
                None => assert_eq!(Some(ValueId(v)), g.output(), "{} is never read", g.values[v].name),
            }
        }
    }
}

#[test]
fn steps_read_every_keras_weight_tensor_exactly_once() {
    for cfg in configs() {
        let read = Graph::new(&cfg).unwrap().tensors();
        let mut unique = read.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), read.len(), "a tensor is read twice: {read:?}");
        let mut expected: Vec<String> = Architecture::new(&cfg)
            .unwrap()
            .expected_tensors()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        expected.sort();
        assert_eq!(unique, expected, "{cfg:?}");
        // conv1 + BN, 11 x (depthwise + BN, pointwise + BN), 4 x (conv, bias, BN), logits + bias.
        assert_eq!(read.len(), 5 + 11 * 10 + 4 * 6 + 2);
    }
}

#[test]
fn decoder_skips_are_the_seeds() {
    // dec2 concatenates f3 (block 5), dec3 f2 (block 3), dec4 f1 (block 1) with l1_skip_conn only.
    for cfg in configs() {
        let g = Graph::new(&cfg).unwrap();
        let name = |v: ValueId| g.values[v.0].name.as_str();
        let step = |n: &str| g.steps.iter().find(|s| s.name == n).unwrap();
        for (stage, low, skip) in [
            (2, "dec1_conv", Some("conv_pw_5")),
            (3, "dec2_conv", Some("conv_pw_3")),
            (4, "dec3_conv", cfg.l1_skip_conn.then_some("conv_pw_1")),
        ] {
            match step(&format!("dec{stage}_conv")).inputs {
                Inputs::UpsampleConcat { low: l, skip: s } => {
                    assert_eq!((name(l), s.map(name)), (low, skip), "dec{stage}, {cfg:?}")
                }
                other => panic!("dec{stage} reads {other:?}"),
            }
        }
        assert_eq!(step("dec1_conv").inputs, Inputs::One(step("conv_pw_11").output));
    }
}

#[test]
fn step_names_are_the_profile_names() {
    let mut expected = vec!["conv1".to_string()];
    for b in 1..=11 {
        expected.extend([format!("conv_dw_{b}"), format!("conv_pw_{b}")]);
    }
    expected.extend((1..=4).map(|s| format!("dec{s}_conv")));
    expected.extend(["logits_conv".into(), "softmax".into()]);
    let g = Graph::new(&Config::default()).unwrap();
    let names: Vec<&str> = g
        .steps
        .iter()
        .filter(|s| s.op != Op::Input)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, expected);
}

#[test]
fn shapes_follow_the_specs_and_reject_mismatched_skips() {
    let g = Graph::new(&Config::default()).unwrap();
    let s = g.shapes(2, 416, 608).unwrap();
    let shape = |n: &str| s.values[g.values.iter().position(|v| v.name == n).unwrap()];
    assert_eq!(shape("conv1"), [208, 304, 32]);
    assert_eq!(shape("conv_pw_11"), [26, 38, 512]);
    assert_eq!(shape("dec4_conv"), [208, 304, 64]);
    assert_eq!(shape("probabilities"), [208, 304, 2]);
    assert_eq!(s.len(ValueId(1)), 2 * 208 * 304 * 32);
    // 40 halves to 20, 10, 5, 3: dec1 upsampled (6) cannot meet f3 (5).
    assert!(matches!(g.shapes(1, 40, 40), Err(Error::InputShape(_))));
}
