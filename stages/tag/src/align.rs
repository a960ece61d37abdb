//! Binding token byte spans to AST leaves, by a merge over sorted spans: time linear in tokens
//! plus leaves (plus a sort when the tokens are not in byte order).
//!
//! The rule, for a token with byte span `[s, e)`, `s < e`:
//! - it *overlaps* a leaf `[a, b)` when `a < e && s < b`; the leaves it overlaps are contiguous
//!   in byte order and it binds to all of them (a token such as `):` counts for both `)` and
//!   `:` when nodes aggregate);
//! - a token that overlaps no leaf (whitespace between leaves, such as an indentation token)
//!   binds to the leaf it precedes, the first leaf starting at or after `e`, or to the last leaf
//!   when none follows: indentation belongs to the statement it indents;
//! - its *label* (the `node_type` of tags.parquet) is the first leaf it binds to.
//!
//! So every token whose span lies inside the code binds to at least one leaf and has exactly one
//! label. Byte offsets on both sides: non-ASCII code aligns exactly.

/// The leaves a token binds to: indices into the leaf list, `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafRange {
    pub first: u32,
    pub last: u32,
}

/// Binds every token span to leaves. `leaves` are the leaf spans in byte order, non-empty and
/// non-overlapping (the root alone may be empty); `spans[i]` is token `i`'s span, `None` for a
/// token without one. Spans must satisfy `start < end`.
pub fn bind(leaves: &[(u32, u32)], spans: &[Option<(u32, u32)>]) -> Vec<Option<LeafRange>> {
    let mut bound = vec![None; spans.len()];
    if leaves.is_empty() {
        return bound;
    }
    let in_order = spans
        .iter()
        .flatten()
        .zip(spans.iter().flatten().skip(1))
        .all(|(a, b)| a <= b);
    let mut order: Vec<u32> = (0..spans.len() as u32)
        .filter(|&i| spans[i as usize].is_some())
        .collect();
    if !in_order {
        order.sort_by_key(|&i| spans[i as usize]);
    }
    let mut next = 0usize; // first leaf whose end is after the current token's start
    for index in order {
        let (start, end) = spans[index as usize].expect("filtered");
        while next < leaves.len() && leaves[next].1 <= start {
            next += 1;
        }
        let range = if next < leaves.len() && leaves[next].0 < end {
            let mut last = next;
            while last + 1 < leaves.len() && leaves[last + 1].0 < end {
                last += 1;
            }
            LeafRange {
                first: next as u32,
                last: last as u32,
            }
        } else {
            // In a gap: `next` (if any) starts at or after `end`.
            let leaf = next.min(leaves.len() - 1) as u32;
            LeafRange {
                first: leaf,
                last: leaf,
            }
        };
        bound[index as usize] = Some(range);
    }
    bound
}

/// The same rule by its definition, checking every leaf for every token: O(tokens x leaves).
/// Used when a grammar produces overlapping leaves, and as the oracle in tests.
pub fn bind_naive(leaves: &[(u32, u32)], spans: &[Option<(u32, u32)>]) -> Vec<Option<LeafRange>> {
    spans
        .iter()
        .map(|span| {
            let (start, end) = (*span)?;
            if leaves.is_empty() {
                return None;
            }
            let overlapping: Vec<usize> = (0..leaves.len())
                .filter(|&i| leaves[i].0 < end && start < leaves[i].1)
                .collect();
            let (first, last) = match (overlapping.first(), overlapping.last()) {
                (Some(&first), Some(&last)) => (first, last),
                _ => {
                    let leaf = (0..leaves.len())
                        .find(|&i| leaves[i].0 >= end)
                        .unwrap_or(leaves.len() - 1);
                    (leaf, leaf)
                }
            };
            Some(LeafRange {
                first: first as u32,
                last: last as u32,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn range(first: u32, last: u32) -> Option<LeafRange> {
        Some(LeafRange { first, last })
    }

    #[test]
    fn tokens_bind_to_overlapped_leaves_gaps_to_the_next_leaf() {
        // leaves: `def`[0,3) `f`[4,5) `(`[5,6) `)`[6,7) `:`[7,8) `pass`[13,17)
        let leaves = [(0, 3), (4, 5), (5, 6), (6, 7), (7, 8), (13, 17)];
        let spans = [
            Some((0, 3)),   // def
            Some((3, 5)),   // " f": starts in a gap, overlaps f
            Some((5, 6)),   // (
            Some((6, 8)),   // "):" spans two leaves
            Some((8, 13)),  // "\n    " indentation: the leaf it precedes
            Some((13, 17)), // pass
            Some((17, 18)), // trailing newline: the last leaf
            None,           // no span
        ];
        assert_eq!(
            bind(&leaves, &spans),
            [
                range(0, 0),
                range(1, 1),
                range(2, 2),
                range(3, 4),
                range(5, 5),
                range(5, 5),
                range(5, 5),
                None
            ]
        );
    }

    #[test]
    fn unsorted_and_duplicate_spans_bind_like_sorted_ones() {
        let leaves = [(0, 2), (2, 4), (4, 8)];
        // two tokens share the span of one multi-byte character; order is scrambled
        let spans = [Some((4, 8)), Some((0, 3)), Some((3, 4)), Some((3, 4))];
        assert_eq!(bind(&leaves, &spans), bind_naive(&leaves, &spans));
        assert_eq!(bind(&leaves, &spans)[1], range(0, 1));
    }

    /// Leaves and tokens over a code of `len` bytes: leaves from sorted cut points with gaps,
    /// tokens from a random segmentation of the whole code (every byte in exactly one token).
    type Spans = (Vec<(u32, u32)>, Vec<Option<(u32, u32)>>);

    fn leaves_and_tokens() -> impl Strategy<Value = Spans> {
        (1u32..200)
            .prop_flat_map(|len| {
                (
                    Just(len),
                    proptest::collection::btree_set(0..=len, 0..40),
                    proptest::collection::btree_set(1..len.max(2), 0..60),
                    proptest::collection::vec(any::<bool>(), 0..120),
                )
            })
            .prop_map(|(len, leaf_cuts, token_cuts, keep)| {
                let cuts: Vec<u32> = leaf_cuts.into_iter().collect();
                let leaves: Vec<(u32, u32)> = cuts
                    .chunks(2)
                    .filter(|pair| pair.len() == 2 && pair[0] < pair[1])
                    .map(|pair| (pair[0], pair[1]))
                    .collect();
                let mut bounds = vec![0];
                bounds.extend(token_cuts.into_iter().filter(|&c| c < len));
                bounds.push(len);
                let tokens: Vec<Option<(u32, u32)>> = bounds
                    .windows(2)
                    .enumerate()
                    .map(|(i, w)| keep.get(i).copied().unwrap_or(true).then_some((w[0], w[1])))
                    .collect();
                (leaves, tokens)
            })
    }

    proptest! {
        #[test]
        fn the_merge_agrees_with_the_definition((leaves, tokens) in leaves_and_tokens()) {
            prop_assert_eq!(bind(&leaves, &tokens), bind_naive(&leaves, &tokens));
        }

        #[test]
        fn every_token_inside_the_code_gets_exactly_one_label((leaves, tokens) in leaves_and_tokens()) {
            prop_assume!(!leaves.is_empty());
            for (span, bound) in tokens.iter().zip(bind(&leaves, &tokens)) {
                match (span, bound) {
                    (Some((s, e)), Some(range)) => {
                        let label = leaves[range.first as usize];
                        let overlaps = |l: (u32, u32)| l.0 < *e && *s < l.1;
                        prop_assert!(range.first <= range.last);
                        if overlaps(label) {
                            // the label is the first overlapped leaf and no earlier leaf overlaps
                            for leaf in &leaves[..range.first as usize] {
                                prop_assert!(!overlaps(*leaf));
                            }
                        } else {
                            prop_assert!(leaves.iter().all(|l| !overlaps(*l)));
                            prop_assert_eq!(range.first, range.last);
                        }
                    }
                    (None, None) => {}
                    other => prop_assert!(false, "span and binding disagree: {:?}", other),
                }
            }
        }
    }
}
