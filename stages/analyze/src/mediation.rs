//! `icodegen-analyze mediation`: total, natural direct and natural indirect effects of a
//! treatment through one or more mediators, on any Parquet or CSV table.
//!
//! Linear mediator and outcome models (`icodegen_causal::mediation`), optionally with
//! treatment × mediator interactions; intervals by Imai, Keele and Tingley's quasi-Bayesian
//! simulation or, with `--pairs`, a bootstrap over pairs. Bad input (a mediator that is the
//! treatment, a constant mediator, a pair without one control and one treated row, a covariate
//! that differs within a pair) is a usage error (exit 2) naming the column; an unreadable data
//! file is a failed run (exit 1).

use std::path::{Path, PathBuf};

use anyhow::Result;
use icodegen_causal::{
    CausalError, Column, EffectInterval, Mediation, MediationData, MediationInterval,
    MediationOptions,
};
use serde_json::{Value, json};

use crate::error::AnalyzeError;
use crate::table::{RowLabel, read_columns, read_labels};

/// Arguments of the `mediation` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct MediationArgs {
    /// The table: a `.parquet` or `.csv` file with a header.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Treatment column (the contrast is 0 → 1; 0/1 with `--pairs`).
    #[arg(long, value_name = "COLUMN")]
    pub treatment: String,
    /// Mediator columns, comma-separated (modelled jointly).
    #[arg(long, value_name = "M1,M2,...", value_delimiter = ',', required = true)]
    pub mediators: Vec<String>,
    /// Outcome column.
    #[arg(long, value_name = "COLUMN")]
    pub outcome: String,
    /// Pre-treatment covariates, comma-separated (never a mediator; with `--pairs` they must be
    /// constant within each pair).
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    pub covariates: Vec<String>,
    /// Pair column: every pair is one control (T = 0) and one treated (T = 1) row; intervals
    /// are then bootstrapped over pairs.
    #[arg(long, value_name = "PAIR_COLUMN")]
    pub pairs: Option<String>,
    /// Add treatment × mediator interactions to the outcome model (effects then differ by arm).
    #[arg(long)]
    pub interaction: bool,
    /// Simulation draws (or bootstrap resamples).
    #[arg(long, default_value_t = 1000)]
    pub simulations: usize,
    /// Seed of the simulation or bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// simulation (Imai, Keele and Tingley's quasi-Bayesian Monte Carlo) or bootstrap
    /// (over pairs with `--pairs`, else over rows). Default: bootstrap with `--pairs`, else
    /// simulation.
    #[arg(long, value_name = "METHOD")]
    pub interval: Option<String>,
    #[arg(long, default_value_t = 0.95)]
    pub confidence_level: f64,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    pub json: bool,
}

/// [`crate::causal::classify`] with mediation's own wording for a non-binary treatment under
/// `--pairs` and for a bad pair.
fn classify(error: CausalError, data_path: &Path, label: RowLabel) -> AnalyzeError {
    let data = |message: String| AnalyzeError::data(data_path, message);
    match error {
        CausalError::NonBinaryTreatment {
            column, row, value, ..
        } => data(format!(
            "with --pairs the treatment must be 0/1, but `{column}` is {value} at {}",
            label.describe(row)
        )),
        CausalError::Unpaired {
            column,
            pair,
            row,
            reason,
        } => data(format!(
            "pair column `{column}`: pair `{pair}` (first at {}) {reason}",
            label.describe(row)
        )),
        error => crate::causal::classify(error, data_path, label),
    }
}

/// Runs the subcommand and returns what to print.
pub fn run(args: &MediationArgs) -> Result<String> {
    let interval: MediationInterval = match &args.interval {
        Some(text) => text.parse().map_err(AnalyzeError::Name)?,
        None if args.pairs.is_some() => MediationInterval::Bootstrap,
        None => MediationInterval::Simulation,
    };
    if args.simulations < 2 {
        return Err(
            AnalyzeError::argument("--simulations", "--simulations must be at least 2").into(),
        );
    }
    if !(args.confidence_level > 0.0 && args.confidence_level < 1.0) {
        return Err(AnalyzeError::argument(
            "--confidence-level",
            format!(
                "--confidence-level {} is not in (0, 1)",
                args.confidence_level
            ),
        )
        .into());
    }
    let mediators: Vec<String> = args
        .mediators
        .iter()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect();
    if mediators.is_empty() {
        return Err(
            AnalyzeError::argument("--mediators", "--mediators needs at least one column").into(),
        );
    }
    for mediator in &mediators {
        if *mediator == args.treatment {
            return Err(AnalyzeError::argument(
                mediator.as_str(),
                format!(
                    "mediator `{mediator}` is the treatment column: a mediator must be a different variable that the treatment changes"
                ),
            )
            .into());
        }
    }
    let mut names = vec![args.treatment.clone(), args.outcome.clone()];
    names.extend(mediators.iter().cloned());
    names.extend(args.covariates.iter().cloned());
    for (index, name) in names.iter().enumerate() {
        if names[..index].contains(name) {
            return Err(AnalyzeError::argument(
                name.as_str(),
                format!(
                    "column `{name}` is given more than once (treatment, outcome, mediators and covariates must differ)"
                ),
            )
            .into());
        }
    }
    if let Some(pairs) = &args.pairs
        && names.contains(pairs)
    {
        return Err(AnalyzeError::argument(
            pairs.as_str(),
            format!(
                "the pair column `{pairs}` is also the treatment, outcome, a mediator or a covariate"
            ),
        )
        .into());
    }
    if !args.data.exists() {
        return Err(AnalyzeError::MissingFile {
            what: "data file",
            path: args.data.clone(),
        }
        .into());
    }
    let table = read_columns(&args.data, &names)?;
    let label = table.row_label;
    let pairs = match &args.pairs {
        Some(column) => Some((column.clone(), read_labels(&args.data, column)?)),
        None => None,
    };
    let mut columns = table
        .columns
        .into_iter()
        .map(|(name, values)| Column::new(name, values));
    let treatment = columns.next().expect("treatment column");
    let outcome = columns.next().expect("outcome column");
    let mediator_columns: Vec<Column> = columns.by_ref().take(mediators.len()).collect();
    let covariates: Vec<Column> = columns.collect();
    let data = MediationData::new(treatment, mediator_columns, outcome, covariates, pairs)
        .map_err(|error| classify(error, &args.data, label))?;
    let options = MediationOptions {
        interaction: args.interaction,
        simulations: args.simulations,
        seed: args.seed,
        confidence_level: args.confidence_level,
        interval,
    };
    let result = icodegen_causal::mediation(&data, &options)
        .map_err(|error| classify(error, &args.data, label))?;
    if args.json {
        Ok(serde_json::to_string_pretty(&json_report(args, &data, &result))? + "\n")
    } else {
        Ok(text_report(&data, &result))
    }
}

fn effect_json(effect: &EffectInterval) -> Value {
    json!({
        "estimate": effect.estimate,
        "ci": effect.ci,
        "p_value": effect.p_value,
    })
}

/// The estimand of each number, as the report states it.
pub const ESTIMANDS: &str = "total = E[Y(1, M(1)) - Y(0, M(0))]; natural direct = E[Y(1, M(t)) - Y(0, M(t))]; natural indirect = E[Y(t, M(1)) - Y(t, M(0))] (t = 0: control, t = 1: treated; the unsubscripted values average the two arms); proportion mediated = average indirect / total";

/// The identifying assumption of the natural effects.
pub const SEQUENTIAL_IGNORABILITY: &str = "sequential ignorability (Imai, Keele and Tingley 2010): given the covariates the treatment is as good as random, and given the covariates and the treatment the mediators are as good as random (no unobserved mediator-outcome confounder, none of them changed by the treatment)";

fn json_report(args: &MediationArgs, data: &MediationData, result: &Mediation) -> Value {
    let mut direct = effect_json(&result.direct);
    let mut indirect = effect_json(&result.indirect);
    if let (Some(control), Some(treated)) = (result.direct_control, result.direct_treated) {
        direct["control"] = effect_json(&control);
        direct["treated"] = effect_json(&treated);
    }
    if let (Some(control), Some(treated)) = (result.indirect_control, result.indirect_treated) {
        indirect["control"] = effect_json(&control);
        indirect["treated"] = effect_json(&treated);
    }
    let mediators: Vec<Value> = result
        .mediators
        .iter()
        .map(|path| {
            json!({
                "name": path.name,
                "treatment_to_mediator": path.treatment_to_mediator,
                "mediator_to_outcome": path.mediator_to_outcome,
                "interaction": path.interaction,
                "indirect": effect_json(&path.indirect),
            })
        })
        .collect();
    json!({
        "data": args.data.display().to_string(),
        "treatment": data.treatment_name(),
        "outcome": data.outcome_name(),
        "mediators_joint": data.mediator_names(),
        "covariates": data.covariate_names(),
        "pairs": data.pair_column(),
        "n": result.n,
        "n_pairs": result.n_pairs,
        "total": effect_json(&result.total),
        "direct": direct,
        "indirect": indirect,
        "proportion_mediated": effect_json(&result.proportion_mediated),
        "mediators": mediators,
        "mean_paired_difference": result.mean_paired_difference,
        "interaction": result.interaction,
        "interval": result.interval.name(),
        "interval_method": result.interval_description,
        "confidence_level": result.confidence_level,
        "simulations": result.simulations,
        "failed_simulations": result.failed_simulations,
        "seed": result.seed,
        "rho_sensitivity": result.rho_sensitivity,
        "estimands": ESTIMANDS,
        "assumption": SEQUENTIAL_IGNORABILITY,
    })
}

fn text_report(data: &MediationData, result: &Mediation) -> String {
    let level = result.confidence_level * 100.0;
    let line = |name: &str, effect: &EffectInterval| {
        format!(
            "  {name:<28} {:>12.6}  ({level:.0}% CI [{:.6}, {:.6}], p = {:.4})\n",
            effect.estimate, effect.ci[0], effect.ci[1], effect.p_value
        )
    };
    let mut out = format!(
        "Mediation of `{}` -> `{}` through {} ({} rows{})\n",
        data.treatment_name(),
        data.outcome_name(),
        data.mediator_names()
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", "),
        result.n,
        result
            .n_pairs
            .map(|pairs| format!(", {pairs} pairs"))
            .unwrap_or_default()
    );
    out += &format!(
        "  pre-treatment covariates: {}\n",
        if data.covariate_names().is_empty() {
            "none".to_owned()
        } else {
            data.covariate_names().join(", ")
        }
    );
    out += &line("total effect", &result.total);
    out += &line("natural direct (average)", &result.direct);
    out += &line("natural indirect (average)", &result.indirect);
    for (name, effect) in [
        ("direct (control)", result.direct_control),
        ("direct (treated)", result.direct_treated),
        ("indirect (control)", result.indirect_control),
        ("indirect (treated)", result.indirect_treated),
    ] {
        if let Some(effect) = effect {
            out += &line(name, &effect);
        }
    }
    out += &line("proportion mediated", &result.proportion_mediated);
    for path in &result.mediators {
        out += &line(&format!("through `{}`", path.name), &path.indirect);
    }
    if let Some(rho) = &result.rho_sensitivity {
        out += &format!(
            "  sensitivity: the indirect effect vanishes if the mediator and outcome errors correlate at rho = {:.3} (Imai, Keele and Yamamoto 2010)\n",
            rho.rho_at_zero
        );
    }
    out += &format!(
        "  intervals: {} ({} draws, seed {})\n  assumes {}\n",
        result.interval_description, result.simulations, result.seed, SEQUENTIAL_IGNORABILITY
    );
    out
}
