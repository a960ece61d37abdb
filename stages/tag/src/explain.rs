//! `icodegen-tag explain`: render one (model, row)'s local explanation to an HTML file, from
//! the artifacts tag wrote. The rendering itself lives in `icodegen-explain`, which the analyze
//! report calls too.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use icodegen_artifacts::schemas::{nodes, tags, testbed};
use icodegen_artifacts::{Artifact, ArtifactReader, atomic};
use icodegen_explain::{Explanation, RenderOptions};

use crate::error::{Result, TagError};

/// Inputs and output of `explain`.
#[derive(Debug, Clone)]
pub struct ExplainPaths {
    pub testbed: PathBuf,
    pub tags: PathBuf,
    pub nodes: PathBuf,
    pub out: PathBuf,
}

/// Rows of `path` that belong to (`model_id`, `row_id`), plus the model ids seen, streaming.
fn rows_of<A: Artifact>(
    path: &Path,
    key: impl Fn(&A) -> (&str, &str),
    model_id: &str,
    row_id: &str,
) -> Result<(Vec<A>, BTreeSet<String>, bool)> {
    let mut rows = Vec::new();
    let mut models = BTreeSet::new();
    let mut row_seen = false;
    for batch in ArtifactReader::<A>::open(path)? {
        for row in batch? {
            let (model, row_key) = key(&row);
            if !models.contains(model) {
                models.insert(model.to_owned());
            }
            if row_key == row_id {
                row_seen = true;
                if model == model_id {
                    rows.push(row);
                }
            }
        }
    }
    Ok((rows, models, row_seen))
}

/// Writes the explanation of (`model_id`, `row_id`) to `paths.out` (atomically).
pub fn explain(paths: &ExplainPaths, model_id: &str, row_id: &str) -> Result<()> {
    let mut found = None;
    for batch in ArtifactReader::<testbed::Row>::open(&paths.testbed)? {
        if let Some(row) = batch?.into_iter().find(|row| row.row_id == row_id) {
            found = Some(row);
            break;
        }
    }
    let row = found.ok_or_else(|| {
        TagError::Config(format!(
            "row `{row_id}` is not in the testbed `{}`",
            paths.testbed.display()
        ))
    })?;
    let (tags, models, row_seen) =
        rows_of::<tags::Row>(&paths.tags, |t| (&t.model_id, &t.row_id), model_id, row_id)?;
    if tags.is_empty() {
        let hint = if !models.contains(model_id) {
            format!(
                "model `{model_id}` is not in `{}` (models: {})",
                paths.tags.display(),
                models.into_iter().collect::<Vec<_>>().join(", ")
            )
        } else if !row_seen {
            format!("row `{row_id}` has no tokens in `{}`", paths.tags.display())
        } else {
            format!(
                "model `{model_id}` scored no token of row `{row_id}` in `{}`",
                paths.tags.display()
            )
        };
        return Err(TagError::Config(format!("nothing to explain: {hint}")));
    }
    let (nodes, _, _) =
        rows_of::<nodes::Row>(&paths.nodes, |n| (&n.model_id, &n.row_id), model_id, row_id)?;
    let explanation = Explanation {
        model_id,
        row_id,
        language: &row.language,
        code: &row.code,
        nodes: &nodes,
        tags: &tags,
    };
    let html = icodegen_explain::render_document(&explanation, &RenderOptions::default())?;
    atomic::write_bytes(&paths.out, html.as_bytes())?;
    Ok(())
}
