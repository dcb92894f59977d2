//! The NEON tier's depthwise kernels: the schedule of `schedule.rs` on `float32x4_t` (4
//! channels per vector), compiled inside `#[target_feature(enable = "neon")]` wrappers, and
//! the generic row loop compiled the same way.
//!
//! | tier | 3x3 stride 1               | 3x3 stride 2               | other kernels             |
//! |------|----------------------------|----------------------------|---------------------------|
//! | NEON | `f32_dwconv_3x3s1_4c_neon` | `f32_dwconv_3x3s2_4c_neon` | `f32_dwconv_generic_neon` |
//!
//! The lanes type is the crate's ([`crate::lanes`]): its channel tail (`c % 4`) goes through a
//! 4-float buffer, and its clamp matches the portable tier's `f32::max` / `f32::min`.
//! Soundness: it appears only as the type argument of the `#[target_feature]` wrappers below,
//! which leave this module only through [`neon_kernels`] (which checks `Tier::Neon`; see
//! `dispatch.rs`).

use super::portable::dwconv_generic_row;
use super::schedule::dwconv_3x3;
use super::{DepthwiseKernels, Geometry, WindowRows};
use crate::epilogue::Epilogue;
use crate::lanes::aarch64::Neon;
use crate::tier::Tier;

simd_depthwise_kernels! {
    constructor: neon_kernels,
    tier: Tier::Neon,
    features: "neon",
    lanes: Neon,
    row: neon_row,
    kernels: f32_dwconv_3x3s1_4c_neon, f32_dwconv_3x3s2_4c_neon, f32_dwconv_generic_neon,
}
