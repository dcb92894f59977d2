//! The public model: load weights once, predict many times, from any number of threads.

use crate::arch::Architecture;
use crate::config::{check_input_size, Config};
use crate::error::{Error, Result};
use crate::forward::{forward, plan, ForwardPlan, Profiler, StepTime, Taps};
use crate::network::Network;
use crate::preprocess::Preprocessing;
use crate::threads;
use crate::weights::Weights;
use ndarray::{Array3, Array4, ArrayView3, ArrayView4};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Idle workspaces kept for reuse (one per concurrent caller is what is needed).
const MAX_IDLE_WORKSPACES: usize = 8;

/// A planned arena for one input size, reused across calls.
struct Workspace {
    plan: ForwardPlan,
    arena: Vec<f32>,
}

/// A MobileNet-UNet ready to run: weights folded and packed once, buffers planned per input
/// size and reused. `Model` is `Send + Sync`; concurrent `predict` calls each get their own
/// workspace.
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
    class_names: Vec<String>,
    class_colors: Vec<[u8; 3]>,
    source: String,
    net: Network,
    pool: Option<Arc<rayon::ThreadPool>>,
    workspaces: Mutex<Vec<Workspace>>,
}

/// What a model keeps of its weights file besides the prepared network.
struct Meta {
    config: Config,
    preprocessing: Preprocessing,
    class_names: Vec<String>,
    class_colors: Vec<[u8; 3]>,
    source: String,
}

impl Meta {
    fn of(w: &Weights) -> Meta {
        Meta {
            config: w.config,
            preprocessing: w.preprocessing,
            class_names: w.class_names.clone(),
            class_colors: w.class_colors.clone(),
            source: w.source.clone(),
        }
    }

    fn with(self, net: Network) -> Model {
        Model {
            config: self.config,
            preprocessing: self.preprocessing,
            class_names: self.class_names,
            class_colors: self.class_colors,
            source: self.source,
            net,
            pool: None,
            workspaces: Mutex::new(Vec::new()),
        }
    }
}

impl Model {
    /// Loads a safetensors weights file (see [`crate::weights`] for the format).
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        Self::from_owned_weights(Weights::load(path)?)
    }

    /// Prepares a model from validated weights (their metadata gives the config), copying
    /// the tensors it needs: `weights` stay usable.
    pub fn from_weights(weights: &Weights) -> Result<Model> {
        Ok(Meta::of(weights).with(Network::prepare(weights)?))
    }

    /// [`from_weights`](Self::from_weights) that consumes the weights and frees each tensor as
    /// soon as its layer is prepared, so loading never holds the file's tensors and the
    /// prepared model in full at once (the lower memory peak; what [`Model::load`] does).
    pub fn from_owned_weights(weights: Weights) -> Result<Model> {
        let meta = Meta::of(&weights);
        Ok(meta.with(Network::prepare_owned(weights)?))
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

    /// Runs every future call on a private pool of `threads` threads (1 is allowed).
    /// Without this, calls use the caller's current rayon pool.
    pub fn with_threads(mut self, threads: usize) -> Result<Model> {
        if threads == 0 {
            return Err(Error::Config("threads must be at least 1".into()));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("mobilenet-unet-{i}"))
            .build()
            .map_err(|e| Error::Config(format!("cannot start {threads} threads: {e}")))?;
        self.pool = Some(Arc::new(pool));
        Ok(self)
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
    /// `[N, H/2 · W/2, classes]` out, exactly as Keras's Reshape + Softmax.
    pub fn predict(&self, input: ArrayView4<f32>) -> Result<Array3<f32>> {
        self.run(input, false, None).map(|(out, _)| out)
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

    fn run(
        &self,
        input: ArrayView4<f32>,
        want_taps: bool,
        profile: Option<Profiler>,
    ) -> Result<(Array3<f32>, Option<Taps>)> {
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
        if let Some(i) = input.iter().position(|v| !v.is_finite()) {
            return Err(Error::InputShape(format!(
                "input holds a non-finite value at flat index {i}"
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
        let mut ws = self.take_workspace(n, h, w)?;
        let k = self.net.classes()?;
        let mut out = Array3::<f32>::zeros((n, (h / 2) * (w / 2), k));
        let mut taps = want_taps.then(|| Taps {
            f: vec![],
            dec: vec![],
            logits: Array4::zeros((0, 0, 0, 0)),
        });
        let out_slice = out.as_slice_mut().expect("fresh array is contiguous");
        let result = self.install(|| {
            forward(
                &self.net,
                &ws.plan,
                x,
                &mut ws.arena,
                out_slice,
                taps.as_mut(),
                profile,
            )
        });
        self.return_workspace(ws);
        result?;
        Ok((out, taps))
    }

    fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(|| threads::with_workers_awake(f)),
            // From outside any pool, the pass moves onto the global pool, so that its threads
            // can keep awake for it (one hand-over per pass instead of one per loop).
            None if rayon::current_thread_index().is_none() => {
                rayon::scope(|_| threads::with_workers_awake(f))
            }
            None => threads::with_workers_awake(f),
        }
    }

    fn take_workspace(&self, n: usize, h: usize, w: usize) -> Result<Workspace> {
        let mut idle = self.workspaces.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = idle
            .iter()
            .position(|ws| (ws.plan.batch, ws.plan.height, ws.plan.width) == (n, h, w))
        {
            return Ok(idle.swap_remove(i));
        }
        drop(idle);
        let plan = plan(&self.net.graph, n, h, w)?;
        let arena = vec![0.0; plan.arena_len()];
        Ok(Workspace { plan, arena })
    }

    fn return_workspace(&self, ws: Workspace) {
        let mut idle = self.workspaces.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() >= MAX_IDLE_WORKSPACES {
            idle.remove(0);
        }
        idle.push(ws);
    }

    /// Bytes of activation arena a `batch x h x w` call uses.
    pub fn arena_bytes(&self, batch: usize, h: usize, w: usize) -> Result<usize> {
        check_input_size(h, w)?;
        Ok(plan(&self.net.graph, batch, h, w)?.arena_len() * 4)
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
            let row = probs.slice(ndarray::s![b, p, ..]);
            let mut best = 0;
            for c in 1..k {
                if row[c] > row[best] {
                    best = c;
                }
            }
            map[[b, p / out_w, p % out_w]] = best as u16;
        }
    }
    Ok(map)
}
