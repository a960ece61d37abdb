//! Stage `preprocess`: computes the confounders of every snippet (`covariates.parquet`) and
//! builds the interventional testbed (`testbed.parquet`) from the testbed splits.
//!
//! Snippets are read batch by batch; each batch is processed in parallel with rayon (parse,
//! [`covariates`], [`interventions`]) and written in input order, so memory stays flat and
//! the output is the same for any thread count. Members of real pairs (ingest's `pairs`
//! sources) are joined as they arrive and become the mapped intervention's rows.
//!
//! The library knows nothing of the runner, its cache, the lock file or Slurm: it reads the
//! inputs it is given and writes only the output paths it is given.

pub mod config;
pub mod error;
pub mod interventions;

/// The covariates and bindings of a parsed snippet live in `icodegen-lang`, where ingest
/// computes them from the parse it already makes; preprocess computes them only for the rows
/// its interventions create.
pub use icodegen_lang::{bindings, covariates};

use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::path::Path;

use anyhow::Context as _;
use icodegen_artifacts::schemas::{covariates as covariates_schema, snippets, testbed};
use icodegen_artifacts::vocab;
use icodegen_artifacts::{ArtifactReader, ArtifactWriter, Covariates};
use icodegen_lang::{Language, Parsers, Snippet};
use rayon::prelude::*;
use serde::Serialize;

pub use config::PreprocessConfig;
pub use error::PreprocessError;
use interventions::{Intervention, Outcome, Settings, Tally};

/// What preprocess did, written to `--report`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub seed: u64,
    /// Snippets read (= covariates rows).
    pub snippets: u64,
    pub testbed: TestbedCounts,
    /// Per intervention (and per real-pair mapping): pairs made and why others were not.
    pub interventions: BTreeMap<String, Tally>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TestbedCounts {
    /// Snippets that entered the testbed (intervention `none`).
    pub snippets: u64,
    /// Rows written.
    pub rows: u64,
    /// Pair members whose partner never arrived (not in the testbed splits, or filtered).
    pub incomplete_pairs: u64,
}

/// A real pair's member waiting for its partner.
struct PairMember {
    pair_id: String,
    role: String,
    snippet_id: String,
    language: String,
    code: String,
    covariates: Covariates,
}

/// What one snippet produced.
struct Produced {
    covariates: covariates_schema::Row,
    testbed: Vec<testbed::Row>,
    tallies: Vec<(Intervention, Tally)>,
    pair_member: Option<PairMember>,
}

/// Per-row plan decided sequentially before the parallel step.
#[derive(Clone, Copy)]
struct Plan {
    in_testbed: bool,
    /// Member of a real pair mapped to an intervention.
    paired: Option<bool>,
    /// Synthetic bugs are not made for members of real bug-fix pairs.
    synthetic_bugfix: bool,
}

#[allow(clippy::too_many_arguments)]
fn testbed_row(
    intervention: &str,
    pair_id: &str,
    treatment: i8,
    snippet_id: &str,
    language: &str,
    code: &str,
    mutation: Option<&str>,
    covariates: &Covariates,
) -> testbed::Row {
    let mut row = testbed::Row {
        row_id: icodegen_artifacts::content_id(language, code),
        pair_id: pair_id.to_owned(),
        intervention: intervention.to_owned(),
        treatment,
        snippet_id: snippet_id.to_owned(),
        language: language.to_owned(),
        code: code.to_owned(),
        mutation: mutation.map(str::to_owned),
        n_bytes: code.len() as i64,
        ..testbed::Row::default()
    };
    row.set_covariates(covariates);
    row
}

/// The pair id of a synthetic pair: blake3 of the intervention and the snippet id.
pub fn synthetic_pair_id(intervention: Intervention, snippet_id: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(intervention.name().as_bytes());
    hasher.update(&[0]);
    hasher.update(snippet_id.as_bytes());
    hasher.finalize().to_hex().to_string()
}

fn process_row(
    parsers: &mut Parsers,
    config: &PreprocessConfig,
    settings: &Settings,
    row: &snippets::Row,
    plan: Plan,
) -> Result<Produced, String> {
    let language = Language::from_name(&row.language).map_err(|error| error.to_string())?;
    // Ingest computed the snippet's covariates from its one parse; they are not recomputed.
    let original = row.covariates();
    let mut covariates_row = covariates_schema::Row {
        snippet_id: row.snippet_id.clone(),
        language: row.language.clone(),
        n_bytes: row.code.len() as i64,
        ..covariates_schema::Row::default()
    };
    covariates_row.set_covariates(&original);
    let mut produced = Produced {
        covariates: covariates_row,
        testbed: Vec::new(),
        tallies: Vec::new(),
        pair_member: None,
    };
    if !plan.in_testbed {
        return Ok(produced);
    }
    let id = row.snippet_id.as_str();
    produced.testbed.push(testbed_row(
        vocab::Intervention::None.as_str(),
        id,
        0,
        id,
        &row.language,
        &row.code,
        None,
        &original,
    ));
    if plan.paired.is_some()
        && let (Some(pair_id), Some(role)) = (&row.pair_id, &row.pair_role)
    {
        produced.pair_member = Some(PairMember {
            pair_id: pair_id.clone(),
            role: role.clone(),
            snippet_id: row.snippet_id.clone(),
            language: row.language.clone(),
            code: row.code.clone(),
            covariates: original,
        });
    }
    // The one parse of this snippet in preprocess: the interventions edit its tree.
    let mut snippet = None;
    for &intervention in &config.interventions {
        if intervention == Intervention::Bugfix && !plan.synthetic_bugfix {
            continue;
        }
        let snippet = match &snippet {
            Some(snippet) => snippet,
            None => snippet.insert(
                Snippet::parse(parsers, language, &row.code).map_err(|error| error.to_string())?,
            ),
        };
        let mut tally = Tally::default();
        let outcome =
            interventions::apply(intervention, parsers, snippet, id, settings, &mut tally);
        if let Outcome::Made(variant) = outcome {
            let variant_covariates = covariates::covariates(&variant.snippet);
            let pair_id = synthetic_pair_id(intervention, id);
            let name = intervention.name();
            let original_row = |treatment| {
                testbed_row(
                    name,
                    &pair_id,
                    treatment,
                    id,
                    &row.language,
                    &row.code,
                    None,
                    &original,
                )
            };
            let variant_row = |treatment| {
                testbed_row(
                    name,
                    &pair_id,
                    treatment,
                    id,
                    &row.language,
                    variant.snippet.code(),
                    Some(variant.mutation),
                    &variant_covariates,
                )
            };
            if intervention.variant_is_control() {
                produced.testbed.push(variant_row(0));
                produced.testbed.push(original_row(1));
            } else {
                produced.testbed.push(original_row(0));
                produced.testbed.push(variant_row(1));
            }
        }
        produced.tallies.push((intervention, tally));
    }
    Ok(produced)
}

/// A stable rank for sampling the testbed.
fn rank(seed: u64, key: &str) -> u64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&seed.to_le_bytes());
    hasher.update(b"testbed\0");
    hasher.update(key.as_bytes());
    let bytes: [u8; 8] = hasher.finalize().as_bytes()[..8]
        .try_into()
        .expect("8 bytes");
    u64::from_le_bytes(bytes)
}

fn sample_key(row: &snippets::Row) -> &str {
    row.pair_id.as_deref().unwrap_or(&row.snippet_id)
}

struct Selection {
    splits: Vec<String>,
    languages: Option<Vec<Language>>,
    keys: Option<HashSet<String>>,
}

impl Selection {
    fn eligible(&self, row: &snippets::Row) -> bool {
        self.splits.contains(&row.split)
            && self.languages.as_ref().is_none_or(|languages| {
                Language::from_name(&row.language)
                    .is_ok_and(|language| languages.contains(&language))
            })
    }

    fn selects(&self, row: &snippets::Row) -> bool {
        self.eligible(row)
            && self
                .keys
                .as_ref()
                .is_none_or(|keys| keys.contains(sample_key(row)))
    }
}

/// The `max_snippets` eligible keys with the smallest seeded rank (a first pass over the file).
fn sample(
    path: &Path,
    selection: &Selection,
    seed: u64,
    max: usize,
) -> anyhow::Result<HashSet<String>> {
    let mut heap: BinaryHeap<(u64, String)> = BinaryHeap::with_capacity(max + 1);
    let mut seen = HashSet::new();
    for batch in ArtifactReader::<snippets::Row>::open(path)? {
        for row in batch? {
            if !selection.eligible(&row) || !seen.insert(sample_key(&row).to_owned()) {
                continue;
            }
            heap.push((rank(seed, sample_key(&row)), sample_key(&row).to_owned()));
            if heap.len() > max {
                heap.pop();
            }
        }
    }
    Ok(heap.into_iter().map(|(_, key)| key).collect())
}

/// Runs the stage.
pub fn run(
    config: &PreprocessConfig,
    snippets_path: &Path,
    covariates_path: &Path,
    testbed_path: &Path,
    report_path: Option<&Path>,
) -> anyhow::Result<Report> {
    let languages = config.validate()?;
    let mut selection = Selection {
        splits: config.testbed.splits.clone(),
        languages,
        keys: None,
    };
    if let Some(max) = config.testbed.max_snippets {
        selection.keys = Some(sample(snippets_path, &selection, config.seed, max)?);
    }
    let settings = Settings {
        seed: config.seed,
        operators: config.bugfix.operators.clone(),
        max_attempts: config.max_attempts,
    };
    let reader = ArtifactReader::<snippets::Row>::open(snippets_path)?;
    let seed_text = config.seed.to_string();
    let metadata = [("icodegen.seed", seed_text.as_str())];
    let mut covariates_writer = ArtifactWriter::<covariates_schema::Row>::create_with_metadata(
        covariates_path,
        "preprocess",
        &metadata,
    )?;
    let mut testbed_writer = ArtifactWriter::<testbed::Row>::create_with_metadata(
        testbed_path,
        "preprocess",
        &metadata,
    )?;
    let progress = icodegen_artifacts::progress::bar(reader.num_rows() as u64, "preprocess");
    let mut report = Report {
        seed: config.seed,
        ..Report::default()
    };
    for intervention in &config.interventions {
        report
            .interventions
            .insert(intervention.name().to_owned(), Tally::default());
    }
    let mut waiting: HashMap<String, PairMember> = HashMap::new();
    let mut row_offset = 0usize;
    for batch in reader {
        let rows = batch?;
        let plans: Vec<Plan> = rows
            .iter()
            .map(|row| {
                let paired = row.pair_role.as_deref().and_then(|role| {
                    config
                        .pairs
                        .iter()
                        .find(|mapping| mapping.control == role || mapping.treated == role)
                        .map(|mapping| mapping.intervention == Intervention::Bugfix.name())
                });
                Plan {
                    in_testbed: selection.selects(row),
                    paired,
                    synthetic_bugfix: config.bugfix.synthetic && paired != Some(true),
                }
            })
            .collect();
        let produced: Vec<Result<Produced, String>> = rows
            .par_iter()
            .zip(plans.par_iter())
            .map_init(Parsers::new, |parsers, (row, plan)| {
                process_row(parsers, config, &settings, row, *plan)
            })
            .collect();
        for (index, result) in produced.into_iter().enumerate() {
            let produced = result.map_err(|message| PreprocessError::UnsupportedLanguage {
                path: snippets_path.to_path_buf(),
                row: row_offset + index,
                message,
            })?;
            report.snippets += 1;
            covariates_writer.push(produced.covariates)?;
            if !produced.testbed.is_empty() {
                report.testbed.snippets += 1;
            }
            for row in produced.testbed {
                report.testbed.rows += 1;
                testbed_writer.push(row)?;
            }
            for (intervention, tally) in produced.tallies {
                report
                    .interventions
                    .entry(intervention.name().to_owned())
                    .or_default()
                    .merge(&tally);
            }
            if let Some(member) = produced.pair_member {
                if let Some(partner) = waiting.remove(&member.pair_id) {
                    for row in pair_rows(config, &member, &partner, &mut report) {
                        report.testbed.rows += 1;
                        testbed_writer.push(row)?;
                    }
                } else {
                    waiting.insert(member.pair_id.clone(), member);
                }
            }
        }
        row_offset += rows.len();
        progress.inc(rows.len() as u64);
    }
    progress.finish_and_clear();
    report.testbed.incomplete_pairs = waiting.len() as u64;
    covariates_writer.finish().context("writing covariates")?;
    testbed_writer.finish().context("writing the testbed")?;
    if let Some(path) = report_path {
        icodegen_artifacts::atomic::write_json(path, &report)?;
    }
    Ok(report)
}

/// The rows of a complete real pair for every mapping its roles match.
fn pair_rows(
    config: &PreprocessConfig,
    first: &PairMember,
    second: &PairMember,
    report: &mut Report,
) -> Vec<testbed::Row> {
    let mut rows = Vec::new();
    for mapping in &config.pairs {
        let (control, treated) = if first.role == mapping.control && second.role == mapping.treated
        {
            (first, second)
        } else if second.role == mapping.control && first.role == mapping.treated {
            (second, first)
        } else {
            continue;
        };
        for (member, treatment) in [(control, 0), (treated, 1)] {
            rows.push(testbed_row(
                &mapping.intervention,
                &member.pair_id,
                treatment,
                &member.snippet_id,
                &member.language,
                &member.code,
                Some(vocab::Mutation::RealPair.as_str()),
                &member.covariates,
            ));
        }
        let tally = report
            .interventions
            .entry(mapping.intervention.clone())
            .or_default();
        tally.pairs += 1;
        *tally
            .mutations
            .entry(vocab::Mutation::RealPair.as_str().to_owned())
            .or_default() += 1;
    }
    rows
}
