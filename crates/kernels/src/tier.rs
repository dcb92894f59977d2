//! Which implementation tier runs: picked once per process, overridable for tests.
//!
//! Every operation can run at these tiers, through one entry point per operation (the kernels
//! each tier runs are listed in one table, `dispatch.rs`):
//!
//! - [`Tier::Reference`]: naive loops, the oracle the others are tested against;
//! - [`Tier::Portable`]: the blocked/cache-aware algorithm in plain Rust (auto-vectorised);
//! - [`Tier::Avx2`]: the same algorithm with hand-written AVX2+FMA intrinsics;
//! - [`Tier::Avx512`]: AVX-512F kernels where they pay (the GEMM micro-kernel, depthwise
//!   convolution, Winograd's transforms), the AVX2 kernels elsewhere. On Zen 4 a 512-bit
//!   instruction runs as two 256-bit halves, so AVX-512 gives no more FLOPs per cycle than
//!   AVX2; it gives twice the work per instruction (relief for the front end and the load
//!   ports) and 32 registers;
//! - [`Tier::Neon`]: aarch64's 128-bit vectors for the GEMM micro-kernel, depthwise
//!   convolution and Winograd's transforms, the portable kernels elsewhere (NEON is part of the
//!   aarch64 baseline, so it is never detected, only compiled in);
//! - [`Tier::WasmSimd128`]: WebAssembly's 128-bit SIMD (`f32x4`) for the same three kernels,
//!   the portable kernels elsewhere. WebAssembly has no run-time feature detection: an engine
//!   without SIMD refuses to *load* a module that contains a SIMD instruction, so the tier
//!   exists exactly in modules built with `-C target-feature=+simd128` (the browser build,
//!   `tools/build-wasm.sh`), and a wasm32 build without it runs the portable tier.
//!
//! [`Tier::active`] detects the CPU once and caches the answer in a `OnceLock`. The
//! environment variable `MOBILENET_UNET_TIER` (`reference`, `portable`, `avx2`, `avx512`,
//! `neon`, `wasm-simd128`) forces a tier;
//! forcing one the CPU lacks is an error, never a silent fallback (the idea of
//! matrixmultiply's `MMTEST_ENSUREFEATURE`). Tests and benches call the `*_with_tier`
//! variant of a kernel to pin a tier explicitly.

use crate::error::{KernelError, Result};
use std::fmt;
use std::sync::OnceLock;

/// One implementation level of every kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// Naive loops; the oracle.
    Reference,
    /// Blocked algorithm in safe, portable Rust.
    Portable,
    /// AVX2 + FMA intrinsics (x86_64 only, detected at run time).
    Avx2,
    /// AVX-512F intrinsics where they pay, AVX2 + FMA elsewhere (x86_64 only, detected at
    /// run time).
    Avx512,
    /// NEON intrinsics (aarch64 only, where every CPU has them).
    Neon,
    /// WebAssembly SIMD128 intrinsics (wasm32 modules built with `+simd128` only).
    WasmSimd128,
}

/// The environment variable that forces a tier.
pub const TIER_ENV: &str = "MOBILENET_UNET_TIER";

impl Tier {
    /// Every tier, slowest first.
    pub const ALL: [Tier; 6] = [
        Tier::Reference,
        Tier::Portable,
        Tier::Avx2,
        Tier::Avx512,
        Tier::Neon,
        Tier::WasmSimd128,
    ];

    /// The lower-case name used in `MOBILENET_UNET_TIER` and in benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Reference => "reference",
            Tier::Portable => "portable",
            Tier::Avx2 => "avx2",
            Tier::Avx512 => "avx512",
            Tier::Neon => "neon",
            Tier::WasmSimd128 => "wasm-simd128",
        }
    }

    /// Parses a tier name as written in `MOBILENET_UNET_TIER`.
    pub fn from_name(name: &str) -> Result<Tier> {
        match name.trim().to_ascii_lowercase().as_str() {
            "reference" => Ok(Tier::Reference),
            "portable" => Ok(Tier::Portable),
            "avx2" => Ok(Tier::Avx2),
            "avx512" => Ok(Tier::Avx512),
            "neon" => Ok(Tier::Neon),
            "wasm-simd128" => Ok(Tier::WasmSimd128),
            _ => Err(KernelError::UnknownTier(name.to_string())),
        }
    }

    /// Whether this CPU can run the tier.
    pub fn is_available(self) -> bool {
        match self {
            Tier::Reference | Tier::Portable => true,
            Tier::Avx2 => avx2_fma_detected(),
            Tier::Avx512 => avx2_fma_detected() && avx512f_detected(),
            Tier::Neon => cfg!(target_arch = "aarch64"),
            Tier::WasmSimd128 => cfg!(all(target_arch = "wasm32", target_feature = "simd128")),
        }
    }

    /// `Ok(self)` if the CPU has the tier, otherwise [`KernelError::TierUnavailable`].
    pub fn ensure_available(self) -> Result<Tier> {
        if self.is_available() {
            Ok(self)
        } else {
            Err(KernelError::TierUnavailable {
                tier: self.name(),
                reason: match self {
                    Tier::Avx512 => {
                        "the CPU lacks AVX-512F (or AVX2 and FMA), or this is not an x86_64 build"
                    }
                    Tier::Neon => "this is not an aarch64 build",
                    Tier::WasmSimd128 => {
                        "this is not a wasm32 build with SIMD128 (-C target-feature=+simd128)"
                    }
                    _ => "the CPU lacks AVX2 and FMA, or this is not an x86_64 build",
                },
            })
        }
    }

    /// The tiers this CPU can run, slowest first (what tests iterate over).
    pub fn available() -> Vec<Tier> {
        Tier::ALL.into_iter().filter(|t| t.is_available()).collect()
    }

    /// The fastest tier this CPU has.
    pub fn best() -> Tier {
        if Tier::Neon.is_available() {
            Tier::Neon
        } else if Tier::WasmSimd128.is_available() {
            Tier::WasmSimd128
        } else if Tier::Avx512.is_available() {
            Tier::Avx512
        } else if Tier::Avx2.is_available() {
            Tier::Avx2
        } else {
            Tier::Portable
        }
    }

    /// The tier the dispatching kernels use: `MOBILENET_UNET_TIER` if set, else [`Tier::best`].
    /// Decided once per process.
    pub fn active() -> Result<Tier> {
        static ACTIVE: OnceLock<Result<Tier>> = OnceLock::new();
        ACTIVE
            .get_or_init(|| match std::env::var(TIER_ENV) {
                Ok(name) if !name.trim().is_empty() => Tier::from_name(&name)?.ensure_available(),
                _ => Ok(Tier::best()),
            })
            .clone()
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(target_arch = "x86_64")]
fn avx2_fma_detected() -> bool {
    static DETECTED: OnceLock<bool> = OnceLock::new();
    *DETECTED.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
}

#[cfg(not(target_arch = "x86_64"))]
fn avx2_fma_detected() -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
fn avx512f_detected() -> bool {
    static DETECTED: OnceLock<bool> = OnceLock::new();
    *DETECTED.get_or_init(|| is_x86_feature_detected!("avx512f"))
}

#[cfg(not(target_arch = "x86_64"))]
fn avx512f_detected() -> bool {
    false
}

/// For the crate's unit tests: whether `tier` can be tested here. A tier the CPU lacks is
/// printed as skipped, and is a test failure if `MOBILENET_UNET_REQUIRE_TIERS` (a comma list,
/// which CI sets to the tiers its machines have) names it, so a skip is never silent and
/// never hides a tier CI expects to test.
#[cfg(test)]
pub(crate) fn testable(tier: Tier) -> bool {
    if tier.is_available() {
        return true;
    }
    let required = std::env::var("MOBILENET_UNET_REQUIRE_TIERS").unwrap_or_default();
    let named = required
        .split(',')
        .any(|name| Tier::from_name(name).is_ok_and(|t| t == tier));
    assert!(
        !named,
        "MOBILENET_UNET_REQUIRE_TIERS requires tier {tier}, which this CPU cannot run"
    );
    println!("SKIPPED tier {tier}: not available on this CPU");
    false
}

/// Whether the CPU has AVX-512 VNNI (`vpdpbusd`: 4 u8 x i8 products per 32-bit lane), which
/// the AVX-512 tier's int8 GEMM uses when present.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx512_vnni_detected() -> bool {
    static DETECTED: OnceLock<bool> = OnceLock::new();
    *DETECTED.get_or_init(|| is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vnni"))
}

/// Whether the CPU has AVX-512 BF16 (`vdpbf16ps`: 2 bf16 products per f32 lane), which the
/// AVX-512 tier's bf16 GEMM uses when present.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx512_bf16_detected() -> bool {
    static DETECTED: OnceLock<bool> = OnceLock::new();
    *DETECTED.get_or_init(|| is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bf16"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_the_tiers_in_declaration_order() {
        // The kernel table indexes its per-tier cells by discriminant.
        for (i, &t) in Tier::ALL.iter().enumerate() {
            assert_eq!(t as usize, i, "{t}");
        }
    }

    #[test]
    fn names_round_trip() {
        for t in Tier::ALL {
            assert_eq!(Tier::from_name(t.name()).unwrap(), t);
        }
        assert!(matches!(
            Tier::from_name("sse9"),
            Err(KernelError::UnknownTier(_))
        ));
    }

    #[test]
    fn available_tiers_match_what_the_build_and_cpu_have() {
        let av = Tier::available();
        println!("tiers available on this machine: {av:?}");
        // Each tier's availability from an independent source: the target and, on x86_64,
        // the standard library's own feature detection (not the cached helpers above).
        #[cfg(target_arch = "x86_64")]
        let (avx2, avx512) = {
            let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            (avx2, avx2 && is_x86_feature_detected!("avx512f"))
        };
        #[cfg(not(target_arch = "x86_64"))]
        let (avx2, avx512) = (false, false);
        let expected = [
            (Tier::Reference, true),
            (Tier::Portable, true),
            (Tier::Avx2, avx2),
            (Tier::Avx512, avx512),
            (Tier::Neon, cfg!(target_arch = "aarch64")),
            (
                Tier::WasmSimd128,
                cfg!(all(target_arch = "wasm32", target_feature = "simd128")),
            ),
        ];
        for (tier, has) in expected {
            assert_eq!(tier.is_available(), has, "{tier}");
            assert_eq!(tier.ensure_available().is_ok(), has, "{tier}");
        }
        let best = expected.iter().rev().find(|(_, has)| *has).map(|&(t, _)| t);
        assert_eq!(Some(Tier::best()), best);
        // A tier CI expects on this machine must be here (see `testable`).
        for t in Tier::ALL {
            testable(t);
        }
    }
}
