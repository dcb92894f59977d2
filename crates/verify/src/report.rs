//! Check results as a table or JSON.

use serde::Serialize;
use std::fmt::Write;

/// One comparison with Keras.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    /// The fixture case, e.g. `a025_k3_64x64`.
    pub case: String,
    /// What was compared, e.g. `dec2 (model)` or `conv avx2`.
    pub what: String,
    /// Largest absolute difference.
    pub max_abs: f64,
    /// `max_abs` divided by the tensor's scale (`max(max|keras|, 1)`).
    pub max_rel: f64,
    /// The bound `metric` must stay under.
    pub tolerance: f64,
    /// Which of `max_abs` / `max_rel` the tolerance applies to (or `exact` for counts).
    pub metric: &'static str,
    /// Extra information (e.g. argmax agreement).
    pub note: String,
    /// Whether the check passed.
    pub pass: bool,
}

impl Check {
    /// Compares two tensors of equal length; `metric` is `"max_rel"` or `"max_abs"`.
    pub fn compare(
        case: &str,
        what: &str,
        ours: &[f32],
        keras: &[f32],
        tolerance: f64,
        metric: &'static str,
    ) -> Check {
        let (max_abs, max_rel) = errors(ours, keras);
        let measured = if metric == "max_abs" { max_abs } else { max_rel };
        let same_len = ours.len() == keras.len();
        Check {
            case: case.into(),
            what: what.into(),
            max_abs,
            max_rel,
            tolerance,
            metric,
            note: if same_len {
                String::new()
            } else {
                format!("length {} vs Keras {}", ours.len(), keras.len())
            },
            pass: same_len && measured <= tolerance,
        }
    }

    /// An exact integer comparison (parameter counts).
    pub fn exact(case: &str, what: &str, ours: u64, keras: u64) -> Check {
        let diff = ours.abs_diff(keras) as f64;
        Check {
            case: case.into(),
            what: what.into(),
            max_abs: diff,
            max_rel: diff / (keras.max(1)) as f64,
            tolerance: 0.0,
            metric: "exact",
            note: format!("ours {ours}, keras {keras}"),
            pass: ours == keras,
        }
    }
}

/// `(max |a-b|, max |a-b| / max(max|b|, 1))`; NaN anywhere gives infinity.
pub fn errors(ours: &[f32], keras: &[f32]) -> (f64, f64) {
    let scale = keras.iter().fold(1.0f64, |m, v| m.max(v.abs() as f64));
    let mut max_abs = 0.0f64;
    for (a, b) in ours.iter().zip(keras) {
        let d = (*a as f64 - *b as f64).abs();
        if d.is_nan() {
            return (f64::INFINITY, f64::INFINITY);
        }
        max_abs = max_abs.max(d);
    }
    (max_abs, max_abs / scale)
}

/// All checks of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Every check in the order run.
    pub checks: Vec<Check>,
}

impl Report {
    /// True when every check passed.
    pub fn all_passed(&self) -> bool {
        self.checks.iter().all(|c| c.pass)
    }

    /// Number of failed checks.
    pub fn failures(&self) -> usize {
        self.checks.iter().filter(|c| !c.pass).count()
    }

    /// The table: case, what, max abs error, max relative error, tolerance, PASS/FAIL.
    pub fn to_table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "| {:<38} | {:<28} | {:>10} | {:>10} | {:>16} | ok   | note",
            "case", "what", "max abs", "max rel", "tolerance"
        );
        let _ = writeln!(
            s,
            "|{}|{}|{}|{}|{}|{}|---",
            "-".repeat(40),
            "-".repeat(30),
            "-".repeat(12),
            "-".repeat(12),
            "-".repeat(18),
            "-".repeat(6)
        );
        for c in &self.checks {
            let _ = writeln!(
                s,
                "| {:<38} | {:<28} | {:>10.3e} | {:>10.3e} | {:>16} | {:<4} | {}",
                c.case,
                c.what,
                c.max_abs,
                c.max_rel,
                format!("{} ≤ {:.0e}", c.metric, c.tolerance),
                if c.pass { "PASS" } else { "FAIL" },
                c.note
            );
        }
        let _ = writeln!(
            s,
            "\n{} checks, {} passed, {} failed",
            self.checks.len(),
            self.checks.len() - self.failures(),
            self.failures()
        );
        s
    }
}
