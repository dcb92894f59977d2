//! [`ModelBuilder`]: every resource a [`Model`] uses, chosen by its caller.
//!
//! ```
//! use mobilenet_unet::{Config, Model, Spin, Tier, Weights};
//! use std::time::Duration;
//!
//! let config = Config { alpha: 0.25, n_classes: 3, input_height: 32, input_width: 32, ..Config::default() };
//! let model = Model::builder()
//!     .threads(2)                                   // a pool of its own
//!     .spin(Spin::WithinPass { max_idle: Duration::from_millis(1) })
//!     .tier(Tier::best())
//!     .max_workspaces(2)
//!     .from_weights(Weights::random(&config, 7)?)?;
//! assert_eq!(model.threads(), 2);
//! # Ok::<(), mobilenet_unet::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::model::{Exec, Model};
use crate::threads::Spin;
use crate::weights::Weights;
use mobilenet_unet_kernels::conv::ConvChoice;
use mobilenet_unet_kernels::Tier;
use std::path::Path;
use std::sync::Arc;

/// Idle workspaces kept for reuse unless [`ModelBuilder::max_workspaces`] says otherwise (one
/// per concurrent caller and input size is what is needed).
pub const DEFAULT_MAX_WORKSPACES: usize = 8;

/// The arithmetic a model runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Precision {
    /// 32-bit floats throughout (the only precision implemented today).
    #[default]
    F32,
    /// bfloat16 weights and activations (not available yet: the builder returns an error).
    Bf16,
    /// 8-bit integer weights and activations (not available yet: the builder returns an error).
    Int8,
}

/// Where a model's forward passes run.
#[derive(Debug, Clone)]
enum Threads {
    /// The pool the caller is in when it calls (the global pool from outside any pool).
    Global,
    /// A pool of this many threads, created for the model.
    Own(usize),
    /// The caller's pool.
    Pool(Arc<rayon::ThreadPool>),
}

/// Chooses how a [`Model`] runs, then loads it ([`load`](Self::load),
/// [`from_bytes`](Self::from_bytes), [`from_weights`](Self::from_weights)); from
/// [`Model::builder`]. Every setting has a default: the global rayon pool, no spinning, the
/// best tier of this CPU, the convolution algorithm rule, f32, 8 cached workspaces.
#[derive(Debug, Clone)]
#[must_use]
pub struct ModelBuilder {
    threads: Threads,
    spin: Option<Spin>,
    tier: Option<Tier>,
    conv: ConvChoice,
    precision: Precision,
    max_workspaces: usize,
}

impl Default for ModelBuilder {
    fn default() -> Self {
        ModelBuilder {
            threads: Threads::Global,
            spin: None,
            tier: None,
            conv: ConvChoice::Auto,
            precision: Precision::F32,
            max_workspaces: DEFAULT_MAX_WORKSPACES,
        }
    }
}

impl ModelBuilder {
    /// Runs every pass on a pool of `threads` threads owned by the model (at least 1; checked
    /// when the model is built). Replaces [`thread_pool`](Self::thread_pool).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Threads::Own(threads);
        self
    }

    /// Runs every pass on the caller's pool (shared with whatever else runs there). Replaces
    /// [`threads`](Self::threads).
    pub fn thread_pool(mut self, pool: Arc<rayon::ThreadPool>) -> Self {
        self.threads = Threads::Pool(pool);
        self
    }

    /// Whether the pool's other threads poll for work during a pass (see [`Spin`]). Default:
    /// [`Spin::Off`] on the global pool and on a pool given to
    /// [`thread_pool`](Self::thread_pool), which other work shares; [`Spin::within_pass`] on a
    /// pool of the model's own ([`threads`](Self::threads)), where polling keeps the threads
    /// from sleeping between the pass's ~60 parallel loops (`tools/spin_cost.sh` measures
    /// what it buys).
    pub fn spin(mut self, spin: Spin) -> Self {
        self.spin = Some(spin);
        self
    }

    /// The kernels' tier (default [`Tier::best`]); a tier this CPU lacks is an error when the
    /// model is built.
    pub fn tier(mut self, tier: Tier) -> Self {
        self.tier = Some(tier);
        self
    }

    /// How dense 3x3 convolutions choose between im2col + GEMM and Winograd (default: the
    /// rule, [`ConvChoice::Auto`]).
    pub fn conv_algorithm(mut self, choice: ConvChoice) -> Self {
        self.conv = choice;
        self
    }

    /// The arithmetic (default [`Precision::F32`], the only one implemented today).
    pub fn precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// How many idle workspaces (one per input size and concurrent caller) the model keeps
    /// for reuse; 0 keeps none, so every call plans and allocates again. The oldest is
    /// dropped when the cache is full. See [`Model::workspace_bytes`] for their sizes.
    pub fn max_workspaces(mut self, max: usize) -> Self {
        self.max_workspaces = max;
        self
    }

    /// Loads a safetensors weights file and prepares the model.
    pub fn load(self, path: impl AsRef<Path>) -> Result<Model> {
        self.from_weights(Weights::load(path)?)
    }

    /// Parses safetensors bytes (e.g. `include_bytes!`) and prepares the model.
    pub fn from_bytes(self, bytes: &[u8]) -> Result<Model> {
        self.from_weights(Weights::from_bytes(bytes, "<bytes>")?)
    }

    /// Prepares the model from validated weights, freeing each tensor once its layer is
    /// prepared.
    pub fn from_weights(self, weights: Weights) -> Result<Model> {
        let exec = self.exec()?;
        Model::build(weights, self.conv, exec)
    }

    /// The execution choices, checked.
    fn exec(&self) -> Result<Exec> {
        match self.precision {
            Precision::F32 => {}
            other => {
                return Err(Error::Config(format!(
                    "precision {other:?} is not available yet (only F32 is implemented)"
                )))
            }
        }
        let tier = self.tier.unwrap_or_else(Tier::best).ensure_available()?;
        let (pool, default_spin) = match &self.threads {
            Threads::Global => (None, Spin::Off),
            Threads::Pool(pool) => (Some(pool.clone()), Spin::Off),
            Threads::Own(n) => (Some(Arc::new(own_pool(*n)?)), Spin::within_pass()),
        };
        Ok(Exec::new(
            pool,
            self.spin.unwrap_or(default_spin),
            tier,
            self.max_workspaces,
        ))
    }
}

/// A pool of `threads` threads named `mobilenet-unet-<i>`.
pub(crate) fn own_pool(threads: usize) -> Result<rayon::ThreadPool> {
    if threads == 0 {
        return Err(Error::Config("threads must be at least 1".into()));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("mobilenet-unet-{i}"))
        .build()
        .map_err(|e| Error::Config(format!("cannot start {threads} threads: {e}")))
}
