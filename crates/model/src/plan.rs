//! Everything about one input size, planned once and reused across calls: every value's shape
//! and every convolution's parameters (from the step list), and where each value lives
//! ([`ForwardPlan`], one arena per (batch, height, width)).
//!
//! Activation memory planning:
//!
//! Each intermediate tensor ("value") is written by one step and read until some later step.
//! Two values may share memory when their lifetimes don't overlap. We place values greedily,
//! largest first, at the lowest offset that doesn't collide with an already placed value whose
//! lifetime overlaps (the "greedy by size" strategy of TFLite's arena planner). For MobileNet-UNet
//! at 416x608 this needs about a third of the memory of keeping every activation alive.

use crate::arch::graph::{Shapes, Storage, ValueId};
use crate::arch::Graph;
use crate::error::{Error, Result};
use crate::network::Network;
use mobilenet_unet_kernels::Conv2dParams;
use std::ops::Range;

/// A tensor to place: its length in f32s and the steps it is live in (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueSpec {
    /// Length in f32 elements.
    pub len: usize,
    /// The step that writes it.
    pub first: usize,
    /// The last step that reads it.
    pub last: usize,
}

/// Offsets are rounded up to 16 floats (64 bytes, one cache line) so each value starts aligned.
const ALIGN: usize = 16;

/// Where each value lives in the arena, and how long the arena is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArenaPlan {
    /// `ranges[i]` is value `i`'s element range in the arena.
    pub ranges: Vec<Range<usize>>,
    /// Total arena length in f32s.
    pub len: usize,
}

/// Places `values` in one arena so that values live at the same time never overlap.
pub fn plan_arena(values: &[ValueSpec]) -> ArenaPlan {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(values[i].len));
    let mut offsets: Vec<Option<usize>> = vec![None; values.len()];
    for &i in &order {
        let v = values[i];
        // Already placed values alive at the same time as `v`, by offset.
        let mut busy: Vec<Range<usize>> = order
            .iter()
            .filter_map(|&j| {
                let o = offsets[j]?;
                let w = values[j];
                (w.first <= v.last && v.first <= w.last).then_some(o..o + w.len)
            })
            .collect();
        busy.sort_by_key(|r| r.start);
        // The first gap big enough.
        let mut candidate = 0;
        for r in &busy {
            if candidate + v.len <= r.start {
                break;
            }
            candidate = candidate.max(r.end.div_ceil(ALIGN) * ALIGN);
        }
        offsets[i] = Some(candidate);
    }
    let ranges: Vec<Range<usize>> = offsets
        .iter()
        .zip(values)
        .map(|(o, v)| o.unwrap_or(0)..o.unwrap_or(0) + v.len)
        .collect();
    let len = ranges.iter().map(|r| r.end).max().unwrap_or(0);
    ArenaPlan { ranges, len }
}

/// Borrows `write` mutably and each of `reads` immutably from one arena.
///
/// The planner guarantees that values used by one step do not overlap; this checks it (a
/// violated plan is a bug, reported as `None` rather than undefined behaviour).
pub fn split_views<'a, const R: usize>(
    arena: &'a mut [f32],
    reads: [&Range<usize>; R],
    write: &Range<usize>,
) -> Option<([&'a [f32]; R], &'a mut [f32])> {
    if write.end > arena.len() {
        return None;
    }
    let (left, rest) = arena.split_at_mut(write.start);
    let (mid, right) = rest.split_at_mut(write.end - write.start);
    let (left, right): (&'a [f32], &'a [f32]) = (left, right);
    let mut out: [&'a [f32]; R] = [&[]; R];
    for (slot, r) in out.iter_mut().zip(reads) {
        *slot = if r.end <= write.start {
            &left[r.clone()]
        } else if r.start >= write.end {
            right.get(r.start - write.end..r.end - write.end)?
        } else {
            return None;
        };
    }
    Some((out, mid))
}

/// Where a value's elements are during a forward pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
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
    pub shapes: Shapes,
    /// `locations[v]` holds value `v`.
    pub locations: Vec<Location>,
    arena_len: usize,
}

impl ForwardPlan {
    /// Arena length in f32s.
    pub fn arena_len(&self) -> usize {
        self.arena_len
    }

    /// Each step's convolution parameters at this size (`None` for steps that are not
    /// convolutions), in step order.
    pub fn step_params(&self) -> &[Option<Conv2dParams>] {
        &self.shapes.params
    }
}

/// Lays out every value of `graph` for a `batch x height x width` input: arena values share
/// memory when their lifetimes (first write to last read) do not overlap.
pub(crate) fn plan_forward(net: &Network, batch: usize, height: usize, width: usize) -> Result<ForwardPlan> {
    let plan = plan_graph(&net.graph, batch, height, width)?;
    if plan.step_params().len() != net.steps.len() {
        return Err(Error::Internal(format!(
            "{} prepared steps, a plan for {} steps",
            net.steps.len(),
            plan.step_params().len()
        )));
    }
    Ok(plan)
}

/// [`plan_forward`] of a bare step list.
fn plan_graph(graph: &Graph, batch: usize, height: usize, width: usize) -> Result<ForwardPlan> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_lifetimes_never_share() {
        let vals = [
            ValueSpec {
                len: 100,
                first: 0,
                last: 1,
            },
            ValueSpec {
                len: 50,
                first: 1,
                last: 2,
            },
            ValueSpec {
                len: 100,
                first: 2,
                last: 3,
            },
            ValueSpec {
                len: 10,
                first: 0,
                last: 3,
            },
        ];
        let p = plan_arena(&vals);
        for i in 0..vals.len() {
            for j in 0..i {
                let live = vals[i].first <= vals[j].last && vals[j].first <= vals[i].last;
                let overlap = p.ranges[i].start < p.ranges[j].end && p.ranges[j].start < p.ranges[i].end;
                assert!(!(live && overlap), "{i} and {j} collide: {p:?}");
            }
        }
        // Values 0 and 2 are never alive together, so they can share: less than the sum.
        assert!(p.len < 260, "{p:?}");
    }

    #[test]
    fn split_views_refuses_overlap() {
        let mut a = vec![0.0f32; 10];
        assert!(split_views(&mut a, [&(0..3), &(7..10)], &(3..7)).is_some());
        assert!(split_views(&mut a, [&(0..4)], &(3..7)).is_none());
        assert!(split_views(&mut a, [&(0..1)], &(3..11)).is_none());
    }
}

#[cfg(test)]
mod forward_plan_tests {
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
                let p = plan_graph(&g, n, h, w).unwrap();
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
            let p = plan_graph(&Graph::new(&cfg).unwrap(), 1, 416, 608).unwrap();
            assert!(
                p.arena_len() * 4 <= before,
                "{cfg:?}: {} > {before}",
                p.arena_len() * 4
            );
        }
    }
}
