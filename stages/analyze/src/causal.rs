//! `icodegen-analyze causal`: the stand-alone causal estimate on any table.
//!
//! Reads the treatment, outcome and confounder columns from a Parquet or CSV file (or derives
//! the confounders from a DOT graph by the back-door criterion), estimates the effect, runs the
//! refuters, and prints one JSON object (`--json`) or a short text report. Bad input is a usage
//! error (exit 2) naming the file, the column and the first bad row.

use std::path::{Path, PathBuf};

use anyhow::Result;
use icodegen_artifacts::vocab::EffectMethod;
use icodegen_causal::{
    CausalData, CausalError, CausalGraph, Column, Estimate, EstimatorOptions, Method,
    PropensityOptions, Refutation, Refuter, RefuterOptions, TargetUnits, WeightingScheme,
};
use serde_json::{Value, json};

use crate::error::AnalyzeError;
use crate::table::{RowLabel, read_columns};

/// Arguments of the `causal` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct CausalArgs {
    /// The table: a `.parquet` or `.csv` file with a header.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Treatment column (0/1 for propensity-score methods; any number for linear regression).
    #[arg(long, value_name = "COLUMN")]
    pub treatment: String,
    /// Outcome column.
    #[arg(long, value_name = "COLUMN")]
    pub outcome: String,
    /// Confounder columns, comma-separated. With `--graph`, they must form a back-door set of
    /// the graph; without them the graph's adjustment set is used.
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    pub confounders: Vec<String>,
    /// A causal graph in DOT (`digraph { a -> b; ... }`).
    #[arg(long, value_name = "FILE.dot")]
    pub graph: Option<PathBuf>,
    /// Estimator: linear_regression, ps_stratification, ps_matching, ps_weighting or aipw
    /// (DoWhy's `backdoor.*` names are accepted too).
    #[arg(long, default_value = EffectMethod::LinearRegression.as_str())]
    pub method: String,
    /// Refuters, comma-separated: placebo, random_common_cause, data_subset, bootstrap,
    /// unobserved_common_cause; `none` for no refutation.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "placebo,random_common_cause,data_subset"
    )]
    pub refuters: Vec<String>,
    /// Simulations per refuter (DoWhy's default is 100).
    #[arg(long, default_value_t = 100)]
    pub simulations: usize,
    /// Seed of every random step (refuters, bootstrap intervals).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// ate, att or atc (att/atc for the propensity-score methods).
    #[arg(long, default_value = "ate")]
    pub target_units: String,
    #[arg(long, default_value_t = 0.95)]
    pub confidence_level: f64,
    /// Fraction of rows kept by the data_subset refuter.
    #[arg(long, default_value_t = 0.9)]
    pub subset_fraction: f64,
    /// Bootstrap resamples for the intervals of the propensity-score methods.
    #[arg(long, default_value_t = 200)]
    pub ci_resamples: usize,
    /// Number of propensity strata (default: DoWhy's automatic choice).
    #[arg(long)]
    pub num_strata: Option<usize>,
    /// Weighting scheme for ps_weighting: hajek (DoWhy's number), stabilized or plain.
    #[arg(long, default_value = "hajek")]
    pub weighting_scheme: String,
    /// L2 penalty of the propensity model (1 reproduces DoWhy's scikit-learn default).
    #[arg(long, default_value_t = 0.0)]
    pub propensity_l2: f64,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    pub json: bool,
}

/// Maps a library error to a CLI error: data and option problems are the user's (exit 2), a
/// method that cannot estimate on valid data is a failure (exit 1). Rows become file rows.
pub(crate) fn classify(error: CausalError, data_path: &Path, label: RowLabel) -> AnalyzeError {
    let data = |message: String| AnalyzeError::data(data_path, message);
    match error {
        CausalError::NonFinite { column, row, value } => data(format!(
            "column `{column}` has a non-finite value ({value}) at {}",
            label.describe(row)
        )),
        CausalError::NonBinaryTreatment {
            method,
            column,
            row,
            value,
        } => data(format!(
            "method `{method}` needs a binary 0/1 treatment, but `{column}` is {value} at {}; use linear_regression for a continuous treatment",
            label.describe(row)
        )),
        CausalError::ConstantTreatment { column, value } => data(format!(
            "treatment `{column}` is constant ({value}) in every row: there is nothing to compare"
        )),
        error @ (CausalError::NoConvergence { .. }
        | CausalError::NotEstimable { .. }
        | CausalError::Stats(_)) => AnalyzeError::Estimation {
            path: data_path.to_path_buf(),
            source: error,
        },
        error => AnalyzeError::Causal {
            path: data_path.to_path_buf(),
            error,
        },
    }
}

fn parse_options(
    args: &CausalArgs,
) -> Result<(Method, Vec<Refuter>, EstimatorOptions, RefuterOptions)> {
    let method: Method = args.method.parse().map_err(AnalyzeError::Name)?;
    let refuters = args
        .refuters
        .iter()
        .map(|name| name.trim())
        .filter(|name| !name.is_empty() && *name != "none")
        .map(|name| {
            name.parse::<Refuter>()
                .map_err(|error| AnalyzeError::Name(error).into())
        })
        .collect::<Result<Vec<_>>>()?;
    let target_units = match args.target_units.as_str() {
        "ate" => TargetUnits::Ate,
        "att" => TargetUnits::Att,
        "atc" => TargetUnits::Atc,
        other => {
            return Err(AnalyzeError::argument(
                "--target-units",
                format!("unknown --target-units `{other}`; expected ate, att or atc"),
            )
            .into());
        }
    };
    let weighting_scheme = match args.weighting_scheme.as_str() {
        "hajek" => WeightingScheme::Hajek,
        "stabilized" => WeightingScheme::Stabilized,
        "plain" => WeightingScheme::Plain,
        other => {
            return Err(AnalyzeError::argument(
                "--weighting-scheme",
                format!(
                    "unknown --weighting-scheme `{other}`; expected hajek, stabilized or plain"
                ),
            )
            .into());
        }
    };
    if args.simulations == 0 && !refuters.is_empty() {
        return Err(AnalyzeError::argument(
            "--simulations",
            "--simulations must be at least 1 when refuters run",
        )
        .into());
    }
    let estimator = EstimatorOptions {
        target_units,
        confidence_level: args.confidence_level,
        propensity: PropensityOptions {
            l2_penalty: args.propensity_l2,
            ..PropensityOptions::default()
        },
        num_strata: args.num_strata,
        weighting_scheme,
        ci_resamples: args.ci_resamples,
        seed: args.seed,
        ..EstimatorOptions::default()
    };
    let refuter_options = RefuterOptions {
        simulations: args.simulations,
        seed: args.seed,
        subset_fraction: args.subset_fraction,
        ..RefuterOptions::default()
    };
    Ok((method, refuters, estimator, refuter_options))
}

/// The confounders to adjust for, and the graph's sets when a graph was given.
fn adjustment(
    args: &CausalArgs,
    available: &[String],
) -> Result<(Vec<String>, Option<icodegen_causal::BackdoorSets>)> {
    let Some(graph_path) = &args.graph else {
        return Ok((args.confounders.clone(), None));
    };
    let text = fs_err::read_to_string(graph_path).map_err(AnalyzeError::Open)?;
    let source = graph_path.display().to_string();
    let graph = CausalGraph::from_dot(&text, &source).map_err(AnalyzeError::GraphParse)?;
    let observed: Vec<&str> = available.iter().map(String::as_str).collect();
    let sets = graph
        .backdoor_sets(&args.treatment, &args.outcome, &observed, &source)
        .map_err(AnalyzeError::GraphParse)?;
    if args.confounders.is_empty() {
        return Ok((sets.adjustment_set.clone(), Some(sets)));
    }
    let unknown: Vec<&String> = args
        .confounders
        .iter()
        .filter(|name| !graph.contains(name))
        .collect();
    if !unknown.is_empty() {
        return Err(AnalyzeError::Graph {
            path: graph_path.clone(),
            message: format!(
                "confounders {} are not nodes of the graph",
                unknown
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
        .into());
    }
    if !graph.is_backdoor_set(&args.treatment, &args.outcome, &args.confounders) {
        return Err(AnalyzeError::Graph {
            path: graph_path.clone(),
            message: format!(
                "--confounders {} do not satisfy the back-door criterion for `{}` -> `{}`; the graph's adjustment set is {{{}}} (minimal: {{{}}})",
                args.confounders.join(","),
                args.treatment,
                args.outcome,
                sets.adjustment_set.join(", "),
                sets.minimal.join(", ")
            ),
        }
        .into());
    }
    Ok((args.confounders.clone(), Some(sets)))
}

/// The available column names of the data file (for graph identification).
fn column_names(path: &Path) -> Result<Vec<String>> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if extension == "csv" {
        let file = fs_err::File::open(path).map_err(AnalyzeError::Open)?;
        let mut reader = csv::Reader::from_reader(file);
        let headers = reader
            .headers()
            .map_err(|error| AnalyzeError::data(path, error.to_string()))?;
        Ok(headers.iter().map(|h| h.trim().to_string()).collect())
    } else {
        let file = fs_err::File::open(path).map_err(AnalyzeError::Open)?;
        let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            file.into_parts().0,
        )
        .map_err(|error| AnalyzeError::CorruptParquet {
            path: path.to_path_buf(),
            error,
        })?;
        Ok(builder
            .schema()
            .fields()
            .iter()
            .map(|field| field.name().clone())
            .collect())
    }
}

/// Runs the subcommand and returns what to print.
pub fn run(args: &CausalArgs) -> Result<String> {
    let (method, refuters, estimator, refuter_options) = parse_options(args)?;
    if !args.data.exists() {
        return Err(AnalyzeError::MissingFile {
            what: "data file",
            path: args.data.clone(),
        }
        .into());
    }
    let available = if args.graph.is_some() {
        column_names(&args.data)?
    } else {
        Vec::new()
    };
    let (confounders, sets) = adjustment(args, &available)?;
    if confounders.is_empty() && method.uses_propensity() {
        return Err(AnalyzeError::argument(
            "--confounders",
            format!(
                "method `{method}` needs at least one confounder; pass --confounders (or a --graph with a non-empty adjustment set)"
            ),
        )
        .into());
    }
    let mut names = vec![args.treatment.clone(), args.outcome.clone()];
    names.extend(confounders.iter().cloned());
    for (index, name) in names.iter().enumerate() {
        if names[..index].contains(name) {
            return Err(AnalyzeError::argument(
                name.as_str(),
                format!(
                    "column `{name}` is given more than once (treatment, outcome and confounders must differ)"
                ),
            )
            .into());
        }
    }
    let table = read_columns(&args.data, &names)?;
    let label = table.row_label;
    let mut columns = table
        .columns
        .into_iter()
        .map(|(name, values)| Column::new(name, values));
    let treatment = columns.next().expect("treatment column");
    let outcome = columns.next().expect("outcome column");
    let data = CausalData::new(treatment, outcome, columns.collect())
        .map_err(|error| classify(error, &args.data, label))?;
    // Checked here, for every method: a constant column leaves nothing to estimate (and some
    // estimators cannot even fit on it).
    for (role, name, values) in [
        ("treatment", data.treatment_name(), data.treatment()),
        ("outcome", data.outcome_name(), data.outcome()),
    ] {
        if let Some(&first) = values.first()
            && values.iter().all(|&value| value == first)
        {
            return Err(AnalyzeError::data(
                &args.data,
                format!(
                    "{role} `{name}` is constant ({first}) in every row: there is no effect to estimate"
                ),
            )
            .into());
        }
    }

    let estimate = icodegen_causal::estimate(&data, method, &estimator)
        .map_err(|error| classify(error, &args.data, label))?;
    let correlations =
        icodegen_causal::correlations(&data).map_err(|error| classify(error, &args.data, label))?;
    let refutations = icodegen_causal::refute_all(
        &data,
        method,
        &estimator,
        estimate.effect,
        &refuters,
        &refuter_options,
    )
    .map_err(|error| classify(error, &args.data, label))?;

    // How strong an unobserved confounder would have to be (E-value from this estimate and its
    // standard error; robustness value from the linear outcome regression): docs/causal.md.
    let sensitivity = icodegen_causal::sensitivity(
        &data,
        1.0 - args.confidence_level,
        Some((estimate.effect, estimate.standard_error)),
    )
    .ok()
    .filter(|_| estimate.standard_error.is_finite());
    let warnings = overlap_warnings(&data, method, &estimator);
    let mut report = json_report(
        args,
        &data,
        &estimate,
        &correlations,
        &refutations,
        sets.as_ref(),
        &refuter_options,
    );
    report["sensitivity"] = json!(sensitivity);
    report["reliable"] = json!(warnings.is_empty());
    report["warnings"] = json!(warnings);
    if args.json {
        Ok(serde_json::to_string_pretty(&report)? + "\n")
    } else {
        let mut text = text_report(&data, &estimate, &correlations, &refutations, sets.as_ref());
        if let Some(sensitivity) = &sensitivity {
            text += &format!(
                "  sensitivity: robustness value {:.3} ({:.3} for the interval to include 0); E-value {:.3} (interval {:.3}, standardized-difference approximation)\n",
                sensitivity.robustness_value,
                sensitivity.robustness_value_alpha,
                sensitivity.e_value.e_value,
                sensitivity.e_value.e_value_ci
            );
        }
        for warning in &warnings {
            text += &format!("  WARNING: {warning}\n");
        }
        Ok(text)
    }
}

/// Why a propensity-score estimate cannot be trusted: the treated and control rows do not
/// overlap in their propensity scores (perfect separation by the confounders), or most scores
/// are so extreme that clipping, not the data, sets the effect. Empty when fine, or for
/// methods without propensity scores.
fn overlap_warnings(data: &CausalData, method: Method, options: &EstimatorOptions) -> Vec<String> {
    if !method.uses_propensity() {
        return Vec::new();
    }
    let Ok(model) = icodegen_causal::fit_propensity(data, &options.propensity) else {
        return Vec::new();
    };
    let treatment = data.treatment();
    let scores = |arm: f64| {
        model
            .scores
            .iter()
            .zip(treatment)
            .filter(move |(_, t)| **t == arm)
            .map(|(score, _)| *score)
    };
    let min_treated = scores(1.0).fold(f64::INFINITY, f64::min);
    let max_control = scores(0.0).fold(f64::NEG_INFINITY, f64::max);
    let max_treated = scores(1.0).fold(f64::NEG_INFINITY, f64::max);
    let min_control = scores(0.0).fold(f64::INFINITY, f64::min);
    let extreme = model
        .scores
        .iter()
        .filter(|&&score| !(0.01..=0.99).contains(&score))
        .count();
    let mut warnings = Vec::new();
    if min_treated >= max_control || max_treated <= min_control {
        warnings.push(format!(
            "not reliable: the confounders ({}) separate treated and control rows perfectly (no overlap in propensity scores), so `{method}` compares rows that have no counterpart; the effect is set by score clipping, not by the data",
            data.confounder_names().join(", ")
        ));
    } else if extreme * 2 > model.scores.len() {
        warnings.push(format!(
            "not reliable: {extreme} of {} rows have a propensity score below 0.01 or above 0.99 (almost no overlap between treated and control rows)",
            model.scores.len()
        ));
    }
    warnings
}

fn json_report(
    args: &CausalArgs,
    data: &CausalData,
    estimate: &Estimate,
    correlations: &icodegen_causal::Correlations,
    refutations: &[Refutation],
    sets: Option<&icodegen_causal::BackdoorSets>,
    refuter_options: &RefuterOptions,
) -> Value {
    let refuters: Vec<Value> = refutations
        .iter()
        .map(|refutation| {
            let mut value = json!({
                "name": refutation.refuter.name(),
                "new_effect": refutation.new_effect,
                "p_value": refutation.p_value,
                "passed": refutation.passed,
                "new_effect_sd": refutation.new_effect_sd,
                "simulations": refutation.simulations,
                "failed_simulations": refutation.failed_simulations,
                "test": refutation.test,
                "rule": refutation.rule,
            });
            if let Some(p) = refutation.effect_vs_placebo_p_value {
                value["effect_vs_placebo_p_value"] = json!(p);
            }
            if !refutation.strengths.is_empty() {
                value["strengths"] = json!(refutation.strengths);
            }
            value
        })
        .collect();
    let mut report = json!({
        "method": estimate.method.name(),
        "dowhy_method": estimate.method.dowhy_name(),
        "data": args.data.display().to_string(),
        "treatment": data.treatment_name(),
        "outcome": data.outcome_name(),
        "adjustment_set": data.confounder_names(),
        "n": estimate.n,
        "n_treated": estimate.n_treated,
        "n_control": estimate.n_control,
        "target_units": estimate.target_units,
        "ate": estimate.effect,
        "se": estimate.standard_error,
        "ci": estimate.ci.as_array(),
        "confidence_level": estimate.ci.level,
        "p_value": estimate.p_value,
        "interval": estimate.interval_kind,
        "ci_resamples": estimate.resamples,
        "correlation": {
            "pearson": correlations.pearson.coefficient,
            "spearman": correlations.spearman.coefficient,
            "kendall": correlations.kendall.coefficient,
        },
        "correlation_p_values": {
            "pearson": correlations.pearson.p_value,
            "spearman": correlations.spearman.p_value,
            "kendall": correlations.kendall.p_value,
        },
        "refuters": refuters,
        "details": estimate.details,
        "seed": args.seed,
        "simulations": refuter_options.simulations,
        "subset_fraction": refuter_options.subset_fraction,
    });
    if let Some(sets) = sets {
        report["graph"] = json!(args.graph.as_ref().map(|path| path.display().to_string()));
        report["graph_adjustment_set"] = json!(sets.adjustment_set);
        report["minimal_adjustment_set"] = json!(sets.minimal);
    }
    report
}

fn text_report(
    data: &CausalData,
    estimate: &Estimate,
    correlations: &icodegen_causal::Correlations,
    refutations: &[Refutation],
    sets: Option<&icodegen_causal::BackdoorSets>,
) -> String {
    let mut out = String::new();
    let units = format!("{:?}", estimate.target_units).to_uppercase();
    out += &format!(
        "Effect of `{}` on `{}` ({}, {} rows)\n",
        data.treatment_name(),
        data.outcome_name(),
        estimate.method.name(),
        estimate.n
    );
    out += &format!(
        "  adjusted for: {}\n",
        if data.confounders().is_empty() {
            "nothing".to_string()
        } else {
            data.confounder_names().join(", ")
        }
    );
    if let Some(sets) = sets {
        out += &format!(
            "  graph's minimal back-door set: {{{}}}\n",
            sets.minimal.join(", ")
        );
    }
    out += &format!(
        "  {units} = {:.6}  (se {:.6}, {:.0}% CI [{:.6}, {:.6}], p = {:.4})\n",
        estimate.effect,
        estimate.standard_error,
        estimate.ci.level * 100.0,
        estimate.ci.lower,
        estimate.ci.upper,
        estimate.p_value
    );
    out += &format!(
        "  correlation: pearson {:.4} (p = {:.3}), spearman {:.4} (p = {:.3}), kendall {:.4} (p = {:.3})\n",
        correlations.pearson.coefficient,
        correlations.pearson.p_value,
        correlations.spearman.coefficient,
        correlations.spearman.p_value,
        correlations.kendall.coefficient,
        correlations.kendall.p_value
    );
    if !refutations.is_empty() {
        out += "  refuters:\n";
        for refutation in refutations {
            out += &format!(
                "    {:<24} new effect {:>12.6}  p = {:.3}  {}\n",
                refutation.refuter.name(),
                refutation.new_effect,
                refutation.p_value,
                if refutation.passed { "pass" } else { "FAIL" }
            );
        }
    }
    out
}
