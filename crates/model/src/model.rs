//! The public model: load weights once, predict many times, from any number of threads.

use crate::arch::Architecture;
use crate::builder::{own_pool, ModelBuilder, DEFAULT_MAX_WORKSPACES};
use crate::config::{check_input_size, Config};
use crate::error::{Error, Result};
use crate::forward::{forward, Profiler, StepTime, Taps};
use crate::network::Network;
use crate::plan::{plan_forward, ForwardPlan};
use crate::preprocess::Preprocessing;
use crate::resize::Resizing;
use crate::threads::{self, Polling, Spin};
use crate::weights::Weights;
use mobilenet_unet_kernels::conv::ConvChoice;
use mobilenet_unet_kernels::Tier;
use ndarray::{Array3, Array4, ArrayView3, ArrayView4, ArrayViewMut3};
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};

/// A planned arena for one input size, reused across calls.
struct Workspace {
    plan: ForwardPlan,
    arena: Vec<f32>,
}

/// Where and how a model's passes run (chosen with [`ModelBuilder`]).
pub(crate) struct Exec {
    /// `None`: the pool the caller is in (the global pool from outside any pool).
    pool: Option<Arc<rayon::ThreadPool>>,
    /// The polling slot of that pool (one per pool, shared by every model using it).
    polling: Arc<Polling>,
    spin: Spin,
    tier: Tier,
    max_workspaces: usize,
}

impl Exec {
    pub(crate) fn new(
        pool: Option<Arc<rayon::ThreadPool>>,
        spin: Spin,
        tier: Tier,
        max_workspaces: usize,
    ) -> Exec {
        Exec {
            polling: polling_slot(pool.as_ref()),
            pool,
            spin,
            tier,
            max_workspaces,
        }
    }
}

/// The polling slot of `pool` (`None`: the global pool): one per pool in the process, so that
/// two models sharing a pool never poll in it at once (see `threads.rs`).
fn polling_slot(pool: Option<&Arc<rayon::ThreadPool>>) -> Arc<Polling> {
    type Slots = Vec<(Weak<rayon::ThreadPool>, Arc<Polling>)>;
    static GLOBAL: std::sync::LazyLock<Arc<Polling>> = std::sync::LazyLock::new(Arc::default);
    static SLOTS: Mutex<Slots> = Mutex::new(Vec::new());
    let Some(pool) = pool else {
        return GLOBAL.clone();
    };
    let mut slots = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
    slots.retain(|(p, _)| p.strong_count() > 0);
    if let Some((_, slot)) = slots
        .iter()
        .find(|(p, _)| std::ptr::eq(p.as_ptr(), Arc::as_ptr(pool)))
    {
        return slot.clone();
    }
    let slot = Arc::<Polling>::default();
    slots.push((Arc::downgrade(pool), slot.clone()));
    slot
}

/// A MobileNet-UNet ready to run: weights folded and packed once, buffers planned per input
/// size and reused. `Model` is `Send + Sync`; concurrent `predict` calls each get their own
/// workspace. [`Model::builder`] chooses threads, spinning, tier and caching;
/// [`predict_into`](Model::predict_into) runs without allocating once warmed up.
///
/// ```
/// use mobilenet_unet::{Config, Model};
/// use ndarray::Array4;
///
/// let config = Config { alpha: 0.25, n_classes: 3, input_height: 32, input_width: 48, ..Config::default() };
/// let model = Model::random(&config, 42)?.with_threads(1)?;
/// let image = Array4::<f32>::zeros((1, 32, 48, 3));
/// let probs = model.predict(image.view())?;          // [1, 16·24, 3], softmax over classes
/// assert_eq!(probs.shape(), &[1, 16 * 24, 3]);
/// let classes = mobilenet_unet::argmax_classes(probs.view(), 16, 24)?; // [1, 16, 24]
/// assert_eq!(classes.shape(), &[1, 16, 24]);
/// # Ok::<(), mobilenet_unet::Error>(())
/// ```
pub struct Model {
    config: Config,
    preprocessing: Preprocessing,
    resizing: Resizing,
    class_names: Vec<String>,
    class_colors: Vec<[u8; 3]>,
    source: String,
    net: Network,
    exec: Exec,
    workspaces: Mutex<Vec<Workspace>>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("source", &self.source)
            .field("config", &self.config)
            .field("threads", &self.threads())
            .field("own_pool", &self.exec.pool.is_some())
            .field("spin", &self.exec.spin)
            .field("tier", &self.exec.tier)
            .field("max_workspaces", &self.exec.max_workspaces)
            .finish_non_exhaustive()
    }
}

/// What a model keeps of its weights file besides the prepared network.
struct Meta {
    config: Config,
    preprocessing: Preprocessing,
    resizing: Resizing,
    class_names: Vec<String>,
    class_colors: Vec<[u8; 3]>,
    source: String,
}

impl Meta {
    fn of(w: &Weights) -> Meta {
        Meta {
            config: w.config,
            preprocessing: w.preprocessing,
            resizing: w.resizing,
            class_names: w.class_names.clone(),
            class_colors: w.class_colors.clone(),
            source: w.source.clone(),
        }
    }

    fn with(self, net: Network, exec: Exec) -> Model {
        Model {
            config: self.config,
            preprocessing: self.preprocessing,
            resizing: self.resizing,
            class_names: self.class_names,
            class_colors: self.class_colors,
            source: self.source,
            net,
            exec,
            workspaces: Mutex::new(Vec::new()),
        }
    }
}

/// The defaults of [`ModelBuilder`]: the global pool, no spinning, the best tier.
fn default_exec() -> Exec {
    Exec::new(None, Spin::Off, Tier::best(), DEFAULT_MAX_WORKSPACES)
}

impl Model {
    /// A [`ModelBuilder`], to choose threads, spinning, tier, convolution algorithm, precision
    /// and workspace caching before loading.
    ///
    /// ```
    /// use mobilenet_unet::{Config, Model, Weights};
    /// let config = Config { alpha: 0.25, n_classes: 2, input_height: 32, input_width: 32, ..Config::default() };
    /// let bytes = Weights::random(&config, 1)?.to_safetensors()?;
    /// let model = Model::builder().threads(1).from_bytes(&bytes)?;
    /// assert_eq!(model.config().n_classes, 2);
    /// # Ok::<(), mobilenet_unet::Error>(())
    /// ```
    pub fn builder() -> ModelBuilder {
        ModelBuilder::default()
    }

    /// Loads a safetensors weights file (see [`crate::weights`] for the format) with the
    /// [`ModelBuilder`] defaults: `Model::builder().load(path)`.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        Self::from_owned_weights(Weights::load(path)?)
    }

    /// Prepares a model from validated weights (their metadata gives the config), copying
    /// the tensors it needs: `weights` stay usable. [`ModelBuilder`] defaults.
    pub fn from_weights(weights: &Weights) -> Result<Model> {
        Ok(Meta::of(weights).with(Network::prepare(weights, ConvChoice::Auto)?, default_exec()))
    }

    /// [`from_weights`](Self::from_weights) that consumes the weights and frees each tensor as
    /// soon as its layer is prepared, so loading never holds the file's tensors and the
    /// prepared model in full at once (the lower memory peak; what [`Model::load`] does).
    pub fn from_owned_weights(weights: Weights) -> Result<Model> {
        Self::build(weights, ConvChoice::Auto, default_exec())
    }

    /// What [`ModelBuilder`] finishes with.
    pub(crate) fn build(weights: Weights, conv: ConvChoice, exec: Exec) -> Result<Model> {
        let meta = Meta::of(&weights);
        Ok(meta.with(Network::prepare_owned(weights, conv)?, exec))
    }

    /// Prepares a model, checking that `weights` fit `config` (input size aside).
    pub fn from_config(config: &Config, weights: &Weights) -> Result<Model> {
        config.validate()?;
        let w = weights.config;
        let same = w.alpha == config.alpha
            && w.n_classes == config.n_classes
            && w.l1_skip_conn == config.l1_skip_conn
            && w.decoder_activation == config.decoder_activation
            && w.depth_multiplier == config.depth_multiplier;
        if !same {
            return Err(Error::Config(format!(
                "weights {} are for alpha {}, {} classes, l1_skip {}, decoder {}; the config asks for alpha {}, {} classes, l1_skip {}, decoder {}",
                weights.source, w.alpha, w.n_classes, w.l1_skip_conn, w.decoder_activation,
                config.alpha, config.n_classes, config.l1_skip_conn, config.decoder_activation
            )));
        }
        let mut m = Self::from_weights(weights)?;
        m.config = *config;
        Ok(m)
    }

    /// A model with seeded random weights (for benchmarks and tests).
    pub fn random(config: &Config, seed: u64) -> Result<Model> {
        Self::from_weights(&Weights::random(config, seed)?)
    }

    /// Runs every future call on a private pool of `threads` threads (1 is allowed), whose
    /// threads poll during a pass ([`Spin::within_pass`]), as
    /// [`ModelBuilder::threads`] does. Without this, calls use the caller's current rayon pool.
    pub fn with_threads(mut self, threads: usize) -> Result<Model> {
        let pool = Some(Arc::new(own_pool(threads)?));
        self.exec = Exec::new(
            pool,
            Spin::within_pass(),
            self.exec.tier,
            self.exec.max_workspaces,
        );
        self.clear_workspaces();
        Ok(self)
    }

    /// Threads a pass runs on: the model's pool, or the global pool's size.
    pub fn threads(&self) -> usize {
        match &self.exec.pool {
            Some(pool) => pool.current_num_threads(),
            None => rayon::current_num_threads(),
        }
    }

    /// The kernels' tier this model runs.
    pub fn tier(&self) -> Tier {
        self.exec.tier
    }

    /// Whether the pool's threads poll during a pass.
    pub fn spin(&self) -> Spin {
        self.exec.spin
    }

    /// The architecture's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The architecture at the native input size (parameter counts, MACs).
    pub fn architecture(&self) -> Result<Architecture> {
        Architecture::new(&self.config)
    }

    /// How images must be preprocessed for these weights.
    pub fn preprocessing(&self) -> Preprocessing {
        self.preprocessing
    }

    /// How `segment` resizes images to the input and class maps back (from the metadata).
    pub fn resizing(&self) -> Resizing {
        self.resizing
    }

    /// Class names from the weights' metadata, or `class_0`, `class_1`, ...
    pub fn class_names(&self) -> Vec<String> {
        if self.class_names.len() == self.config.n_classes {
            self.class_names.clone()
        } else {
            (0..self.config.n_classes).map(|i| format!("class_{i}")).collect()
        }
    }

    /// Class colours from the metadata, or a fixed distinct palette.
    pub fn class_colors(&self) -> Vec<[u8; 3]> {
        if self.class_colors.len() == self.config.n_classes {
            self.class_colors.clone()
        } else {
            crate::segment::default_palette(self.config.n_classes)
        }
    }

    /// Where the weights came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Softmax probabilities for a batch: NHWC `[N, H, W, 3]` in (H and W multiples of 16),
    /// `[N, H/2 · W/2, classes]` out, exactly as Keras's Reshape + Softmax. Allocates the
    /// output, then [`predict_into`](Self::predict_into).
    pub fn predict(&self, input: ArrayView4<f32>) -> Result<Array3<f32>> {
        let (n, h, w, _) = input.dim();
        let mut out = Array3::<f32>::zeros((n, (h / 2) * (w / 2), self.net.classes()?));
        self.predict_into(input, out.view_mut())?;
        Ok(out)
    }

    /// [`predict`](Self::predict) into the caller's `output` (`[N, H/2 · W/2, classes]`).
    ///
    /// Once a call for this (batch, height, width) has run (or [`prepare`](Self::prepare)),
    /// a call allocates nothing on the heap, provided the input and the output are contiguous
    /// in standard (row-major) layout (others are copied) and the pass does not spin on two or
    /// more threads ([`Spin::WithinPass`] starts its pollers with one small allocation per
    /// pass). One more exception is rayon's: a call from outside the pool queues its job in the
    /// pool's injector, which allocates one 1.5 KiB block per 63 calls.
    ///
    /// ```
    /// use mobilenet_unet::{Config, Model};
    /// use ndarray::{Array3, Array4};
    /// let config = Config { alpha: 0.25, n_classes: 3, input_height: 32, input_width: 32, ..Config::default() };
    /// let model = Model::random(&config, 1)?;
    /// let input = Array4::<f32>::zeros((1, 32, 32, 3));
    /// let mut output = Array3::<f32>::zeros((1, 16 * 16, 3));
    /// for _ in 0..3 {
    ///     model.predict_into(input.view(), output.view_mut())?; // reuses both buffers
    /// }
    /// # Ok::<(), mobilenet_unet::Error>(())
    /// ```
    pub fn predict_into(&self, input: ArrayView4<f32>, mut output: ArrayViewMut3<f32>) -> Result<()> {
        let (n, h, w) = self.check_input(&input)?;
        let want = (n, (h / 2) * (w / 2), self.net.classes()?);
        if output.dim() != want {
            return Err(Error::InputShape(format!(
                "output has shape {:?}, the input needs {want:?}",
                output.shape()
            )));
        }
        let contiguous;
        let x: &[f32] = match input.as_slice() {
            Some(s) => s,
            None => {
                contiguous = input.as_standard_layout().into_owned();
                contiguous.as_slice().expect("standard layout is contiguous")
            }
        };
        match output.as_slice_mut() {
            Some(out) => self.run_pass(x, (n, h, w), out, None, None),
            None => {
                let mut tmp = Array3::<f32>::zeros(want);
                let out = tmp.as_slice_mut().expect("fresh array is contiguous");
                self.run_pass(x, (n, h, w), out, None, None)?;
                output.assign(&tmp);
                Ok(())
            }
        }
    }

    /// Plans, allocates and warms up everything a `batch x height x width` call needs (the
    /// workspace, every thread's kernel scratch) by running one pass on zeros, so that the
    /// next [`predict_into`](Self::predict_into) of that size allocates nothing.
    pub fn prepare(&self, batch: usize, height: usize, width: usize) -> Result<()> {
        let input = Array4::<f32>::zeros((batch, height, width, 3));
        self.predict(input.view()).map(drop)
    }

    /// Drops every cached workspace (their memory goes back to the allocator; the next call
    /// of each size plans and allocates again).
    pub fn clear_workspaces(&self) {
        self.workspaces.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Bytes of the workspace a `batch x height x width` call uses (its activation arena;
    /// every size cached costs this much, see [`ModelBuilder::max_workspaces`]). The kernels
    /// keep besides, per thread and shared by all sizes, about 150 KiB of GEMM panels and,
    /// when the model has Winograd layers, 8 MiB of Winograd tiles.
    pub fn workspace_bytes(&self, batch: usize, height: usize, width: usize) -> Result<usize> {
        self.arena_bytes(batch, height, width)
    }

    /// Runs `input` once and returns the wall time of every step (layer), in order.
    pub fn profile(&self, input: ArrayView4<f32>) -> Result<Vec<StepTime>> {
        Ok(self.predict_profiled(input, monotonic_seconds)?.1)
    }

    /// [`predict`](Self::predict) and [`profile`](Self::profile) in one pass, with the
    /// caller's clock: `now()` returns seconds since any fixed moment. For targets where
    /// `std::time::Instant` does not exist, such as `wasm32-unknown-unknown` (the browser
    /// build passes `performance.now()`).
    pub fn predict_profiled(
        &self,
        input: ArrayView4<f32>,
        now: fn() -> f64,
    ) -> Result<(Array3<f32>, Vec<StepTime>)> {
        let mut steps = Vec::new();
        let profiler = Profiler {
            steps: &mut steps,
            now,
        };
        let (out, _) = self.run(input, false, Some(profiler))?;
        Ok((out, steps))
    }

    /// [`predict`](Self::predict), also returning the intermediate tensors f1..f4, dec1..dec4
    /// and the logits (to compare with another engine layer by layer).
    pub fn predict_with_taps(&self, input: ArrayView4<f32>) -> Result<(Array3<f32>, Taps)> {
        let (out, taps) = self.run(input, true, None)?;
        Ok((out, taps.expect("taps were requested")))
    }

    /// Checks an input batch: `(batch, height, width)`.
    fn check_input(&self, input: &ArrayView4<f32>) -> Result<(usize, usize, usize)> {
        let (n, h, w, c) = input.dim();
        if c != 3 {
            return Err(Error::InputShape(format!(
                "expected NHWC with 3 channels, got shape {:?}",
                input.shape()
            )));
        }
        if n == 0 {
            return Err(Error::InputShape("batch size is 0".into()));
        }
        check_input_size(h, w)?;
        if let Some(index) = input.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                tensor: "input",
                index,
            });
        }
        Ok((n, h, w))
    }

    /// One pass on a contiguous `x` of `(n, h, w)` into a contiguous `out`, in the model's
    /// pool, with a workspace of that size.
    fn run_pass(
        &self,
        x: &[f32],
        (n, h, w): (usize, usize, usize),
        out: &mut [f32],
        taps: Option<&mut Taps>,
        profile: Option<Profiler>,
    ) -> Result<()> {
        let mut ws = self.take_workspace(n, h, w)?;
        let tier = self.exec.tier;
        let result =
            self.install(|| forward(&self.net, tier, &ws.plan, x, &mut ws.arena, out, taps, profile));
        self.return_workspace(ws);
        result
    }

    /// A pass with taps or a profile (allocating; for comparing and profiling).
    fn run(
        &self,
        input: ArrayView4<f32>,
        want_taps: bool,
        profile: Option<Profiler>,
    ) -> Result<(Array3<f32>, Option<Taps>)> {
        let (n, h, w) = self.check_input(&input)?;
        let contiguous;
        let x: &[f32] = match input.as_slice() {
            Some(s) => s,
            None => {
                contiguous = input.as_standard_layout().into_owned();
                contiguous.as_slice().expect("standard layout is contiguous")
            }
        };
        let k = self.net.classes()?;
        let mut out = Array3::<f32>::zeros((n, (h / 2) * (w / 2), k));
        let mut taps = want_taps.then(|| Taps {
            f: vec![],
            dec: vec![],
            logits: Array4::zeros((0, 0, 0, 0)),
        });
        let out_slice = out.as_slice_mut().expect("fresh array is contiguous");
        self.run_pass(x, (n, h, w), out_slice, taps.as_mut(), profile)?;
        Ok((out, taps))
    }

    fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        let (polling, spin) = (&self.exec.polling, self.exec.spin);
        match &self.exec.pool {
            Some(pool) => pool.install(|| threads::with_workers_awake(polling, spin, f)),
            // From outside any pool, the pass moves onto the global pool: one hand-over per
            // pass instead of one per parallel loop (and its threads can keep awake for it).
            None if rayon::current_thread_index().is_none() => {
                rayon::scope(|_| threads::with_workers_awake(polling, spin, f))
            }
            None => threads::with_workers_awake(polling, spin, f),
        }
    }

    /// A cached workspace of this size, or a new one (planned, allocated, and every thread's
    /// kernel scratch reserved: what makes the calls after it allocation-free).
    fn take_workspace(&self, n: usize, h: usize, w: usize) -> Result<Workspace> {
        let mut idle = self.workspaces.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = idle
            .iter()
            .position(|ws| (ws.plan.batch, ws.plan.height, ws.plan.width) == (n, h, w))
        {
            return Ok(idle.swap_remove(i));
        }
        drop(idle);
        let plan = plan_forward(&self.net, n, h, w)?;
        let arena = vec![0.0; plan.arena_len()];
        let winograd = self.net.has_winograd();
        let reserve =
            move |_: rayon::BroadcastContext| mobilenet_unet_kernels::reserve_thread_scratch(winograd);
        match &self.exec.pool {
            Some(pool) => drop(pool.broadcast(reserve)),
            None => drop(rayon::broadcast(reserve)),
        }
        Ok(Workspace { plan, arena })
    }

    fn return_workspace(&self, ws: Workspace) {
        let mut idle = self.workspaces.lock().unwrap_or_else(|e| e.into_inner());
        if self.exec.max_workspaces == 0 {
            return;
        }
        if idle.len() >= self.exec.max_workspaces {
            idle.remove(0);
        }
        idle.push(ws);
    }

    /// Bytes of activation arena a `batch x h x w` call uses (the same as
    /// [`workspace_bytes`](Self::workspace_bytes)).
    pub fn arena_bytes(&self, batch: usize, h: usize, w: usize) -> Result<usize> {
        check_input_size(h, w)?;
        Ok(plan_forward(&self.net, batch, h, w)?.arena_len() * 4)
    }
}

/// Seconds since the first call, from `std::time::Instant` ([`Model::profile`]'s clock).
fn monotonic_seconds() -> f64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64()
}

/// The most probable class per pixel: `[N, H/2·W/2, K]` probabilities to a `[N, out_h, out_w]`
/// class map (ties go to the lower class index, as `numpy.argmax`).
pub fn argmax_classes(probs: ArrayView3<f32>, out_h: usize, out_w: usize) -> Result<Array3<u16>> {
    let (n, hw, k) = probs.dim();
    if hw != out_h * out_w {
        return Err(Error::InputShape(format!(
            "{hw} pixels do not make a {out_h}x{out_w} map"
        )));
    }
    if k == 0 || k > u16::MAX as usize {
        return Err(Error::InputShape(format!("{k} classes")));
    }
    let mut map = Array3::<u16>::zeros((n, out_h, out_w));
    for b in 0..n {
        for p in 0..hw {
            // Plain indexing rather than `s![..]`, whose expansion allows unsafe code, which
            // this crate forbids.
            let row = |c: usize| probs[[b, p, c]];
            let mut best = 0;
            for c in 1..k {
                if row(c) > row(best) {
                    best = c;
                }
            }
            map[[b, p / out_w, p % out_w]] = best as u16;
        }
    }
    Ok(map)
}
