//! The icodegen side of `scripts/bench/causal.sh --engine example`: the same library calls as
//! `icodegen-analyze causal` (`estimate`, then the placebo, random common cause and data subset
//! refuters), without building the CLI and its DataFusion dependency in release mode (minutes
//! instead of half an hour). Reads a CSV with a header (`t`, `y`, then the confounders) and
//! prints one JSON object shaped like the CLI's `--json` (plus the wall and CPU seconds of the
//! estimate and refutations, without reading the CSV, and the Newton iterations of the
//! propensity model). `/usr/bin/time` gives the whole process's CPU seconds.
//!
//! `CI_RESAMPLES` 0 computes no interval (`point_estimate` instead of `estimate`, `"ci": null`):
//! DoWhy's `estimate_effect` computes none by default (`confidence_intervals=False`), so this is
//! the like-for-like work; otherwise the propensity-score methods bootstrap that many resamples
//! (at least 2), as the CLI does.
//!
//! `cargo run --release -p icodegen-causal --example refute_bench -- FILE.csv METHOD SIMULATIONS CI_RESAMPLES [SEED]`

use std::time::Instant;

use icodegen_causal::{
    CausalData, Column, EstimatorOptions, Method, Refuter, RefuterOptions, estimate,
    point_estimate, refute_all,
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
    let cpu_start = process_cpu_seconds();
    let options = EstimatorOptions {
        ci_resamples,
        seed,
        ..EstimatorOptions::default()
    };
    // The effect and, unless `CI_RESAMPLES` is 0, its interval.
    let (effect, ci) = if ci_resamples == 0 {
        let effect = point_estimate(&data, method, &options).expect("an estimate");
        (effect, None)
    } else {
        let result = estimate(&data, method, &options).expect("an estimate");
        (result.effect, Some([result.ci.lower, result.ci.upper]))
    };
    let refutations = refute_all(
        &data,
        method,
        &options,
        effect,
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
    let cpu_seconds = process_cpu_seconds() - cpu_start;
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
            "cpu_seconds": cpu_seconds,
            "ate": effect,
            "ci": ci,
            "refuters": refuters,
            "propensity_iterations": iterations,
        })
    );
}

/// CPU seconds (user + system) of this process, all threads: `CLOCK_PROCESS_CPUTIME_ID`, what
/// Python's `time.process_time()` (the DoWhy side's clock) reads.
fn process_cpu_seconds() -> f64 {
    #[repr(C)]
    struct Timespec {
        seconds: i64,
        nanoseconds: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, time: *mut Timespec) -> i32;
    }
    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    let mut time = Timespec {
        seconds: 0,
        nanoseconds: 0,
    };
    // SAFETY: clock_gettime writes one timespec (two longs on 64-bit Linux) to a valid pointer.
    let status = unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut time) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    time.seconds as f64 + time.nanoseconds as f64 * 1e-9
}
