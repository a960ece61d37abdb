//! Every artifact kind that icodegen stages exchange, in pipeline order. This file is the only
//! place where a column name is spelled; `docs/artifacts.md` documents each column and a test
//! keeps the two in step.
//!
//! Conventions: identifiers are lowercase hex blake3 strings; byte offsets are into the UTF-8
//! code of the row (never characters); a value that does not exist is null, never 0.

/// Calls `$callback! { $($prefix)* <covariate fields> }`: the confounder columns shared by
/// `snippets`, `covariates` and `testbed`, and the [`Covariates`] struct, come from this one list.
#[macro_export]
#[doc(hidden)]
macro_rules! with_covariates {
    ($callback:path { $($prefix:tt)* }) => {
        $callback! { $($prefix)*
            /// Maximum depth of the tree-sitter AST (root = 1).
            ast_depth: i32,
            /// Number of AST nodes (named and anonymous).
            n_ast_nodes: i32,
            /// Number of ERROR and MISSING nodes.
            n_error_nodes: i32,
            /// McCabe cyclomatic complexity, as lizard counts it.
            cyclomatic: i32,
            /// Lines that are neither blank nor comment-only.
            loc: i32,
            /// Whitespace characters.
            n_whitespace: i32,
            /// Identifier tokens.
            n_identifiers: i32,
            /// Distinct words (identifier and keyword spellings).
            n_unique_words: i32,
            /// Return statements.
            n_returns: i32,
            /// Loops (for, while, do, for-in).
            n_loops: i32,
            /// Comparison operators.
            n_comparisons: i32,
            /// try/catch (except) constructs.
            n_try_catch: i32,
            /// Declared or assigned variables (distinct names).
            n_variables: i32,
            /// Lambdas and anonymous functions.
            n_lambdas: i32,
            /// String literals.
            n_string_literals: i32,
            /// Numeric literals.
            n_numbers: i32,
            /// Assignments (plain and augmented).
            n_assignments: i32,
            /// Arithmetic operators.
            n_math_operations: i32,
            /// Maximum nesting of blocks.
            max_nested_blocks: i32,
            /// Parenthesized expressions.
            n_parenthesized: i32,
            /// Modifiers (public, static, final, decorators ...).
            n_modifiers: i32,
        }
    };
}

macro_rules! define_covariates {
    ($( $(#[$meta:meta])* $field:ident : $ty:ty ),* $(,)?) => {
        /// The confounders of one piece of code (methodology §1). The BPE token count is not
        /// here: it depends on the model's tokenizer and lives in `scores`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct Covariates {
            $( $(#[$meta])* pub $field: $ty, )*
        }

        impl Covariates {
            /// Column names, in schema order.
            pub const NAMES: &'static [&'static str] = &[ $( stringify!($field), )* ];

            /// Values in the order of [`Covariates::NAMES`], as f64 for regressions.
            pub fn values(&self) -> Vec<f64> {
                vec![ $( f64::from(self.$field), )* ]
            }
        }
    };
}

macro_rules! covariate_access {
    ($row:path; $( $(#[$meta:meta])* $field:ident : $ty:ty ),* $(,)?) => {
        impl $row {
            /// The covariate columns of this row.
            pub fn covariates(&self) -> Covariates {
                Covariates { $( $field: self.$field, )* }
            }

            /// Overwrites the covariate columns of this row.
            pub fn set_covariates(&mut self, covariates: &Covariates) {
                $( self.$field = covariates.$field; )*
            }
        }
    };
}

with_covariates!(define_covariates {});

/// `snippets.parquet` (ingest): one function or method per row, with its covariates (ingest
/// computes them from the parse its filters make, so no later stage parses the snippet again).
pub mod snippets {
    use super::Covariates;
    crate::with_covariates!(crate::artifact {
        kind: "snippets", version: 2;
        /// blake3 of language, NUL, code ([`crate::content_id`]).
        snippet_id: String,
        /// Language name as in `icodegen-lang` (`python`, `java`, ...).
        language: String,
        code: String,
        docstring: Option<String>,
        /// Source type: `codesearchnet`, `tree`, `archive`, `pairs` or `parquet`.
        source: String,
        /// Repository or archive the snippet came from, when known.
        repo: Option<String>,
        /// File path within the repository, tree or archive.
        path: Option<String>,
        /// Function or method name.
        name: Option<String>,
        /// 1-based first and last line in `path`.
        start_line: Option<i32>,
        end_line: Option<i32>,
        /// `train`, `valid` or `test`.
        split: String,
        n_bytes: i64,
        /// Pair identity for paired testbeds (bug-fix, clones); null otherwise.
        pair_id: Option<String>,
        /// Role in the pair as the input names it (`buggy`, `fixed`, `function_1`, ...).
        pair_role: Option<String>,
    });
    crate::with_covariates!(covariate_access { Row; });
}

/// `covariates.parquet` (preprocess): the confounders of every snippet.
pub mod covariates {
    use super::Covariates;
    crate::with_covariates!(crate::artifact {
        kind: "covariates", version: 1;
        snippet_id: String,
        language: String,
        n_bytes: i64,
    });
    crate::with_covariates!(covariate_access { Row; });
}

/// `testbed.parquet` (preprocess): control/treatment rows of every intervention.
///
/// `row_id` identifies the code text (`content_id(language, code)`), so the same code shared by
/// two interventions is scored once; a testbed row is keyed by (`intervention`, `pair_id`,
/// `treatment`). Intervention `none` holds every test snippet once (treatment 0).
pub mod testbed {
    use super::Covariates;
    crate::with_covariates!(crate::artifact {
        kind: "testbed", version: 1;
        /// [`crate::content_id`] of this row's language and code.
        row_id: String,
        /// Shared by the control and treated rows of one pair.
        pair_id: String,
        /// A [`crate::vocab::Intervention`] (`none`, `comments`, ...) or the name a
        /// `preprocess.pairs` mapping gives its real pairs.
        intervention: String,
        /// 0 control, 1 treated.
        treatment: i8,
        /// The snippet the pair was made from.
        snippet_id: String,
        language: String,
        code: String,
        /// Which mutation made this row (`flip_comparison`, `real_pair`, ...); null for originals.
        mutation: Option<String>,
        n_bytes: i64,
    });
    crate::with_covariates!(covariate_access { Row; });
}

/// `tokens.parquet` (infer): one row per scored token (never the first token, never padding).
pub mod tokens {
    crate::artifact! {
        kind: "tokens", version: 1;
        /// Model name from the pipeline (`gru`, `gpt2-small`, ...).
        model_id: String,
        row_id: String,
        /// Index of the token in the row's token sequence (0 = first token, never scored).
        position: i32,
        token_id: i32,
        token: String,
        /// Byte span in the row's code; null for tokens without offsets (special tokens).
        byte_start: Option<i32>,
        byte_end: Option<i32>,
        /// ln p(token | previous tokens).
        logprob: f32,
        /// 1 = the model's argmax.
        rank: i32,
        /// Entropy of the predictive distribution, nats.
        entropy: f32,
        topk_ids: Vec<i32>,
        topk_logprobs: Vec<f32>,
    }
}

/// `scores.parquet` (infer): one row per (model, row).
pub mod scores {
    crate::artifact! {
        kind: "scores", version: 1;
        model_id: String,
        row_id: String,
        /// This tokenizer's token count for the code (a per-model confounder).
        n_tokens: i32,
        /// Tokens that were scored (n_tokens - 1 without BOS, n_tokens with BOS).
        n_scored: i32,
        /// Mean next-token cross-entropy, nats; null when the row was skipped.
        cross_entropy: Option<f64>,
        perplexity: Option<f64>,
        /// Share of scored tokens whose rank is 1.
        accuracy: Option<f64>,
        /// Why the row was not scored ([`crate::vocab::SkipReason`]); null when scored.
        skip_reason: Option<String>,
    }
}

/// `tags.parquet` (tag): the scored tokens bound to the AST.
pub mod tags {
    crate::artifact! {
        kind: "tags", version: 1;
        model_id: String,
        row_id: String,
        position: i32,
        token_id: i32,
        token: String,
        byte_start: Option<i32>,
        byte_end: Option<i32>,
        logprob: f32,
        /// Type of the token's leaf (its first leaf when it spans several); null without a span.
        node_type: Option<String>,
        parent_type: Option<String>,
        /// Taxonomy category of the leaf or its nearest categorised ancestor; null when none.
        category: Option<String>,
        /// Depth of the leaf (root = 0).
        depth: Option<i32>,
    }
}

/// `concepts.parquet` (tag): per (model, row, concept) AsC-Eval scores. Absent concepts have no
/// row.
pub mod concepts {
    crate::artifact! {
        kind: "concepts", version: 1;
        model_id: String,
        row_id: String,
        /// `node_type` or `category`.
        concept_kind: String,
        concept: String,
        n_tokens: i32,
        /// Mean and median of exp(logprob) over the concept's tokens.
        mean_prob: f64,
        median_prob: f64,
        /// Seeded bootstrap median of the mean and its standard error.
        boot_median: f64,
        boot_se: f64,
    }
}

/// `nodes.parquet` (tag): per (model, row, AST node), for local explanations.
pub mod nodes {
    crate::artifact! {
        kind: "nodes", version: 1;
        model_id: String,
        row_id: String,
        /// Pre-order index of the node in the row's AST (root = 0).
        node_id: i32,
        parent_id: Option<i32>,
        node_type: String,
        byte_start: i32,
        byte_end: i32,
        depth: i32,
        n_tokens: i32,
        /// Mean probability of the bound tokens; null when none is bound.
        mean_prob: Option<f64>,
    }
}

/// `concepts_global.parquet` (tag): per (model, concept) over rows.
pub mod concepts_global {
    crate::artifact! {
        kind: "concepts_global", version: 1;
        model_id: String,
        concept_kind: String,
        concept: String,
        /// Rows in which the concept occurs.
        n_rows: i64,
        n_tokens: i64,
        /// Plain mean of the per-row mean probabilities.
        mean: f64,
        /// Bootstrap median of the per-row values, its standard error and percentile 95% CI.
        boot_median: f64,
        boot_se: f64,
        ci_low: f64,
        ci_high: f64,
    }
}

// ---------------------------------------------------------------------------------------------
// Study results (analyze `study`): written under `report/tables/` as Parquet and CSV. One row
// per reported number with its interval, so the report and a reader's own notebook see the same
// values. Intervals are null (with a `note`) when there are too few rows for a meaningful one.

/// `report/tables/metrics.parquet`: per (model, metric) over the original test rows.
pub mod study_metrics {
    crate::artifact! {
        kind: "study_metrics", version: 1;
        model_id: String,
        /// `cross_entropy` (nats per token) or `accuracy` (top-1 share).
        metric: String,
        /// Rows with a value (scored rows of intervention `none`).
        n: i64,
        mean: f64,
        median: f64,
        std_dev: Option<f64>,
        /// Bootstrap standard error and interval of the mean; null when n is below `min_rows`.
        standard_error: Option<f64>,
        ci_low: Option<f64>,
        ci_high: Option<f64>,
        /// `bca` or `percentile`.
        ci_method: String,
        resamples: i64,
        /// The seed of this bootstrap (derived from the study seed and the row's labels).
        seed: i64,
        /// Why an interval is missing, or other caveats.
        note: Option<String>,
    }
}

/// `report/tables/concepts.parquet`: AsC-Eval per (model, concept) over the original test rows.
pub mod study_concepts {
    crate::artifact! {
        kind: "study_concepts", version: 1;
        model_id: String,
        /// `category` or `node_type`.
        concept_kind: String,
        concept: String,
        /// Rows where the concept occurs (absent concepts are not counted as 0).
        n_rows: i64,
        /// Tokens bound to the concept over those rows.
        n_tokens: i64,
        /// Mean over rows of the per-row mean probability.
        mean: f64,
        median: f64,
        /// Quartiles, minimum and maximum of the per-row values (the box plots).
        q1: f64,
        q3: f64,
        min: f64,
        max: f64,
        standard_error: Option<f64>,
        ci_low: Option<f64>,
        ci_high: Option<f64>,
        ci_method: String,
        resamples: i64,
        seed: i64,
        /// The seed's reading of the mean: `confident` (>= 0.6), `erroneous` (< 0.5) or `uncertain`.
        reading: String,
        /// 1 = the model's best concept of this kind by mean (among concepts with an interval).
        rank: Option<i32>,
        note: Option<String>,
    }
}

/// `report/tables/tokens.parquet`: token-level aggregates of tags.parquet (DataFusion SQL).
pub mod study_tokens {
    crate::artifact! {
        kind: "study_tokens", version: 1;
        model_id: String,
        /// `all`, `category` or `node_type` (of the token's leaf).
        concept_kind: String,
        concept: String,
        n_tokens: i64,
        n_rows: i64,
        /// Mean and median of exp(logprob) over the tokens (micro average).
        mean_prob: f64,
        median_prob: f64,
        /// Share of tokens with probability >= 0.6, and < 0.5.
        share_confident: f64,
        share_erroneous: f64,
        /// -mean(logprob): the cross-entropy of these tokens, nats.
        cross_entropy: f64,
    }
}

/// `report/tables/interventions.parquet`: control vs treated per (model, intervention, outcome).
pub mod study_paired {
    crate::artifact! {
        kind: "study_paired", version: 1;
        model_id: String,
        intervention: String,
        /// `cross_entropy` or `<concept_kind>:<concept>` (the concept's mean probability).
        outcome: String,
        /// Pairs where the outcome exists in both rows.
        n_pairs: i64,
        mean_control: Option<f64>,
        mean_treated: Option<f64>,
        /// Mean of treated - control over pairs, with a paired bootstrap interval and p-value.
        mean_difference: Option<f64>,
        standard_error: Option<f64>,
        ci_low: Option<f64>,
        ci_high: Option<f64>,
        bootstrap_p_value: Option<f64>,
        /// Wilcoxon signed-rank test of treated - control (scipy's defaults).
        wilcoxon_statistic: Option<f64>,
        wilcoxon_p_value: Option<f64>,
        /// The Wilcoxon p-value adjusted over every row of this table (Holm; Benjamini-Hochberg).
        p_holm: Option<f64>,
        p_bh: Option<f64>,
        /// Cliff's delta of treated vs control values, with its interval.
        cliffs_delta: Option<f64>,
        cliffs_delta_ci_low: Option<f64>,
        cliffs_delta_ci_high: Option<f64>,
        /// Paired Cohen's d_z of the differences, with its interval.
        cohens_dz: Option<f64>,
        cohens_dz_ci_low: Option<f64>,
        cohens_dz_ci_high: Option<f64>,
        seed: i64,
        note: Option<String>,
    }
}

/// `report/tables/effects.parquet`: back-door effects per (model, treatment, outcome, method),
/// beside the unadjusted difference and the plain correlations.
pub mod study_effects {
    crate::artifact! {
        kind: "study_effects", version: 1;
        model_id: String,
        /// `intervention` (binary T: 0 control, 1 treated) or `concept` (T = the concept's
        /// per-row mean probability, ASTrust).
        treatment_kind: String,
        treatment: String,
        /// `cross_entropy` or `<concept_kind>:<concept>`.
        outcome: String,
        /// `linear_regression`, `ps_stratification`, `ps_matching`, `ps_weighting` or `aipw`.
        method: String,
        n: i64,
        n_treated: Option<i64>,
        n_control: Option<i64>,
        /// The effect per unit of treatment (the ATE); null when the method failed (`error`).
        effect: Option<f64>,
        standard_error: Option<f64>,
        ci_low: Option<f64>,
        ci_high: Option<f64>,
        p_value: Option<f64>,
        /// The effect's p-value adjusted within (treatment_kind, method) over models,
        /// treatments and outcomes.
        p_holm: Option<f64>,
        p_bh: Option<f64>,
        /// `student_t`, `influence_function` or `bootstrap`.
        interval_kind: Option<String>,
        /// The unadjusted effect (OLS of Y on T alone: the difference of means for a binary T),
        /// with its interval.
        unadjusted: Option<f64>,
        unadjusted_ci_low: Option<f64>,
        unadjusted_ci_high: Option<f64>,
        /// Correlations of T and Y with p-values, adjusted within the same family.
        pearson: Option<f64>,
        pearson_p: Option<f64>,
        pearson_p_holm: Option<f64>,
        pearson_p_bh: Option<f64>,
        spearman: Option<f64>,
        spearman_p: Option<f64>,
        spearman_p_holm: Option<f64>,
        spearman_p_bh: Option<f64>,
        kendall: Option<f64>,
        kendall_p: Option<f64>,
        kendall_p_holm: Option<f64>,
        kendall_p_bh: Option<f64>,
        /// The adjustment set used, comma-separated (constant and collinear columns dropped).
        confounders: String,
        /// Requested confounders left out, with the reason (`name (constant)`, ...).
        dropped_confounders: String,
        seed: i64,
        /// Why there is no effect (the estimator's message).
        error: Option<String>,
        note: Option<String>,
    }
}

/// `report/tables/refutations.parquet`: refuters of each primary-method effect.
pub mod study_refutations {
    crate::artifact! {
        kind: "study_refutations", version: 1;
        model_id: String,
        treatment_kind: String,
        treatment: String,
        outcome: String,
        method: String,
        /// `placebo`, `random_common_cause`, `data_subset`, `bootstrap`, `unobserved_common_cause`.
        refuter: String,
        original_effect: f64,
        /// Mean effect over the simulations, and their standard deviation.
        new_effect: Option<f64>,
        new_effect_sd: Option<f64>,
        p_value: Option<f64>,
        passed: Option<bool>,
        /// The pass rule in words.
        rule: Option<String>,
        simulations: i64,
        failed_simulations: i64,
        seed: i64,
        /// Placebo only: permutation p-value of the effect against the placebo effects.
        effect_vs_placebo_p_value: Option<f64>,
        error: Option<String>,
    }
}

/// `report/tables/comparisons.parquet`: paired comparisons of two models on the same rows.
pub mod study_comparisons {
    crate::artifact! {
        kind: "study_comparisons", version: 1;
        model_a: String,
        model_b: String,
        /// `cross_entropy`, `accuracy` or `<concept_kind>:<concept>`.
        measure: String,
        /// Rows where both models have a value.
        n_rows: i64,
        mean_a: Option<f64>,
        mean_b: Option<f64>,
        /// Mean of a - b over rows, paired bootstrap interval and p-value.
        mean_difference: Option<f64>,
        standard_error: Option<f64>,
        ci_low: Option<f64>,
        ci_high: Option<f64>,
        bootstrap_p_value: Option<f64>,
        wilcoxon_statistic: Option<f64>,
        wilcoxon_p_value: Option<f64>,
        /// Wilcoxon p-value adjusted over every row of this table.
        p_holm: Option<f64>,
        p_bh: Option<f64>,
        cohens_dz: Option<f64>,
        seed: i64,
        note: Option<String>,
    }
}

/// `report/tables/seed_checks.parquet`: do the seed studies' findings hold here?
pub mod study_seed_checks {
    crate::artifact! {
        kind: "study_seed_checks", version: 1;
        model_id: String,
        /// `blocks_vs_identifiers`, `blocks_vs_natural_language` or `bugfix_size_adjustment`.
        check: String,
        /// The seed's claim in words.
        claim: String,
        /// The two numbers compared (e.g. blocks and identifiers mean probability, or the
        /// unadjusted and adjusted effect of fixing a bug on cross-entropy), with intervals.
        first_label: String,
        first_value: Option<f64>,
        first_ci_low: Option<f64>,
        first_ci_high: Option<f64>,
        second_label: String,
        second_value: Option<f64>,
        second_ci_low: Option<f64>,
        second_ci_high: Option<f64>,
        /// Rows (or pairs) behind the comparison.
        n: i64,
        /// Paired difference first - second with its interval (the concept checks).
        difference: Option<f64>,
        difference_ci_low: Option<f64>,
        difference_ci_high: Option<f64>,
        p_value: Option<f64>,
        /// `holds`, `partly holds`, `does not hold`, `inconclusive` or `not testable`.
        verdict: String,
        /// The verdict in one sentence, from the numbers.
        explanation: String,
        seed: i64,
    }
}
