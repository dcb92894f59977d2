//! The forward pass: the seed's graph as a fixed program of kernel calls over a planned arena.
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
//! intermediate lives in one arena planned per (batch, height, width) by [`crate::plan`].

use crate::arch::{ENCODER_BLOCKS, TAP_BLOCKS};
use crate::error::{Error, Result};
use crate::network::Network;
use crate::plan::{plan_arena, split_views, ArenaPlan, ValueSpec};
use mobilenet_unet_kernels::softmax::softmax_channels_inplace;
use mobilenet_unet_kernels::winograd::UpsampleConcat;
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
    /// The layer (or `decN_upsample_concat`, `softmax`).
    pub name: String,
    /// Seconds.
    pub seconds: f64,
    /// Multiply-accumulates of the step (0 for data movement).
    pub macs: u64,
}

/// Runs `f`, appending its wall time to `profile` when profiling.
fn timed<R>(profile: &mut Option<&mut Vec<StepTime>>, name: &str, macs: u64, f: impl FnOnce() -> R) -> R {
    match profile {
        None => f(),
        Some(p) => {
            let start = std::time::Instant::now();
            let r = f();
            p.push(StepTime {
                name: name.to_string(),
                seconds: start.elapsed().as_secs_f64(),
                macs,
            });
            r
        }
    }
}

/// Value ids (indices into the arena plan) of every intermediate tensor.
#[derive(Debug, Clone)]
struct Values {
    conv1: usize,
    dw: Vec<usize>,
    pw: Vec<usize>,
    dec: Vec<usize>,
}

/// The memory plan for one (batch, height, width).
#[derive(Debug, Clone)]
pub(crate) struct ForwardPlan {
    pub batch: usize,
    pub height: usize,
    pub width: usize,
    arena: ArenaPlan,
    values: Values,
}

impl ForwardPlan {
    /// Arena length in f32s.
    pub fn arena_len(&self) -> usize {
        self.arena.len
    }
}

/// Halving with MobileNet's padding (pad 1, 3x3 'valid', stride 2): `ceil(x / 2)`.
fn down(x: usize, stride: usize) -> usize {
    (x + 2 - 3) / stride + 1
}

/// The encoder block (0-based) whose output is the skip tap of decoder stages 2, 3, 4:
/// f3 (block 5), f2 (block 3), and f1 (block 1) only with `l1_skip_conn`.
fn skip_taps(net: &Network) -> [Option<usize>; 3] {
    let [f1, f2, f3, _] = TAP_BLOCKS.map(|b| b - 1);
    [Some(f3), Some(f2), net.l1_skip().then_some(f1)]
}

/// Lays out every intermediate of `net` for a `batch x height x width` input.
pub(crate) fn plan(net: &Network, batch: usize, height: usize, width: usize) -> ForwardPlan {
    let mut specs = Vec::new();
    let mut add = |len: usize, first: usize| {
        specs.push(ValueSpec {
            len,
            first,
            last: first,
        });
        specs.len() - 1
    };
    // Step numbering: conv1 = 0, block i's depthwise = 2i-1 and pointwise = 2i, then the decoder.
    let (mut h, mut w) = (height / 2, width / 2);
    let conv1 = add(batch * h * w * net.conv1.out_c(), 0);
    let (mut dw, mut pw) = (Vec::new(), Vec::new());
    let mut sizes = Vec::new();
    for (i, (d, p)) in net.blocks.iter().enumerate() {
        let stride = ENCODER_BLOCKS[i].1;
        (h, w) = (down(h, stride), down(w, stride));
        dw.push(add(batch * h * w * d.out_c(), 2 * i + 1));
        pw.push(add(batch * h * w * p.out_c(), 2 * i + 2));
        sizes.push((h, w));
    }
    // Decoder stage s runs at step 23 + s and reads stage s - 1 (upsampled) and its skip tap.
    let first_dec_step = 2 * net.blocks.len() + 1; // 23
    let mut dec = Vec::new();
    for (s, layer) in net.decoder.iter().enumerate() {
        if s > 0 {
            (h, w) = (h * 2, w * 2);
        }
        dec.push(add(batch * h * w * layer.out_c(), first_dec_step + s));
    }
    let last_step = first_dec_step + net.decoder.len(); // logits
                                                        // Lifetimes: each value is read by the next step ...
    let mut uses: Vec<(usize, usize)> = vec![(conv1, 1)];
    for i in 0..net.blocks.len() {
        uses.push((dw[i], 2 * i + 2));
        uses.push((pw[i], 2 * i + 3));
    }
    for (s, &d) in dec.iter().enumerate() {
        uses.push((d, first_dec_step + s + 1));
    }
    // ... and the skip taps until the decoder stage that concatenates them.
    for (s, skip) in skip_taps(net).into_iter().enumerate() {
        if let Some(block) = skip {
            uses.push((pw[block], first_dec_step + s + 1));
        }
    }
    debug_assert_eq!(uses.iter().map(|u| u.1).max(), Some(last_step));
    for (v, step) in uses {
        specs[v].last = specs[v].last.max(step);
    }
    let arena = plan_arena(&specs);
    ForwardPlan {
        batch,
        height,
        width,
        arena,
        values: Values { conv1, dw, pw, dec },
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
    mut profile: Option<&mut Vec<StepTime>>,
) -> Result<()> {
    let (n, r, v) = (plan.batch, &plan.arena.ranges, &plan.values);
    let bug = |what: &str| Error::Config(format!("internal error: arena plan overlaps at {what}"));
    let (mut h, mut w) = (plan.height, plan.width);

    // Encoder.
    let out = arena.get_mut(r[v.conv1].clone()).ok_or_else(|| bug("conv1"))?;
    let c1 = &net.conv1;
    timed(&mut profile, &c1.name, c1.params(n, h, w).macs(), || {
        c1.run(n, h, w, input, out, c1.out_c())
    })?;
    (h, w) = (h / 2, w / 2);
    let mut prev = v.conv1;
    for (i, (dw, pw)) in net.blocks.iter().enumerate() {
        let ([x], y) = split_views(arena, [&r[prev]], &r[v.dw[i]]).ok_or_else(|| bug(&dw.name))?;
        timed(&mut profile, &dw.name, dw.params(n, h, w).macs(), || {
            dw.run(n, h, w, x, y, dw.out_c())
        })?;
        (h, w) = (down(h, ENCODER_BLOCKS[i].1), down(w, ENCODER_BLOCKS[i].1));
        let ([x], y) = split_views(arena, [&r[v.dw[i]]], &r[v.pw[i]]).ok_or_else(|| bug(&pw.name))?;
        timed(&mut profile, &pw.name, pw.params(n, h, w).macs(), || {
            pw.run(n, h, w, x, y, pw.out_c())
        })?;
        prev = v.pw[i];
        // Copy a tap now: without l1_skip_conn, f1's memory is reused two steps later.
        if let Some(t) = taps.as_deref_mut().filter(|_| TAP_BLOCKS.contains(&(i + 1))) {
            t.f.push(to_array(&arena[r[prev].clone()], [n, h, w, pw.out_c()]));
        }
    }

    // Decoder: stage 1 on f4; stage s > 1 on concat(upsample2x(stage s - 1), its skip tap).
    let skips = skip_taps(net);
    for (s, layer) in net.decoder.iter().enumerate() {
        let fused = s > 0;
        if fused {
            (h, w) = (h * 2, w * 2);
        }
        // Stage s > 0 reads its skip tap (none without l1_skip_conn at the last stage).
        let skip_range = match (fused, skips[s.saturating_sub(1)]) {
            (true, Some(block)) => r[v.pw[block]].clone(),
            _ => 0..0,
        };
        let ([x, skip_data], y) =
            split_views(arena, [&r[prev], &skip_range], &r[v.dec[s]]).ok_or_else(|| bug(&layer.name))?;
        let macs = layer.params(n, h, w).macs();
        timed(&mut profile, &layer.name, macs, || {
            if fused {
                let input = UpsampleConcat {
                    low: x,
                    low_c: net.decoder[s - 1].out_c(),
                    skip: skip_data,
                };
                layer.run_upsample_concat(n, h, w, &input, y)
            } else {
                layer.run(n, h, w, x, y, layer.out_c())
            }
        })?;
        if let Some(t) = taps.as_deref_mut() {
            t.dec
                .push(to_array(&arena[r[v.dec[s]].clone()], [n, h, w, layer.out_c()]));
        }
        prev = v.dec[s];
    }

    // Classifier straight into the output, then softmax over classes in place.
    let k = net.logits.out_c();
    let lg = &net.logits;
    timed(&mut profile, &lg.name, lg.params(n, h, w).macs(), || {
        lg.run(n, h, w, &arena[r[prev].clone()], output, k)
    })?;
    if let Some(t) = taps {
        t.logits = to_array(output, [n, h, w, k]);
    }
    timed(&mut profile, "softmax", 0, || softmax_channels_inplace(output, k))?;
    Ok(())
}

fn to_array(data: &[f32], shape: [usize; 4]) -> Array4<f32> {
    Array4::from_shape_vec(shape, data[..shape.iter().product::<usize>()].to_vec())
        .expect("shape matches the planned length")
}
