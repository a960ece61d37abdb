//! Learning rate: linear warm-up, then cosine decay to a floor.

/// The learning rate at `step` (0-based) of `total` steps.
pub fn learning_rate(step: usize, total: usize, warmup: usize, peak: f64, floor: f64) -> f64 {
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let decay_steps = total.saturating_sub(warmup).max(1);
    let progress = ((step - warmup) as f64 / decay_steps as f64).min(1.0);
    floor + 0.5 * (peak - floor) * (1.0 + (std::f64::consts::PI * progress).cos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_linearly_then_decays_to_the_floor() {
        assert!((learning_rate(0, 100, 10, 1.0, 0.1) - 0.1).abs() < 1e-12);
        assert!((learning_rate(9, 100, 10, 1.0, 0.1) - 1.0).abs() < 1e-12);
        assert!((learning_rate(10, 100, 10, 1.0, 0.1) - 1.0).abs() < 1e-12);
        assert!((learning_rate(55, 100, 10, 1.0, 0.1) - 0.55).abs() < 1e-12);
        assert!((learning_rate(100, 100, 10, 1.0, 0.1) - 0.1).abs() < 1e-12);
        let mut previous = f64::INFINITY;
        for step in 10..100 {
            let rate = learning_rate(step, 100, 10, 1.0, 0.1);
            assert!(rate <= previous);
            previous = rate;
        }
    }
}
