//! One kernel call with its oracle, compared element by element.
//!
//! A test describes a case as a [`Problem`]: the expected output (from the reference, in the
//! same layout as the kernel's output, NaN wherever the kernel must not write), the kernel's
//! output on a tier, and how close the two must be. [`Problem::check`] compares them and, on
//! failure, reports the shape, how many elements are wrong and the worst one: its index, the
//! value found, the value expected and the tolerance.

use super::tiers;
use mobilenet_unet_kernels::Tier;
use proptest::test_runner::TestCaseError;

/// How close a found element must be to the expected one. Wherever the expected element is
/// NaN the found one must be NaN too (an element the kernel must leave alone, or a NaN that
/// must propagate), whatever the tolerance.
#[derive(Debug, Clone)]
pub enum Tolerance {
    /// The same bits: copies, and kernels that promise the oracle's rounding exactly.
    Bits,
    /// Equal as floats (`0.0` matches `-0.0`).
    Equal,
    /// `|found − expected| <= bound[i]` for element `i`.
    Within(Vec<f32>),
}

impl Tolerance {
    /// The bound for element `i` (0 for the exact kinds), for messages.
    fn bound(&self, i: usize) -> f32 {
        match self {
            Tolerance::Bits | Tolerance::Equal => 0.0,
            Tolerance::Within(b) => b[i],
        }
    }

    /// How wrong `found` is, as a multiple of the bound: `<= 1` is right, infinite for a NaN
    /// mismatch or a wrong exact value.
    fn badness(&self, i: usize, found: f32, expected: f32) -> f32 {
        if expected.is_nan() || found.is_nan() {
            return if expected.is_nan() && found.is_nan() {
                0.0
            } else {
                f32::INFINITY
            };
        }
        match self {
            Tolerance::Bits if found.to_bits() == expected.to_bits() => 0.0,
            Tolerance::Equal if found == expected => 0.0,
            Tolerance::Bits | Tolerance::Equal => f32::INFINITY,
            Tolerance::Within(b) => {
                let err = (found - expected).abs();
                if err <= b[i] {
                    0.0
                } else if b[i] > 0.0 {
                    err / b[i]
                } else {
                    f32::INFINITY
                }
            }
        }
    }
}

/// Compares `found` with `expected` element by element; `locate(i)` names element `i` in the
/// message (e.g. `C[3][17]`). `Err` says how many are wrong, shows the worst and the first few.
pub fn compare(
    found: &[f32],
    expected: &[f32],
    tolerance: &Tolerance,
    locate: impl Fn(usize) -> String,
) -> Result<(), String> {
    if found.len() != expected.len() {
        return Err(format!(
            "found {} elements, expected {}",
            found.len(),
            expected.len()
        ));
    }
    if let Tolerance::Within(b) = tolerance {
        assert_eq!(b.len(), expected.len(), "one bound per element");
    }
    let bad: Vec<(usize, f32)> = found
        .iter()
        .zip(expected)
        .enumerate()
        .map(|(i, (&f, &e))| (i, tolerance.badness(i, f, e)))
        .filter(|&(_, b)| b > 0.0)
        .collect();
    let Some(&(worst, _)) = bad.iter().max_by(|x, y| x.1.total_cmp(&y.1)) else {
        return Ok(());
    };
    let line = |i: usize| {
        format!(
            "{}: found {}, expected {}, tolerance {:e}",
            locate(i),
            found[i],
            expected[i],
            tolerance.bound(i)
        )
    };
    let first: Vec<String> = bad
        .iter()
        .take(8)
        .map(|&(i, _)| format!("  {}", line(i)))
        .collect();
    Err(format!(
        "{} of {} elements wrong; worst {}\nfirst:\n{}",
        bad.len(),
        found.len(),
        line(worst),
        first.join("\n")
    ))
}

/// `Err` naming the first element whose bits differ between two runs (e.g. 1 and 2 threads).
pub fn same_bits(a: &[f32], b: &[f32]) -> Result<(), String> {
    compare(b, a, &Tolerance::Bits, |i| format!("[{i}]"))
}

/// One kernel call with its oracle. See the module docs.
pub trait Problem {
    /// Every parameter of the case except the data, for failure messages.
    fn shape(&self) -> String;

    /// What the kernel must produce, from the reference; NaN where it must not write.
    fn expected(&self) -> Vec<f32>;

    /// What the kernel produces on `tier` (into a NaN-filled buffer, so an unwritten element
    /// shows).
    fn run(&self, tier: Tier) -> Vec<f32>;

    /// How close [`Problem::run`] must come to `expected`.
    fn tolerance(&self, expected: &[f32]) -> Tolerance;

    /// A name for element `i` of the output in failure messages.
    fn locate(&self, i: usize) -> String {
        format!("[{i}]")
    }

    /// Properties a correct output has beyond matching the oracle (softmax rows sum to 1).
    fn invariants(&self, _found: &[f32]) -> Result<(), String> {
        Ok(())
    }

    /// Runs `tier` and compares; `Err` carries the whole report.
    fn verify(&self, tier: Tier) -> Result<(), String> {
        let expected = self.expected();
        let found = self.run(tier);
        compare(&found, &expected, &self.tolerance(&expected), |i| self.locate(i))
            .and_then(|()| self.invariants(&found))
            .map_err(|e| format!("tier {tier}, {}: {e}", self.shape()))
    }

    /// [`Problem::verify`] for proptest.
    fn check(&self, tier: Tier) -> Result<(), TestCaseError> {
        self.verify(tier).map_err(TestCaseError::fail)
    }

    /// [`Problem::check`] on every tier this CPU has.
    fn check_every_tier(&self) -> Result<(), TestCaseError> {
        tiers().into_iter().try_for_each(|tier| self.check(tier))
    }

    /// [`Problem::verify`] on every tier this CPU has, panicking with the report.
    fn assert_every_tier(&self) {
        for tier in tiers() {
            if let Err(e) = self.verify(tier) {
                panic!("{e}");
            }
        }
    }
}
