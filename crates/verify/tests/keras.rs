//! `cargo test` runs every Keras check; a failure prints the offending rows.

use mobilenet_unet_verify::{default_fixtures_dir, default_model, layers, models, params, Check};

fn assert_all_pass(checks: Vec<Check>) {
    assert!(!checks.is_empty(), "no checks ran");
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| format!("{c:?}"))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} checks failed:\n{}",
        failed.len(),
        checks.len(),
        failed.join("\n")
    );
    println!("{} checks passed", checks.len());
}

#[test]
fn parameter_counts_equal_keras() {
    assert_all_pass(params::check_param_counts(&default_fixtures_dir()).unwrap());
}

#[test]
fn single_layers_equal_keras_on_every_tier() {
    assert_all_pass(layers::check_layers(&default_fixtures_dir()).unwrap());
}

#[test]
fn whole_models_equal_keras_at_every_tap() {
    assert_all_pass(models::check_models(&default_fixtures_dir()).unwrap());
}

#[test]
fn default_weights_eval_equals_keras() {
    assert_all_pass(default_model::check_default_weights_eval(&default_fixtures_dir()).unwrap());
}

#[test]
fn a_wrong_answer_is_caught() {
    // The checks must be able to fail: perturb one probability beyond the tolerance.
    let keras = vec![0.25f32, 0.75, 0.5, 0.5];
    let mut ours = keras.clone();
    ours[1] += 2e-4;
    assert!(
        !Check::compare(
            "t",
            "output",
            &ours,
            &keras,
            models::PROBABILITY_TOLERANCE,
            "max_abs"
        )
        .pass
    );
    assert!(
        Check::compare(
            "t",
            "output",
            &keras,
            &keras,
            models::PROBABILITY_TOLERANCE,
            "max_abs"
        )
        .pass
    );
    assert!(!Check::compare("t", "nan", &[f32::NAN], &[0.0], 1.0, "max_abs").pass);
    assert_eq!(
        models::argmax_agreement(&[0.9, 0.1, 0.2, 0.8], &[0.6, 0.4, 0.7, 0.3], 2),
        0.5
    );
}
