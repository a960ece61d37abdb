//! Deterministic child seeds, so parallel simulations are reproducible whatever the thread
//! schedule: simulation i of stream s draws from `ChaCha8Rng::seed_from_u64(child_seed(seed, s, i))`.

/// SplitMix64 finalizer over (seed, stream, index).
pub fn child_seed(seed: u64, stream: u64, index: u64) -> u64 {
    let mut z = seed
        ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ index.wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
