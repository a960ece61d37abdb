//! `icodegen-preprocess` driven as a user would, on snippets.parquet fixtures written here.
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use icodegen_artifacts::schemas::{covariates, snippets, testbed};
use icodegen_artifacts::{content_id, read_all, write_all};
use serde_json::Value;

/// A snippets row as ingest writes it: with the covariates of its code (none for a language
/// icodegen does not know).
fn snippet(language: &str, split: &str, code: &str) -> snippets::Row {
    let mut row = snippets::Row {
        snippet_id: content_id(language, code),
        language: language.to_owned(),
        code: code.to_owned(),
        source: "tree".to_owned(),
        split: split.to_owned(),
        n_bytes: code.len() as i64,
        ..snippets::Row::default()
    };
    if let Ok(language) = icodegen_lang::Language::from_name(language) {
        let mut parsers = icodegen_lang::Parsers::new();
        let parsed = icodegen_lang::Snippet::parse(&mut parsers, language, code).unwrap();
        row.set_covariates(&icodegen_lang::covariates::covariates(&parsed));
    }
    row
}

fn pair_member(split: &str, pair_id: &str, role: &str, code: &str) -> snippets::Row {
    snippets::Row {
        pair_id: Some(pair_id.to_owned()),
        pair_role: Some(role.to_owned()),
        source: "pairs".to_owned(),
        ..snippet("python", split, code)
    }
}

const RICH_PYTHON: &str = "def accumulate(values, limit):\n    \"\"\"Sum positive values up to a limit.\"\"\"\n    # running total\n    total = 0\n    for value in values:\n        if value > 0 and total < limit:\n            total = total + value * 2\n    report(total, limit)\n    return total\n";
const RICH_JAVA: &str = "int clamp(int value, int low, int high) {\n  // keep in range\n  int result = value;\n  if (result < low) {\n    result = low + 1;\n  }\n  return Math.min(result, high);\n}";
const TRAIN_PYTHON: &str = "def helper(x):\n    return x * 2\n";

struct Run {
    output: Output,
    dir: PathBuf,
}

impl Run {
    fn ok(self) -> Self {
        assert!(
            self.output.status.success(),
            "preprocess failed: {}",
            self.stderr()
        );
        self
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    fn testbed(&self) -> Vec<testbed::Row> {
        read_all::<testbed::Row>(self.dir.join("testbed.parquet")).unwrap()
    }

    fn covariates(&self) -> Vec<covariates::Row> {
        read_all::<covariates::Row>(self.dir.join("covariates.parquet")).unwrap()
    }

    fn report(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.join("report.json")).unwrap())
            .unwrap()
    }
}

fn preprocess(dir: &Path, params: &str, rows: &[snippets::Row]) -> Run {
    write_all(dir.join("snippets.parquet"), "ingest", rows).unwrap();
    run_in(dir, params)
}

fn run_in(dir: &Path, params: &str) -> Run {
    std::fs::write(dir.join("params.yaml"), params).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_icodegen-preprocess"))
        .current_dir(dir)
        .args([
            "--params",
            "params.yaml",
            "--snippets",
            "snippets.parquet",
            "--covariates",
            "covariates.parquet",
            "--testbed",
            "testbed.parquet",
            "--report",
            "report.json",
        ])
        .env("ICODEGEN_PROGRESS", "0")
        .output()
        .unwrap();
    Run {
        output,
        dir: dir.to_path_buf(),
    }
}

/// Rows of one intervention, grouped by pair id: (control, treated).
fn pairs(rows: &[testbed::Row], intervention: &str) -> Vec<(testbed::Row, testbed::Row)> {
    let mut grouped: BTreeMap<String, Vec<testbed::Row>> = BTreeMap::new();
    for row in rows.iter().filter(|row| row.intervention == intervention) {
        grouped
            .entry(row.pair_id.clone())
            .or_default()
            .push(row.clone());
    }
    grouped
        .into_values()
        .map(|mut pair| {
            assert_eq!(pair.len(), 2, "{intervention}: a pair has two rows");
            pair.sort_by_key(|row| row.treatment);
            assert_eq!((pair[0].treatment, pair[1].treatment), (0, 1));
            let treated = pair.pop().unwrap();
            (pair.pop().unwrap(), treated)
        })
        .collect()
}

const ALL: &str = "preprocess:\n  seed: 11\n";

#[test]
fn covariates_cover_every_snippet_and_the_testbed_only_the_test_split() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        snippet("python", "train", TRAIN_PYTHON),
        snippet("python", "test", RICH_PYTHON),
        snippet("java", "test", RICH_JAVA),
    ];
    let run = preprocess(dir.path(), ALL, &rows).ok();
    let covariates = run.covariates();
    assert_eq!(covariates.len(), 3);
    assert_eq!(covariates[0].snippet_id, rows[0].snippet_id);
    let rich = &covariates[1];
    assert_eq!(rich.cyclomatic, 4, "for, if, and");
    assert_eq!(rich.loc, 8);
    assert_eq!(rich.n_loops, 1);
    assert_eq!(rich.n_returns, 1);
    assert_eq!(rich.n_comparisons, 2);
    assert_eq!(rich.n_error_nodes, 0);
    assert_eq!(rich.n_bytes, RICH_PYTHON.len() as i64);
    assert_eq!(covariates[2].cyclomatic, 2);

    let testbed = run.testbed();
    let none: Vec<&testbed::Row> = testbed
        .iter()
        .filter(|row| row.intervention == "none")
        .collect();
    assert_eq!(none.len(), 2);
    for (row, snippet) in none.iter().zip(&rows[1..]) {
        assert_eq!(row.row_id, snippet.snippet_id);
        assert_eq!(row.pair_id, snippet.snippet_id);
        assert_eq!(row.treatment, 0);
        assert_eq!(row.mutation, None);
    }
    assert!(
        testbed
            .iter()
            .all(|row| row.snippet_id != rows[0].snippet_id)
    );
    for row in &testbed {
        assert_eq!(row.row_id, content_id(&row.language, &row.code));
        assert_eq!(row.n_bytes, row.code.len() as i64);
    }
    let report = run.report();
    assert_eq!(report["snippets"], 3);
    assert_eq!(report["testbed"]["snippets"], 2);
    assert_eq!(
        report["testbed"]["rows"].as_u64().unwrap() as usize,
        testbed.len()
    );
}

#[test]
fn every_intervention_makes_pairs_with_the_documented_sides() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        snippet("python", "test", RICH_PYTHON),
        snippet("java", "test", RICH_JAVA),
    ];
    let run = preprocess(dir.path(), ALL, &rows).ok();
    let testbed = run.testbed();
    let by_language = |pairs: Vec<(testbed::Row, testbed::Row)>| pairs.len();

    // comments: control = stripped, treated = original
    let comments = pairs(&testbed, "comments");
    assert_eq!(by_language(comments.clone()), 2);
    for (control, treated) in &comments {
        assert!(rows.iter().any(|row| row.code == treated.code));
        assert_eq!(treated.mutation, None);
        assert_eq!(control.mutation.as_deref(), Some("strip_comments"));
        assert!(
            !control.code.contains("//")
                && !control.code.contains('#')
                && !control.code.contains("\"\"\"")
        );
        assert!(control.loc < treated.loc || control.code.len() < treated.code.len());
    }

    // bugfix: control = the synthetic bug, treated = the original
    for (control, treated) in pairs(&testbed, "bugfix") {
        assert!(rows.iter().any(|row| row.code == treated.code));
        let mutation = control.mutation.clone().unwrap();
        assert!(
            [
                "flip_comparison",
                "swap_arithmetic",
                "off_by_one",
                "negate_condition",
                "swap_arguments",
                "delete_statement"
            ]
            .contains(&mutation.as_str()),
            "{mutation}"
        );
        assert_ne!(control.code, treated.code);
        assert_eq!(control.n_error_nodes, 0);
        assert_eq!(control.snippet_id, treated.snippet_id);
    }

    // rename, reformat, deadcode: control = original, treated = variant that still parses
    for (intervention, mutations) in [
        ("rename", &["rename_identifiers"][..]),
        ("reformat", &["reformat"][..]),
        ("deadcode", &["dead_assignment", "dead_branch"][..]),
    ] {
        let made = pairs(&testbed, intervention);
        assert_eq!(made.len(), 2, "{intervention}");
        for (control, treated) in made {
            assert!(
                rows.iter().any(|row| row.code == control.code),
                "{intervention}"
            );
            assert_eq!(control.mutation, None);
            assert!(
                mutations.contains(&treated.mutation.as_deref().unwrap()),
                "{intervention}"
            );
            assert_eq!(treated.n_error_nodes, 0, "{intervention}: {}", treated.code);
            assert_ne!(treated.row_id, control.row_id);
        }
    }

    // syntax: the treated row does not parse, and its covariates say so
    for (control, treated) in pairs(&testbed, "syntax") {
        assert_eq!(control.n_error_nodes, 0);
        assert!(treated.n_error_nodes > 0, "{}", treated.code);
        assert_eq!(treated.code.len() + 1, control.code.len());
    }

    // covariates are those of each row's own code
    let deadcode = pairs(&testbed, "deadcode");
    assert!(
        deadcode
            .iter()
            .all(|(control, treated)| treated.n_ast_nodes > control.n_ast_nodes)
    );
    let report = run.report();
    for intervention in [
        "comments", "bugfix", "rename", "reformat", "deadcode", "syntax",
    ] {
        assert_eq!(
            report["interventions"][intervention]["pairs"], 2,
            "{intervention}: {report:#}"
        );
    }
}

#[test]
fn real_bugfix_pairs_become_bugfix_rows_and_are_not_mutated_again() {
    let dir = tempfile::tempdir().unwrap();
    let buggy = "def inc(a):\n    return a - 1\n";
    let fixed = "def inc(a):\n    return a + 1\n";
    let rows = [
        pair_member("test", "bug-7", "buggy", buggy),
        pair_member("test", "bug-7", "fixed", fixed),
        pair_member(
            "test",
            "lonely",
            "buggy",
            "def lone(b):\n    return b * 3\n",
        ),
    ];
    let run = preprocess(
        dir.path(),
        "preprocess:\n  interventions: [bugfix, rename]\n",
        &rows,
    )
    .ok();
    let testbed = run.testbed();
    let bugfix = pairs(&testbed, "bugfix");
    let real: Vec<_> = bugfix
        .iter()
        .filter(|(control, _)| control.pair_id == "bug-7")
        .collect();
    assert_eq!(real.len(), 1);
    let (control, treated) = real[0];
    assert_eq!(control.code, buggy);
    assert_eq!(treated.code, fixed);
    assert_eq!(control.mutation.as_deref(), Some("real_pair"));
    assert_eq!(treated.mutation.as_deref(), Some("real_pair"));
    assert_eq!(control.snippet_id, rows[0].snippet_id);
    assert_eq!(treated.snippet_id, rows[1].snippet_id);
    // members of real bug-fix pairs get no synthetic bug; the rename intervention still applies
    assert_eq!(bugfix.len(), 1, "{bugfix:?}");
    assert_eq!(pairs(&testbed, "rename").len(), 3);
    let report = run.report();
    assert_eq!(report["testbed"]["incomplete_pairs"], 1);
    assert_eq!(
        report["interventions"]["bugfix"]["mutations"]["real_pair"],
        1
    );
}

#[test]
fn snippets_with_nothing_to_change_are_counted_not_paired() {
    let dir = tempfile::tempdir().unwrap();
    let bare = "def f():\n    return g()\n";
    let run = preprocess(dir.path(), "preprocess:\n  interventions: [comments, rename, bugfix]\n  bugfix:\n    operators: [flip_comparison]\n", &[snippet("python", "test", bare)]).ok();
    let testbed = run.testbed();
    assert_eq!(testbed.len(), 1, "only the `none` row");
    let report = run.report();
    assert_eq!(report["interventions"]["comments"]["unchanged"], 1);
    assert_eq!(report["interventions"]["rename"]["no_site"], 1);
    assert_eq!(report["interventions"]["bugfix"]["no_site"], 1);
}

#[test]
fn the_testbed_is_deterministic_given_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<snippets::Row> = (0..12)
        .map(|index| {
            snippet(
                "python",
                "test",
                &format!("def f{index}(a, b):\n    if a < b + {index}:\n        return g(a, b) * {index}\n    return a - b\n"),
            )
        })
        .collect();
    let first = preprocess(dir.path(), "preprocess:\n  seed: 1\n", &rows)
        .ok()
        .testbed();
    let again = run_in(dir.path(), "preprocess:\n  seed: 1\n")
        .ok()
        .testbed();
    assert_eq!(first, again);
    let other = run_in(dir.path(), "preprocess:\n  seed: 2\n")
        .ok()
        .testbed();
    assert_ne!(first, other);
    let sampled = run_in(
        dir.path(),
        "preprocess:\n  seed: 1\n  testbed:\n    max_snippets: 5\n",
    )
    .ok();
    let none = sampled
        .testbed()
        .into_iter()
        .filter(|row| row.intervention == "none")
        .count();
    assert_eq!(none, 5);
    assert_eq!(
        sampled.covariates().len(),
        12,
        "covariates still cover every snippet"
    );
}

#[test]
fn cyclomatic_complexity_matches_lizard_on_the_reference_fixture() {
    // expected.json was produced by scripts/reference/lizard_cyclomatic.py (lizard 1.24.3).
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lizard");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("expected.json")).unwrap())
            .unwrap();
    let mut parsers = icodegen_lang::Parsers::new();
    let mut checked = 0;
    for function in expected["functions"].as_array().unwrap() {
        let file = function["file"].as_str().unwrap();
        let language = icodegen_lang::Language::from_path(Path::new(file)).unwrap();
        let source = std::fs::read_to_string(fixtures.join(file)).unwrap();
        let start = function["start_line"].as_u64().unwrap() as usize;
        let end = function["end_line"].as_u64().unwrap() as usize;
        let lines: Vec<&str> = source
            .lines()
            .skip(start - 1)
            .take(end - start + 1)
            .collect();
        let indent = lines[0].len() - lines[0].trim_start().len();
        let code: String = lines
            .iter()
            .map(|line| format!("{}\n", line.get(indent..).unwrap_or(line.trim_start())))
            .collect();
        let snippet = icodegen_lang::Snippet::parse(&mut parsers, language, &code).unwrap();
        let ours = icodegen_preprocess::covariates::cyclomatic(&snippet);
        assert_eq!(
            ours as u64,
            function["ccn"].as_u64().unwrap(),
            "{file}:{start} {}:\n{code}",
            function["name"]
        );
        checked += 1;
    }
    assert_eq!(checked, 23);
}

#[test]
fn bad_params_are_a_usage_error_a_bad_input_fails_the_work_and_neither_leaves_output() {
    let dir = tempfile::tempdir().unwrap();
    // A missing input artifact: the work failed (exit 1), not a usage error.
    let run = run_in(dir.path(), ALL);
    assert_eq!(run.output.status.code(), Some(1));
    assert!(
        run.stderr().contains("snippets.parquet"),
        "{}",
        run.stderr()
    );

    let run = preprocess(
        dir.path(),
        "preprocess:\n  interventions: [comments, renames]\n",
        &[snippet("python", "test", TRAIN_PYTHON)],
    );
    assert_eq!(run.output.status.code(), Some(2));
    assert!(
        run.stderr().contains("did you mean `rename`?"),
        "{}",
        run.stderr()
    );

    let run = preprocess(
        dir.path(),
        ALL,
        &[snippet("cobol", "test", "DISPLAY 'HI'.")],
    );
    assert_eq!(run.output.status.code(), Some(2));
    assert!(
        run.stderr().contains("row 0") && run.stderr().contains("cobol"),
        "{}",
        run.stderr()
    );
    assert!(!dir.path().join("testbed.parquet").exists());
    assert!(!dir.path().join("covariates.parquet").exists());

    write_all(
        dir.path().join("snippets.parquet"),
        "preprocess",
        &[covariates::Row::default()],
    )
    .unwrap();
    let run = run_in(dir.path(), ALL);
    assert_eq!(run.output.status.code(), Some(2));
    assert!(
        run.stderr().contains("`covariates` artifact"),
        "{}",
        run.stderr()
    );
}

#[test]
fn cyclomatic_complexity_matches_lizard_on_real_code_of_every_language() {
    // crates/lang/tests/fixtures/reference/LANGUAGE.json: functions of real packages as ingest
    // cut them, with lizard 1.24.3's complexity of the same function in its file; made by
    // scripts/reference/languages/suite.py fixtures (the packages are in corpus.txt there).
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/lang/tests/fixtures/reference");
    let mut parsers = icodegen_lang::Parsers::new();
    for language in icodegen_lang::Language::ALL {
        let path = fixtures.join(format!("{}.json", language.name()));
        let document: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let snippets = document["snippets"].as_array().unwrap();
        assert!(snippets.len() >= 20, "{}", path.display());
        let mut disagreements = Vec::new();
        for entry in snippets {
            let code = entry["code"].as_str().unwrap();
            let snippet = icodegen_lang::Snippet::parse(&mut parsers, language, code).unwrap();
            let ours = icodegen_preprocess::covariates::cyclomatic(&snippet) as u64;
            let lizard = entry["lizard_ccn"].as_u64().unwrap();
            if ours != lizard {
                disagreements.push(format!(
                    "{}:{} ours {ours}, lizard {lizard}",
                    entry["path"].as_str().unwrap(),
                    entry["start_line"]
                ));
            }
        }
        // `known_differences` lists the sampled functions where icodegen and lizard differed
        // when the fixture was made (docs/artifacts.md says why); no other may differ.
        let known: Vec<&str> = document["known_differences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry.as_str().unwrap())
            .collect();
        let unexpected: Vec<&String> = disagreements
            .iter()
            .filter(|line| !known.iter().any(|at| line.starts_with(&format!("{at} "))))
            .collect();
        assert!(
            unexpected.is_empty(),
            "{language}: {} of {} differ from lizard:\n{}",
            unexpected.len(),
            snippets.len(),
            unexpected
                .iter()
                .map(|line| line.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// (kind, text) of every leaf of `code` within the snippet, strings split into their parts.
fn leaves_of(
    parsers: &mut icodegen_lang::Parsers,
    language: icodegen_lang::Language,
    code: &str,
) -> (Vec<(String, String)>, usize) {
    let snippet = icodegen_lang::Snippet::parse(parsers, language, code).unwrap();
    let mut leaves = Vec::new();
    snippet.walk(|node, _| {
        if node.child_count() == 0 && node.end_byte() > node.start_byte() {
            leaves.push((node.kind().to_owned(), snippet.text(node).to_owned()));
        }
        icodegen_lang::ast::Visit::Descend
    });
    (leaves, snippet.error_count())
}

#[test]
fn interventions_are_valid_on_real_code_of_every_language() {
    // The suite's intervention checks (scripts/reference/languages/suite.py), on the reference
    // fixtures' real functions: treated code parses unless the intervention breaks syntax on
    // purpose; `comments` removes comments (and Python docstrings) and nothing else; `rename`
    // changes identifiers only, one new name per old name.
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/lang/tests/fixtures/reference");
    let mut rows = Vec::new();
    for language in icodegen_lang::Language::ALL {
        let path = fixtures.join(format!("{}.json", language.name()));
        let document: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for entry in document["snippets"].as_array().unwrap() {
            rows.push(snippet(
                language.name(),
                "test",
                entry["code"].as_str().unwrap(),
            ));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let run = preprocess(
        dir.path(),
        "preprocess:\n  seed: 3\n  interventions: [comments, bugfix, rename, reformat, deadcode, syntax]\n",
        &rows,
    )
    .ok();
    let mut pairs: BTreeMap<(String, String), BTreeMap<i8, testbed::Row>> = BTreeMap::new();
    for row in run.testbed() {
        if row.intervention != "none" {
            pairs
                .entry((row.intervention.clone(), row.pair_id.clone()))
                .or_default()
                .insert(row.treatment, row);
        }
    }
    let mut parsers = icodegen_lang::Parsers::new();
    let mut checked: BTreeMap<&str, usize> = BTreeMap::new();
    for ((intervention, _), sides) in &pairs {
        let (control, treated) = (&sides[&0], &sides[&1]);
        let language = icodegen_lang::Language::from_name(&control.language).unwrap();
        let (before, before_errors) = leaves_of(&mut parsers, language, &control.code);
        let (after, after_errors) = leaves_of(&mut parsers, language, &treated.code);
        let context = format!(
            "{language} {intervention}:\n{}\n---\n{}",
            control.code, treated.code
        );
        *checked.entry(language.name()).or_default() += 1;
        if intervention == "syntax" {
            assert_ne!(before_errors == 0, after_errors == 0, "{context}");
            continue;
        }
        assert_eq!((before_errors, after_errors), (0, 0), "{context}");
        let is_comment = |kind: &str| matches!(kind, "comment" | "line_comment" | "block_comment");
        match intervention.as_str() {
            "comments" => {
                // control = stripped, treated = original.
                assert!(
                    before.iter().all(|(kind, _)| !is_comment(kind)),
                    "{context}"
                );
                let kept: Vec<&(String, String)> =
                    after.iter().filter(|(kind, _)| !is_comment(kind)).collect();
                if language == icodegen_lang::Language::Python {
                    // Docstrings go too: the stripped leaves are the original's, in order.
                    let mut rest = kept.iter();
                    for leaf in &before {
                        assert!(rest.any(|kept| *kept == leaf), "{context}");
                    }
                } else {
                    assert_eq!(kept, before.iter().collect::<Vec<_>>(), "{context}");
                }
            }
            "rename" => {
                assert_eq!(before.len(), after.len(), "{context}");
                let mut forward = BTreeMap::new();
                let mut backward = BTreeMap::new();
                for ((kind, old), (new_kind, new)) in before.iter().zip(&after) {
                    assert_eq!(kind, new_kind, "{context}");
                    if old != new {
                        assert!(
                            matches!(
                                kind.as_str(),
                                "identifier" | "name" | "field_identifier" | "property_identifier"
                            ),
                            "{kind} `{old}` renamed in {context}"
                        );
                        assert_eq!(forward.entry(old).or_insert(new), &new, "{context}");
                        assert_eq!(backward.entry(new).or_insert(old), &old, "{context}");
                    }
                }
            }
            _ => {}
        }
    }
    for language in icodegen_lang::Language::ALL {
        assert!(
            checked.get(language.name()).copied().unwrap_or(0) >= 30,
            "{language}: {checked:?}"
        );
    }
}
