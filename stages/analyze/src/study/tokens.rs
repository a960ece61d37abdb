//! The token tables (`tags.parquet`, `nodes.parquet`: one row per scored token or AST node, the
//! largest artifacts of a study) are never loaded whole: DataFusion SQL (through `icodegen-sql`)
//! aggregates them per concept, and fetches only the rows that local explanations need.

use std::path::Path;

use anyhow::{Context, Result};
use arrow::array::ArrayRef;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use icodegen_artifacts::Artifact;
use icodegen_artifacts::schemas::{nodes, study_tokens, tags, testbed};
use icodegen_artifacts::vocab::TokenConceptKind;
use icodegen_sql::Sql;

use super::inputs::{Model, ORIGINAL};
use super::params::StudyParams;

/// A SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Casts the columns of a query result to an artifact schema (DataFusion reads strings as
/// `Utf8View` and sums as `Int64`), by name.
fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .map(|field| {
            let column = batch
                .column_by_name(field.name())
                .with_context(|| format!("the query result has no column `{}`", field.name()))?;
            arrow::compute::cast(column, field.data_type()).with_context(|| {
                format!("casting column `{}` to {}", field.name(), field.data_type())
            })
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// Runs `query` and reads the result as rows of artifact `A`.
fn query_rows<A: Artifact>(sql: &Sql, query: &str) -> Result<Vec<A>> {
    let batches = sql
        .query(query)
        .with_context(|| format!("running\n{query}"))?;
    let schema = A::schema();
    let mut rows = Vec::new();
    for batch in &batches {
        let batch = conform(batch, &schema)?;
        rows.extend(
            A::from_batch(&batch).map_err(|problem| anyhow::anyhow!("{problem:?} in\n{query}"))?,
        );
    }
    Ok(rows)
}

/// The language column of [`TokenTables::aggregates_by_language`]'s query.
const LANGUAGE: &str = "language";

/// The SQL session with the testbed and each model's token tables registered.
pub struct TokenTables {
    sql: Sql,
    base_filter: String,
}

fn tags_table(model_index: usize) -> String {
    format!("tags_{model_index}")
}

fn nodes_table(model_index: usize) -> String {
    format!("nodes_{model_index}")
}

impl TokenTables {
    /// Registers `testbed` and the tags/nodes files that exist.
    pub fn open(
        testbed_path: &Path,
        models: &[Model],
        params: &StudyParams,
        base_from_original: bool,
    ) -> Result<Self> {
        let sql = Sql::new(params.threads)?;
        sql.register_parquet("testbed", testbed_path)?;
        for (index, model) in models.iter().enumerate() {
            if let Some(path) = &model.tags {
                sql.register_parquet(&tags_table(index), path)?;
            }
            if let Some(path) = &model.nodes {
                sql.register_parquet(&nodes_table(index), path)?;
            }
        }
        let base_filter = if base_from_original {
            format!(
                "SELECT DISTINCT {row} FROM testbed WHERE {intervention} = {original}",
                row = testbed::col::row_id,
                intervention = testbed::col::intervention,
                original = literal(ORIGINAL)
            )
        } else {
            format!("SELECT DISTINCT {} FROM testbed", testbed::col::row_id)
        };
        Ok(Self { sql, base_filter })
    }

    /// Token-level aggregates of one model over the original rows: all tokens, per category
    /// and per leaf node type.
    pub fn aggregates(
        &self,
        model_index: usize,
        model: &Model,
        params: &StudyParams,
    ) -> Result<Vec<study_tokens::Row>> {
        if model.tags.is_none() {
            return Ok(Vec::new());
        }
        let query = self.aggregate_query(model_index, model, params, false);
        query_rows(&self.sql, &query).with_context(|| {
            format!(
                "aggregating `{}`",
                model.tags.as_ref().expect("checked").display()
            )
        })
    }

    /// The same aggregates per language of the rows (the testbed's `row_id` -> `language`):
    /// (language, row), by language, in one pass over the model's tags.
    pub fn aggregates_by_language(
        &self,
        model_index: usize,
        model: &Model,
        params: &StudyParams,
    ) -> Result<Vec<(String, study_tokens::Row)>> {
        if model.tags.is_none() {
            return Ok(Vec::new());
        }
        let query = self.aggregate_query(model_index, model, params, true);
        let context = || {
            format!(
                "aggregating `{}` per language",
                model.tags.as_ref().expect("checked").display()
            )
        };
        let batches = self
            .sql
            .query(&query)
            .with_context(|| format!("running\n{query}"))
            .with_context(context)?;
        let schema = study_tokens::Row::schema();
        let mut rows = Vec::new();
        for batch in &batches {
            let languages = batch
                .column_by_name(LANGUAGE)
                .with_context(|| format!("the query result has no column `{LANGUAGE}`"))?;
            let languages = arrow::compute::cast(languages, &arrow::datatypes::DataType::Utf8)?;
            let languages = languages
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .context("language as text")?;
            let table = study_tokens::Row::from_batch(&conform(batch, &schema)?)
                .map_err(|problem| anyhow::anyhow!("{problem:?} in\n{query}"))
                .with_context(context)?;
            rows.extend(
                table
                    .into_iter()
                    .enumerate()
                    .map(|(i, row)| (languages.value(i).to_owned(), row)),
            );
        }
        Ok(rows)
    }

    /// The aggregate query of one model, with the rows' language as a leading group when
    /// `by_language` (column [`LANGUAGE`]).
    fn aggregate_query(
        &self,
        model_index: usize,
        model: &Model,
        params: &StudyParams,
        by_language: bool,
    ) -> String {
        use study_tokens::col;
        let table = tags_table(model_index);
        let probability = format!("exp(CAST({} AS DOUBLE))", tags::col::logprob);
        let (base, language, by) = if by_language {
            (
                format!(
                    "SELECT DISTINCT l.{row}, l.{language} FROM testbed l JOIN ({base}) o ON l.{row} = o.{row}",
                    row = testbed::col::row_id,
                    language = testbed::col::language,
                    base = self.base_filter
                ),
                format!("b.{} AS {LANGUAGE}, ", testbed::col::language),
                format!("b.{}", testbed::col::language),
            )
        } else {
            (self.base_filter.clone(), String::new(), String::new())
        };
        let select = |kind: &str, concept: &str, filter: &str, group: &[String]| {
            let group: Vec<&str> = std::iter::once(by.as_str())
                .chain(group.iter().map(String::as_str))
                .filter(|column| !column.is_empty())
                .collect();
            let group = if group.is_empty() {
                String::new()
            } else {
                format!("GROUP BY {}", group.join(", "))
            };
            format!(
                "SELECT {language}{model} AS {model_id}, {kind} AS {concept_kind}, {concept} AS {concept_col}, \
                 COUNT(*) AS {n_tokens}, COUNT(DISTINCT t.{row_id}) AS {n_rows}, \
                 AVG({p}) AS {mean_prob}, MEDIAN({p}) AS {median_prob}, \
                 AVG(CASE WHEN {p} >= {confident} THEN 1.0 ELSE 0.0 END) AS {share_confident}, \
                 AVG(CASE WHEN {p} < {poor} THEN 1.0 ELSE 0.0 END) AS {share_erroneous}, \
                 -AVG(CAST({logprob} AS DOUBLE)) AS {cross_entropy} \
                 FROM {table} t JOIN ({base}) b ON t.{row_id} = b.{row_id} \
                 WHERE t.{model_column} = {model} {filter} {group}",
                model_column = tags::col::model_id,
                model = literal(&model.model_id),
                model_id = col::model_id,
                kind = literal(kind),
                concept_kind = col::concept_kind,
                concept_col = col::concept,
                n_tokens = col::n_tokens,
                row_id = tags::col::row_id,
                n_rows = col::n_rows,
                p = probability,
                mean_prob = col::mean_prob,
                median_prob = col::median_prob,
                confident = params.confident,
                poor = params.poor,
                share_confident = col::share_confident,
                share_erroneous = col::share_erroneous,
                logprob = tags::col::logprob,
                cross_entropy = col::cross_entropy,
            )
        };
        let all = TokenConceptKind::All.as_str();
        let query = [
            select(all, &literal(all), "", &[]),
            select(
                TokenConceptKind::Category.as_str(),
                &format!("t.{}", tags::col::category),
                &format!("AND t.{} IS NOT NULL", tags::col::category),
                &[format!("t.{}", tags::col::category)],
            ),
            select(
                TokenConceptKind::NodeType.as_str(),
                &format!("t.{}", tags::col::node_type),
                &format!("AND t.{} IS NOT NULL", tags::col::node_type),
                &[format!("t.{}", tags::col::node_type)],
            ),
        ]
        .join("\nUNION ALL\n");
        format!(
            "SELECT * FROM ({query}) WHERE {n} > 0 ORDER BY {first}{kind}, {mean} DESC, {concept}",
            n = col::n_tokens,
            first = if by_language {
                format!("{LANGUAGE}, ")
            } else {
                String::new()
            },
            kind = col::concept_kind,
            mean = col::mean_prob,
            concept = col::concept
        )
    }

    /// The tags and nodes of one (model, row), for a local explanation; `None` when the model
    /// folder has no tags or nodes.
    pub fn explanation_rows(
        &self,
        model_index: usize,
        model: &Model,
        row_id: &str,
    ) -> Result<Option<(Vec<tags::Row>, Vec<nodes::Row>)>> {
        if model.tags.is_none() || model.nodes.is_none() {
            return Ok(None);
        }
        let filter = |table: String, row_column: &str, model_column: &str, order: &str| {
            format!(
                "SELECT * FROM {table} WHERE {row_column} = {} AND {model_column} = {} ORDER BY {order}",
                literal(row_id),
                literal(&model.model_id)
            )
        };
        let tags_rows = query_rows::<tags::Row>(
            &self.sql,
            &filter(
                tags_table(model_index),
                tags::col::row_id,
                tags::col::model_id,
                tags::col::position,
            ),
        )?;
        let nodes_rows = query_rows::<nodes::Row>(
            &self.sql,
            &filter(
                nodes_table(model_index),
                nodes::col::row_id,
                nodes::col::model_id,
                nodes::col::node_id,
            ),
        )?;
        Ok(Some((tags_rows, nodes_rows)))
    }
}
