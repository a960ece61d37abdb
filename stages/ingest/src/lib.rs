//! Stage `ingest`: reads CodeSearchNet JSONL, source trees, archives, paired testbeds and
//! Parquet into `snippets.parquet` (one function or method per row) and `ingest_report.json`.
//!
//! Flow: [`sources`] read each source sequentially into [`process::Work`] (file bytes, rows,
//! pairs); the [`Ingestor`] batches work by size and processes each batch in parallel with
//! rayon ([`process`]: tree-sitter extraction, filters, split, MinHash); the results are then
//! taken in input order to drop exact and cross-split near duplicates ([`dedup`]) and written
//! as they come, so memory holds one batch of code plus the duplicate indexes. The output is
//! deterministic given the params (seed included), whatever the thread count.
//!
//! The library knows nothing of the runner, its cache, the lock file or Slurm: it reads the
//! inputs it is given and writes only the output paths it is given.

pub mod config;
pub mod dedup;
pub mod error;
pub mod extract;
pub mod process;
pub mod report;
pub mod sources;
pub mod table;

use std::path::Path;

use icodegen_artifacts::ArtifactWriter;
use icodegen_artifacts::schemas::snippets;
use icodegen_lang::Language;
use rayon::prelude::*;

use config::Filters;
pub use config::IngestConfig;
use dedup::{ExactIndex, MinHasher, NearIndex};
pub use error::IngestError;
use process::{Context, CovariatesFrom, Outcome, Work, Workers};
pub use report::Report;
use report::{Reason, Skip};

/// Work is processed in batches of about this many bytes of code.
const BATCH_BYTES: usize = 8 << 20;
/// ... or this many items.
const BATCH_ITEMS: usize = 4096;

/// Streams work through parallel processing, duplicate removal and the writer.
pub struct Ingestor {
    context: Context,
    languages: Option<Vec<Language>>,
    pub(crate) report: Report,
    exact: ExactIndex,
    near: Option<NearIndex>,
    writer: ArtifactWriter<snippets::Row>,
    pending: Vec<Work>,
    pending_bytes: usize,
    progress: indicatif::ProgressBar,
}

impl Ingestor {
    pub(crate) fn selects(&self, language: Language) -> bool {
        self.languages
            .as_ref()
            .is_none_or(|languages| languages.contains(&language))
    }

    pub(crate) fn filters(&self) -> &Filters {
        &self.context.filters
    }

    pub(crate) fn skip(&mut self, skip: Skip) {
        self.report.skip(skip);
    }

    /// Queues work; processes the batch when it is full.
    pub(crate) fn push(&mut self, work: Work) -> anyhow::Result<()> {
        self.pending_bytes += work.weight();
        self.pending.push(work);
        if self.pending_bytes >= BATCH_BYTES || self.pending.len() >= BATCH_ITEMS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        let batch = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let count = batch.len() as u64;
        let context = &self.context;
        let outcomes: Vec<Vec<Outcome>> = batch
            .into_par_iter()
            .map_init(Workers::default, |workers, work| {
                process::process(workers, context, work)
            })
            .collect();
        for outcome in outcomes.into_iter().flatten() {
            self.take(outcome)?;
        }
        self.progress.inc(count);
        Ok(())
    }

    /// The sequential step: duplicates, then write.
    fn take(&mut self, outcome: Outcome) -> anyhow::Result<()> {
        let unit = match outcome {
            Outcome::Skip(skip) => {
                self.report.skip(skip);
                return Ok(());
            }
            Outcome::Unit(unit) => unit,
        };
        let rows = unit.rows.len() as u64;
        if self.exact.check_and_insert(unit.key) {
            self.report
                .skip(Skip::new(Reason::ExactDuplicate, unit.location).rows(rows));
            return Ok(());
        }
        if let Some(near) = &mut self.near {
            if unit
                .signatures
                .iter()
                .any(|signature| near.conflicts(signature, unit.split))
            {
                self.report
                    .skip(Skip::new(Reason::NearDuplicate, unit.location).rows(rows));
                return Ok(());
            }
            for signature in &unit.signatures {
                near.insert(signature, unit.split);
            }
        }
        for row in unit.rows {
            self.report.keep(&row.split, &row.language, &row.source);
            if unit.covariates_from != CovariatesFrom::RowParse {
                let origin = self
                    .report
                    .covariates_of_file_functions
                    .entry(row.language.clone())
                    .or_default();
                if unit.covariates_from == CovariatesFrom::FileTree {
                    origin.from_file_tree += 1;
                } else {
                    origin.reparsed += 1;
                }
            }
            self.writer.push(row)?;
        }
        Ok(())
    }
}

/// Runs the stage: reads every source of `config`, writes `snippets_path` and `report_path`.
pub fn run(
    config: &IngestConfig,
    snippets_path: &Path,
    report_path: &Path,
) -> anyhow::Result<Report> {
    let languages = config.validate()?;
    for source in &config.sources {
        if !source.path().exists() {
            return Err(IngestError::MissingSource {
                path: source.path().to_path_buf(),
                kind: source.kind(),
            }
            .into());
        }
    }
    let near = &config.near_duplicates;
    let seed_text = config.seed.to_string();
    let writer = ArtifactWriter::<snippets::Row>::create_with_metadata(
        snippets_path,
        "ingest",
        &[("icodegen.seed", seed_text.as_str())],
    )?;
    let mut ingestor = Ingestor {
        context: Context {
            filters: config.filters.clone(),
            ratios: config.splits,
            seed: config.seed,
            hasher: near
                .enabled
                .then(|| MinHasher::new(config.seed, near.num_perm, near.shingle_size)),
        },
        languages,
        report: Report {
            seed: config.seed,
            ..Report::default()
        },
        exact: ExactIndex::default(),
        near: near.enabled.then(|| NearIndex::new(near)),
        writer,
        pending: Vec::new(),
        pending_bytes: 0,
        progress: icodegen_artifacts::progress::spinner("ingest"),
    };
    for source in &config.sources {
        let rows_before = ingestor.report.rows.read;
        let unreadable_before = ingestor.report.unreadable_files();
        sources::read(&mut ingestor, source)?;
        // Outcomes arrive in order whatever the batches, so flushing here changes nothing but
        // makes this source's counts final.
        ingestor.flush()?;
        let unreadable = ingestor.report.unreadable_files() - unreadable_before;
        if ingestor.report.rows.read == rows_before && unreadable > 0 {
            // Nothing of this source could be read: an empty result must not flow on.
            let example = ingestor
                .report
                .skipped
                .get(Reason::UnreadableFile.name())
                .and_then(|entry| entry.examples.last().cloned())
                .unwrap_or_default();
            return Err(IngestError::NothingReadable {
                path: source.path().to_path_buf(),
                kind: source.kind(),
                unreadable,
                example,
            }
            .into());
        }
    }
    ingestor.flush()?;
    ingestor.progress.finish_and_clear();
    let Ingestor { writer, report, .. } = ingestor;
    writer.finish()?;
    icodegen_artifacts::atomic::write_json(report_path, &report)?;
    Ok(report)
}
