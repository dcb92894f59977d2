//! The WebAssembly SIMD128 tier's depthwise kernels: the schedule of `schedule.rs` on `v128`
//! (4 channels per `f32x4`), compiled inside `#[target_feature(enable = "simd128")]`
//! wrappers, and the generic row loop compiled the same way.
//!
//! | tier    | 3x3 stride 1                  | 3x3 stride 2                  | other kernels                |
//! |---------|-------------------------------|-------------------------------|------------------------------|
//! | SIMD128 | `f32_dwconv_3x3s1_4c_simd128` | `f32_dwconv_3x3s2_4c_simd128` | `f32_dwconv_generic_simd128` |
//!
//! The lanes type is the crate's ([`crate::lanes`]): its channel tail (`c % 4`) goes through a
//! 4-float buffer, its multiply-add rounds twice (SIMD128 has no FMA), so this tier reproduces
//! the reference bit for bit (the tests hold it to that), and its clamp matches the portable
//! tier's `f32::max` / `f32::min`.
//! Soundness: this file is compiled only into modules built with SIMD128 (WebAssembly cannot
//! detect features at run time; an engine without SIMD refuses to load such a module); the
//! lanes type appears only as the type argument of the `#[target_feature]` wrappers below,
//! which leave this module only through [`simd128_kernels`] (which checks
//! `Tier::WasmSimd128`; see `dispatch.rs`).

use super::portable::dwconv_generic_row;
use super::schedule::dwconv_3x3;
use super::{DepthwiseKernels, Geometry, WindowRows};
use crate::epilogue::Epilogue;
use crate::lanes::wasm32::Simd128;
use crate::tier::Tier;

simd_depthwise_kernels! {
    constructor: simd128_kernels,
    tier: Tier::WasmSimd128,
    features: "simd128",
    lanes: Simd128,
    row: simd128_row,
    kernels: f32_dwconv_3x3s1_4c_simd128, f32_dwconv_3x3s2_4c_simd128, f32_dwconv_generic_simd128,
}
