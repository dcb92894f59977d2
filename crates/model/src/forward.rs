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
//! lifetimes ([`plan`], [`crate::plan`]); the logits are written straight into the caller's
//! output, where the softmax runs in place.

use crate::arch::graph::{Inputs, Shapes, Storage, Tap, ValueId};
use crate::arch::{Graph, Step};
use crate::error::{Error, Result};
use crate::network::{ConvLayer, Kernel, Network};
use crate::plan::{plan_arena, split_views, ValueSpec};
use mobilenet_unet_kernels::softmax::softmax_channels_inplace;
use mobilenet_unet_kernels::winograd::UpsampleConcat;
use mobilenet_unet_kernels::Conv2dParams;
use ndarray::Array4;
use std::ops::Range;

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
    /// Seconds since any fixed moment (see [`crate::Model::profile_with_clock`]).
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

/// Where a value's elements are during a forward pass.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    /// The caller's input.
    Input,
    /// This range of the arena.
    Arena(Range<usize>),
    /// The caller's output.
    Output,
}

/// The memory plan for one (batch, height, width).
#[derive(Debug, Clone)]
pub(crate) struct ForwardPlan {
    pub batch: usize,
    pub height: usize,
    pub width: usize,
    /// Every value's shape and every convolution's parameters at this size.
    shapes: Shapes,
    /// `locations[v]` holds value `v`.
    locations: Vec<Location>,
    arena_len: usize,
}

impl ForwardPlan {
    /// Arena length in f32s.
    pub fn arena_len(&self) -> usize {
        self.arena_len
    }
}

/// Lays out every value of `graph` for a `batch x height x width` input: arena values share
/// memory when their lifetimes (first write to last read) do not overlap.
pub(crate) fn plan(graph: &Graph, batch: usize, height: usize, width: usize) -> Result<ForwardPlan> {
    let shapes = graph.shapes(batch, height, width)?;
    let lifetimes = graph.lifetimes();
    let in_arena: Vec<usize> = (0..graph.values.len())
        .filter(|&v| graph.values[v].storage == Storage::Arena)
        .collect();
    let specs: Vec<ValueSpec> = in_arena
        .iter()
        .map(|&v| ValueSpec {
            len: shapes.len(ValueId(v)),
            first: lifetimes[v].first,
            last: lifetimes[v].last,
        })
        .collect();
    let arena = plan_arena(&specs);
    let mut locations: Vec<Location> = graph
        .values
        .iter()
        .map(|v| match v.storage {
            Storage::Input => Location::Input,
            Storage::Arena => Location::Arena(0..0),
            Storage::Output => Location::Output,
        })
        .collect();
    for (&v, range) in in_arena.iter().zip(arena.ranges) {
        locations[v] = Location::Arena(range);
    }
    Ok(ForwardPlan {
        batch,
        height,
        width,
        shapes,
        locations,
        arena_len: arena.len,
    })
}

/// A broken plan or step list: a bug, reported rather than undefined behaviour.
fn internal(step: &Step, what: &str) -> Error {
    Error::Config(format!("internal error at step {}: {what}", step.name))
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
    graph: &Graph,
    step: &Step,
    layer: &ConvLayer,
    params: &Conv2dParams,
    [x, skip]: [&[f32]; 2],
    y: &mut [f32],
) -> Result<()> {
    match step.inputs {
        Inputs::One(_) => layer.run(params, x, y),
        Inputs::UpsampleConcat { low, .. } => {
            let input = UpsampleConcat {
                low: x,
                low_c: graph.values[low.0].channels,
                skip,
            };
            layer.run_upsample_concat(params, &input, y)
        }
        Inputs::None => Err(internal(step, "a convolution without input")),
    }
}

/// Runs the network. `input` is NHWC `[batch, height, width, 3]`, `output` is
/// `[batch, height/2 · width/2, classes]` (softmax probabilities), `arena` has `plan.arena_len()`.
pub(crate) fn forward(
    net: &Network,
    plan: &ForwardPlan,
    input: &[f32],
    arena: &mut [f32],
    output: &mut [f32],
    mut taps: Option<&mut Taps>,
    mut profile: Option<Profiler>,
) -> Result<()> {
    let n = net.graph.steps.len();
    if net.kernels.len() != n || plan.shapes.params.len() != n {
        return Err(Error::Config(format!(
            "internal error: {n} steps, {} kernels, a plan for {} steps",
            net.kernels.len(),
            plan.shapes.params.len()
        )));
    }
    let mut bufs = Buffers { input, arena, output };
    let steps = net.graph.steps.iter().zip(&net.kernels);
    for ((step, kernel), params) in steps.zip(&plan.shapes.params) {
        match kernel {
            Kernel::Input => continue,
            Kernel::Conv(layer) => {
                let params = params.ok_or_else(|| internal(step, "no convolution parameters"))?;
                let (reads, y) = bufs.views(plan, step)?;
                timed(&mut profile, &step.name, params.macs(), || {
                    run_conv(&net.graph, step, layer, &params, reads, y)
                })?;
            }
            Kernel::Softmax => {
                let read = step.inputs.reads()[0].map(|v| &plan.locations[v.0]);
                if read != Some(&Location::Output) || plan.locations[step.output.0] != Location::Output {
                    return Err(internal(step, "softmax runs in place on the output"));
                }
                let k = net.graph.values[step.output.0].channels;
                timed(&mut profile, &step.name, 0, || {
                    softmax_channels_inplace(bufs.output, k)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, DecoderActivation};

    fn seed_and_l1_relu() -> [Config; 2] {
        let l1_relu = Config {
            l1_skip_conn: true,
            decoder_activation: DecoderActivation::Relu,
            ..Config::default()
        };
        [Config::default(), l1_relu]
    }

    /// The arena range of `v`, if it lives there.
    fn arena_range(p: &ForwardPlan, v: ValueId) -> Option<&Range<usize>> {
        match &p.locations[v.0] {
            Location::Arena(r) => Some(r),
            _ => None,
        }
    }

    #[test]
    fn values_alive_together_never_share_arena_memory() {
        for cfg in seed_and_l1_relu() {
            let g = Graph::new(&cfg).unwrap();
            let life = g.lifetimes();
            for (n, h, w) in [(1, 32, 48), (2, 64, 16), (1, 416, 608)] {
                let p = plan(&g, n, h, w).unwrap();
                let placed: Vec<ValueId> = (0..g.values.len())
                    .map(ValueId)
                    .filter(|&v| arena_range(&p, v).is_some())
                    .collect();
                // conv1, 11 x (depthwise, pointwise), dec1..dec4: the rest is the caller's.
                assert_eq!(placed.len(), 1 + 22 + 4);
                for &v in &placed {
                    let r = arena_range(&p, v).unwrap();
                    assert_eq!(r.len(), p.shapes.len(v), "{}", g.values[v.0].name);
                    assert!(r.end <= p.arena_len());
                    for &u in placed.iter().filter(|u| u.0 < v.0) {
                        let (lu, lv) = (life[u.0], life[v.0]);
                        let alive = lu.first <= lv.last && lv.first <= lu.last;
                        let q = arena_range(&p, u).unwrap();
                        let overlap = r.start < q.end && q.start < r.end;
                        let names = (&g.values[u.0].name, &g.values[v.0].name);
                        assert!(!(alive && overlap), "{names:?} at {n}x{h}x{w}: {q:?} and {r:?}");
                    }
                }
                // The same property without the lifetimes: from a value's write to each step that
                // reads it, no step writes over its memory.
                for (i, step) in g.steps.iter().enumerate() {
                    for v in step.inputs.reads().into_iter().flatten() {
                        let Some(r) = arena_range(&p, v) else { continue };
                        let def = g.steps.iter().position(|s| s.output == v).unwrap();
                        for later in &g.steps[def + 1..=i] {
                            if let Some(q) = arena_range(&p, later.output) {
                                let overlap = r.start < q.end && q.start < r.end;
                                assert!(
                                    !overlap,
                                    "{} overwrites {} before {} reads it",
                                    later.name, g.values[v.0].name, step.name
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn peak_arena_at_416x608_did_not_grow() {
        // Bytes of the hand-written plan this step list replaced, measured on the same configs:
        // the derived lifetimes must let the planner share at least as much.
        for (cfg, before) in seed_and_l1_relu().into_iter().zip([24_281_088, 40_468_480]) {
            let p = plan(&Graph::new(&cfg).unwrap(), 1, 416, 608).unwrap();
            assert!(
                p.arena_len() * 4 <= before,
                "{cfg:?}: {} > {before}",
                p.arena_len() * 4
            );
        }
    }
}
