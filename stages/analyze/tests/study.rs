//! `icodegen-analyze study` driven as a pipeline would: a tiny testbed (Python snippets, two
//! interventions) and two model folders are written to a temp dir with the artifact writers
//! (`study_fixture`, which documents the effects it injects), the built binary runs on them,
//! and the results tables and the report are checked.
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

mod study_fixture;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use icodegen_artifacts::schemas::{
    scores, study_comparisons, study_concepts, study_effects, study_metrics, study_paired,
    study_refutations, study_seed_checks, study_tokens,
};
use icodegen_artifacts::{read_all, write_all};
use study_fixture::{Fixture, fixture};

const SNIPPETS: usize = 30;

const PARAMS: &str = "\
analyze:
  seed: 42
  bootstrap:
    resamples: 400
  simulations: 40
  ci_resamples: 40
";

fn run(fixture: &Fixture, params: &str, out: &str, models_dir: &str) -> Output {
    let params_path = fixture.path("params.yaml");
    std::fs::write(&params_path, params).unwrap();
    Command::new(env!("CARGO_BIN_EXE_icodegen-analyze"))
        .arg("study")
        .arg("--params")
        .arg(&params_path)
        .arg("--testbed")
        .arg(fixture.path("testbed.parquet"))
        .arg("--covariates")
        .arg(fixture.path("covariates.parquet"))
        .arg("--models-dir")
        .arg(fixture.path(models_dir))
        .arg("--out")
        .arg(fixture.path(out))
        .env("ICODEGEN_PROGRESS", "0")
        .output()
        .unwrap()
}

fn succeed(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn table<A: icodegen_artifacts::Artifact>(report: &Path, name: &str) -> Vec<A> {
    assert!(
        report.join(format!("tables/{name}.csv")).is_file(),
        "tables/{name}.csv is missing"
    );
    read_all(report.join(format!("tables/{name}.parquet"))).unwrap()
}

fn effect<'a>(
    rows: &'a [study_effects::Row],
    model: &str,
    treatment: &str,
    outcome: &str,
    method: &str,
) -> &'a study_effects::Row {
    rows.iter()
        .find(|row| {
            row.model_id == model
                && row.treatment == treatment
                && row.outcome == outcome
                && row.method == method
        })
        .unwrap_or_else(|| panic!("no effect row for {model} {treatment} -> {outcome} by {method}"))
}

#[test]
fn a_study_recovers_the_injected_effects_with_the_right_signs() {
    let fixture = fixture(&["gru", "gpt"], SNIPPETS);
    succeed(&run(&fixture, PARAMS, "report", "models"));
    let report = fixture.path("report");
    let effects: Vec<study_effects::Row> = table(&report, "effects");

    // An intervention's effect row is its total effect (issue 18): only pair-level covariates
    // are adjusted for; the token count, which the edit changes, is a mediator.
    let comments = effect(
        &effects,
        "gru",
        "comments",
        "cross_entropy",
        "linear_regression",
    );
    let ate = comments.effect.unwrap();
    assert!(comments.ci_high.unwrap() < 0.0, "{comments:?}");
    assert!(
        (ate - comments.unadjusted.unwrap()).abs() < 0.02,
        "the total effect is the paired difference: {comments:?}"
    );
    assert!(
        comments
            .dropped_confounders
            .contains("n_tokens (changed by the intervention: a mediator, not a confounder)"),
        "{}",
        comments.dropped_confounders
    );
    // Constant covariates are left out and say why.
    assert!(
        comments
            .dropped_confounders
            .contains("n_lambdas (constant)"),
        "{}",
        comments.dropped_confounders
    );
    // Weighting and AIPW agree on gru's sign.
    for method in ["ps_weighting", "aipw"] {
        let row = effect(&effects, "gru", "comments", "cross_entropy", method);
        assert!(row.effect.unwrap() < -0.15, "{method}: {row:?}");
    }

    // The decomposition (study.json): removing the comment (control) raises gru's loss by 0.4
    // beyond what the token count carries (treated - control direct effect = -0.4); gpt has no
    // direct comment effect; bugs add statements: fixing one lowers the loss in total, all of
    // it through size (direct effect near 0).
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("study.json")).unwrap()).unwrap();
    let decomposition = |model: &str, intervention: &str| {
        manifest["causal_claims"]["decompositions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["model_id"] == model && row["intervention"] == intervention)
            .unwrap_or_else(|| panic!("no decomposition for {model} {intervention}"))
            .clone()
    };
    let number = |value: &serde_json::Value| value.as_f64().unwrap();
    let gru = decomposition("gru", "comments");
    let direct = number(&gru["result"]["direct"]["estimate"]);
    assert!((direct + 0.4).abs() < 0.05, "gru comments direct {gru}");
    assert!(number(&gru["result"]["direct"]["ci"][1]) < 0.0, "{gru}");
    assert!(gru["mediators"][0] == "n_tokens", "{gru}");
    let total = number(&gru["result"]["total"]["estimate"]);
    assert!((total - ate).abs() < 0.02, "{gru}");
    let gpt = decomposition("gpt", "comments");
    assert!(
        number(&gpt["result"]["direct"]["estimate"]).abs() < 0.05,
        "{gpt}"
    );
    for model in ["gru", "gpt"] {
        let bug = effect(
            &effects,
            model,
            "bugfix",
            "cross_entropy",
            "linear_regression",
        );
        assert!(bug.unadjusted_ci_high.unwrap() < 0.0, "{bug:?}");
        assert!(
            bug.pearson.unwrap() < 0.0,
            "the plain correlation stays beside the effect"
        );
        let row = decomposition(model, "bugfix");
        let (total, direct, indirect) = (
            number(&row["result"]["total"]["estimate"]),
            number(&row["result"]["direct"]["estimate"]),
            number(&row["result"]["indirect"]["estimate"]),
        );
        assert!(
            total < 0.0 && (total - bug.effect.unwrap()).abs() < 0.02,
            "{row}"
        );
        assert!(direct.abs() < 0.03, "{row}");
        assert!(direct.abs() < total.abs() / 3.0, "{row}");
        assert!((total - direct - indirect).abs() < 1e-9, "{row}");
    }
    // Heterogeneity: size tertiles of every (model, intervention), Holm-adjusted within them;
    // an effect-modification model; sensitivity values for every concept effect.
    let claims = &manifest["causal_claims"];
    let subgroups = claims["subgroups"].as_array().unwrap();
    assert!(
        subgroups
            .iter()
            .filter(|row| row["model_id"] == "gru" && row["intervention"] == "comments")
            .filter(|row| row["grouping"] == "size")
            .count()
            == 3,
        "{subgroups:?}"
    );
    assert!(subgroups.iter().all(|row| row["p_holm"].is_f64()));
    assert!(
        claims["effect_modification"]
            .as_array()
            .unwrap()
            .iter()
            .all(|row| row["result"]["terms"][0]["name"] == "average_effect"),
        "{claims}"
    );
    let sensitivity = claims["sensitivity"].as_array().unwrap();
    assert!(!sensitivity.is_empty());
    for row in sensitivity {
        let rv = row["result"]["robustness_value"].as_f64().unwrap();
        assert!((0.0..1.0).contains(&rv), "{row}");
        assert!(row["result"]["e_value"]["e_value"].as_f64().unwrap() >= 1.0);
    }
    let checks: Vec<study_seed_checks::Row> = table(&report, "seed_checks");
    for model in ["gru", "gpt"] {
        let find = |check: &str| {
            checks
                .iter()
                .find(|row| row.model_id == model && row.check == check)
                .unwrap()
        };
        assert_eq!(
            find("bugfix_size_adjustment").verdict,
            "holds",
            "{:?}",
            find("bugfix_size_adjustment")
        );
        assert_eq!(find("blocks_vs_identifiers").verdict, "holds");
        assert_eq!(find("blocks_vs_natural_language").verdict, "holds");
        assert!(find("blocks_vs_identifiers").difference_ci_low.unwrap() > 0.4);
    }

    // Paired tests: gru's treated (commented) rows have the lower loss; adjusted over the table.
    let paired: Vec<study_paired::Row> = table(&report, "interventions");
    let row = paired
        .iter()
        .find(|row| {
            row.model_id == "gru"
                && row.intervention == "comments"
                && row.outcome == "cross_entropy"
        })
        .unwrap();
    assert_eq!(row.n_pairs, SNIPPETS as i64);
    assert!(
        row.ci_high.unwrap() < 0.0 && row.wilcoxon_p_value.unwrap() < 0.001,
        "{row:?}"
    );
    assert!(
        row.p_holm.unwrap() >= row.wilcoxon_p_value.unwrap()
            && row.p_bh.unwrap() >= row.wilcoxon_p_value.unwrap()
    );
    assert!(row.cliffs_delta.unwrap() < 0.0);

    // Refuters ran on the primary method's effects on cross-entropy, seeded.
    let refutations: Vec<study_refutations::Row> = table(&report, "refutations");
    let placebo = refutations
        .iter()
        .find(|row| {
            row.model_id == "gru" && row.treatment == "comments" && row.refuter == "placebo"
        })
        .unwrap();
    assert_eq!(placebo.passed, Some(true), "{placebo:?}");
    assert!(placebo.new_effect.unwrap().abs() < 0.2);
    assert!(
        refutations
            .iter()
            .all(|row| row.method == "linear_regression" && row.outcome == "cross_entropy")
    );
    assert!(refutations.iter().all(|row| row.seed > 0));

    // Concepts as continuous treatments exist for each category of each model.
    assert!(effects.iter().any(|row| row.treatment_kind == "concept"
        && row.treatment == "category:scope"
        && row.model_id == "gpt"));
}

#[test]
fn absent_concepts_are_skipped_not_counted_as_zero() {
    let fixture = fixture(&["gru"], SNIPPETS);
    succeed(&run(&fixture, PARAMS, "report", "models"));
    let concepts: Vec<study_concepts::Row> = table(&fixture.path("report"), "concepts");
    let iterative = concepts
        .iter()
        .find(|row| {
            row.model_id == "gru" && row.concept_kind == "category" && row.concept == "iterative"
        })
        .unwrap();
    // Loops occur in snippets i % 3 != 0: 20 of 30.
    assert_eq!(iterative.n_rows, 20);
    assert!(
        iterative.mean > 0.85 && iterative.min > 0.85,
        "{iterative:?}"
    );
    assert_eq!(iterative.reading, "confident");
    let natural = concepts
        .iter()
        .find(|row| row.concept == "natural_language")
        .unwrap();
    assert_eq!(natural.reading, "erroneous");
    assert!(iterative.rank.unwrap() < natural.rank.unwrap());
    // The original rows all have a comment, so `comment` occurs in every one of them.
    let comment = concepts
        .iter()
        .find(|row| row.concept_kind == "node_type" && row.concept == "comment")
        .unwrap();
    assert_eq!(comment.n_rows, SNIPPETS as i64);
    let metrics: Vec<study_metrics::Row> = table(&fixture.path("report"), "metrics");
    assert_eq!(metrics.len(), 2);
    assert!(
        metrics
            .iter()
            .all(|row| row.n == SNIPPETS as i64 && row.ci_low.is_some())
    );
}

#[test]
fn token_tables_are_aggregated_with_sql_over_the_original_rows() {
    let fixture = fixture(&["gru", "gpt"], SNIPPETS);
    succeed(&run(&fixture, PARAMS, "report", "models"));
    let tokens: Vec<study_tokens::Row> = table(&fixture.path("report"), "tokens");
    // Only gru has tags.parquet.
    assert!(tokens.iter().all(|row| row.model_id == "gru"));
    let all = tokens.iter().find(|row| row.concept_kind == "all").unwrap();
    assert_eq!(all.n_rows, SNIPPETS as i64, "only the original rows count");
    let scope = tokens
        .iter()
        .find(|row| row.concept_kind == "category" && row.concept == "scope")
        .unwrap();
    assert!(
        (scope.mean_prob - 0.9).abs() < 0.05 && scope.share_confident == 1.0,
        "{scope:?}"
    );
    let identifier = tokens
        .iter()
        .find(|row| row.concept_kind == "node_type" && row.concept == "identifier")
        .unwrap();
    assert_eq!(identifier.share_erroneous, 1.0);
    assert!((identifier.cross_entropy + identifier.mean_prob.ln()).abs() < 0.05);
}

#[test]
fn models_are_compared_on_the_same_rows_with_adjusted_p_values() {
    let fixture = fixture(&["gru", "gpt"], SNIPPETS);
    succeed(&run(&fixture, PARAMS, "report", "models"));
    let comparisons: Vec<study_comparisons::Row> = table(&fixture.path("report"), "comparisons");
    let loss = comparisons
        .iter()
        .find(|row| row.measure == "cross_entropy")
        .unwrap();
    // Directory order: gpt before gru. gpt's loss is 1.0 + 0.02 (n + 2) vs gru's 0.8 + 0.03 n.
    assert_eq!(
        (loss.model_a.as_str(), loss.model_b.as_str()),
        ("gpt", "gru")
    );
    assert_eq!(loss.n_rows, SNIPPETS as i64);
    assert!(loss.wilcoxon_p_value.is_some() && loss.p_holm.is_some() && loss.p_bh.is_some());
    let scope = comparisons
        .iter()
        .find(|row| row.measure == "category:scope")
        .unwrap();
    assert!(
        scope.mean_difference.unwrap() > 0.0,
        "gpt's probabilities are shifted up: {scope:?}"
    );
}

#[test]
fn adding_a_model_leaves_the_other_models_numbers_unchanged() {
    let fixture = fixture(&["gru", "gpt"], SNIPPETS);
    // The same gru folder alone in another models dir.
    let alone = fixture.path("alone");
    std::fs::create_dir_all(alone.join("gru")).unwrap();
    for file in [
        "scores.parquet",
        "concepts.parquet",
        "tags.parquet",
        "nodes.parquet",
    ] {
        std::fs::copy(
            fixture.path("models/gru").join(file),
            alone.join("gru").join(file),
        )
        .unwrap();
    }
    succeed(&run(&fixture, PARAMS, "both", "models"));
    succeed(&run(&fixture, PARAMS, "one", "alone"));
    let gru = |report: &str| -> Vec<study_concepts::Row> {
        table::<study_concepts::Row>(&fixture.path(report), "concepts")
            .into_iter()
            .filter(|row| row.model_id == "gru")
            .collect()
    };
    assert_eq!(gru("both"), gru("one"));
    let effects = |report: &str| -> Vec<(String, Option<f64>, Option<f64>)> {
        table::<study_effects::Row>(&fixture.path(report), "effects")
            .into_iter()
            .filter(|row| row.model_id == "gru")
            .map(|row| (row.treatment, row.effect, row.ci_low))
            .collect()
    };
    assert_eq!(effects("both"), effects("one"));
}

#[test]
fn the_report_is_self_contained_with_every_chart_and_a_summary_from_the_numbers() {
    let fixture = fixture(&["gru", "gpt"], SNIPPETS);
    succeed(&run(&fixture, PARAMS, "report", "models"));
    let report = fixture.path("report");
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    // Concept charts (2 models) + node-type charts (2) + category boxes + intervention boxes
    // (2) + two forest plots + the local explanations' own SVGs.
    let charts = html.matches("<svg class=\"chart\"").count();
    assert_eq!(charts, 9, "charts drawn with plotters");
    assert!(
        html.matches("<svg").count() > charts,
        "local explanations add their own SVG"
    );
    assert!(
        html.contains("class=\"icx\""),
        "a local explanation from crates/explain"
    );
    assert!(!html.contains("<script"), "no script");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("url(http"),
        "no network"
    );
    for section in [
        "summary",
        "models",
        "concepts",
        "interventions",
        "effects",
        "refutations",
        "seed",
        "explanations",
    ] {
        assert!(
            html.contains(&format!("<section id=\"{section}\"")),
            "section {section}"
        );
    }
    assert!(
        html.contains("≥ 0.6 confident") && html.contains("erroneous &lt; 0.5"),
        "reference lines"
    );
    assert!(html.contains("badge pass"), "refuter table with pass/fail");
    // Node types such as `*` are code, not emphasis that runs on through the summary.
    assert!(html.contains("<code>*</code> ("), "node type `*` as code");
    assert_eq!(html.matches("<i>").count(), html.matches("</i>").count());
    assert_eq!(html.matches("<b>").count(), html.matches("</b>").count());
    assert!(
        html.contains("<h3>Testbed</h3>") && html.contains("covariates of 30 snippets"),
        "--covariates described"
    );
    // The summary states numbers with intervals, and the verdicts.
    let summary = std::fs::read_to_string(report.join("summary.md")).unwrap();
    assert!(summary.contains("**gru**: cross-entropy"), "{summary}");
    assert!(summary.contains("Best predicted categories: "), "{summary}");
    assert!(summary.contains("worst: natural_language"), "{summary}");
    assert!(
        summary.contains("`comments`")
            && summary.contains("total effect (mean paired difference")
            && summary.contains("natural indirect effect through size"),
        "{summary}"
    );
    assert!(
        summary.contains("*holds*: gru: fixing the bug changes cross-entropy"),
        "{summary}"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("study.json")).unwrap()).unwrap();
    assert_eq!(manifest["seed"], 42);
    assert_eq!(manifest["testbed"]["pairs"]["comments"], SNIPPETS);
    assert_eq!(manifest["models"].as_array().unwrap().len(), 2);
    // Atomic output: no temporary folder left beside the report.
    let leftovers: Vec<_> = std::fs::read_dir(fixture.dir.path())
        .unwrap()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn too_few_rows_are_reported_as_such_instead_of_as_intervals() {
    let fixture = fixture(&["gru"], 4);
    succeed(&run(
        &fixture,
        "analyze:\n  bootstrap:\n    resamples: 200\n  simulations: 20\n",
        "report",
        "models",
    ));
    let report = fixture.path("report");
    let metrics: Vec<study_metrics::Row> = table(&report, "metrics");
    assert!(
        metrics
            .iter()
            .all(|row| row.ci_low.is_none() && row.ci_high.is_none())
    );
    assert!(
        metrics[0]
            .note
            .as_deref()
            .unwrap()
            .contains("too few rows (n = 4 < 10)"),
        "{:?}",
        metrics[0]
    );
    let effects: Vec<study_effects::Row> = table(&report, "effects");
    assert!(effects.iter().all(|row| row.ci_low.is_none()));
    let refutations: Vec<study_refutations::Row> = table(&report, "refutations");
    assert!(
        refutations.is_empty(),
        "no refutation of an effect without an interval"
    );
    let checks: Vec<study_seed_checks::Row> = table(&report, "seed_checks");
    assert!(
        checks.iter().all(|row| row.verdict == "not testable"),
        "{checks:?}"
    );
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(
        html.contains("no interval"),
        "the report says why numbers have no interval"
    );
    assert!(
        html.contains("n = 8: too few"),
        "the forest plot marks small effects"
    );
}

fn failure(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(2),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn bad_inputs_are_usage_errors_that_name_the_file_and_leave_no_report() {
    let fixture = fixture(&["gru"], 4);
    // A params typo.
    let message = failure(&run(
        &fixture,
        "analyze:\n  simulation: 3\n",
        "report",
        "models",
    ));
    assert!(message.contains("did you mean `simulations`?"), "{message}");
    // An unknown confounder.
    let message = failure(&run(
        &fixture,
        "analyze:\n  confounders: [n_token]\n",
        "report",
        "models",
    ));
    assert!(message.contains("did you mean `n_tokens`?"), "{message}");
    // No model folder.
    std::fs::create_dir_all(fixture.path("empty")).unwrap();
    let message = failure(&run(&fixture, PARAMS, "report", "empty"));
    assert!(message.contains("holds no model folder"), "{message}");
    // Scores of a row that is not in the testbed.
    let scores_path = fixture.path("models/gru/scores.parquet");
    let mut rows: Vec<scores::Row> = read_all(&scores_path).unwrap();
    rows[1].row_id = "0000".to_owned();
    write_all(&scores_path, "infer", &rows).unwrap();
    let message = failure(&run(&fixture, PARAMS, "report", "models"));
    assert!(
        message.contains("scores.parquet` row 1: row_id `0000` is not in the testbed"),
        "{message}"
    );
    assert!(!fixture.path("report").exists(), "no half-written report");
}

#[test]
fn chromium_renders_the_report_with_its_charts() {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(Path::new)
        .find(|path| path.exists());
    let Some(chromium) = chromium else {
        eprintln!("skipped: Chromium is not installed (Debian package `chromium`)");
        return;
    };
    let fixture = fixture(&["gru", "gpt"], SNIPPETS);
    succeed(&run(&fixture, PARAMS, "report", "models"));
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!(
            "file://{}",
            fixture.path("report/index.html").display()
        ))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        dom.matches("<svg class=\"chart\"").count(),
        9,
        "the browser's DOM holds every chart"
    );
    assert!(dom.contains("Local explanation") || dom.contains("class=\"icx\""));
    assert!(dom.contains("<h2>Summary</h2>"));
    // ICODEGEN_STUDY_KEEP=DIR keeps the report and a full-page screenshot, to look at.
    if let Some(keep) = std::env::var_os("ICODEGEN_STUDY_KEEP") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        for file in ["index.html", "summary.md"] {
            std::fs::copy(fixture.path("report").join(file), keep.join(file)).unwrap();
        }
        let status = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1400,14000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!(
                "--screenshot={}",
                keep.join("report.png").display()
            ))
            .arg(format!(
                "file://{}",
                fixture.path("report/index.html").display()
            ))
            .output()
            .unwrap();
        assert!(status.status.success());
    }
}

#[test]
fn docs_describe_every_column_of_the_study_tables() {
    use icodegen_artifacts::Artifact;
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/artifacts.md"
    ))
    .unwrap();
    let kinds: &[(&str, &[&str])] = &[
        (study_metrics::KIND, study_metrics::Row::COLUMNS),
        (study_concepts::KIND, study_concepts::Row::COLUMNS),
        (study_tokens::KIND, study_tokens::Row::COLUMNS),
        (study_paired::KIND, study_paired::Row::COLUMNS),
        (study_effects::KIND, study_effects::Row::COLUMNS),
        (study_refutations::KIND, study_refutations::Row::COLUMNS),
        (study_comparisons::KIND, study_comparisons::Row::COLUMNS),
        (study_seed_checks::KIND, study_seed_checks::Row::COLUMNS),
    ];
    for (kind, columns) in kinds {
        let heading = format!("## `{kind}`");
        let start = docs
            .find(&heading)
            .unwrap_or_else(|| panic!("docs/artifacts.md lacks {heading}"));
        let section = &docs[start + heading.len()..];
        let section = &section[..section.find("\n## ").unwrap_or(section.len())];
        for column in *columns {
            assert!(
                section.contains(&format!("| `{column}` |")),
                "docs/artifacts.md section {kind} lacks `{column}`"
            );
        }
    }
}

#[test]
fn help_documents_the_inputs_the_models_folder_layout_and_the_output() {
    let output = Command::new(env!("CARGO_BIN_EXE_icodegen-analyze"))
        .args(["study", "--help"])
        .output()
        .unwrap();
    succeed(&output);
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "--testbed",
        "--covariates",
        "--models-dir",
        "--out",
        "DIR/<model_id>/scores.parquet    required",
        "DIR/<model_id>/concepts.parquet  required",
        "DIR/<model_id>/tags.parquet      optional",
        "DIR/<model_id>/nodes.parquet     optional",
        "DIR/index.html",
        "DIR/summary.md",
        "DIR/tables/<name>.parquet|csv",
        "renamed into place",
    ] {
        assert!(help.contains(needle), "`{needle}` missing from:\n{help}");
    }
    // Every table the study writes is named.
    for table in icodegen_analyze::study::TABLES {
        assert!(help.contains(table), "table {table} missing from:\n{help}");
    }
}

#[test]
fn an_out_folder_holding_an_input_or_the_workspace_is_refused_and_no_temp_folder_is_left() {
    let fixture = fixture(&["gru"], 4);
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(fixture.dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    std::fs::write(fixture.path("params.yaml"), PARAMS).unwrap();
    let before = listing();
    // `.` (the folder holding every input), an input folder, a folder inside it.
    for (out, says) in [
        (".", "overlap"),
        ("models", "--models-dir"),
        ("models/report", "--models-dir"),
    ] {
        let output = run(&fixture, PARAMS, out, "models");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{out}: {stderr}");
        assert!(stderr.contains(says), "{out}: {stderr}");
        assert!(fixture.path("testbed.parquet").exists());
        assert!(fixture.path("models/gru/scores.parquet").exists());
    }
    assert_eq!(listing(), before, "nothing added, nothing removed");
    // The current folder (the workspace, when the runner runs the stage) is refused too.
    let output = Command::new(env!("CARGO_BIN_EXE_icodegen-analyze"))
        .current_dir(fixture.path("models"))
        .args([
            "study",
            "--params",
            "../params.yaml",
            "--testbed",
            "../testbed.parquet",
        ])
        .args(["--models-dir", "gru/..", "--out", ".."])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("current folder"));
    assert_eq!(listing(), before);
}
