//! Criterion benchmarks live in `benches/benches/`; this library holds what several of them
//! share: the model's GEMM shapes, the seeded inputs, and the thread pool and header line every
//! GEMM group starts with.

/// (M, K, N) of MobileNet-UNet's GEMMs at 224x224: the four dense 3x3 decoder convolutions
/// (89% of the model's MACs, as im2col GEMMs), then four pointwise convolutions.
pub const GEMM_SHAPES: [(usize, usize, usize); 8] = [
    (196, 4608, 512),
    (784, 6912, 256),
    (3136, 3456, 128),
    (12544, 1152, 64),
    (12544, 32, 64),
    (3136, 128, 128),
    (784, 256, 256),
    (196, 512, 512),
];

/// A multiplicative hash of `i`: 24 well-mixed bits, the same for a given (`i`, `seed`).
pub fn hash(i: usize, seed: u32) -> u32 {
    (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8
}

/// `len` seeded floats in [-0.5, 0.5).
pub fn data(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| hash(i, seed) as f32 / 16_777_216.0 - 0.5)
        .collect()
}

/// A rayon pool of `threads` threads for one group, after printing what the group's numbers
/// depend on: threads, tier, the kernel that tier runs, and the CPUs visible.
pub fn gemm_group_pool(
    group: &str,
    threads: usize,
    tier: impl std::fmt::Display,
    kernel: &str,
) -> rayon::ThreadPool {
    eprintln!(
        "{group}: {threads} thread(s), tier {tier}, kernel {kernel}, {} CPUs visible",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool")
}
