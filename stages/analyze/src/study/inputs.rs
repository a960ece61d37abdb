//! Reading the study's inputs: the testbed (rows, pairs, covariates), optionally the
//! per-snippet covariates, and one folder per model (`scores`, `concepts`, and, when present,
//! `tags` and `nodes` for token-level aggregates and local explanations).
//!
//! Rows are interned: every distinct `row_id` of the testbed gets a dense index, and per-model
//! values are vectors over that index with `None` where a value does not exist (a skipped row,
//! an absent concept). Nothing here ever turns a missing value into 0.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Result;
use icodegen_artifacts::schemas::{concepts, covariates, scores, testbed};
use icodegen_artifacts::vocab::{ConceptKind, Intervention};
use icodegen_artifacts::{Covariates, read_all};

use crate::error::AnalyzeError;

/// Per (concept_kind, concept): per-row (mean probability, tokens), `None` where absent.
pub type ConceptValues = BTreeMap<(String, String), Vec<Option<(f64, i32)>>>;

/// The intervention that holds every test snippet once, unchanged.
pub const ORIGINAL: &str = Intervention::None.as_str();

/// One control/treated pair of an intervention (row indices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub pair_id: String,
    pub control: usize,
    pub treated: usize,
}

/// What is known about one distinct code text of the testbed.
#[derive(Debug, Clone)]
pub struct RowInfo {
    pub row_id: String,
    pub language: String,
    pub code: String,
    pub covariates: Covariates,
}

/// One testbed row as the testbed lists it: which code (row index), in which pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub row: usize,
    pub intervention: String,
    pub pair_id: String,
    pub treatment: i8,
    pub mutation: Option<String>,
}

/// The testbed, interned.
#[derive(Debug, Default)]
pub struct Testbed {
    pub rows: Vec<RowInfo>,
    pub index: HashMap<String, usize>,
    /// The original test rows (intervention `none`), sorted; all rows when there is none.
    pub base: Vec<usize>,
    /// Whether `base` comes from intervention `none` (otherwise every row is used).
    pub base_from_original: bool,
    /// Complete pairs of each intervention other than `none`, in pair-id order.
    pub interventions: BTreeMap<String, Vec<Pair>>,
    /// Pairs without exactly one control and one treated row, per intervention.
    pub incomplete_pairs: BTreeMap<String, usize>,
    /// Testbed rows (not distinct code texts).
    pub n_testbed_rows: usize,
    pub languages: Vec<String>,
    /// Every testbed row, in file order (the explorer's table).
    pub entries: Vec<Entry>,
}

/// One model's outputs, over the testbed's row index.
#[derive(Debug)]
pub struct Model {
    pub model_id: String,
    pub dir: PathBuf,
    /// `scores.parquet` row of each testbed row, when scored.
    pub scores: Vec<Option<Score>>,
    /// Per (concept_kind, concept): per-row mean probability and token count, `None` = absent.
    pub concepts: ConceptValues,
    pub tags: Option<PathBuf>,
    pub nodes: Option<PathBuf>,
    /// Scored rows whose cross-entropy is null, with the first reason.
    pub skipped: usize,
    pub skip_reason: Option<String>,
}

/// The numbers of one scored row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    pub n_tokens: i32,
    pub n_scored: i32,
    pub cross_entropy: Option<f64>,
    pub accuracy: Option<f64>,
}

impl Model {
    /// The values of one concept over the row index, if the model has it.
    pub fn concept(&self, kind: &str, concept: &str) -> Option<&[Option<(f64, i32)>]> {
        self.concepts
            .get(&(kind.to_owned(), concept.to_owned()))
            .map(Vec::as_slice)
    }

    pub fn cross_entropy(&self, row: usize) -> Option<f64> {
        self.scores[row].and_then(|score| score.cross_entropy)
    }

    pub fn accuracy(&self, row: usize) -> Option<f64> {
        self.scores[row].and_then(|score| score.accuracy)
    }
}

/// Reads `testbed.parquet`.
pub fn read_testbed(path: &Path) -> Result<Testbed> {
    let rows: Vec<testbed::Row> = read_all(path)?;
    if rows.is_empty() {
        return Err(
            AnalyzeError::input(path, None, "has no rows: there is nothing to analyze").into(),
        );
    }
    let mut testbed = Testbed {
        n_testbed_rows: rows.len(),
        ..Testbed::default()
    };
    // (intervention, pair) -> (controls, treated)
    let mut pairs: BTreeMap<(String, String), (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    let mut original = Vec::new();
    for (position, row) in rows.into_iter().enumerate() {
        if row.treatment != 0 && row.treatment != 1 {
            return Err(AnalyzeError::input(
                path,
                Some(position),
                format!(
                    "column `{}` is {}, expected 0 (control) or 1 (treated)",
                    testbed::col::treatment,
                    row.treatment
                ),
            )
            .into());
        }
        let index = match testbed.index.get(&row.row_id) {
            Some(&index) => index,
            None => {
                let index = testbed.rows.len();
                testbed.index.insert(row.row_id.clone(), index);
                if !testbed.languages.contains(&row.language) {
                    testbed.languages.push(row.language.clone());
                }
                testbed.rows.push(RowInfo {
                    row_id: row.row_id.clone(),
                    language: row.language.clone(),
                    covariates: row.covariates(),
                    code: row.code,
                });
                index
            }
        };
        testbed.entries.push(Entry {
            row: index,
            intervention: row.intervention.clone(),
            pair_id: row.pair_id.clone(),
            treatment: row.treatment,
            mutation: row.mutation.clone(),
        });
        if row.intervention == ORIGINAL {
            original.push(index);
        } else {
            let entry = pairs.entry((row.intervention, row.pair_id)).or_default();
            if row.treatment == 1 {
                entry.1.push(index);
            } else {
                entry.0.push(index);
            }
        }
    }
    for ((intervention, pair_id), (controls, treated)) in pairs {
        let list = testbed
            .interventions
            .entry(intervention.clone())
            .or_default();
        if let ([control], [treated]) = (controls.as_slice(), treated.as_slice()) {
            list.push(Pair {
                pair_id,
                control: *control,
                treated: *treated,
            });
        } else {
            *testbed.incomplete_pairs.entry(intervention).or_default() += 1;
        }
    }
    testbed.interventions.retain(|_, pairs| !pairs.is_empty());
    original.sort_unstable();
    original.dedup();
    testbed.base_from_original = !original.is_empty();
    testbed.base = if original.is_empty() {
        (0..testbed.rows.len()).collect()
    } else {
        original
    };
    testbed.languages.sort();
    Ok(testbed)
}

/// Reads `covariates.parquet`, keeping the snippets of the testbed's original rows.
pub fn read_covariates(path: &Path) -> Result<Vec<covariates::Row>> {
    Ok(read_all(path)?)
}

/// Finds the model folders: every subfolder of `dir` that holds `scores.parquet`, by name.
pub fn model_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = fs_err::read_dir(dir).map_err(AnalyzeError::Open)?;
    let mut dirs = Vec::new();
    for entry in entries {
        // A listing that breaks midway is a failed read (exit 1), as before.
        let entry = entry.map_err(|error| AnalyzeError::Read {
            path: dir.to_path_buf(),
            source: Box::new(error),
        })?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if path.is_dir() && !hidden && path.join("scores.parquet").is_file() {
            dirs.push(path);
        }
    }
    dirs.sort();
    if dirs.is_empty() {
        return Err(AnalyzeError::input(
            dir,
            None,
            format!(
                "holds no model folder: expected `{}/<model_id>/scores.parquet` (with concepts.parquet, \
                 and tags.parquet and nodes.parquet for token tables and explanations)",
                dir.display()
            ),
        )
        .into());
    }
    Ok(dirs)
}

fn single_model_id<'a>(path: &Path, ids: impl Iterator<Item = &'a str>) -> Result<Option<String>> {
    let mut found: Option<&str> = None;
    for (row, id) in ids.enumerate() {
        match found {
            None => found = Some(id),
            Some(first) if first != id => {
                return Err(AnalyzeError::input(
                    path,
                    Some(row),
                    format!(
                        "model `{id}`, but earlier rows are model `{first}`; a model folder holds \
                         one model's outputs"
                    ),
                )
                .into());
            }
            Some(_) => {}
        }
    }
    Ok(found.map(str::to_owned))
}

/// Reads one model folder against the testbed's row index.
pub fn read_model(dir: &Path, testbed: &Testbed) -> Result<Model> {
    let scores_path = dir.join("scores.parquet");
    let concepts_path = dir.join("concepts.parquet");
    let folder = dir
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let score_rows: Vec<scores::Row> = read_all(&scores_path)?;
    let model_id = single_model_id(
        &scores_path,
        score_rows.iter().map(|row| row.model_id.as_str()),
    )?
    .unwrap_or(folder);
    let unknown_row = |path: &Path, row: usize, row_id: &str| {
        AnalyzeError::input(
            path,
            Some(row),
            format!(
                "row_id `{row_id}` is not in the testbed; were the model's outputs made from \
                 another testbed?"
            ),
        )
    };
    let mut scores = vec![None; testbed.rows.len()];
    let (mut skipped, mut skip_reason) = (0, None);
    for (position, row) in score_rows.into_iter().enumerate() {
        let index = *testbed
            .index
            .get(&row.row_id)
            .ok_or_else(|| unknown_row(&scores_path, position, &row.row_id))?;
        if row.cross_entropy.is_none() {
            skipped += 1;
            skip_reason = skip_reason.or(row.skip_reason.clone());
        }
        scores[index] = Some(Score {
            n_tokens: row.n_tokens,
            n_scored: row.n_scored,
            cross_entropy: row.cross_entropy.filter(|value| value.is_finite()),
            accuracy: row.accuracy.filter(|value| value.is_finite()),
        });
    }
    if !concepts_path.is_file() {
        return Err(AnalyzeError::input(
            &concepts_path,
            None,
            "is missing: each model folder needs the concepts.parquet that `icodegen-tag` writes",
        )
        .into());
    }
    let mut concept_values = ConceptValues::new();
    let mut offset = 0;
    for batch in icodegen_artifacts::ArtifactReader::<concepts::Row>::open(&concepts_path)? {
        let batch = batch?;
        let batch_rows = batch.len();
        for (position, row) in batch.into_iter().enumerate() {
            if row.model_id != model_id {
                return Err(AnalyzeError::input(
                    &concepts_path,
                    Some(offset + position),
                    format!(
                        "model `{}`, but `{}` holds model `{model_id}`",
                        row.model_id,
                        scores_path.display()
                    ),
                )
                .into());
            }
            let index = *testbed
                .index
                .get(&row.row_id)
                .ok_or_else(|| unknown_row(&concepts_path, offset + position, &row.row_id))?;
            if !row.mean_prob.is_finite() {
                return Err(AnalyzeError::input(
                    &concepts_path,
                    Some(offset + position),
                    format!(
                        "`{}` is {}, expected a probability",
                        concepts::col::mean_prob,
                        row.mean_prob
                    ),
                )
                .into());
            }
            if let Err(error) = row.concept_kind.parse::<ConceptKind>() {
                return Err(AnalyzeError::input(
                    &concepts_path,
                    Some(offset + position),
                    format!("`{}`: {error}", concepts::col::concept_kind),
                )
                .into());
            }
            concept_values
                .entry((row.concept_kind, row.concept))
                .or_insert_with(|| vec![None; testbed.rows.len()])[index] =
                Some((row.mean_prob, row.n_tokens));
        }
        offset += batch_rows;
    }
    let optional = |name: &str| {
        let path = dir.join(name);
        path.is_file().then_some(path)
    };
    Ok(Model {
        model_id,
        dir: dir.to_path_buf(),
        scores,
        concepts: concept_values,
        tags: optional("tags.parquet"),
        nodes: optional("nodes.parquet"),
        skipped,
        skip_reason,
    })
}

#[cfg(test)]
mod tests {
    use icodegen_artifacts::schemas::concepts;
    use icodegen_artifacts::write_all;

    use super::*;

    #[test]
    fn a_concept_kind_outside_the_vocabulary_is_an_input_error_naming_file_row_and_values() {
        let dir = tempfile::tempdir().unwrap();
        let testbed_path = dir.path().join("testbed.parquet");
        let row = testbed::Row {
            row_id: "r".into(),
            pair_id: "r".into(),
            intervention: ORIGINAL.into(),
            snippet_id: "r".into(),
            language: "python".into(),
            code: "def f():\n    return 1\n".into(),
            ..testbed::Row::default()
        };
        write_all(&testbed_path, "preprocess", &[row]).unwrap();
        let testbed = read_testbed(&testbed_path).unwrap();
        let model = dir.path().join("gru");
        let score = scores::Row {
            model_id: "gru".into(),
            row_id: "r".into(),
            n_tokens: 5,
            n_scored: 4,
            cross_entropy: Some(1.0),
            perplexity: Some(1.0_f64.exp()),
            accuracy: Some(0.5),
            skip_reason: None,
        };
        write_all(model.join("scores.parquet"), "infer", &[score]).unwrap();
        let concept = |kind: &str| concepts::Row {
            model_id: "gru".into(),
            row_id: "r".into(),
            concept_kind: kind.into(),
            concept: "identifier".into(),
            n_tokens: 2,
            mean_prob: 0.5,
            median_prob: 0.5,
            boot_median: 0.5,
            boot_se: 0.1,
        };
        let concepts_path = model.join("concepts.parquet");
        write_all(
            &concepts_path,
            "tag",
            &[concept(ConceptKind::NodeType.as_str())],
        )
        .unwrap();
        let read = read_model(&model, &testbed).unwrap();
        assert!(read.concept("node_type", "identifier").is_some());
        write_all(
            &concepts_path,
            "tag",
            &[concept(ConceptKind::Category.as_str()), concept("nodetype")],
        )
        .unwrap();
        let error = read_model(&model, &testbed).err().unwrap().to_string();
        assert!(
            error.contains("concepts.parquet")
                && error.contains("row 1")
                && error.contains(
                    "unknown ConceptKind `nodetype`, expected one of `node_type`, `category`"
                ),
            "{error}"
        );
    }
}
