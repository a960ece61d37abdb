//! Training data: code tokenized into sequences `[BOS] code [EOS]`, cut into pieces the model
//! can read, grouped by length into batches so little compute goes to padding.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Tensor};

/// Label of positions that do not count in the loss (padding).
pub const IGNORE: i64 = -100;

/// Cuts each sequence into pieces of at most `context + 1` tokens that overlap by one token,
/// so every token after the first is a target exactly once and each input fits the context.
pub fn pieces(sequences: &[Vec<i64>], context: usize) -> Vec<Vec<i64>> {
    let mut pieces = Vec::new();
    for sequence in sequences {
        let mut start = 0;
        while start + 1 < sequence.len() {
            let end = (start + context + 1).min(sequence.len());
            pieces.push(sequence[start..end].to_vec());
            start += context;
        }
    }
    pieces
}

/// Groups piece indices into batches of at most `batch_size` pieces of similar length
/// (sorted by length, ties by index, so the grouping is deterministic).
pub fn length_buckets(pieces: &[Vec<i64>], batch_size: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    order.sort_by_key(|&index| (pieces[index].len(), index));
    order.chunks(batch_size).map(<[usize]>::to_vec).collect()
}

/// The batch order of one epoch: a seeded shuffle of the buckets.
pub fn epoch_order(batches: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..batches).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(epoch as u64));
    order.shuffle(&mut rng);
    order
}

/// Inputs `[batch, time]` (right-padded with `pad`) and targets `[batch, time]` (the inputs
/// shifted by one, [`IGNORE`] at padding), and the number of real targets.
pub fn batch_tensors(
    pieces: &[Vec<i64>],
    members: &[usize],
    pad: i64,
    device: Device,
) -> (Tensor, Tensor, i64) {
    let time = members
        .iter()
        .map(|&index| pieces[index].len() - 1)
        .max()
        .unwrap_or(0);
    let mut inputs = Vec::with_capacity(members.len() * time);
    let mut targets = Vec::with_capacity(members.len() * time);
    let mut count = 0;
    for &index in members {
        let piece = &pieces[index];
        let length = piece.len() - 1;
        inputs.extend_from_slice(&piece[..length]);
        targets.extend_from_slice(&piece[1..]);
        inputs.extend(std::iter::repeat_n(pad, time - length));
        targets.extend(std::iter::repeat_n(IGNORE, time - length));
        count += length as i64;
    }
    let shape = [members.len() as i64, time as i64];
    (
        Tensor::from_slice(&inputs).view(shape).to_device(device),
        Tensor::from_slice(&targets).view(shape).to_device(device),
        count,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_overlap_by_one_so_each_token_is_a_target_once() {
        let sequence: Vec<i64> = (0..10).collect();
        let pieces = pieces(&[sequence, vec![7]], 4);
        assert_eq!(
            pieces,
            vec![vec![0, 1, 2, 3, 4], vec![4, 5, 6, 7, 8], vec![8, 9]]
        );
        let targets: Vec<i64> = pieces
            .iter()
            .flat_map(|piece| piece[1..].to_vec())
            .collect();
        assert_eq!(targets, (1..10).collect::<Vec<_>>());
    }

    #[test]
    fn buckets_group_similar_lengths_and_shuffles_are_seeded() {
        let pieces: Vec<Vec<i64>> = [5, 2, 9, 3, 2, 8].iter().map(|&n| vec![0; n]).collect();
        let buckets = length_buckets(&pieces, 2);
        assert_eq!(buckets, vec![vec![1, 4], vec![3, 0], vec![5, 2]]);
        assert_eq!(epoch_order(10, 7, 1), epoch_order(10, 7, 1));
        assert_ne!(epoch_order(10, 7, 1), epoch_order(10, 7, 2));
    }

    #[test]
    fn batches_pad_inputs_and_ignore_padded_targets() {
        let pieces = vec![vec![1, 2, 3], vec![4, 5]];
        let (inputs, targets, count) = batch_tensors(&pieces, &[0, 1], 0, Device::Cpu);
        assert_eq!(
            Vec::<i64>::try_from(inputs.view(-1)).unwrap(),
            vec![1, 2, 4, 0]
        );
        assert_eq!(
            Vec::<i64>::try_from(targets.view(-1)).unwrap(),
            vec![2, 3, 5, IGNORE]
        );
        assert_eq!(count, 3);
    }
}
