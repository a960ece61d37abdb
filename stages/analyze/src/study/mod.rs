//! `icodegen-analyze study`: the study analysis over the pipeline's artifacts and its report.
//!
//! Inputs: `testbed.parquet` (control/treated rows of every intervention, with covariates),
//! optionally `covariates.parquet`, and a folder of model folders, `DIR/<model_id>/` each with
//! `scores.parquet` and `concepts.parquet` (and `tags.parquet`, `nodes.parquet` for token-level
//! tables and local explanations), so adding a model to a pipeline adds a folder.
//!
//! Output: one folder, written atomically: `index.html` (self-contained, inline SVG, no
//! script), `summary.md`, `study.json` (params, seeds, inputs, warnings) and every results
//! table under `tables/` as Parquet and CSV (schemas `study_*` in `icodegen_artifacts::schemas`).
//!
//! The analysis, in order ([`analyze`]): metrics and AsC-Eval per model with bootstrap
//! intervals ([`concepts`]); token-level aggregates with DataFusion SQL ([`tokens`]); control vs
//! treated per intervention ([`paired`]); back-door effects of interventions and of concepts as
//! continuous treatments, with correlations and refuters ([`effects`]); paired comparisons
//! between models and the seed studies' checks ([`compare`]); then the report model
//! ([`report`]), rendered as HTML and Markdown ([`render`]).
//! Every family of tests is adjusted (Holm and Benjamini-Hochberg) and every random step has
//! its own recorded seed derived from the study seed and its labels.
//!
//! Like every stage library, it knows nothing of the runner: it reads the paths it is given
//! and writes only the output folder it is given.

pub mod charts;
pub mod compare;
pub mod concepts;
pub mod decomposition;
pub mod effects;
pub mod explorer;
pub mod format;
pub mod inputs;
pub mod numbers;
pub mod paired;
pub mod params;
pub mod render;
pub mod report;
pub mod tokens;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use icodegen_artifacts::Artifact;
use icodegen_artifacts::atomic::AtomicDir;
use icodegen_artifacts::schemas::{
    covariates, study_comparisons, study_concepts, study_effects, study_metrics, study_paired,
    study_refutations, study_seed_checks, study_tokens,
};
use serde_json::json;

use crate::error::AnalyzeError;
use inputs::{Model, Testbed};
use params::StudyParams;

/// What `icodegen-analyze study --help` prints after the options: the exact inputs, the
/// models folder layout and the output folder.
pub const HELP: &str = "\
Inputs:
  --testbed FILE      testbed.parquet from `icodegen-preprocess --testbed`: every row of every
                      intervention (`intervention = none`: the original test snippets, once each),
                      with pair_id, treatment (0 = control, 1 = treated) and the covariates.
  --covariates FILE   optional covariates.parquet from `icodegen-preprocess --covariates`; it
                      only feeds the report's description of the testbed.
  --models-dir DIR    one folder per model; every non-hidden sub-folder holding scores.parquet is a
                      model (in name order; the model_id column of its files names the model):
                        DIR/<model_id>/scores.parquet    required (icodegen-infer --scores)
                        DIR/<model_id>/concepts.parquet  required (icodegen-tag --concepts)
                        DIR/<model_id>/tags.parquet      optional (icodegen-tag --tags): the
                                                         token-level table and explanations
                        DIR/<model_id>/nodes.parquet     optional (icodegen-tag --nodes): the
                                                         local explanations
                        DIR/<model_id>/tokens.parquet    optional (icodegen-infer --tokens): each
                                                         token's rank, entropy and top-k in the
                                                         explorer
                      Other files there (concepts_global.parquet) are not read.
                      Every row_id must be a row of --testbed.
  --params FILE       the `analyze:` key (--key); every setting is optional (seed, bootstrap,
                      min_rows, confounders, methods, refuters, simulations, ...; see
                      stages/analyze/src/study/README.md).

Output (--out DIR, e.g. report/): written in a temporary folder beside DIR and renamed into place,
so DIR is either the previous complete report or the new one, never half-written:
  DIR/index.html                 self-contained report (inline SVG charts, no script, no network)
  DIR/summary.md                 plain-language findings, every number with its interval
  DIR/explorer.html, explorer/   the row explorer: every testbed row x model, token and paired
                                 views (static script, data as <script> files; opens from disk)
  DIR/study.json                 params, seeds, models, testbed counts, warnings
  DIR/tables/<name>.parquet|csv  metrics, concepts, tokens, interventions, effects, refutations,
                                 comparisons, seed_checks (columns: docs/artifacts.md, study_*)

Bad inputs (missing files, unknown params or confounders, rows not in the testbed) exit with
status 2 and name the file and row; no report is written then.

Example:
  icodegen-analyze study --params params.yaml --testbed data/testbed.parquet \\
      --covariates data/covariates.parquet --models-dir data/models --out report";

/// Arguments of the `study` subcommand.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = HELP)]
pub struct StudyArgs {
    /// The params file.
    #[arg(long, default_value = "params.yaml", value_name = "FILE")]
    pub params: PathBuf,
    /// The dotted key of the study's settings in the params file.
    #[arg(long, default_value = "analyze", value_name = "KEY")]
    pub key: String,
    /// testbed.parquet (preprocess).
    #[arg(long, value_name = "FILE")]
    pub testbed: PathBuf,
    /// covariates.parquet (preprocess), described in the report's testbed section.
    #[arg(long, value_name = "FILE")]
    pub covariates: Option<PathBuf>,
    /// A folder with one folder per model: `<model_id>/scores.parquet`, `concepts.parquet`,
    /// and optionally `tags.parquet` and `nodes.parquet`.
    #[arg(long, value_name = "DIR")]
    pub models_dir: PathBuf,
    /// The report folder to write (replaced atomically).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Every results table of a study.
#[derive(Debug, Default)]
pub struct Results {
    pub metrics: Vec<study_metrics::Row>,
    pub concepts: Vec<study_concepts::Row>,
    pub tokens: Vec<study_tokens::Row>,
    pub paired: Vec<study_paired::Row>,
    pub effects: Vec<study_effects::Row>,
    pub refutations: Vec<study_refutations::Row>,
    pub comparisons: Vec<study_comparisons::Row>,
    pub seed_checks: Vec<study_seed_checks::Row>,
}

/// Everything the report shows besides the tables.
pub struct Study {
    pub params: StudyParams,
    pub testbed: Testbed,
    pub models: Vec<Model>,
    pub covariates: Option<Vec<covariates::Row>>,
    pub results: Results,
    /// The token-level table per language of the rows, (language, row), when the testbed has
    /// more than one language (`tables/tokens` stays pooled).
    pub tokens_by_language: Vec<(String, study_tokens::Row)>,
    /// Total / direct / indirect effects of the interventions, subgroup effects and the
    /// sensitivity of the concept effects ([`decomposition`]).
    pub claims: decomposition::CausalClaims,
    /// Rendered local explanations: (model, which, html fragment or the reason there is none).
    pub explanations: Vec<report::ExplanationBlock>,
    pub warnings: Vec<String>,
}

/// Runs the subcommand.
pub fn run(args: &StudyArgs) -> Result<()> {
    let params: StudyParams = icodegen_artifacts::params::load(&args.params, &args.key)?;
    params.validate().map_err(|message| AnalyzeError::Params {
        path: args.params.clone(),
        key: args.key.clone(),
        message,
    })?;
    for (what, path) in [
        ("--testbed", &args.testbed),
        ("--models-dir", &args.models_dir),
    ] {
        if !path.exists() {
            return Err(AnalyzeError::MissingFile {
                what,
                path: path.clone(),
            }
            .into());
        }
    }
    check_out(args)?;
    let study = analyze(
        &args.testbed,
        args.covariates.as_deref(),
        &args.models_dir,
        params,
    )?;
    let parent = match args.out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let before = temporaries(&parent, &args.out);
    let written = write_report(&study, &args.out);
    if written.is_err() {
        // A failed commit can leave the staged folder beside --out: remove what we made.
        for leftover in temporaries(&parent, &args.out).difference(&before) {
            let _ = fs_err::remove_dir_all(leftover).or_else(|_| fs_err::remove_file(leftover));
        }
    }
    written
}

/// The temporary siblings of `out` (`.NAME.tmp-*`) in `parent`.
fn temporaries(parent: &Path, out: &Path) -> std::collections::BTreeSet<PathBuf> {
    let name = out
        .file_name()
        .map_or("output".into(), |name| name.to_string_lossy().into_owned());
    let prefix = format!(".{name}.tmp-");
    fs_err::read_dir(parent)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .map(|entry| entry.path())
        .collect()
}

/// `path` made absolute, with its longest existing prefix resolved through symlinks.
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.clone();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = fs_err::canonicalize(&existing) {
            return rest
                .iter()
                .rev()
                .fold(canonical, |path, part| path.join(part));
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => return absolute,
        }
    }
}

/// Refuses an `--out` folder whose replacement would destroy an input or the workspace: one
/// that is or holds the current folder, or is, holds or lies inside an input.
fn check_out(args: &StudyArgs) -> Result<()> {
    let out = resolved(&args.out);
    let here = resolved(Path::new("."));
    if here.starts_with(&out) {
        return Err(AnalyzeError::Out {
            out: args.out.clone(),
            message: format!(
                "is or holds the current folder `{}`: the report folder is replaced whole, so it must be a folder of its own (e.g. `report`)",
                here.display()
            ),
        }
        .into());
    }
    let mut inputs = vec![
        ("--params", &args.params),
        ("--testbed", &args.testbed),
        ("--models-dir", &args.models_dir),
    ];
    if let Some(covariates) = &args.covariates {
        inputs.push(("--covariates", covariates));
    }
    for (what, path) in inputs {
        let input = resolved(path);
        if input.starts_with(&out) || out.starts_with(&input) {
            return Err(AnalyzeError::Out {
                out: args.out.clone(),
                message: format!(
                    "and {what} `{}` overlap: the report folder is replaced whole, so it may neither hold an input nor lie inside one",
                    path.display()
                ),
            }
            .into());
        }
    }
    Ok(())
}

/// Reads the inputs and computes every results table and explanation.
pub fn analyze(
    testbed_path: &Path,
    covariates_path: Option<&Path>,
    models_dir: &Path,
    params: StudyParams,
) -> Result<Study> {
    let testbed = inputs::read_testbed(testbed_path)?;
    let covariates = covariates_path.map(inputs::read_covariates).transpose()?;
    let mut models = Vec::new();
    for dir in inputs::model_dirs(models_dir)? {
        let model = inputs::read_model(&dir, &testbed)?;
        if let Some(other) = models
            .iter()
            .find(|other: &&Model| other.model_id == model.model_id)
        {
            return Err(AnalyzeError::DuplicateModel {
                model: model.model_id.clone(),
                first: other.dir.clone(),
                second: dir.clone(),
            }
            .into());
        }
        models.push(model);
    }
    let mut warnings = Vec::new();
    if !testbed.base_from_original {
        warnings.push(format!(
            "the testbed has no `{}` rows; metrics and concepts are computed over every row",
            inputs::ORIGINAL
        ));
    }
    for (intervention, count) in &testbed.incomplete_pairs {
        warnings.push(format!(
            "intervention `{intervention}`: {count} pairs without exactly one control and one treated row were left out"
        ));
    }
    for model in &models {
        if model.tags.is_none() {
            warnings.push(format!(
                "model `{}` has no tags.parquet: no token-level table and no local explanations",
                model.model_id
            ));
        }
    }
    let mut results = Results::default();
    for model in &models {
        results
            .metrics
            .extend(concepts::metrics(model, &testbed, &params));
        results
            .concepts
            .extend(concepts::concepts(model, &testbed, &params));
    }
    results.paired = paired::paired_tests(&models, &testbed, &params);
    let effects = effects::effects(&models, &testbed, &params);
    results.effects = effects.effects;
    results.refutations = effects.refutations;
    let claims = decomposition::claims(&models, &testbed, &params, &results.effects);
    results.comparisons = compare::comparisons(&models, &testbed, &params);
    results.seed_checks = compare::seed_checks(&models, &testbed, &params, &claims.decompositions);
    let tables =
        tokens::TokenTables::open(testbed_path, &models, &params, testbed.base_from_original)?;
    let mut tokens_by_language = Vec::new();
    for (index, model) in models.iter().enumerate() {
        results
            .tokens
            .extend(tables.aggregates(index, model, &params)?);
        if testbed.languages.len() > 1 {
            tokens_by_language.extend(tables.aggregates_by_language(index, model, &params)?);
        }
    }
    // By language, then in each model's order.
    tokens_by_language.sort_by(|(a, _), (b, _)| a.cmp(b));
    let explanations = report::explanations(&tables, &models, &testbed, &params)?;
    Ok(Study {
        params,
        testbed,
        models,
        covariates,
        results,
        tokens_by_language,
        claims,
        explanations,
        warnings,
    })
}

/// Writes a results table as `tables/<name>.parquet` and `tables/<name>.csv`.
fn write_table<A: Artifact>(dir: &Path, name: &str, rows: &[A], seed: &str) -> Result<()> {
    let parquet = dir.join(format!("{name}.parquet"));
    let mut writer = icodegen_artifacts::ArtifactWriter::<A>::create_with_metadata(
        &parquet,
        "analyze",
        &[("icodegen.study_seed", seed)],
    )?;
    writer.extend(rows.iter().cloned())?;
    writer.finish()?;
    let batch = A::to_batch(rows);
    let mut bytes = Vec::new();
    {
        let mut csv = arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(&mut bytes);
        csv.write(&batch)
            .with_context(|| format!("writing {name}.csv"))?;
    }
    fs_err::write(dir.join(format!("{name}.csv")), bytes)?;
    Ok(())
}

/// The table names, in the order the report lists them.
pub const TABLES: [&str; 8] = [
    "metrics",
    "concepts",
    "tokens",
    "interventions",
    "effects",
    "refutations",
    "comparisons",
    "seed_checks",
];

/// Writes the whole report folder atomically.
pub fn write_report(study: &Study, out: &Path) -> Result<()> {
    let folder = AtomicDir::create(out)?;
    let tables = folder.path().join("tables");
    fs_err::create_dir_all(&tables)?;
    let seed = study.params.seed.to_string();
    let results = &study.results;
    write_table(&tables, TABLES[0], &results.metrics, &seed)?;
    write_table(&tables, TABLES[1], &results.concepts, &seed)?;
    write_table(&tables, TABLES[2], &results.tokens, &seed)?;
    write_table(&tables, TABLES[3], &results.paired, &seed)?;
    write_table(&tables, TABLES[4], &results.effects, &seed)?;
    write_table(&tables, TABLES[5], &results.refutations, &seed)?;
    write_table(&tables, TABLES[6], &results.comparisons, &seed)?;
    write_table(&tables, TABLES[7], &results.seed_checks, &seed)?;
    let mut report = report::Report::build(study);
    // The page is written before the explorer, which counts it against the size bound, and
    // again once the bound's note is known (a line longer; `RESERVE` covers it).
    fs_err::write(
        folder.path().join("index.html"),
        render::html::page(&report)?,
    )?;
    let explorer = explorer::write(study, folder.path())?;
    report.explorer_note = Some(explorer.bound.note());
    fs_err::write(
        folder.path().join("index.html"),
        render::html::page(&report)?,
    )?;
    fs_err::write(
        folder.path().join("summary.md"),
        render::markdown::summary(&report),
    )?;
    let manifest = json!({
        "tool_version": icodegen_artifacts::io::TOOL_VERSION,
        "seed": study.params.seed,
        "params": study.params,
        "models": study.models.iter().map(|model| json!({
            "model_id": model.model_id,
            "dir": model.dir.display().to_string(),
            "scored_rows": model.scores.iter().filter(|score| score.is_some()).count(),
            "skipped_rows": model.skipped,
            "tags": model.tags.is_some(),
            "nodes": model.nodes.is_some(),
        })).collect::<Vec<_>>(),
        "testbed": {
            "rows": study.testbed.n_testbed_rows,
            "distinct_code_rows": study.testbed.rows.len(),
            "original_rows": study.testbed.base.len(),
            "languages": study.testbed.languages,
            "pairs": study.testbed.interventions.iter().map(|(name, pairs)| (name.clone(), pairs.len())).collect::<std::collections::BTreeMap<_, _>>(),
            "incomplete_pairs": study.testbed.incomplete_pairs,
        },
        "tables": TABLES,
        "explorer": {
            "max_mb": explorer.bound.max_bytes as f64 / 1e6,
            "full_mb": explorer.bound.full_bytes as f64 / 1e6,
            "topk_dropped": explorer.bound.topk_dropped,
            "sampled": explorer.bound.sampled,
            "snippets": explorer.bound.snippets,
            "kept_snippets": explorer.bound.kept_snippets,
            "note": explorer.bound.note(),
        },
        "causal_claims": study.claims.to_json(),
        "warnings": study.warnings,
    });
    let mut manifest = serde_json::to_string_pretty(&manifest)?;
    manifest.push('\n');
    // Plain writes inside the folder: the folder as a whole appears atomically.
    fs_err::write(folder.path().join("study.json"), manifest)?;
    folder.commit()?;
    Ok(())
}
