//! Nearest upsampling: every tier against the reference into NaN-prefilled, strided
//! destinations (exactly the channel slice is written), argument errors, outputs of several tasks.

use mobilenet_unet_kernels::upsample::{self, upsample_nearest_nhwc_with_tier, UpsampleShape};
use mobilenet_unet_kernels::{KernelError, Tier};
use ndarray::Array4;
use proptest::prelude::*;

mod common;
use common::{tiers, Problem, Rng, Tolerance};

fn channels() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..=17, prop::sample::select(vec![23, 24, 25, 31, 32, 33])]
}

/// One upsampling into channels `[before, before + c)` of a `before + c + after`-channel
/// destination pre-filled with NaN.
#[derive(Debug, Clone)]
struct UpProblem {
    batch: usize,
    h: usize,
    w: usize,
    c: usize,
    fy: usize,
    fx: usize,
    before: usize,
    after: usize,
    input: Vec<f32>,
}

impl UpProblem {
    fn strategy() -> impl Strategy<Value = Self> {
        let factors = prop_oneof![3 => Just((2usize, 2usize)), 1 => (1usize..=3, 1usize..=3)];
        let slice = prop_oneof![Just((0usize, 0usize)), (0usize..=9, 0usize..=9)];
        (1usize..=2, 1usize..=5, 1usize..=5, channels(), factors, slice).prop_flat_map(
            |(batch, h, w, c, (fy, fx), (before, after))| {
                prop::collection::vec(-100.0f32..100.0, batch * h * w * c).prop_map(move |input| UpProblem {
                    batch,
                    h,
                    w,
                    c,
                    fy,
                    fx,
                    before,
                    after,
                    input,
                })
            },
        )
    }

    fn stride(&self) -> usize {
        self.before + self.c + self.after
    }

    fn out_len(&self) -> usize {
        self.batch * self.h * self.fy * self.w * self.fx * self.stride()
    }

    /// `h x w` images of `c` channels upsampled by `fy x fx` into the channels
    /// `[before, before + c)` of a `before + c + after`-channel destination.
    fn random(
        batch: usize,
        (h, w, c): (usize, usize, usize),
        (fy, fx): (usize, usize),
        (before, after): (usize, usize),
        seed: u64,
    ) -> Self {
        let input = Rng::new(seed).vec(batch * h * w * c, -100.0, 100.0);
        UpProblem {
            batch,
            h,
            w,
            c,
            fy,
            fx,
            before,
            after,
            input,
        }
    }
}

impl Problem for UpProblem {
    fn shape(&self) -> String {
        format!(
            "batch {} {}x{}x{} upsampled {}x{} into channels {}..{} of {}",
            self.batch,
            self.h,
            self.w,
            self.c,
            self.fy,
            self.fx,
            self.before,
            self.before + self.c,
            self.stride()
        )
    }

    /// The expected destination, built independently: NaN outside the slice.
    fn expected(&self) -> Vec<f32> {
        let (oh, ow, s) = (self.h * self.fy, self.w * self.fx, self.stride());
        let mut out = vec![f32::NAN; self.out_len()];
        for n in 0..self.batch {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ch in 0..self.c {
                        out[((n * oh + oy) * ow + ox) * s + self.before + ch] =
                            self.input[((n * self.h + oy / self.fy) * self.w + ox / self.fx) * self.c + ch];
                    }
                }
            }
        }
        out
    }

    fn run(&self, tier: Tier) -> Vec<f32> {
        let mut out = vec![f32::NAN; self.out_len()];
        let (b, h, w, c) = (self.batch, self.h, self.w, self.c);
        let shape =
            UpsampleShape::new(b, h, w, c, self.fy, self.fx).into_channels(self.stride(), self.before);
        upsample_nearest_nhwc_with_tier(tier, &shape, &self.input, &mut out).unwrap();
        out
    }

    fn tolerance(&self, _expected: &[f32]) -> Tolerance {
        Tolerance::Bits
    }

    fn locate(&self, i: usize) -> String {
        format!("pixel {} buffer channel {}", i / self.stride(), i % self.stride())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn every_tier_writes_exactly_the_channel_slice(p in UpProblem::strategy()) {
        p.check_every_tier()?;
    }
}

#[test]
fn contiguous_and_ndarray_versions_agree() {
    let a = Array4::from_shape_fn((2, 3, 5, 9), |(n, y, x, c)| {
        (n * 1000 + y * 100 + x * 10 + c) as f32
    });
    let up = upsample::upsample_nearest(a.view(), 2, 3).unwrap();
    assert_eq!(up.dim(), (2, 6, 15, 9));
    assert_eq!(up[[1, 5, 14, 8]], a[[1, 2, 4, 8]]);
    assert_eq!(up[[0, 3, 7, 2]], a[[0, 1, 2, 2]]);
    let mut flat = vec![f32::NAN; up.len()];
    upsample::upsample_nearest_nhwc(
        &UpsampleShape::new(2, 3, 5, 9, 2, 3),
        a.as_slice().unwrap(),
        &mut flat,
    )
    .unwrap();
    assert_eq!(up.as_slice().unwrap(), &flat[..]);
}

#[test]
fn wrong_arguments_are_errors() {
    for tier in tiers() {
        let mut out = vec![0.0; 2 * 4 * 4 * 5];
        let inp = vec![0.0; 2 * 2 * 2 * 3];
        let run = |inp: &[f32], out: &mut [f32], fy, stride, off| {
            let shape = UpsampleShape::new(2, 2, 2, 3, fy, 2).into_channels(stride, off);
            upsample_nearest_nhwc_with_tier(tier, &shape, inp, out)
        };
        assert!(run(&inp, &mut out, 2, 5, 2).is_ok());
        assert!(matches!(
            run(&inp[1..], &mut out, 2, 5, 2),
            Err(KernelError::LengthMismatch { what: "input", .. })
        ));
        assert!(matches!(
            run(&inp, &mut out[1..], 2, 5, 2),
            Err(KernelError::LengthMismatch { what: "output", .. })
        ));
        assert!(matches!(
            run(&inp, &mut out, 0, 5, 2),
            Err(KernelError::InvalidParams { .. })
        ));
        assert!(
            matches!(
                run(&inp, &mut out, 2, 5, 3),
                Err(KernelError::InvalidParams { .. })
            ),
            "slice past stride"
        );
        assert!(
            matches!(
                run(&inp, &mut out, 2, usize::MAX, 0),
                Err(KernelError::InvalidParams { .. })
            ),
            "overflow"
        );
    }
}

/// The fast tiers hand rayon blocks of `fy` output rows (one input row each), at least
/// `PAR_CHUNK` floats per task; the proptest's tensors fit in one task. 66 blocks of 2112 and
/// 3168 floats, room for several tasks of 15 and 10 blocks, against the reference, through
/// the 2x2 kernel and the general one.
#[test]
fn outputs_of_several_tasks() {
    for factors in [(2, 2), (3, 2)] {
        UpProblem::random(2, (33, 11, 40), factors, (4, 4), 3).assert_every_tier();
    }
}
