//! `--merge PARTS`: the parts of a sharded run joined into the files of one run.

use super::*;

/// Merges the `tokens` parts of `--shard I/N` runs into `tokens.parquet` and `scores.parquet`,
/// byte for byte what one unsharded run writes. Checks that the parts come from the same
/// model and settings and cover every scored position of the testbed exactly once. Needs only
/// the model's tokenizer (for the token sequences and skip reasons), not its weights.
pub fn merge(
    model_path: &Path,
    testbed_path: &Path,
    parts: &[std::path::PathBuf],
    tokens_path: &Path,
    scores_path: &Path,
) -> anyhow::Result<usize> {
    let text = model_dir::load_text(model_path).map_err(lm_error)?;
    let rows = read_testbed(testbed_path)?;
    let codes: Vec<&str> = rows.iter().map(|(_, code)| code.as_str()).collect();
    let prepared = prepare_with(&text.tokenizer, text.config.bos_id, &codes)?;
    let mut first: Option<(std::path::PathBuf, Vec<(String, String)>)> = None;
    let mut by_row: std::collections::HashMap<String, Vec<tokens::Row>> =
        std::collections::HashMap::new();
    let mut shards_seen = HashSet::new();
    for part in parts {
        let metadata = icodegen_artifacts::read_metadata(part)?;
        let keep: Vec<(String, String)> = metadata
            .key_values
            .iter()
            .filter(|(key, _)| {
                // infer's own keys; the writer adds kind, version, stage and tool version.
                key.starts_with("icodegen.")
                    && ![
                        "icodegen.shard",
                        icodegen_artifacts::io::META_KIND,
                        icodegen_artifacts::io::META_VERSION,
                        icodegen_artifacts::io::META_STAGE,
                        icodegen_artifacts::io::META_TOOL_VERSION,
                    ]
                    .contains(&key.as_str())
            })
            .cloned()
            .collect();
        let shard = metadata
            .key_values
            .iter()
            .find(|(key, _)| key == "icodegen.shard")
            .map(|(_, value)| value.clone())
            .ok_or_else(|| {
                InferError::parts(
                    Some(part),
                    format!(
                        "`{}` is not a shard part (no icodegen.shard)",
                        part.display()
                    ),
                )
            })?;
        if !shards_seen.insert(shard.clone()) {
            return Err(InferError::parts(
                Some(part),
                format!("shard {shard} is given twice (`{}`)", part.display()),
            )
            .into());
        }
        match &first {
            None => first = Some((part.clone(), keep)),
            Some((first_path, first_keep)) if *first_keep != keep => {
                return Err(InferError::parts(
                    Some(part),
                    format!(
                        "`{}` and `{}` come from different models or settings",
                        first_path.display(),
                        part.display()
                    ),
                )
                .into());
            }
            _ => {}
        }
        for row in icodegen_artifacts::read_all::<tokens::Row>(part)? {
            by_row.entry(row.row_id.clone()).or_default().push(row);
        }
    }
    let Some((_, metadata)) = first else {
        return Err(InferError::option("--merge", "merge needs at least one shard part").into());
    };
    let counts: HashSet<Option<usize>> = shards_seen
        .iter()
        .map(|shard| shard.parse::<Shard>().ok().map(|shard| shard.count))
        .collect();
    match counts.into_iter().collect::<Vec<_>>().as_slice() {
        [Some(count)] if *count == shards_seen.len() => {}
        [Some(count)] => {
            return Err(InferError::parts(
                None,
                format!(
                    "{} of {count} shard parts given: every shard is needed",
                    shards_seen.len()
                ),
            )
            .into());
        }
        _ => {
            return Err(InferError::parts(
                None,
                format!("the parts are shards of different splits: {shards_seen:?}"),
            )
            .into());
        }
    }
    let model_id = metadata
        .iter()
        .find(|(key, _)| key == "icodegen.model_id")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let metadata: Vec<(&str, &str)> = metadata
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    let mut token_writer =
        ArtifactWriter::<tokens::Row>::create_with_metadata(tokens_path, "infer", &metadata)?;
    let mut score_writer =
        ArtifactWriter::<scores::Row>::create_with_metadata(scores_path, "infer", &metadata)?;
    let mut written = 0;
    for ((row_id, _), row) in rows.iter().zip(&prepared) {
        let mut tokens = by_row.remove(row_id).unwrap_or_default();
        tokens.sort_by_key(|token| token.position);
        let expected: Vec<i32> = if row.skip.is_some() {
            Vec::new()
        } else {
            (1..row.ids.len() as i32).collect()
        };
        let positions: Vec<i32> = tokens.iter().map(|token| token.position).collect();
        if positions != expected {
            return Err(InferError::parts(
                None,
                format!(
                    "the parts cover positions {:?}.. of row `{row_id}` ({} tokens), not each of 1..{} once: a shard is missing or from another testbed",
                    positions.iter().take(5).collect::<Vec<_>>(),
                    positions.len(),
                    expected.len() + 1
                ),
            )
            .into());
        }
        let k = tokens.first().map_or(0, |token| token.topk_ids.len());
        let stats = TokenStatistics {
            logprob: tokens.iter().map(|t| t.logprob).collect(),
            rank: tokens.iter().map(|t| t.rank).collect(),
            entropy: tokens.iter().map(|t| t.entropy).collect(),
            top_ids: Vec::new(),
            top_logprobs: Vec::new(),
            k,
        };
        score_writer.push(score_row(&model_id, row_id, row, &stats))?;
        for token in tokens {
            token_writer.push(token)?;
            written += 1;
        }
    }
    if let Some(row_id) = by_row.keys().next() {
        return Err(InferError::parts(
            None,
            format!(
                "the parts hold row `{row_id}`, which the testbed does not: parts of another testbed"
            ),
        )
        .into());
    }
    token_writer.finish()?;
    score_writer.finish()?;
    Ok(written)
}
