//! The forward pass: one loop over the network's steps ([`crate::arch::graph`]) on a planned arena.
//!
//! ```text
//! x ─conv1─ dw1─pw1(f1) ─dw2─pw2─dw3─pw3(f2) ─dw4─pw4─dw5─pw5(f3) ─dw6 … pw11(f4)
//!                                                                        │
//!   out ← softmax ← logits ← dec4 ← [up(dec3) ‖ f1?] ← dec3 ← [up(dec2) ‖ f2] ← dec2 ← [up(dec1) ‖ f3] ← dec1
//! ```
//!
//! The upsampling and the concatenation are never materialised: decoder stages 2..4 read
//! `concat(upsample2x(previous stage), skip tap)` in place, inside the Winograd input transform
//! (`ConvLayer::run_upsample_concat`; an im2col layer gets a temporary copy instead). Every
//! intermediate lives in one arena planned per (batch, height, width) from the values'
//! lifetimes (`crate::plan`); the logits are written straight into the caller's
//! output, where the softmax runs in place.

use crate::arch::graph::{Inputs, Tap, ValueId};
use crate::arch::{Graph, Step};
use crate::error::{Error, Result};
use crate::network::{ConvLayer, Network, StepRunner};
use crate::plan::{split_views, ForwardPlan, Location};
use mobilenet_unet_kernels::softmax::softmax_channels_inplace_with_tier;
use mobilenet_unet_kernels::winograd::UpsampleConcat;
use mobilenet_unet_kernels::{Conv2dParams, Tier};
use ndarray::Array4;

/// Intermediate tensors copied out during a forward pass, to locate mismatches layer by layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Taps {
    /// Encoder taps f1..f4 (outputs of blocks 1, 3, 5, 11), NHWC.
    pub f: Vec<Array4<f32>>,
    /// Decoder stages dec1..dec4 (after their BatchNormalization), NHWC.
    pub dec: Vec<Array4<f32>>,
    /// The classifier's output before softmax, NHWC `[N, H/2, W/2, classes]`.
    pub logits: Array4<f32>,
}

/// Wall time of one step of the forward pass (see [`crate::Model::profile`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StepTime {
    /// The step: the Keras layer of its kernel (`conv1`, `conv_dw_3`, `dec2_conv`, ...) or
    /// `softmax`.
    pub name: String,
    /// Seconds.
    pub seconds: f64,
    /// Multiply-accumulates of the step (0 for data movement).
    pub macs: u64,
}

/// Where a profiled pass records its step times, and the clock it reads them from.
pub(crate) struct Profiler<'a> {
    /// The steps timed so far.
    pub steps: &'a mut Vec<StepTime>,
    /// Seconds since any fixed moment (see [`crate::Model::predict_profiled`]).
    pub now: fn() -> f64,
}

/// Runs `f`, appending its wall time to `profile` when profiling.
fn timed<R>(profile: &mut Option<Profiler>, name: &str, macs: u64, f: impl FnOnce() -> R) -> R {
    match profile {
        None => f(),
        Some(p) => {
            let start = (p.now)();
            let r = f();
            p.steps.push(StepTime {
                name: name.to_string(),
                seconds: (p.now)() - start,
                macs,
            });
            r
        }
    }
}

/// A broken plan or step list: a bug, reported rather than undefined behaviour.
fn internal(step: &Step, what: &str) -> Error {
    Error::Internal(format!("step {}: {what}", step.name))
}

/// The caller's buffers and the arena, as one forward pass sees them.
struct Buffers<'a> {
    input: &'a [f32],
    arena: &'a mut [f32],
    output: &'a mut [f32],
}

impl Buffers<'_> {
    /// Borrows what `step` reads and, mutably, what it writes.
    fn views(&mut self, plan: &ForwardPlan, step: &Step) -> Result<([&[f32]; 2], &mut [f32])> {
        let reads = step.inputs.reads().map(|r| r.map(|v| &plan.locations[v.0]));
        let no_overlap = || internal(step, "the arena plan overlaps a read with the write");
        let outside = || internal(step, "a value lies outside the arena");
        let misplaced = || internal(step, "a read is where the step writes");
        let mut views: [&[f32]; 2] = [&[]; 2];
        match &plan.locations[step.output.0] {
            Location::Arena(write) => {
                let empty = 0..0;
                let ranges = reads.map(|r| match r {
                    Some(Location::Arena(range)) => range,
                    _ => &empty,
                });
                let (arena_reads, out) = split_views(self.arena, ranges, write).ok_or_else(no_overlap)?;
                for (view, (read, from_arena)) in views.iter_mut().zip(reads.into_iter().zip(arena_reads)) {
                    *view = match read {
                        None | Some(Location::Arena(_)) => from_arena,
                        Some(Location::Input) => self.input,
                        Some(Location::Output) => return Err(misplaced()),
                    };
                }
                Ok((views, out))
            }
            Location::Output => {
                for (view, read) in views.iter_mut().zip(reads) {
                    *view = match read {
                        None => &[],
                        Some(Location::Arena(range)) => self.arena.get(range.clone()).ok_or_else(outside)?,
                        Some(Location::Input) => self.input,
                        Some(Location::Output) => return Err(misplaced()),
                    };
                }
                Ok((views, &mut *self.output))
            }
            Location::Input => Err(internal(step, "a step writes the caller's input")),
        }
    }

    /// The elements of `v` (`None` if the arena is shorter than the plan).
    fn value(&self, plan: &ForwardPlan, v: ValueId) -> Option<&[f32]> {
        match &plan.locations[v.0] {
            Location::Input => Some(self.input),
            Location::Arena(range) => self.arena.get(range.clone()),
            Location::Output => Some(self.output),
        }
    }
}

/// Runs convolution `step` on `[x, skip]` (its reads, `skip` empty unless it concatenates one).
fn run_conv(
    tier: Tier,
    graph: &Graph,
    step: &Step,
    layer: &ConvLayer,
    params: &Conv2dParams,
    [x, skip]: [&[f32]; 2],
    y: &mut [f32],
) -> Result<()> {
    match step.inputs {
        Inputs::One(_) => layer.run(tier, params, x, y),
        Inputs::UpsampleConcat { low, .. } => {
            let input = UpsampleConcat {
                low: x,
                low_c: graph.values[low.0].channels,
                skip,
            };
            layer.run_upsample_concat(tier, params, &input, y)
        }
        Inputs::None => Err(internal(step, "a convolution without input")),
    }
}

/// Runs the network. `input` is NHWC `[batch, height, width, 3]`, `output` is
/// `[batch, height/2 · width/2, classes]` (softmax probabilities), `arena` has `plan.arena_len()`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward(
    net: &Network,
    tier: Tier,
    plan: &ForwardPlan,
    input: &[f32],
    arena: &mut [f32],
    output: &mut [f32],
    mut taps: Option<&mut Taps>,
    mut profile: Option<Profiler>,
) -> Result<()> {
    // The plan was made for this network (`plan_forward` checks the step count); a plan from
    // another network would be a bug, caught here rather than mis-zipped.
    if plan.step_params().len() != net.steps.len() {
        return Err(Error::Internal(format!(
            "{} steps, a plan for {} steps",
            net.steps.len(),
            plan.step_params().len()
        )));
    }
    let mut bufs = Buffers { input, arena, output };
    for (prepared, params) in net.steps.iter().zip(plan.step_params()) {
        let step = &prepared.step;
        match &prepared.runner {
            StepRunner::Input => continue,
            StepRunner::Conv(layer) => {
                let params = params.ok_or_else(|| internal(step, "no convolution parameters"))?;
                let (reads, y) = bufs.views(plan, step)?;
                timed(&mut profile, &step.name, params.macs(), || {
                    run_conv(tier, &net.graph, step, layer, &params, reads, y)
                })?;
            }
            StepRunner::Softmax => {
                let read = step.inputs.reads()[0].map(|v| &plan.locations[v.0]);
                if read != Some(&Location::Output) || plan.locations[step.output.0] != Location::Output {
                    return Err(internal(step, "softmax runs in place on the output"));
                }
                let k = net.graph.values[step.output.0].channels;
                timed(&mut profile, &step.name, 0, || {
                    softmax_channels_inplace_with_tier(tier, bufs.output, k)
                })?;
            }
        }
        if let Some(t) = taps.as_deref_mut() {
            copy_tap(t, net, plan, step, &bufs)?;
        }
    }
    Ok(())
}

/// Copies `step`'s output into `taps` if it is one. Right after the step: an arena value's
/// memory may be reused by the next steps (f1's is, without `l1_skip_conn`).
fn copy_tap(taps: &mut Taps, net: &Network, plan: &ForwardPlan, step: &Step, bufs: &Buffers) -> Result<()> {
    let v = step.output;
    let Some(tap) = net.graph.values[v.0].tap else {
        return Ok(());
    };
    let [h, w, c] = plan.shapes.values[v.0];
    let array = bufs
        .value(plan, v)
        .and_then(|data| to_array(data, [plan.batch, h, w, c]))
        .ok_or_else(|| internal(step, "a tap is shorter than its shape"))?;
    let (list, k) = match tap {
        Tap::Encoder(k) => (&mut taps.f, k),
        Tap::Decoder(k) => (&mut taps.dec, k),
        Tap::Logits => {
            taps.logits = array;
            return Ok(());
        }
    };
    if list.len() != k {
        return Err(internal(step, "taps out of order"));
    }
    list.push(array);
    Ok(())
}

fn to_array(data: &[f32], shape: [usize; 4]) -> Option<Array4<f32>> {
    let data = data.get(..shape.iter().product::<usize>())?;
    Array4::from_shape_vec(shape, data.to_vec()).ok()
}
