//! The kernel table: which function every operation runs at each tier, in one place.
//!
//! A [`KernelTable`] lists, for one [`Tier`], the inner kernel of every operation as a
//! [`Kernel`]: a function pointer and the name of the function it points to. The table of a
//! tier is built once ([`KernelTable::for_tier`]) from one constructor per tier —
//! [`reference`], [`portable`], `avx2`, `avx512`, `neon`, `wasm_simd128` — and every
//! operation's entry point reads its kernel from there, the reference tier's included (no
//! entry point looks at the tier itself), so the calls and the names printed in benchmarks
//! and logs ([`kernel_names`]) come from the same place and cannot drift apart.
//!
//! Every tier's kernel of an operation has the same signature (the `*Fn` types below). The
//! entry points do everything that is the same for all tiers — validate arguments, split the
//! work over rayon — and the kernel does the arithmetic on one piece.
//!
//! # Soundness: the one argument every SIMD kernel rests on
//!
//! Calling an intrinsic (or any `#[target_feature]` function) is undefined behaviour on a CPU
//! without the feature. Every SIMD kernel of this crate is sound by the same three rules:
//!
//! 1. **A table entry is the proof of the features.** A SIMD tier's kernel is a safe `fn`,
//!    private to its `<op>/x86_64.rs` (`aarch64.rs`, `wasm32.rs`), whose body calls one `#[target_feature]`
//!    `unsafe fn`. The only way out of that file is the tier's constructor (`avx2_kernel()`,
//!    `avx512_transforms()`, ...), which returns `None` unless [`Tier::is_available`] detected
//!    the features; so whoever holds the function pointer holds the proof, and the safe
//!    kernel's `// SAFETY:` comment cites it. (WebAssembly cannot detect features at run
//!    time: `wasm32.rs` files are compiled only into modules built with SIMD128, which an
//!    engine without SIMD refuses to load, and `Tier::WasmSimd128` is available exactly there.)
//! 2. **ISA types live only inside the `#[target_feature]` region.** Inside that function the
//!    code is safe, generic Rust over a type whose safe methods run the ISA's instructions: a
//!    vector of lanes ([`crate::lanes`]), a GEMM micro-kernel (`gemm::frame::MicroKernel`, e.g.
//!    `Fma6x16`) or a dot product (`conv::small_n::Dot`). Such a type is only ever named as
//!    the type argument of a generic body inside a `#[target_feature]` function of its own
//!    ISA; the micro-kernel and dot values carry a private field, so only the safe kernel of
//!    rule 1 can make one. Running one of its methods therefore means the features were
//!    detected.
//! 3. **Memory through slices.** The ISA types take slices and bounds-check them before they
//!    touch a pointer (a lanes `load` slices `src[..N]` first), so the generic bodies cannot
//!    read or write out of bounds. Raw pointer arithmetic appears only inside an ISA method or
//!    an `unsafe fn` whose `# Safety` section lists the ranges, which its safe caller asserts.
//!
//! The crate denies `unsafe_op_in_unsafe_fn` and warns (CI: denies) on
//! `clippy::undocumented_unsafe_blocks`, so every unsafe operation is in a block that says
//! which rule makes it sound. The reference and portable tiers contain no `unsafe` at all.

use crate::conv::small_n::SmallN;
use crate::depthwise::DepthwiseKernels;
use crate::epilogue::Activation;
use crate::error::Result;
use crate::gemm::ItemArgs;
use crate::gemm_bf16::Bf16GemmItemFn;
use crate::gemm_i8::I8GemmItemFn;
use crate::pad::PadShape;
use crate::tier::Tier;
use crate::upsample::UpsampleShape;
use crate::winograd::TransformKernels;
use std::sync::OnceLock;

/// `(entry, kernel name)` for every kernel `tier` runs (`("gemm", "f32_gemm_6x16_fma")`, ...),
/// for benchmark and log records; [`crate::KernelError::TierUnavailable`] if the CPU lacks it.
pub fn kernel_names(tier: Tier) -> Result<Vec<(&'static str, &'static str)>> {
    Ok(KernelTable::for_tier(tier)?.entries())
}

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
/// Output pixels `p0 .. p0 + count` of a small-N convolution, with a reusable tap list (see
/// `conv/small_n.rs`).
pub(crate) type SmallNFn = fn(&SmallN, usize, usize, &mut [f32], usize, &mut Vec<(usize, usize)>);
/// Output row `r` (counted over all images) of a zero padding (see `pad/mod.rs`).
pub(crate) type PadRowFn = fn(&PadShape, &[f32], usize, &mut [f32]);
/// The output pixels from pixel `p0` on of a channel concatenation: `(inputs, channels, p0,
/// dst)`, `dst` a whole number of pixels (see `concat/mod.rs`).
pub(crate) type ConcatFn = fn(&[&[f32]], &[usize], usize, &mut [f32]);
/// One tensor into a channel slice of a wider one, over whole pixels: `(src, c, dst,
/// dst_pixel_stride, dst_c_offset)` (see `concat/mod.rs`).
pub(crate) type CopyChannelsFn = fn(&[f32], usize, &mut [f32], usize, usize);

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
    /// Nearest 2x2 upsampling.
    pub upsample_2x2: Kernel<UpsampleFn>,
    /// Nearest upsampling by any other factors.
    pub upsample: Kernel<UpsampleFn>,
    /// Zero padding, one output row.
    pub pad_row: Kernel<PadRowFn>,
    /// Channel concatenation, a block of pixels.
    pub concat: Kernel<ConcatFn>,
    /// One tensor into a channel slice, a block of pixels.
    pub copy_channels: Kernel<CopyChannelsFn>,
    /// The GEMM's work item, with the tier's micro-kernel.
    pub gemm: Kernel<GemmItemFn>,
    /// The int8 GEMM's work item (`gemm_i8`).
    pub gemm_i8: Kernel<I8GemmItemFn>,
    /// The bf16 GEMM's work item (`gemm_bf16`).
    pub gemm_bf16: Kernel<Bf16GemmItemFn>,
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

    /// `(entry, kernel name)` for every kernel of the table, Winograd's and depthwise's parts
    /// included: what logs and tests list. Written as one destructuring, so a new entry does
    /// not compile until it is listed here too.
    pub fn entries(&self) -> Vec<(&'static str, &'static str)> {
        let KernelTable {
            activation,
            scale_shift,
            scale_shift_inplace,
            softmax_narrow,
            softmax_wide,
            exp,
            upsample_2x2,
            upsample,
            pad_row,
            concat,
            copy_channels,
            gemm,
            gemm_i8,
            gemm_bf16,
            small_n,
            depthwise,
            winograd,
        } = self;
        vec![
            ("activation", activation.name),
            ("scale_shift", scale_shift.name),
            ("scale_shift_inplace", scale_shift_inplace.name),
            ("softmax_narrow", softmax_narrow.name),
            ("softmax_wide", softmax_wide.name),
            ("exp", exp.name),
            ("upsample_2x2", upsample_2x2.name),
            ("upsample", upsample.name),
            ("pad_row", pad_row.name),
            ("concat", concat.name),
            ("copy_channels", copy_channels.name),
            ("gemm", gemm.name),
            ("gemm_i8", gemm_i8.name),
            ("gemm_bf16", gemm_bf16.name),
            ("small_n", small_n.name),
            ("depthwise_3x3s1", depthwise.name_3x3s1),
            ("depthwise_3x3s2", depthwise.name_3x3s2),
            ("depthwise_generic", depthwise.name_generic),
            ("winograd_input", winograd.input.name),
            ("winograd_output", winograd.output.name),
        ]
    }
}

/// The oracle: naive loops, one element at a time, for every piece of every operation.
///
/// The entry points split the work and call these exactly as they call any other tier's
/// kernels, so the reference tier runs the same schedule (and the same validation) as the fast
/// ones; only the arithmetic inside a piece is the textbook one.
pub(crate) fn reference() -> KernelTable {
    KernelTable {
        activation: kernel!(crate::activation::reference::activation_inplace),
        scale_shift: kernel!(crate::batchnorm::reference::scale_shift_nhwc),
        scale_shift_inplace: kernel!(crate::batchnorm::reference::scale_shift_nhwc_inplace),
        softmax_narrow: kernel!(crate::softmax::reference::softmax_channels_inplace),
        softmax_wide: kernel!(crate::softmax::reference::softmax_channels_inplace),
        exp: kernel!(crate::softmax::reference::exp_libm),
        upsample_2x2: kernel!(crate::upsample::reference::upsample_rows_reference),
        upsample: kernel!(crate::upsample::reference::upsample_rows_reference),
        pad_row: kernel!(crate::pad::reference::zero_pad_row_reference),
        concat: kernel!(crate::concat::reference::concat_pixels_reference),
        copy_channels: kernel!(crate::concat::reference::copy_channels_into),
        gemm: kernel!(crate::gemm::reference::gemm_item_reference),
        small_n: kernel!(crate::conv::reference::conv_pixels_reference),
        depthwise: crate::depthwise::reference_kernels(),
        winograd: crate::winograd::reference_transforms(),
        gemm_i8: crate::gemm_i8::reference_kernel(),
        gemm_bf16: crate::gemm_bf16::reference_kernel(),
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
        exp: kernel!(crate::softmax::portable::f32_exp_poly_portable),
        upsample_2x2: kernel!(crate::upsample::portable::f32_upsample_rowcopy_portable),
        upsample: kernel!(crate::upsample::portable::f32_upsample_rowcopy_portable),
        pad_row: kernel!(crate::pad::portable::f32_zero_pad_rowcopy_portable),
        concat: kernel!(crate::concat::portable::f32_concat_pixelcopy_portable),
        copy_channels: kernel!(crate::concat::portable::f32_copy_channels_pixelcopy_portable),
        gemm: kernel!(crate::gemm::portable::f32_gemm_6x16_portable),
        gemm_i8: crate::gemm_i8::portable_kernel(),
        gemm_bf16: crate::gemm_bf16::portable_kernel(),
        small_n: kernel!(crate::conv::small_n::f32_conv_small_n_dot8_portable),
        depthwise: crate::depthwise::portable_kernels(),
        winograd: crate::winograd::portable_transforms(),
    }
}

/// AVX2 + FMA (x86_64, detected at run time). Zero padding, any-factor upsampling and
/// concatenation run the portable kernels: they are `memcpy`/`memset`, which already move
/// data at memory speed with the widest stores the CPU has.
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
        gemm_i8: crate::gemm_i8::avx2_kernel()?,
        gemm_bf16: crate::gemm_bf16::portable_kernel(),
        small_n: crate::conv::avx2_small_n_kernel()?,
        depthwise: crate::depthwise::avx2_kernels()?,
        winograd: crate::winograd::avx2_transforms()?,
        ..portable()
    })
}

/// AVX-512F where it pays (GEMM, Winograd, depthwise), AVX2 + FMA elsewhere: on Zen 4 the
/// memory-bound element-wise ops gain nothing from wider vectors.
#[cfg(target_arch = "x86_64")]
fn avx512() -> Option<KernelTable> {
    Some(KernelTable {
        gemm: crate::gemm::avx512_kernel()?,
        gemm_i8: crate::gemm_i8::avx512_kernel()?,
        gemm_bf16: crate::gemm_bf16::avx512_kernel(),
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

    /// Entries a SIMD tier fills with the portable kernel on purpose (pure copies, already at
    /// memory speed as `memcpy`): their names must be the portable ones.
    const PORTABLE_ON_PURPOSE: [&str; 4] = ["upsample", "pad_row", "concat", "copy_channels"];

    /// Entries where AVX-512, NEON and SIMD128 have kernels of their own; the AVX-512 tier
    /// runs the AVX2 kernels elsewhere, NEON and SIMD128 the portable ones.
    const WIDE_TIER_ENTRIES: [&str; 6] = [
        "gemm",
        "depthwise_3x3s1",
        "depthwise_3x3s2",
        "depthwise_generic",
        "winograd_input",
        "winograd_output",
    ];

    /// Entries whose fast kernel needs an extension beyond its tier's baseline (AVX-512 VNNI
    /// for int8, AVX-512 BF16 for bf16): where the CPU lacks it, or the tier has no such
    /// instruction (AVX2 has no bf16 dot product; NEON's kernels are not written yet), the tier
    /// runs the next kernel down.
    const EXTENSION_ENTRIES: [&str; 2] = ["gemm_i8", "gemm_bf16"];

    /// Whether an [`EXTENSION_ENTRIES`] entry of `tier` runs the kernel it should on this CPU.
    fn extension_kernel_ok(
        tier: Tier,
        entry: &str,
        name: &str,
        portable: &std::collections::HashMap<&str, &str>,
        avx2: Option<&std::collections::HashMap<&str, &str>>,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        let (vnni, bf16) = (
            crate::tier::avx512_vnni_detected(),
            crate::tier::avx512_bf16_detected(),
        );
        #[cfg(not(target_arch = "x86_64"))]
        let (vnni, bf16) = (false, false);
        match (tier, entry) {
            (Tier::Avx512, "gemm_i8") if vnni => name.ends_with("_avx512vnni"),
            (Tier::Avx512, "gemm_i8") => avx2.is_some_and(|a| name == a[entry]),
            (Tier::Avx512, "gemm_bf16") if bf16 => name.ends_with("_avx512bf16"),
            (Tier::Avx2, "gemm_i8") => name.ends_with("_avx2"),
            _ => name == portable[entry],
        }
    }

    /// Whether `name` is a kernel of `tier` by its suffix (`f32_gemm_6x16_fma` is AVX2's).
    fn has_tier_suffix(tier: Tier, name: &str) -> bool {
        match tier {
            Tier::Reference => name.ends_with("_reference") || !name.starts_with("f32_"),
            Tier::Portable => name.ends_with("_portable"),
            Tier::Avx2 => name.ends_with("_avx2") || name.ends_with("_fma"),
            Tier::Avx512 => name.ends_with("_avx512"),
            Tier::Neon => name.ends_with("_neon"),
            Tier::WasmSimd128 => name.ends_with("_simd128"),
        }
    }

    #[test]
    fn every_entry_of_every_available_tier_names_a_kernel_of_that_tier() {
        let portable: std::collections::HashMap<_, _> = portable().entries().into_iter().collect();
        let avx2 = avx2().map(|t| {
            t.entries()
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>()
        });
        for tier in Tier::available() {
            let entries = KernelTable::for_tier(tier).unwrap().entries();
            println!("{tier}: {entries:?}");
            assert_eq!(entries.len(), portable.len());
            for (entry, name) in entries {
                let wide = WIDE_TIER_ENTRIES.contains(&entry);
                let ok = match tier {
                    Tier::Reference => has_tier_suffix(tier, name) && name != portable[entry],
                    Tier::Portable => has_tier_suffix(tier, name),
                    _ if EXTENSION_ENTRIES.contains(&entry) => {
                        extension_kernel_ok(tier, entry, name, &portable, avx2.as_ref())
                    }
                    _ if PORTABLE_ON_PURPOSE.contains(&entry) => name == portable[entry],
                    Tier::Avx2 => has_tier_suffix(tier, name),
                    Tier::Avx512 if wide => has_tier_suffix(tier, name),
                    Tier::Avx512 => avx2.as_ref().is_some_and(|a| name == a[entry]),
                    Tier::Neon if wide => has_tier_suffix(tier, name),
                    Tier::Neon => name == portable[entry],
                    Tier::WasmSimd128 if wide => has_tier_suffix(tier, name),
                    Tier::WasmSimd128 => name == portable[entry],
                };
                assert!(ok, "{tier} entry {entry} runs {name}");
            }
        }
    }
}
