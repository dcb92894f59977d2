//! Channel concatenation and channel-slice copies: every tier against independent
//! constructions with NaN-prefilled outputs, argument errors, the parallel split.

use mobilenet_unet_kernels::concat::{
    self, concat_channels_nhwc_with_tier, copy_channels_into_with_tier, PAR_CHUNK,
};
use mobilenet_unet_kernels::{KernelError, Tier};
use ndarray::{concatenate, Array4, Axis};
use proptest::prelude::*;

mod common;
use common::{tiers, Problem, Rng, Tolerance};

#[derive(Debug, Clone)]
struct ConcatProblem {
    pixels: usize,
    channels: Vec<usize>,
    inputs: Vec<Vec<f32>>,
    /// Assemble the output with one `copy_channels_into` per input instead of one concat.
    by_slices: bool,
}

impl ConcatProblem {
    fn strategy() -> impl Strategy<Value = Self> {
        let c = prop_oneof![1usize..=17, prop::sample::select(vec![0, 24, 32, 33])];
        // pixels = batch·h·w: 1x1, odd sizes, batch 2 of 3x5
        (
            prop::sample::select(vec![1usize, 2, 7, 15, 30]),
            prop::collection::vec(c, 1..=4),
        )
            .prop_flat_map(|(pixels, channels)| {
                let inputs: Vec<_> = channels
                    .iter()
                    .map(|&c| prop::collection::vec(-9.0f32..9.0, pixels * c))
                    .collect();
                inputs.prop_map(move |inputs| ConcatProblem {
                    pixels,
                    channels: channels.clone(),
                    inputs,
                    by_slices: false,
                })
            })
    }

    /// `pixels` pixels of inputs with `channels` channels each, random values.
    fn random(pixels: usize, channels: &[usize], seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        ConcatProblem {
            pixels,
            channels: channels.to_vec(),
            inputs: channels.iter().map(|&c| rng.vec(pixels * c, -9.0, 9.0)).collect(),
            by_slices: false,
        }
    }

    /// The same case assembled with `copy_channels_into`.
    fn by_slices(&self) -> Self {
        ConcatProblem {
            by_slices: true,
            ..self.clone()
        }
    }

    fn total(&self) -> usize {
        self.channels.iter().sum()
    }
}

impl Problem for ConcatProblem {
    fn shape(&self) -> String {
        let via = if self.by_slices {
            "copy_channels_into"
        } else {
            "concat"
        };
        format!("{via}: {} pixels, channels {:?}", self.pixels, self.channels)
    }

    /// Built with ndarray's `concatenate`, independently of the kernels.
    fn expected(&self) -> Vec<f32> {
        let views: Vec<_> = self
            .inputs
            .iter()
            .zip(&self.channels)
            .map(|(x, &c)| Array4::from_shape_vec((1, 1, self.pixels, c), x.clone()).unwrap())
            .collect();
        let views: Vec<_> = views.iter().map(|a| a.view()).collect();
        concatenate(Axis(3), &views).unwrap().iter().copied().collect()
    }

    /// Into a NaN-filled output: one concat call, or one `copy_channels_into` per input.
    fn run(&self, tier: Tier) -> Vec<f32> {
        let total = self.total();
        let mut out = vec![f32::NAN; self.pixels * total];
        if self.by_slices {
            let mut off = 0;
            for (x, &c) in self.inputs.iter().zip(&self.channels) {
                copy_channels_into_with_tier(tier, x, self.pixels, c, &mut out, total, off).unwrap();
                off += c;
            }
        } else {
            let refs: Vec<&[f32]> = self.inputs.iter().map(|v| &v[..]).collect();
            concat_channels_nhwc_with_tier(tier, &refs, &self.channels, self.pixels, &mut out).unwrap();
        }
        out
    }

    fn tolerance(&self, _expected: &[f32]) -> Tolerance {
        Tolerance::Bits
    }

    fn locate(&self, i: usize) -> String {
        let total = self.total();
        format!("pixel {} channel {}", i / total, i % total)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn every_tier_matches_the_reference(p in ConcatProblem::strategy()) {
        p.check_every_tier()?;
        p.by_slices().check_every_tier()?;
    }
}

#[test]
fn copy_into_leaves_other_channels_alone() {
    for tier in tiers() {
        let src: Vec<f32> = (0..6 * 3).map(|i| i as f32).collect();
        let mut dst = vec![f32::NAN; 6 * 8];
        copy_channels_into_with_tier(tier, &src, 6, 3, &mut dst, 8, 4).unwrap();
        for (i, &v) in dst.iter().enumerate() {
            let (p, ch) = (i / 8, i % 8);
            if (4..7).contains(&ch) {
                assert_eq!(v, src[p * 3 + ch - 4], "{tier}");
            } else {
                assert!(v.is_nan(), "{tier}: channel {ch} of pixel {p} was written");
            }
        }
    }
}

#[test]
fn ndarray_wrapper() {
    let a = Array4::from_shape_fn((2, 3, 5, 4), |(n, y, x, c)| (n * 100 + y * 10 + x + c) as f32);
    let b = Array4::from_shape_fn((2, 3, 5, 2), |(n, y, x, c)| -((n * 100 + y * 10 + x + c) as f32));
    let got = concat::concat_channels(&[a.view(), b.view()]).unwrap();
    assert_eq!(got, concatenate(Axis(3), &[a.view(), b.view()]).unwrap());
    let c = Array4::<f32>::zeros((2, 3, 4, 1));
    assert!(concat::concat_channels(&[a.view(), c.view()]).is_err());
    assert!(concat::concat_channels(&[]).is_err());
}

#[test]
fn wrong_arguments_are_errors() {
    for tier in tiers() {
        let (a, b) = (vec![0.0; 10 * 3], vec![0.0; 10 * 5]);
        let mut out = vec![0.0; 10 * 8];
        assert!(concat_channels_nhwc_with_tier(tier, &[&a, &b], &[3, 5], 10, &mut out).is_ok());
        let e = concat_channels_nhwc_with_tier(tier, &[&a, &b], &[3], 10, &mut out);
        assert!(
            matches!(e, Err(KernelError::LengthMismatch { what: "channels", .. })),
            "{tier}"
        );
        let e = concat_channels_nhwc_with_tier(tier, &[&a, &b[1..]], &[3, 5], 10, &mut out);
        assert!(
            matches!(
                e,
                Err(KernelError::LengthMismatch {
                    what: "inputs[i]",
                    ..
                })
            ),
            "{tier}"
        );
        let e = concat_channels_nhwc_with_tier(tier, &[&a, &b], &[3, 5], 10, &mut out[..79]);
        assert!(
            matches!(e, Err(KernelError::LengthMismatch { what: "output", .. })),
            "{tier}"
        );
        let e = copy_channels_into_with_tier(tier, &a, 10, 3, &mut out, 8, 6);
        assert!(matches!(e, Err(KernelError::InvalidParams { .. })), "{tier}");
        let e = copy_channels_into_with_tier(tier, &a, 10, 3, &mut out[1..], 8, 0);
        assert!(
            matches!(e, Err(KernelError::LengthMismatch { what: "dst", .. })),
            "{tier}"
        );
    }
}

/// Both kernels split the output into tasks of `PAR_CHUNK / total` whole pixels (and
/// `copy_channels_into` cuts its source into matching blocks); a task whose first pixel were
/// miscounted would copy the wrong pixels. Pixel counts just below, just past one and past two
/// tasks, against ndarray: the proptest's tensors fit in one task.
#[test]
fn tasks_start_at_the_right_pixel() {
    for channels in [&[48, 24][..], &[5, 3, 17]] {
        let per_task = PAR_CHUNK / channels.iter().sum::<usize>();
        for pixels in [per_task - 1, per_task + 1, 2 * per_task + 3] {
            let p = ConcatProblem::random(pixels, channels, pixels as u64);
            p.assert_every_tier();
            p.by_slices().assert_every_tier();
        }
    }
}
