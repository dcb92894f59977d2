//! The x86_64 tiers' depthwise kernels: the schedule of `schedule.rs` on `__m256` (AVX2+FMA,
//! 8 channels per vector) and on `__m512` (AVX-512F, 16), each compiled inside
//! `#[target_feature]` wrappers, and the generic row loop compiled the same way.
//!
//! | tier    | 3x3 stride 1               | 3x3 stride 2               | other kernels               |
//! |---------|----------------------------|----------------------------|-----------------------------|
//! | AVX2    | `f32_dwconv_3x3s1_8c_fma`     | `f32_dwconv_3x3s2_8c_fma`     | `f32_dwconv_generic_avx2`   |
//! | AVX-512 | `f32_dwconv_3x3s1_16c_avx512` | `f32_dwconv_3x3s2_16c_avx512` | `f32_dwconv_generic_avx512` |
//!
//! The lanes types are the crate's ([`crate::lanes`]); the channel tail (`c % 8` or `c % 16`)
//! uses their masked loads and stores. Soundness: the lanes types appear only as the type
//! argument of the `#[target_feature]` wrappers below, which run only through the row
//! functions, which leave this module only through [`avx2_kernels`] / [`avx512_kernels`] after
//! those detected the CPU features (see `dispatch.rs`).

use super::portable::dwconv_generic_row;
use super::schedule::dwconv_3x3;
use super::{DepthwiseKernels, Geometry, WindowRows, CHANNEL_TILE, CHANNEL_TILE_AVX512};
use crate::epilogue::Epilogue;
use crate::lanes::x86_64::{Avx2, Avx512};
use crate::lanes::Lanes;
use crate::tier::Tier;

simd_depthwise_kernels! {
    constructor: avx2_kernels,
    tier: Tier::Avx2,
    features: "avx2,fma",
    lanes: Avx2,
    row: avx2_row,
    kernels: f32_dwconv_3x3s1_8c_fma, f32_dwconv_3x3s2_8c_fma, f32_dwconv_generic_avx2,
}

simd_depthwise_kernels! {
    constructor: avx512_kernels,
    tier: Tier::Avx512,
    features: "avx512f,avx2,fma",
    lanes: Avx512,
    row: avx512_row,
    kernels: f32_dwconv_3x3s1_16c_avx512, f32_dwconv_3x3s2_16c_avx512, f32_dwconv_generic_avx512,
}

// The channel tiles the public constants announce are the lanes' widths.
const _: () = assert!(<Avx2 as Lanes>::N == CHANNEL_TILE && <Avx512 as Lanes>::N == CHANNEL_TILE_AVX512);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::depthwise::function_name;

    #[test]
    fn names_are_the_functions_names() {
        // The tables are `None` on a CPU without the features; the names are checked wherever
        // the kernels can run, and the skip is printed.
        assert_eq!(avx2_kernels().is_some(), crate::tier::testable(Tier::Avx2));
        assert_eq!(avx512_kernels().is_some(), crate::tier::testable(Tier::Avx512));
        if let Some(k) = avx2_kernels() {
            assert_eq!(k.name_3x3s1, function_name(&f32_dwconv_3x3s1_8c_fma));
            assert_eq!(k.name_3x3s2, function_name(&f32_dwconv_3x3s2_8c_fma));
            assert_eq!(k.name_generic, function_name(&f32_dwconv_generic_avx2));
        }
        if let Some(k) = avx512_kernels() {
            assert_eq!(k.name_3x3s1, function_name(&f32_dwconv_3x3s1_16c_avx512));
            assert_eq!(k.name_3x3s2, function_name(&f32_dwconv_3x3s2_16c_avx512));
            assert_eq!(k.name_generic, function_name(&f32_dwconv_generic_avx512));
        }
    }
}
