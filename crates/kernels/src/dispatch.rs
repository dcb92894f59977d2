//! The kernel table: which function every operation runs at each tier, in one place.
//!
//! A [`KernelTable`] lists, for one [`Tier`], the inner kernel of every operation as a
//! [`Kernel`]: a function pointer and the name of the function it points to. The table of a
//! tier is built once ([`KernelTable::for_tier`]) from one constructor per tier —
//! [`reference`], [`portable`], `avx2`, `avx512`, `neon`, `wasm_simd128` — and every operation's entry point
//! reads its kernel from there, so the calls and the names printed in benchmarks and logs come
//! from the same place and cannot drift apart.
//!
//! Every tier's kernel of an operation has the same signature (the `*Fn` types below). The
//! entry points do everything that is the same for all tiers — validate arguments, split the
//! work over rayon — and the kernel does the arithmetic on one piece.
//!
//! # Why the SIMD function pointers are safe to call
//!
//! A SIMD kernel is a safe function that calls `#[target_feature]` code. It is private to its
//! module's `x86_64.rs` (or `aarch64.rs`), and the only way out of that file is a constructor
//! that returns `None` unless the CPU was detected to have the features (`avx2_kernel()`,
//! ...). So holding the function pointer proves the features exist, the way a token type
//! would (matrixmultiply and our GEMM frame use tokens where the kernel is a generic
//! parameter; a table of plain function pointers needs none).

use crate::conv::small_n::SmallN;
use crate::depthwise::DepthwiseKernels;
use crate::epilogue::Activation;
use crate::error::Result;
use crate::gemm::ItemArgs;
use crate::tier::Tier;
use crate::upsample::UpsampleShape;
use crate::winograd::TransformKernels;
use std::sync::OnceLock;

/// A kernel: the function an operation runs at some tier, and that function's name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kernel<F> {
    /// The name of the function `run` points to (`f32_gemm_6x16_fma`, ...).
    pub name: &'static str,
    /// The kernel.
    pub run: F,
}

/// `Kernel { name: "f", run: f }` for a function `f`: the name is the function's own.
macro_rules! kernel {
    ($f:path) => {
        $crate::dispatch::Kernel {
            name: $crate::dispatch::last_segment(stringify!($f)),
            run: $f,
        }
    };
}
pub(crate) use kernel;

/// `"b"` for `"a :: b"` (how `stringify!` writes a path): a kernel's name without its module.
pub(crate) const fn last_segment(path: &'static str) -> &'static str {
    let bytes = path.as_bytes();
    let mut start = bytes.len();
    while start > 0 && bytes[start - 1] != b':' && bytes[start - 1] != b' ' {
        start -= 1;
    }
    let (_, name) = bytes.split_at(start);
    match std::str::from_utf8(name) {
        Ok(name) => name,
        Err(_) => path,
    }
}

/// `x[i] = act(x[i])` for every element of a block (`act` is not `None`).
pub(crate) type ActivationFn = fn(Activation, &mut [f32]);
/// `dst = src · scale[c] + shift[c]` over whole pixels of `scale.len()` channels.
pub(crate) type ScaleShiftFn = fn(&[f32], &[f32], &[f32], &mut [f32]);
/// `x = x · scale[c] + shift[c]` over whole pixels of `scale.len()` channels.
pub(crate) type ScaleShiftInplaceFn = fn(&[f32], &[f32], &mut [f32]);
/// Softmax of every `c`-float row of a block of whole rows.
pub(crate) type SoftmaxFn = fn(&mut [f32], usize);
/// `out[i] = e^{x[i]}` with a tier's exponential.
pub(crate) type ExpFn = fn(&[f32], &mut [f32]);
/// One thread's share of a blocked GEMM (see `gemm/frame.rs`).
pub(crate) type GemmItemFn = fn(ItemArgs);
/// The output rows made from one input row of a nearest upsampling (see `upsample/mod.rs`).
pub(crate) type UpsampleFn = fn(&UpsampleShape, &[f32], &mut [f32]);
/// Output pixels `p0 .. p0 + count` of a small-N convolution (see `conv/small_n.rs`).
pub(crate) type SmallNFn = fn(&SmallN, usize, usize, &mut [f32], usize);

/// Every kernel one tier runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KernelTable {
    /// ReLU / ReLU6 in place.
    pub activation: Kernel<ActivationFn>,
    /// Per-channel affine (folded batch normalisation).
    pub scale_shift: Kernel<ScaleShiftFn>,
    /// Per-channel affine in place.
    pub scale_shift_inplace: Kernel<ScaleShiftInplaceFn>,
    /// Softmax when `c < softmax::SMALL_C` (groups of 8 rows transposed).
    pub softmax_narrow: Kernel<SoftmaxFn>,
    /// Softmax when `c >= softmax::SMALL_C` (one row at a time).
    pub softmax_wide: Kernel<SoftmaxFn>,
    /// The exponential the softmax uses.
    pub exp: Kernel<ExpFn>,
    /// Nearest 2x2 upsampling (other factors run the portable row copy at every tier).
    pub upsample_2x2: Kernel<UpsampleFn>,
    /// The GEMM's work item, with the tier's micro-kernel.
    pub gemm: Kernel<GemmItemFn>,
    /// Convolutions with few output channels (the classifier).
    pub small_n: Kernel<SmallNFn>,
    /// Depthwise convolution rows.
    pub depthwise: DepthwiseKernels,
    /// Winograd's input and output transforms.
    pub winograd: TransformKernels,
}

impl KernelTable {
    /// The table of `tier`, built once per process; [`crate::KernelError::TierUnavailable`]
    /// if the CPU lacks the tier.
    pub fn for_tier(tier: Tier) -> Result<&'static KernelTable> {
        static TABLES: [OnceLock<Option<KernelTable>>; Tier::ALL.len()] =
            [const { OnceLock::new() }; Tier::ALL.len()];
        // `Tier::ALL` lists the tiers in declaration order, so the discriminant is the index.
        let table = TABLES[tier as usize].get_or_init(|| match tier {
            Tier::Reference => Some(reference()),
            Tier::Portable => Some(portable()),
            Tier::Avx2 => avx2(),
            Tier::Avx512 => avx512(),
            Tier::Neon => neon(),
            Tier::WasmSimd128 => wasm_simd128(),
        });
        if let Some(table) = table {
            return Ok(table);
        }
        tier.ensure_available()?;
        // The tier passed detection but one of its kernels' constructors disagreed: a bug.
        Err(crate::KernelError::TierUnavailable {
            tier: tier.name(),
            reason: "a kernel of this tier failed its own CPU check",
        })
    }
}

/// The oracle: the naive loops of every operation whose oracle works piece by piece.
///
/// The convolutions' oracle is the direct convolution over the whole tensor (and upsampling's
/// the whole-tensor copy), which their entry points call for `Tier::Reference` before they
/// look at the table; the `upsample_2x2`, `small_n`, `depthwise` and `winograd` entries below
/// only fill the struct and are never run at this tier.
pub(crate) fn reference() -> KernelTable {
    KernelTable {
        activation: kernel!(crate::activation::reference::activation_inplace),
        scale_shift: kernel!(crate::batchnorm::reference::scale_shift_nhwc),
        scale_shift_inplace: kernel!(crate::batchnorm::reference::scale_shift_nhwc_inplace),
        softmax_narrow: kernel!(crate::softmax::reference::softmax_channels_inplace),
        softmax_wide: kernel!(crate::softmax::reference::softmax_channels_inplace),
        exp: kernel!(crate::softmax::reference::exp_libm),
        upsample_2x2: kernel!(crate::upsample::portable::f32_upsample_rowcopy_portable),
        gemm: kernel!(crate::gemm::reference::gemm_item_reference),
        small_n: kernel!(crate::conv::small_n::f32_conv_small_n_dot8_portable),
        depthwise: crate::depthwise::portable_kernels(),
        winograd: crate::winograd::portable_transforms(),
    }
}

/// Plain Rust, blocked like the SIMD tiers; what runs where no SIMD tier exists.
pub(crate) fn portable() -> KernelTable {
    KernelTable {
        activation: kernel!(crate::activation::portable::f32_clamp_autovec_portable),
        scale_shift: kernel!(crate::batchnorm::portable::f32_scaleshift_portable),
        scale_shift_inplace: kernel!(crate::batchnorm::portable::f32_scaleshift_inplace_portable),
        softmax_narrow: kernel!(crate::softmax::portable::f32_softmax_8rows_polyexp_portable),
        softmax_wide: kernel!(crate::softmax::portable::f32_softmax_row_polyexp_portable),
        exp: kernel!(crate::softmax::portable::exp_poly_slice),
        upsample_2x2: kernel!(crate::upsample::portable::f32_upsample_rowcopy_portable),
        gemm: kernel!(crate::gemm::portable::f32_gemm_6x16_portable),
        small_n: kernel!(crate::conv::small_n::f32_conv_small_n_dot8_portable),
        depthwise: crate::depthwise::portable_kernels(),
        winograd: crate::winograd::portable_transforms(),
    }
}

/// AVX2 + FMA (x86_64, detected at run time).
#[cfg(target_arch = "x86_64")]
fn avx2() -> Option<KernelTable> {
    Some(KernelTable {
        activation: crate::activation::avx2_kernel()?,
        scale_shift: crate::batchnorm::avx2_kernels()?.0,
        scale_shift_inplace: crate::batchnorm::avx2_kernels()?.1,
        softmax_narrow: crate::softmax::avx2_kernels()?.0,
        softmax_wide: crate::softmax::avx2_kernels()?.1,
        exp: crate::softmax::avx2_kernels()?.2,
        upsample_2x2: crate::upsample::avx2_kernel()?,
        gemm: crate::gemm::avx2_kernel()?,
        small_n: crate::conv::avx2_small_n_kernel()?,
        depthwise: crate::depthwise::avx2_kernels()?,
        winograd: crate::winograd::avx2_transforms()?,
    })
}

/// AVX-512F where it pays (GEMM, Winograd, depthwise), AVX2 + FMA elsewhere: on Zen 4 the
/// memory-bound element-wise ops gain nothing from wider vectors.
#[cfg(target_arch = "x86_64")]
fn avx512() -> Option<KernelTable> {
    Some(KernelTable {
        gemm: crate::gemm::avx512_kernel()?,
        depthwise: crate::depthwise::avx512_kernels()?,
        winograd: crate::winograd::avx512_transforms()?,
        ..avx2()?
    })
}

#[cfg(not(target_arch = "x86_64"))]
fn avx2() -> Option<KernelTable> {
    None
}

#[cfg(not(target_arch = "x86_64"))]
fn avx512() -> Option<KernelTable> {
    None
}

/// NEON (aarch64, where it is part of the baseline) for GEMM, depthwise and Winograd; the
/// memory-bound element-wise ops run their portable kernels, which the compiler vectorises
/// with NEON anyway.
#[cfg(target_arch = "aarch64")]
fn neon() -> Option<KernelTable> {
    Some(KernelTable {
        gemm: crate::gemm::neon_kernel()?,
        depthwise: crate::depthwise::neon_kernels()?,
        winograd: crate::winograd::neon_transforms()?,
        ..portable()
    })
}

#[cfg(not(target_arch = "aarch64"))]
fn neon() -> Option<KernelTable> {
    None
}

/// WebAssembly SIMD128 (wasm32 modules built with `+simd128`) for GEMM, depthwise and
/// Winograd; the element-wise ops run their portable kernels, which LLVM vectorises with
/// SIMD128 in such a build anyway.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn wasm_simd128() -> Option<KernelTable> {
    Some(KernelTable {
        gemm: crate::gemm::simd128_kernel()?,
        depthwise: crate::depthwise::simd128_kernels()?,
        winograd: crate::winograd::simd128_transforms()?,
        ..portable()
    })
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn wasm_simd128() -> Option<KernelTable> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_functions_last_path_segment() {
        assert_eq!(
            last_segment("crate :: gemm :: portable :: f32_gemm_6x16_portable"),
            "f32_gemm_6x16_portable"
        );
        assert_eq!(last_segment("f"), "f");
    }

    #[test]
    fn every_available_tier_has_a_table_and_no_other_does() {
        for tier in Tier::available() {
            assert!(KernelTable::for_tier(tier).is_ok(), "{tier} is available here");
        }
        for tier in Tier::ALL.into_iter().filter(|t| !t.is_available()) {
            assert!(
                KernelTable::for_tier(tier).is_err(),
                "{tier} is not available here"
            );
        }
    }

    #[test]
    fn simd_tiers_name_their_own_kernels() {
        for tier in Tier::available() {
            let t = KernelTable::for_tier(tier).unwrap();
            let names = [
                t.activation.name,
                t.scale_shift.name,
                t.gemm.name,
                t.small_n.name,
                t.exp.name,
            ];
            println!("{tier}: {names:?}");
            if matches!(tier, Tier::Avx2 | Tier::Avx512) {
                assert!(names
                    .iter()
                    .all(|n| n.ends_with("avx2") || n.ends_with("fma") || n.ends_with("avx512")));
            }
            if tier == Tier::WasmSimd128 {
                assert!(t.gemm.name.ends_with("simd128"), "{}", t.gemm.name);
            }
        }
    }
}
