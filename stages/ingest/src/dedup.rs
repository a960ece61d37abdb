//! Duplicate removal: exact duplicates by content id, near duplicates across splits by MinHash
//! over token shingles with an LSH index (candidates are confirmed by their estimated Jaccard
//! similarity).
//!
//! Memory grows with the number of *kept* snippets, not with code size: 16 bytes per id for
//! exact duplicates, and `4 * num_perm` bytes of signature plus about 20 bytes per band for the
//! LSH index.

use std::collections::{HashMap, HashSet};

use crate::config::{NearDuplicates, Split};

/// The first 128 bits of a hex content id.
pub fn id_key(hex: &str) -> u128 {
    u128::from_str_radix(&hex[..32.min(hex.len())], 16).unwrap_or(0)
}

/// Exact duplicates by content id.
#[derive(Default)]
pub struct ExactIndex {
    seen: HashSet<u128>,
}

impl ExactIndex {
    /// True when `key` was seen before; records it otherwise.
    pub fn check_and_insert(&mut self, key: u128) -> bool {
        !self.seen.insert(key)
    }

    pub fn contains(&self, key: u128) -> bool {
        self.seen.contains(&key)
    }
}

/// splitmix64's finalizer: a fast, well-mixed 64-bit hash step.
fn mix(mut value: u64) -> u64 {
    value = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Hashes of the code's tokens: runs of letters, digits and `_`, and single other
/// non-whitespace characters.
pub fn token_hashes(code: &str) -> Vec<u64> {
    let mut hashes = Vec::with_capacity(code.len() / 4);
    let bytes = code.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte.is_ascii_whitespace() {
            index += 1;
        } else if byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80 {
            let start = index;
            while index < bytes.len()
                && (bytes[index].is_ascii_alphanumeric()
                    || bytes[index] == b'_'
                    || bytes[index] >= 0x80)
            {
                index += 1;
            }
            hashes.push(fnv1a(&bytes[start..index]));
        } else {
            hashes.push(fnv1a(&bytes[index..index + 1]));
            index += 1;
        }
    }
    hashes
}

/// MinHash signatures with seeded permutations.
#[derive(Clone)]
pub struct MinHasher {
    seeds: Vec<u64>,
    shingle_size: usize,
}

impl MinHasher {
    pub fn new(seed: u64, num_perm: usize, shingle_size: usize) -> Self {
        let mut state = mix(seed ^ 0x6d69_6e68_6173_6821);
        let seeds = (0..num_perm)
            .map(|_| {
                state = mix(state);
                state
            })
            .collect();
        MinHasher {
            seeds,
            shingle_size,
        }
    }

    /// The signature of `code` (all `u32::MAX` for code without tokens).
    pub fn signature(&self, code: &str) -> Vec<u32> {
        let tokens = token_hashes(code);
        let mut signature = vec![u32::MAX; self.seeds.len()];
        let width = self.shingle_size.min(tokens.len()).max(1);
        if tokens.is_empty() {
            return signature;
        }
        for window in tokens.windows(width) {
            let shingle = window
                .iter()
                .fold(0x5851_f42d_4c95_7f2du64, |hash, token| mix(hash ^ token));
            for (slot, seed) in signature.iter_mut().zip(&self.seeds) {
                let value = (mix(shingle ^ seed) >> 32) as u32;
                if value < *slot {
                    *slot = value;
                }
            }
        }
        signature
    }
}

/// The share of equal positions: an estimate of the Jaccard similarity of the shingle sets.
pub fn estimated_jaccard(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() {
        return 0.0;
    }
    let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
    equal as f64 / a.len() as f64
}

/// Bands for LSH: the largest number of rows per band whose S-curve threshold
/// `(1/b)^(1/r)` stays at least 0.1 below the similarity threshold, so true near duplicates
/// are almost always candidates (candidates are then confirmed exactly on the signature).
pub fn choose_bands(num_perm: usize, threshold: f64) -> usize {
    let mut best = num_perm;
    for rows in 1..=num_perm {
        if !num_perm.is_multiple_of(rows) {
            continue;
        }
        let bands = num_perm / rows;
        let s_curve = (1.0 / bands as f64).powf(1.0 / rows as f64);
        if s_curve <= threshold - 0.1 {
            best = bands;
        }
    }
    best
}

/// Near-duplicate detection across splits.
pub struct NearIndex {
    threshold: f64,
    num_perm: usize,
    rows_per_band: usize,
    signatures: Vec<u32>,
    splits: Vec<Split>,
    /// Band key -> head of a linked list in `links`.
    heads: HashMap<u64, u32>,
    /// (entry, next link or u32::MAX)
    links: Vec<(u32, u32)>,
}

impl NearIndex {
    pub fn new(config: &NearDuplicates) -> Self {
        let bands = config
            .bands
            .unwrap_or_else(|| choose_bands(config.num_perm, config.threshold));
        NearIndex {
            threshold: config.threshold,
            num_perm: config.num_perm,
            rows_per_band: config.num_perm / bands,
            signatures: Vec::new(),
            splits: Vec::new(),
            heads: HashMap::new(),
            links: Vec::new(),
        }
    }

    fn band_keys<'a>(&'a self, signature: &'a [u32]) -> impl Iterator<Item = u64> + 'a {
        signature
            .chunks(self.rows_per_band)
            .enumerate()
            .map(|(band, rows)| {
                rows.iter().fold(
                    mix(band as u64),
                    |hash, value| mix(hash ^ u64::from(*value)),
                )
            })
    }

    /// True when a snippet already indexed in a *different* split than `split` is a near
    /// duplicate of `signature`.
    pub fn conflicts(&self, signature: &[u32], split: Split) -> bool {
        for key in self.band_keys(signature) {
            let mut link = self.heads.get(&key).copied().unwrap_or(u32::MAX);
            while link != u32::MAX {
                let (entry, next) = self.links[link as usize];
                let entry = entry as usize;
                if self.splits[entry] != split {
                    let other =
                        &self.signatures[entry * self.num_perm..(entry + 1) * self.num_perm];
                    if estimated_jaccard(signature, other) >= self.threshold {
                        return true;
                    }
                }
                link = next;
            }
        }
        false
    }

    pub fn insert(&mut self, signature: &[u32], split: Split) {
        let entry = self.splits.len() as u32;
        self.splits.push(split);
        self.signatures.extend_from_slice(signature);
        let keys: Vec<u64> = self.band_keys(signature).collect();
        for key in keys {
            let link = self.links.len() as u32;
            let previous = self.heads.insert(key, link).unwrap_or(u32::MAX);
            self.links.push((entry, previous));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> (MinHasher, NearIndex) {
        let config = NearDuplicates::default();
        (
            MinHasher::new(7, config.num_perm, config.shingle_size),
            NearIndex::new(&config),
        )
    }

    #[test]
    fn a_lightly_edited_copy_in_another_split_is_a_near_duplicate() {
        let (hasher, mut index) = index();
        let original = "def total(values):\n    result = 0\n    for value in values:\n        if value > 0:\n            result += value * 2\n        else:\n            result -= value\n    print('done', result)\n    return result\n";
        let copy = original.replace("print('done', result)", "print('finished', result)");
        let unrelated = "def parse(text):\n    return json.loads(text.strip())['items'][0]\n";
        index.insert(&hasher.signature(original), Split::Train);
        let copy_signature = hasher.signature(&copy);
        assert!(estimated_jaccard(&copy_signature, &hasher.signature(original)) >= 0.8);
        assert!(index.conflicts(&copy_signature, Split::Test));
        assert!(
            !index.conflicts(&copy_signature, Split::Train),
            "same split is not a conflict"
        );
        assert!(!index.conflicts(&hasher.signature(unrelated), Split::Test));
    }

    #[test]
    fn bands_are_chosen_below_the_threshold() {
        assert_eq!(choose_bands(64, 0.8), 16);
        let bands = choose_bands(128, 0.9);
        assert_eq!(128 % bands, 0);
        assert!((1.0 / bands as f64).powf(bands as f64 / 128.0) <= 0.8);
    }

    #[test]
    fn signatures_are_deterministic_and_seeded() {
        let code = "a = b + c";
        assert_eq!(
            MinHasher::new(1, 16, 2).signature(code),
            MinHasher::new(1, 16, 2).signature(code)
        );
        assert_ne!(
            MinHasher::new(1, 16, 2).signature(code),
            MinHasher::new(2, 16, 2).signature(code)
        );
        assert_eq!(token_hashes("f(x1, é)").len(), 6);
    }

    #[test]
    fn exact_index_reports_repeats() {
        let mut exact = ExactIndex::default();
        let key = id_key("00112233445566778899aabbccddeeff00");
        assert!(!exact.check_and_insert(key));
        assert!(exact.check_and_insert(key));
    }
}
