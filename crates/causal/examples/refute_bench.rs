//! The icodegen side of `scripts/bench/causal.sh --engine example`: the same library calls as
//! `icodegen-analyze causal` (`estimate`, then the placebo, random common cause and data subset
//! refuters), without building the CLI and its DataFusion dependency in release mode (minutes
//! instead of half an hour). Reads a CSV with a header (`t`, `y`, then the confounders) and
//! prints one JSON object shaped like the CLI's `--json` (plus the wall seconds and the Newton
//! iterations of the propensity model). Time it with `/usr/bin/time` for CPU seconds.
//!
//! `cargo run --release -p icodegen-causal --example refute_bench -- FILE.csv METHOD SIMULATIONS CI_RESAMPLES [SEED]`

use std::time::Instant;

use icodegen_causal::{
    CausalData, Column, EstimatorOptions, Method, Refuter, RefuterOptions, estimate, refute_all,
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: refute_bench FILE.csv METHOD SIMULATIONS CI_RESAMPLES [SEED]");
        std::process::exit(2);
    }
    let mut reader = csv::Reader::from_path(&args[0]).expect("readable CSV");
    let names: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for record in reader.records() {
        let record = record.expect("a CSV record");
        for (column, field) in columns.iter_mut().zip(record.iter()) {
            column.push(field.parse().expect("a number"));
        }
    }
    let method: Method = args[1].parse().expect("a method");
    let simulations: usize = args[2].parse().expect("simulations");
    let ci_resamples: usize = args[3].parse().expect("ci resamples");
    let seed: u64 = args.get(4).map_or(1, |seed| seed.parse().expect("seed"));
    let mut columns = names
        .into_iter()
        .zip(columns)
        .map(|(n, v)| Column::new(n, v));
    let treatment = columns.next().expect("a treatment column");
    let outcome = columns.next().expect("an outcome column");
    let data = CausalData::new(treatment, outcome, columns.collect()).expect("valid data");
    let start = Instant::now();
    let options = EstimatorOptions {
        ci_resamples,
        seed,
        ..EstimatorOptions::default()
    };
    let result = estimate(&data, method, &options).expect("an estimate");
    let refutations = refute_all(
        &data,
        method,
        &options,
        result.effect,
        &[
            Refuter::Placebo,
            Refuter::RandomCommonCause,
            Refuter::DataSubset,
        ],
        &RefuterOptions {
            simulations,
            seed,
            subset_fraction: 0.9,
            ..RefuterOptions::default()
        },
    )
    .expect("refutations");
    let seconds = start.elapsed().as_secs_f64();
    // Newton iterations of the propensity model: from 0, and warm-started on a 90% subset.
    let iterations = method.uses_propensity().then(|| {
        let cold = icodegen_causal::fit_propensity(&data, &options.propensity).expect("a fit");
        let rows: Vec<usize> = (0..data.len()).filter(|i| i % 10 != 0).collect();
        let warm = icodegen_causal::fit_propensity_from(
            &data.select_rows(&rows),
            &options.propensity,
            Some(&cold.coefficients),
        )
        .expect("a fit");
        [cold.iterations, warm.iterations]
    });
    // The shape of `icodegen-analyze causal --json`'s `refuters`.
    let refuters: Vec<serde_json::Value> = refutations
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.refuter.name(),
                "new_effect": r.new_effect,
                "p_value": r.p_value,
                "passed": r.passed,
            })
        })
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "method": method.name(),
            "seconds": seconds,
            "ate": result.effect,
            "ci": [result.ci.lower, result.ci.upper],
            "refuters": refuters,
            "propensity_iterations": iterations,
        })
    );
}
