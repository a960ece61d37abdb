//! Duplicate removal: exact duplicates by content id, near duplicates across splits by MinHash
//! over token shingles with an LSH index (candidates are confirmed by their estimated Jaccard
//! similarity).
//!
//! Memory grows with the number of *kept* snippets, not with code size: 16 bytes per id for
//! exact duplicates, `num_perm` bytes of (8-bit) signature and about 11 bytes per band for the
//! LSH index: about 0.25 KB per kept snippet with the defaults.

use std::collections::HashSet;

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
///
/// Each shingle is hashed once (splitmix64 over its token hashes); permutation `i` is then the
/// multiply-add-shift hash `(a_i * h + b_i) >> 32` with a seeded odd `a_i` (Dietzfelbinger's
/// universal family), one multiply and one add per permutation, which the compiler
/// vectorizes. That is about 4x cheaper than a full mix per permutation, with the same
/// estimates (see the tests).
#[derive(Clone)]
pub struct MinHasher {
    multipliers: Vec<u64>,
    increments: Vec<u64>,
    shingle_size: usize,
}

impl MinHasher {
    pub fn new(seed: u64, num_perm: usize, shingle_size: usize) -> Self {
        let mut state = mix(seed ^ 0x6d69_6e68_6173_6821);
        let mut next = || {
            state = mix(state);
            state
        };
        let (multipliers, increments) = (0..num_perm).map(|_| (next() | 1, next())).unzip();
        MinHasher {
            multipliers,
            increments,
            shingle_size,
        }
    }

    /// The signature of `code` (all `u32::MAX` for code without tokens).
    pub fn signature(&self, code: &str) -> Vec<u32> {
        let tokens = token_hashes(code);
        let mut signature = vec![u32::MAX; self.multipliers.len()];
        let width = self.shingle_size.min(tokens.len()).max(1);
        if tokens.is_empty() {
            return signature;
        }
        for window in tokens.windows(width) {
            let shingle = window
                .iter()
                .fold(0x5851_f42d_4c95_7f2du64, |hash, token| mix(hash ^ token));
            for ((slot, multiplier), increment) in signature
                .iter_mut()
                .zip(&self.multipliers)
                .zip(&self.increments)
            {
                let value =
                    (multiplier.wrapping_mul(shingle).wrapping_add(*increment) >> 32) as u32;
                *slot = (*slot).min(value);
            }
        }
        signature
    }
}

/// The share of equal positions of two full signatures: an estimate of the Jaccard similarity
/// of the shingle sets.
pub fn estimated_jaccard(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() {
        return 0.0;
    }
    let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
    equal as f64 / a.len() as f64
}

/// The same estimate from b-bit signatures (the lowest 8 bits of each minimum, Li & König
/// 2010): equal bytes also happen by chance with probability 1/256, which is corrected for.
fn estimated_jaccard_8bit(a: &[u8], b: &[u8]) -> f64 {
    if a.is_empty() {
        return 0.0;
    }
    let equal = a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64;
    let chance = 1.0 / 256.0;
    ((equal - chance) / (1.0 - chance)).max(0.0)
}

/// Bands for LSH: the largest number of rows per band whose S-curve threshold
/// `(1/b)^(1/r)` stays at least 0.1 below the similarity threshold, so true near duplicates
/// are almost always candidates (candidates are then confirmed on the signature).
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

/// An open-addressing multimap from 32-bit band keys to entries, packed in one `u64` per slot
/// (key in the high half, entry + 1 in the low half; 0 = empty). Entries with the same key sit
/// in one probe run. About 11 bytes per (snippet, band), against ~40 for a `HashMap` of lists.
#[derive(Default)]
struct BandTable {
    slots: Vec<u64>,
    len: usize,
}

impl BandTable {
    fn start(&self, key: u32) -> usize {
        (mix(u64::from(key)) as usize) & (self.slots.len() - 1)
    }

    fn insert(&mut self, key: u32, entry: u32) {
        if (self.len + 1) * 10 > self.slots.len() * 7 {
            self.grow();
        }
        self.place((u64::from(key) << 32) | u64::from(entry + 1));
        self.len += 1;
    }

    fn place(&mut self, packed: u64) {
        let mask = self.slots.len() - 1;
        let mut index = self.start((packed >> 32) as u32);
        while self.slots[index] != 0 {
            index = (index + 1) & mask;
        }
        self.slots[index] = packed;
    }

    fn grow(&mut self) {
        let capacity = (self.slots.len() * 2).max(1024);
        let old = std::mem::replace(&mut self.slots, vec![0; capacity]);
        for packed in old.into_iter().filter(|packed| *packed != 0) {
            self.place(packed);
        }
    }

    /// Calls `visit` with every entry stored under `key` until it returns true.
    fn any(&self, key: u32, mut visit: impl FnMut(u32) -> bool) -> bool {
        if self.slots.is_empty() {
            return false;
        }
        let mask = self.slots.len() - 1;
        let mut index = self.start(key);
        while self.slots[index] != 0 {
            let packed = self.slots[index];
            if (packed >> 32) as u32 == key && visit((packed as u32) - 1) {
                return true;
            }
            index = (index + 1) & mask;
        }
        false
    }
}

/// Near-duplicate detection across splits.
pub struct NearIndex {
    threshold: f64,
    num_perm: usize,
    rows_per_band: usize,
    /// 8-bit signatures, `num_perm` bytes per entry.
    signatures: Vec<u8>,
    splits: Vec<Split>,
    bands: BandTable,
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
            bands: BandTable::default(),
        }
    }

    fn band_keys<'a>(&'a self, signature: &'a [u32]) -> impl Iterator<Item = u32> + 'a {
        signature
            .chunks(self.rows_per_band)
            .enumerate()
            .map(|(band, rows)| {
                let hash =
                    rows.iter().fold(
                        mix(band as u64),
                        |hash, value| mix(hash ^ u64::from(*value)),
                    );
                (hash >> 32) as u32
            })
    }

    /// True when a snippet already indexed in a *different* split than `split` is a near
    /// duplicate of `signature`.
    pub fn conflicts(&self, signature: &[u32], split: Split) -> bool {
        let small: Vec<u8> = signature.iter().map(|value| *value as u8).collect();
        self.band_keys(signature).any(|key| {
            self.bands.any(key, |entry| {
                let entry = entry as usize;
                self.splits[entry] != split && {
                    let other =
                        &self.signatures[entry * self.num_perm..(entry + 1) * self.num_perm];
                    estimated_jaccard_8bit(&small, other) >= self.threshold
                }
            })
        })
    }

    pub fn insert(&mut self, signature: &[u32], split: Split) {
        let entry = self.splits.len() as u32;
        self.splits.push(split);
        self.signatures
            .extend(signature.iter().map(|value| *value as u8));
        let keys: Vec<u32> = self.band_keys(signature).collect();
        for key in keys {
            self.bands.insert(key, entry);
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
    fn the_band_table_keeps_every_entry_of_a_key_across_growth() {
        let mut table = BandTable::default();
        for entry in 0..5000u32 {
            table.insert(entry % 7, entry);
        }
        let mut found = Vec::new();
        table.any(3, |entry| {
            found.push(entry);
            false
        });
        found.sort();
        let expected: Vec<u32> = (0..5000).filter(|entry| entry % 7 == 3).collect();
        assert_eq!(found, expected);
        assert!(table.any(6, |entry| entry == 6));
        assert!(!table.any(99, |_| true));
    }

    #[test]
    fn eight_bit_signatures_estimate_the_same_similarity() {
        let hasher = MinHasher::new(3, 256, 3);
        let a = "def f(x):\n    y = x + 1\n    z = y * 2\n    return g(z, y, x)\n";
        let b = a.replace("z = y * 2", "z = y * 3");
        let (full_a, full_b) = (hasher.signature(a), hasher.signature(&b));
        let small = |signature: &[u32]| {
            signature
                .iter()
                .map(|value| *value as u8)
                .collect::<Vec<u8>>()
        };
        let exact = estimated_jaccard(&full_a, &full_b);
        let estimate = estimated_jaccard_8bit(&small(&full_a), &small(&full_b));
        assert!((exact - estimate).abs() < 0.03, "{exact} vs {estimate}");
    }

    #[test]
    fn signatures_estimate_the_jaccard_similarity_of_the_shingle_sets() {
        // Token sequences whose 1-shingle sets are known: `shared` tokens in common and
        // `own` tokens each, so the true Jaccard similarity is shared / (shared + 2 own).
        // Averaged over 16 seeds of 64 permutations (the default), the estimate is unbiased:
        // its standard error is then at most 0.016.
        let hashers: Vec<MinHasher> = (0..16).map(|seed| MinHasher::new(seed, 64, 1)).collect();
        for (shared, own) in [(90, 5), (80, 10), (60, 20), (30, 35), (10, 45)] {
            let words = |prefix: &str, count: usize| -> Vec<String> {
                (0..count).map(|index| format!("{prefix}{index}")).collect()
            };
            let common = words("common", shared);
            let a = [common.clone(), words("left", own)].concat().join(" ");
            let b = [common, words("right", own)].concat().join(" ");
            let truth = shared as f64 / (shared + 2 * own) as f64;
            let estimate = hashers
                .iter()
                .map(|hasher| estimated_jaccard(&hasher.signature(&a), &hasher.signature(&b)))
                .sum::<f64>()
                / hashers.len() as f64;
            assert!(
                (estimate - truth).abs() < 0.05,
                "shared {shared}, own {own}: estimate {estimate} vs {truth}"
            );
        }
    }

    #[test]
    fn exact_index_reports_repeats() {
        let mut exact = ExactIndex::default();
        let key = id_key("00112233445566778899aabbccddeeff00");
        assert!(!exact.check_and_insert(key));
        assert!(exact.check_and_insert(key));
    }
}
