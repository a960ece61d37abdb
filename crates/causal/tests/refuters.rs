//! Refuters and estimators on synthetic data whose truth we know.

use icodegen_causal::{
    CausalData, Column, EstimatorOptions, Method, Refuter, RefuterOptions, correlations, estimate,
    point_estimate, refute,
};

/// n rows: size ~ U(0, 4) confounds a binary treatment and the outcome; `effect` is the true ATE.
fn synthetic(n: usize, effect: f64, seed: u64) -> CausalData {
    let mut state = seed
        .wrapping_mul(2862933555777941757)
        .wrapping_add(3037000493);
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64) / ((1u64 << 53) as f64)
    };
    let (mut size, mut treatment, mut outcome) = (vec![], vec![], vec![]);
    for _ in 0..n {
        let s = uniform() * 4.0;
        let t = if uniform() < 1.0 / (1.0 + (-(1.5 * (s - 2.0))).exp()) {
            1.0
        } else {
            0.0
        };
        size.push(s);
        treatment.push(t);
        outcome.push(effect * t + 2.0 * s + (uniform() - 0.5));
    }
    CausalData::new(
        Column::new("t", treatment),
        Column::new("y", outcome),
        vec![Column::new("size", size)],
    )
    .unwrap()
}

fn refuter_options(simulations: usize) -> RefuterOptions {
    RefuterOptions {
        simulations,
        seed: 3,
        ..RefuterOptions::default()
    }
}

#[test]
fn a_spurious_association_has_a_strong_correlation_and_no_effect() {
    let data = synthetic(600, 0.0, 1);
    let association = correlations(&data).unwrap();
    assert!(association.pearson.coefficient > 0.5 && association.pearson.p_value < 1e-10);
    for method in Method::ALL {
        let options = EstimatorOptions {
            ci_resamples: 30,
            ..EstimatorOptions::default()
        };
        let result = estimate(&data, method, &options).unwrap();
        assert!(result.effect.abs() < 0.35, "{method}: {}", result.effect);
        assert!(
            result.ci.contains(0.0) || result.effect.abs() < 0.15,
            "{method}: {:?}",
            result.ci
        );
    }
}

#[test]
fn placebo_effects_vanish_and_a_real_effect_stands_out_from_them() {
    let data = synthetic(400, 1.0, 2);
    let original = point_estimate(
        &data,
        Method::LinearRegression,
        &EstimatorOptions::default(),
    )
    .unwrap();
    let result = refute(
        &data,
        Method::LinearRegression,
        &EstimatorOptions::default(),
        original,
        Refuter::Placebo,
        &refuter_options(100),
    )
    .unwrap();
    assert!(result.new_effect.abs() < 0.05, "{result:?}");
    assert!(result.passed);
    assert!(
        result.effect_vs_placebo_p_value.unwrap() < 0.02,
        "{result:?}"
    );
    assert_eq!(result.simulations, 100);
}

#[test]
fn placebo_permutes_a_continuous_treatment_instead_of_zeroing_it() {
    // DoWhy's default placebo for a float treatment is a constant 0: the refutation always passes.
    let base = synthetic(300, 1.0, 4);
    let continuous: Vec<f64> = base
        .treatment()
        .iter()
        .zip(base.confounders()[0].values.iter())
        .map(|(t, s)| t + s * 0.3)
        .collect();
    let data = CausalData::new(
        Column::new("dose", continuous),
        Column::new("y", base.outcome().to_vec()),
        vec![base.confounders()[0].clone()],
    )
    .unwrap();
    let original = point_estimate(
        &data,
        Method::LinearRegression,
        &EstimatorOptions::default(),
    )
    .unwrap();
    let result = refute(
        &data,
        Method::LinearRegression,
        &EstimatorOptions::default(),
        original,
        Refuter::Placebo,
        &refuter_options(40),
    )
    .unwrap();
    assert!(
        result.new_effect_sd > 0.0,
        "placebo effects vary: {result:?}"
    );
}

#[test]
fn simulations_do_not_depend_on_the_thread_count() {
    let data = synthetic(300, 1.0, 5);
    let options = EstimatorOptions::default();
    let original = point_estimate(&data, Method::PsWeighting, &options).unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                refute(
                    &data,
                    Method::PsWeighting,
                    &options,
                    original,
                    Refuter::DataSubset,
                    &refuter_options(24),
                )
                .unwrap()
            })
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn random_common_cause_subset_and_bootstrap_leave_a_sound_estimate_in_place() {
    let data = synthetic(400, 1.0, 6);
    let options = EstimatorOptions::default();
    for (method, refuter) in [
        (Method::PsStratification, Refuter::RandomCommonCause),
        (Method::PsStratification, Refuter::Bootstrap),
        (Method::PsWeighting, Refuter::DataSubset),
    ] {
        let original = point_estimate(&data, method, &options).unwrap();
        let result = refute(
            &data,
            method,
            &options,
            original,
            refuter,
            &refuter_options(30),
        )
        .unwrap();
        assert!(
            (result.new_effect - original).abs() < 0.2,
            "{refuter}: {result:?}"
        );
        assert!(result.passed, "{refuter}: {result:?}");
    }
}

#[test]
fn with_automatic_strata_a_subset_also_changes_the_number_of_strata() {
    // DoWhy's num_strata="auto" is 0.5 n / 10: 20 strata for 400 rows, 18 for a 90 % subset. On
    // small data the stratified estimate moves with the number of strata, and data_subset sees it;
    // fixing num_strata separates the two.
    let data = synthetic(400, 1.0, 6);
    let automatic = EstimatorOptions::default();
    let fixed = EstimatorOptions {
        num_strata: Some(5),
        ..EstimatorOptions::default()
    };
    let run = |options: &EstimatorOptions| {
        let original = point_estimate(&data, Method::PsStratification, options).unwrap();
        refute(
            &data,
            Method::PsStratification,
            options,
            original,
            Refuter::DataSubset,
            &refuter_options(30),
        )
        .unwrap()
    };
    let (moved, steady) = (run(&automatic), run(&fixed));
    assert!(
        (moved.new_effect - moved.original_effect).abs()
            > (steady.new_effect - steady.original_effect).abs()
    );
    assert!(steady.passed, "{steady:?}");
}

#[test]
fn a_stronger_unobserved_confounder_moves_the_effect_further() {
    let data = synthetic(400, 1.0, 7);
    let options = EstimatorOptions::default();
    let original = point_estimate(&data, Method::LinearRegression, &options).unwrap();
    let refuter = RefuterOptions {
        strengths: vec![0.1, 0.5, 1.0],
        ..refuter_options(20)
    };
    let result = refute(
        &data,
        Method::LinearRegression,
        &options,
        original,
        Refuter::UnobservedCommonCause,
        &refuter,
    )
    .unwrap();
    let shifts: Vec<f64> = result
        .strengths
        .iter()
        .map(|s| (s.mean_effect - original).abs())
        .collect();
    assert_eq!(result.strengths.len(), 3);
    assert!(shifts[0] < shifts[1] && shifts[1] < shifts[2], "{shifts:?}");
    assert_eq!(result.new_effect, result.strengths[2].mean_effect);
}

#[test]
fn propensity_methods_reject_a_non_binary_treatment_naming_the_row() {
    let base = synthetic(50, 1.0, 8);
    let mut treatment = base.treatment().to_vec();
    treatment[17] = 0.5;
    let data = CausalData::new(
        Column::new("t", treatment),
        Column::new("y", base.outcome().to_vec()),
        base.confounders().to_vec(),
    )
    .unwrap();
    let error =
        point_estimate(&data, Method::PsMatching, &EstimatorOptions::default()).unwrap_err();
    assert!(
        error.to_string().contains("row 17") && error.to_string().contains("`t`"),
        "{error}"
    );
    assert!(
        point_estimate(
            &data,
            Method::LinearRegression,
            &EstimatorOptions::default()
        )
        .is_ok()
    );
}
