//! The row explorer (`report/explorer.html`) in a browser: a synthetic study of 10 models over a
//! 2-language testbed of 5,000 rows (1,000 snippets x {original, comments control/treated,
//! bugfix control/treated}; generated tables, no training) is analysed by the built binary, and
//! headless Chromium opens the explorer through `file://` with filters, a deep link to a row and
//! a paired view in the URL fragment. The page writes what it did (rows after filtering, tokens
//! drawn, load time, errors) into `#icx-status`, which `--dump-dom` returns.
//!
//! Chromium is Debian's `chromium`; without it the browser checks are skipped with a message,
//! except under CI (`CI=true`), where they fail. `ICODEGEN_EXPLORER_KEEP=DIR` keeps the report
//! and screenshots of the explorer and of a paired view there (`docs/img/` holds the README's).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use icodegen_artifacts::schemas::{concepts, scores, tags, testbed, tokens};
use icodegen_artifacts::{content_id, write_all};

#[path = "explorer/report_page.rs"]
mod report_page;

const MODELS: usize = 10;
const SNIPPETS: usize = 1000;
const TOP_K: usize = 5;
/// Statement lines added to every snippet (13 to 14 tokens each), so that a snippet has about
/// 200 tokens, as real functions of the study do: the size bound is checked at that scale.
const BODY_LINES: usize = 12;

struct Random(u64);

impl Random {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64) / ((1u64 << 53) as f64)
    }
}

fn language(i: usize) -> &'static str {
    if i.is_multiple_of(2) {
        "python"
    } else {
        "java"
    }
}

/// Snippet `i` in its language, with or without its comment, buggy (`-` for `+`) or not.
fn code(i: usize, comment: bool, buggy: bool) -> String {
    let op = if buggy { "-" } else { "+" };
    let loops = !i.is_multiple_of(3);
    let mut text = String::new();
    if language(i) == "python" {
        text.push_str(&format!("def f{i}(x, y):\n"));
        if comment {
            text.push_str("    # add the offset, then scale\n");
        }
        text.push_str(&format!("    total = x {op} {i}\n"));
        for _ in 0..(i % 4) {
            text.push_str(&format!("    total = total * {}\n", i % 7 + 2));
        }
        for j in 0..BODY_LINES {
            text.push_str(&format!(
                "    total = (total * {} + x) % {} - y\n",
                j + 2,
                i % 5 + 3
            ));
        }
        if loops {
            text.push_str("    for k in range(y):\n        total = total + k\n");
        }
        text.push_str("    return total\n");
    } else {
        text.push_str(&format!("int f{i}(int x, int y) {{\n"));
        if comment {
            text.push_str("    // add the offset, then scale\n");
        }
        text.push_str(&format!("    int total = x {op} {i};\n"));
        for _ in 0..(i % 4) {
            text.push_str(&format!("    total = total * {};\n", i % 7 + 2));
        }
        for j in 0..BODY_LINES {
            text.push_str(&format!(
                "    total = (total * {} + x) % {} - y;\n",
                j + 2,
                i % 5 + 3
            ));
        }
        if loops {
            text.push_str("    for (int k = 0; k < y; k++) { total = total + k; }\n");
        }
        text.push_str("    return total;\n}\n");
    }
    text
}

/// (start, end, node type) of each token: words, numbers, one token per punctuation mark, one
/// per word of a comment.
fn lex(code: &str) -> Vec<(usize, usize, &'static str)> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let comment = c == b'#' || (c == b'/' && bytes.get(i + 1) == Some(&b'/'));
        if comment {
            let end = code[i..].find('\n').map_or(code.len(), |n| i + n);
            while i < end {
                let start = i;
                while i < end && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                out.push((start, i, "comment"));
                while i < end && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let node_type = match &code[start..i] {
                "def" | "for" | "in" | "return" | "int" => "keyword",
                word if word.bytes().all(|b| b.is_ascii_digit()) => "integer",
                _ => "identifier",
            };
            out.push((start, i, node_type));
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else {
            let node_type = match c {
                b'(' | b')' | b'{' | b'}' | b':' | b';' | b',' => "punctuation",
                _ => "operator",
            };
            out.push((i, i + 1, node_type));
            i += 1;
        }
    }
    out
}

fn category(node_type: &str) -> Option<&'static str> {
    match node_type {
        "punctuation" => Some("scope"),
        "identifier" | "comment" => Some("natural_language"),
        "operator" => Some("operator"),
        "keyword" => Some("keyword"),
        _ => None,
    }
}

/// What the test needs to know of the fixture to predict the explorer.
struct Fixture {
    dir: tempfile::TempDir,
    rows: Vec<testbed::Row>,
    /// model -> row_id -> cross-entropy
    losses: Vec<BTreeMap<String, f64>>,
    /// row_id -> scored tokens (every model binds the same tokens)
    scored: BTreeMap<String, usize>,
}

fn write_fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut rows = Vec::new();
    let row = |code: &str, iv: &str, i: usize, treatment: i8, mutation: Option<&str>| {
        let language = language(i);
        let mut row = testbed::Row {
            row_id: content_id(language, code),
            pair_id: content_id(iv, &i.to_string()),
            intervention: iv.to_owned(),
            treatment,
            snippet_id: content_id(language, &self::code(i, true, false)),
            language: language.to_owned(),
            code: code.to_owned(),
            mutation: mutation.map(str::to_owned),
            n_bytes: code.len() as i64,
            ..testbed::Row::default()
        };
        let mut covariates = row.covariates();
        covariates.loc = code.lines().count() as i32;
        covariates.cyclomatic = 1 + i32::from(code.contains("for"));
        covariates.n_loops = i32::from(code.contains("for"));
        covariates.ast_depth = 4 + (i % 3) as i32;
        covariates.n_ast_nodes = 2 * lex(code).len() as i32;
        row.set_covariates(&covariates);
        row
    };
    for i in 0..SNIPPETS {
        let original = code(i, true, false);
        rows.push(row(&original, "none", i, 0, None));
        rows.push(row(
            &code(i, false, false),
            "comments",
            i,
            0,
            Some("strip_comments"),
        ));
        rows.push(row(&original, "comments", i, 1, None));
        rows.push(row(
            &code(i, true, true),
            "bugfix",
            i,
            0,
            Some("swap_arithmetic"),
        ));
        rows.push(row(&original, "bugfix", i, 1, None));
    }
    write_all(root.join("testbed.parquet"), "preprocess", &rows).unwrap();
    let mut distinct = BTreeMap::new();
    for row in &rows {
        distinct
            .entry(row.row_id.clone())
            .or_insert_with(|| row.code.clone());
    }
    let mut losses = Vec::new();
    let mut scored = BTreeMap::new();
    for m in 0..MODELS {
        let model = format!("model{m:02}");
        let folder = root.join("models").join(&model);
        fs_err::create_dir_all(&folder).unwrap();
        let mut random = Random(17 + m as u64);
        let mut loss_of = BTreeMap::new();
        let (mut score_rows, mut concept_rows, mut tag_rows, mut token_rows) =
            (vec![], vec![], vec![], vec![]);
        // Rows in canonical order (by row_id), as infer and tag write them.
        for (row_id, code) in &distinct {
            let lexed = lex(code);
            let mut groups: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
            let mut sum = 0.0;
            let mut top1 = 0;
            for (position, &(start, end, node_type)) in lexed.iter().enumerate() {
                let base = match node_type {
                    "punctuation" => 0.85,
                    "keyword" => 0.7,
                    "operator" => 0.5,
                    "comment" => 0.2,
                    _ => 0.35,
                };
                let p: f64 =
                    (base - 0.02 * m as f64 + 0.2 * (random.next() - 0.5)).clamp(0.02, 0.98);
                if position == 0 {
                    continue; // never scored
                }
                sum -= p.ln();
                let rank = if p > 0.5 {
                    1
                } else {
                    2 + (random.next() * 5.0) as i32
                };
                top1 += i32::from(rank == 1);
                if let Some(category) = category(node_type) {
                    groups.entry(category).or_default().push(p);
                }
                let token_id = (code.as_bytes()[start] as i32) * 7 + (end - start) as i32;
                tag_rows.push(tags::Row {
                    model_id: model.clone(),
                    row_id: row_id.clone(),
                    position: position as i32,
                    token_id,
                    token: code[start..end].to_owned(),
                    byte_start: Some(start as i32),
                    byte_end: Some(end as i32),
                    logprob: p.ln() as f32,
                    node_type: Some(node_type.to_owned()),
                    parent_type: Some("block".to_owned()),
                    category: category(node_type).map(str::to_owned),
                    depth: Some(3),
                });
                token_rows.push(tokens::Row {
                    model_id: model.clone(),
                    row_id: row_id.clone(),
                    position: position as i32,
                    token_id,
                    token: code[start..end].to_owned(),
                    byte_start: Some(start as i32),
                    byte_end: Some(end as i32),
                    logprob: p.ln() as f32,
                    rank,
                    entropy: (1.0 + 2.0 * (1.0 - p)) as f32,
                    topk_ids: (0..TOP_K as i32).map(|k| token_id + k).collect(),
                    topk_logprobs: (0..TOP_K).map(|k| -(k as f32) - 0.1).collect(),
                });
            }
            let n_scored = lexed.len() - 1;
            scored.insert(row_id.clone(), n_scored);
            let cross_entropy = sum / n_scored as f64;
            loss_of.insert(row_id.clone(), cross_entropy);
            score_rows.push(scores::Row {
                model_id: model.clone(),
                row_id: row_id.clone(),
                n_tokens: lexed.len() as i32,
                n_scored: n_scored as i32,
                cross_entropy: Some(cross_entropy),
                perplexity: Some(cross_entropy.exp()),
                accuracy: Some(f64::from(top1) / n_scored as f64),
                skip_reason: None,
            });
            if code.contains("for") {
                groups.insert("iterative", vec![0.9]);
            }
            for (concept, values) in groups {
                let mean = values.iter().sum::<f64>() / values.len() as f64;
                concept_rows.push(concepts::Row {
                    model_id: model.clone(),
                    row_id: row_id.clone(),
                    concept_kind: "category".to_owned(),
                    concept: concept.to_owned(),
                    n_tokens: values.len() as i32,
                    mean_prob: mean,
                    median_prob: mean,
                    boot_median: mean,
                    boot_se: 0.01,
                });
            }
        }
        write_all(folder.join("scores.parquet"), "infer", &score_rows).unwrap();
        write_all(folder.join("concepts.parquet"), "tag", &concept_rows).unwrap();
        write_all(folder.join("tags.parquet"), "tag", &tag_rows).unwrap();
        write_all(folder.join("tokens.parquet"), "infer", &token_rows).unwrap();
        losses.push(loss_of);
    }
    Fixture {
        dir,
        rows,
        losses,
        scored,
    }
}

const PARAMS: &str = "\
analyze:
  seed: 7
  bootstrap:
    resamples: 50
  methods: [linear_regression]
  refuters: [placebo]
  simulations: 3
  ci_resamples: 10
";

fn chromium() -> Option<PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs Chromium for the explorer's browser test (Debian package `chromium`)"
        );
        eprintln!("skipped: Chromium is not installed (Debian package `chromium`)");
    }
    found
}

fn browser(chromium: &Path, profile: &Path) -> Command {
    let mut command = Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()));
    command
}

/// The page's `#icx-status` after Chromium has loaded `url` (and waited `budget_ms` of virtual
/// time for the scripts the page loads on demand), and the wall time of the run.
fn status(chromium: &Path, profile: &Path, url: &str, budget_ms: u32) -> (serde_json::Value, f64) {
    let started = Instant::now();
    let mut command = browser(chromium, profile);
    if budget_ms > 0 {
        command.arg(format!("--virtual-time-budget={budget_ms}"));
    }
    let output = command.arg("--dump-dom").arg(url).output().unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let start = dom
        .find("<pre id=\"icx-status\" hidden=\"\">")
        .unwrap_or_else(|| panic!("no status element in the DOM of {url}:\n{dom}"));
    let text = &dom[start..];
    let text = &text[text.find('>').unwrap() + 1..text.find("</pre>").unwrap()];
    let text = text
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let value: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("status of {url} is not JSON ({error}): {text}"));
    assert_eq!(
        value["errors"],
        serde_json::json!([]),
        "errors on {url}: {value}"
    );
    assert_eq!(value["ready"], true, "{url}: {value}");
    (value, seconds)
}

/// Runs the study of the fixture in `root` with `params` into `report`.
fn study(root: &Path, params: &str, report: &Path) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_icodegen-analyze"))
        .arg("study")
        .arg("--params")
        .arg(root.join(params))
        .arg("--testbed")
        .arg(root.join("testbed.parquet"))
        .arg("--models-dir")
        .arg(root.join("models"))
        .arg("--out")
        .arg(report)
        .env("ICODEGEN_PROGRESS", "0")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "study failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("study ({params}): {:.1} s", started.elapsed().as_secs_f64());
}

/// The explorer's row table, `explorer/index.js` without its call.
fn explorer_index(report: &Path) -> serde_json::Value {
    let text = fs_err::read_to_string(report.join("explorer/index.js")).unwrap();
    let json = text
        .trim_end()
        .strip_prefix("ICX.index(")
        .and_then(|rest| rest.strip_suffix(");"))
        .unwrap();
    serde_json::from_str(json).unwrap()
}

/// The bytes of the explorer's data files whose names start with `prefix`.
fn bytes_of(all: &[PathBuf], report: &Path, prefix: &str) -> u64 {
    all.iter()
        .filter(|path| {
            path.parent() == Some(&report.join("explorer"))
                && path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with(prefix))
        })
        .map(|path| fs_err::metadata(path).unwrap().len())
        .sum()
}

/// The explorer rows (indices into the index's rows) with tokens for model `m`.
fn rows_with_tokens(all: &[PathBuf], m: usize) -> std::collections::BTreeSet<usize> {
    let mut rows = std::collections::BTreeSet::new();
    for path in all {
        let name = path.file_name().unwrap().to_string_lossy();
        if name.starts_with(&format!("t_{m}_")) {
            for line in fs_err::read_to_string(path).unwrap().lines() {
                if let Some(rest) = line.strip_prefix('"') {
                    rows.insert(rest[..rest.find('"').unwrap()].parse().unwrap());
                }
            }
        }
    }
    rows
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs_err::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn the_explorer_of_ten_models_over_five_thousand_rows_filters_links_and_draws_tokens() {
    let fixture = write_fixture();
    let root = fixture.dir.path();
    fs_err::write(root.join("params.yaml"), PARAMS).unwrap();
    let report = root.join("report");
    study(root, "params.yaml", &report);

    // Self-contained and within its size bound.
    let mut all = Vec::new();
    files(&report, &mut all);
    let mut total = 0u64;
    let mut explorer = 0u64;
    for path in &all {
        let bytes = fs_err::read(path).unwrap();
        total += bytes.len() as u64;
        if path.starts_with(report.join("explorer")) || path.ends_with("explorer.html") {
            explorer += bytes.len() as u64;
        }
        let text = String::from_utf8_lossy(&bytes);
        // XML namespace names (the SVG charts' xmlns) identify, they are never fetched.
        let text = text
            .replace("http://www.w3.org/2000/svg", "")
            .replace("http://www.w3.org/1999/xlink", "");
        for scheme in ["http://", "https://"] {
            assert!(
                !text.contains(scheme),
                "{} names a network URL ({scheme})",
                path.display()
            );
        }
    }
    eprintln!(
        "report: {} files, {:.1} MB ({:.1} MB explorer)",
        all.len(),
        total as f64 / 1e6,
        explorer as f64 / 1e6
    );
    eprintln!(
        "explorer data: tokens {:.1} MB, layouts {:.1} MB, top-k {:.1} MB, top-k vocabularies {:.2} MB, code {:.1} MB",
        bytes_of(&all, &report, "t_") as f64 / 1e6,
        bytes_of(&all, &report, "l_") as f64 / 1e6,
        bytes_of(&all, &report, "k_") as f64 / 1e6,
        bytes_of(&all, &report, "v_") as f64 / 1e6,
        bytes_of(&all, &report, "c_") as f64 / 1e6,
    );
    assert!(total < 100_000_000, "the report is {total} bytes");
    // Within the default bound of 100 MB nothing is left out: every model's top-k is there.
    let table = explorer_index(&report);
    assert_eq!(table["bound"]["topk_dropped"], false, "{}", table["bound"]);
    assert_eq!(table["bound"]["sampled"], serde_json::Value::Null);
    for model in table["models"].as_array().unwrap() {
        assert_eq!(model["topk"], true, "{model}");
    }
    assert!(bytes_of(&all, &report, "k_") > 0, "top-k files are written");
    bound_note(&report, "all token views kept");
    // Every model of the fixture tokenizes a row alike: one layout per row, shared.
    let mut layouts = 0;
    for path in &all {
        let name = path.file_name().unwrap().to_string_lossy();
        if name.starts_with("l_") {
            for line in fs_err::read_to_string(path).unwrap().lines() {
                if line.starts_with('"') {
                    let entries = &line[line.find(":[").unwrap() + 2..line.len() - 2];
                    assert!(!entries.contains(','), "one layout: {line}");
                    layouts += 1;
                }
            }
        }
    }
    assert_eq!(layouts, fixture.scored.len());
    assert!(
        fs_err::read_to_string(report.join("index.html"))
            .unwrap()
            .contains("<a href=\"explorer.html\">Row explorer</a>"),
        "the report's navigation links the explorer"
    );
    report_page::many_models_and_languages(&report);
    let index = fs_err::metadata(report.join("explorer/index.js"))
        .unwrap()
        .len();
    eprintln!(
        "explorer/index.js (all the page loads at first): {:.2} MB",
        index as f64 / 1e6
    );
    assert!(index < 5_000_000, "the row table is {index} bytes");
    let token_files = all
        .iter()
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("t_"))
        })
        .count();
    assert_eq!(token_files, MODELS * fixture.scored.len().div_ceil(100));

    let chromium = chromium();
    bounded(&fixture, chromium.as_deref());
    let Some(chromium) = chromium else {
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let page = format!("file://{}", report.join("explorer.html").display());

    // Filters: one model, one intervention, one language.
    let (value, seconds) = status(
        &chromium,
        profile.path(),
        &format!("{page}#model=model03&iv=comments&lang=java&test=1"),
        0,
    );
    let java_comments = fixture
        .rows
        .iter()
        .filter(|row| row.intervention == "comments" && row.language == "java")
        .count();
    assert_eq!(value["count"], java_comments, "{value}");
    assert_eq!(value["csvLines"], java_comments, "CSV export: {value}");
    assert_eq!(value["models"], MODELS);
    let load_ms = value["loadMs"].as_f64().unwrap();
    eprintln!("explorer opened in {load_ms} ms (browser clock; chromium run {seconds:.2} s)");
    assert!(load_ms < 2000.0, "the explorer took {load_ms} ms to open");

    // The loss range, over every model.
    let (low, high) = (1.0, 1.2);
    let expected = fixture
        .losses
        .iter()
        .map(|losses| {
            fixture
                .rows
                .iter()
                .filter(|row| {
                    let loss = (losses[&row.row_id] * 1e4).round() / 1e4;
                    (low..=high).contains(&loss)
                })
                .count()
        })
        .sum::<usize>();
    let (value, _) = status(
        &chromium,
        profile.path(),
        &format!("{page}#lossmin={low}&lossmax={high}&sort=loss&desc=1"),
        0,
    );
    assert_eq!(value["count"], expected, "{value}");

    // Search in the code text (loads every code block on demand) and by row id.
    let (value, _) = status(
        &chromium,
        profile.path(),
        &format!("{page}#q=f123(&model=model00"),
        10_000,
    );
    let f123 = fixture
        .rows
        .iter()
        .filter(|row| row.code.contains("f123("))
        .count();
    assert_eq!(value["count"], f123, "{value}");
    let target = &fixture.rows[5 * 77 + 3]; // bugfix control of snippet 77
    let (value, _) = status(
        &chromium,
        profile.path(),
        &format!("{page}#q={}", &target.row_id[..16]),
        0,
    );
    let same_code = fixture
        .rows
        .iter()
        .filter(|row| row.row_id == target.row_id)
        .count();
    assert_eq!(value["count"], same_code * MODELS, "{value}");

    // A deep link opens its row and draws every scored token.
    let (value, _) = status(
        &chromium,
        profile.path(),
        &format!("{page}#row={}&m=model02&test=1", target.row_id),
        10_000,
    );
    assert_eq!(value["view"], "row", "{value}");
    assert_eq!(value["openRow"], target.row_id.as_str());
    assert_eq!(value["openModel"], "model02");
    assert_eq!(
        value["rowTokens"], fixture.scored[&target.row_id],
        "{value}"
    );
    // Hovering a token shows its probability, rank, entropy, top-k, node type and category.
    let tip = value["tip"].as_str().unwrap_or_default();
    for needle in [
        "p = ",
        "rank ",
        "entropy ",
        "top-3: ",
        "node type: ",
        "category: ",
    ] {
        assert!(
            tip.contains(needle),
            "`{needle}` missing from the tooltip: {tip}"
        );
    }

    // The paired view of a comments pair: the control (comment stripped) is the treated code
    // less the comment, so every control token is shared.
    let control = &fixture.rows[5 * 42 + 1];
    let (value, _) = status(
        &chromium,
        profile.path(),
        &format!("{page}#pair=comments:{}&m=model05&test=1", control.pair_id),
        10_000,
    );
    assert_eq!(value["view"], "pair", "{value}");
    assert_eq!(value["openModel"], "model05");
    assert_eq!(
        value["pairTokens"], fixture.scored[&control.row_id],
        "{value}"
    );
    let tip = value["tip"].as_str().unwrap_or_default();
    assert!(tip.contains("Δ ln p (treated − control) = "), "{tip}");

    if let Some(keep) = std::env::var_os("ICODEGEN_EXPLORER_KEEP") {
        let keep = PathBuf::from(keep);
        fs_err::create_dir_all(&keep).unwrap();
        for file in ["index.html", "summary.md"] {
            fs_err::copy(report.join(file), keep.join(file)).unwrap();
        }
        let shots = [
            (
                "explorer.png",
                format!(
                    "{page}#lang=python&sort=loss&desc=1&row={}&m=model00",
                    fixture.rows[5 * 40].row_id
                ),
            ),
            (
                "paired.png",
                format!("{page}#pair=comments:{}&m=model05", control.pair_id),
            ),
        ];
        for (name, url) in shots {
            let output = browser(&chromium, profile.path())
                .args(["--window-size=1400,900", "--virtual-time-budget=10000"])
                .arg(format!("--screenshot={}", keep.join(name).display()))
                .arg(url)
                .output()
                .unwrap();
            assert!(output.status.success());
        }
    }
}

/// `study.json`'s record of the explorer's size bound, after checking that its note is
/// `expected` (unless empty) and that `index.html` (next to the explorer link) and `summary.md`
/// say it.
fn bound_note(report: &Path, expected: &str) -> serde_json::Value {
    let manifest: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(report.join("study.json")).unwrap()).unwrap();
    let note = manifest["explorer"]["note"].as_str().unwrap().to_owned();
    if !expected.is_empty() {
        assert_eq!(note, expected);
    }
    let html = fs_err::read_to_string(report.join("index.html")).unwrap();
    assert!(
        html.contains(&format!(
            "<a href=\"explorer.html\">Row explorer</a><span class=\"bound\">({note})</span>"
        )),
        "index.html states the bound next to the explorer link: {note}"
    );
    let summary = fs_err::read_to_string(report.join("summary.md")).unwrap();
    assert!(
        summary.contains(&format!("Row explorer (`explorer.html`): {note}.")),
        "summary.md states the bound: {note}"
    );
    manifest
}

/// The size bound (`report_max_mb`) on the same fixture with a bound of 30 MB: top-k is dropped,
/// then the token views of a deterministic sample of snippets are kept, pairs whole, and the
/// explorer says so for a row left out.
fn bounded(fixture: &Fixture, chromium: Option<&Path>) {
    let root = fixture.dir.path();
    fs_err::write(
        root.join("bounded.yaml"),
        format!("{PARAMS}  report_max_mb: 30\n"),
    )
    .unwrap();
    let report = root.join("bounded");
    study(root, "bounded.yaml", &report);
    let mut all = Vec::new();
    files(&report, &mut all);
    let total: u64 = all
        .iter()
        .map(|path| fs_err::metadata(path).unwrap().len())
        .sum();
    eprintln!("bounded report: {:.1} MB", total as f64 / 1e6);
    assert!(total <= 30_000_000, "the bounded report is {total} bytes");
    let table = explorer_index(&report);
    let bound = &table["bound"];
    assert_eq!(bound["topk_dropped"], true, "{bound}");
    let sampled = bound["sampled"].as_f64().unwrap();
    assert!(sampled > 0.0 && sampled < 1.0, "{bound}");
    assert_eq!(
        bytes_of(&all, &report, "k_") + bytes_of(&all, &report, "v_"),
        0
    );
    let warnings = table["warnings"].to_string();
    assert!(warnings.contains("report_max_mb"), "{warnings}");
    let manifest = bound_note(&report, "");
    let explorer = &manifest["explorer"];
    let (snippets, kept_snippets) = (
        explorer["snippets"].as_u64().unwrap(),
        explorer["kept_snippets"].as_u64().unwrap(),
    );
    assert_eq!(explorer["topk_dropped"], true, "{explorer}");
    assert_eq!(explorer["sampled"], bound["sampled"], "{explorer}");
    assert!(kept_snippets > 0 && kept_snippets < snippets, "{explorer}");
    assert!(
        (kept_snippets as f64 / snippets as f64 - sampled).abs() < 0.05,
        "{explorer}"
    );
    bound_note(
        &report,
        &format!(
            "token views kept for {kept_snippets} of {snippets} snippets; top-k dropped to stay under 30 MB"
        ),
    );
    // The same rows keep their tokens in every model, pairs whole; the row table lists all.
    let ids: Vec<&str> = table["rows"]["id"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), fixture.scored.len());
    let kept = rows_with_tokens(&all, 0);
    for m in 1..MODELS {
        assert_eq!(rows_with_tokens(&all, m), kept, "model {m}");
    }
    let share = kept.len() as f64 / ids.len() as f64;
    assert!(
        share > 0.2 && share < 0.9,
        "{} of {} rows kept",
        kept.len(),
        ids.len()
    );
    let has_tokens =
        |row_id: &str| kept.contains(&ids.iter().position(|id| *id == row_id).unwrap());
    let mut pairs: BTreeMap<(&str, &str), Vec<bool>> = BTreeMap::new();
    for row in fixture.rows.iter().filter(|row| row.intervention != "none") {
        pairs
            .entry((row.intervention.as_str(), row.pair_id.as_str()))
            .or_default()
            .push(has_tokens(&row.row_id));
    }
    for (pair, arms) in &pairs {
        assert!(
            arms.iter().all(|&kept| kept == arms[0]),
            "{pair:?}: {arms:?}"
        );
    }
    let Some(chromium) = chromium else {
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let page = format!("file://{}", report.join("explorer.html").display());
    let out = ids
        .iter()
        .enumerate()
        .find(|(row, _)| !kept.contains(row))
        .map(|(_, id)| *id)
        .unwrap();
    let (value, _) = status(
        chromium,
        profile.path(),
        &format!("{page}#row={out}&m=model01&test=1"),
        10_000,
    );
    assert_eq!(value["rowTokens"], 0, "{value}");
    let missing = value["missing"].as_str().unwrap_or_default();
    assert!(missing.contains("size bound"), "{value}");
    let inside = ids[*kept.iter().next().unwrap()];
    let (value, _) = status(
        chromium,
        profile.path(),
        &format!("{page}#row={inside}&m=model01&test=1"),
        10_000,
    );
    assert_eq!(value["rowTokens"], fixture.scored[inside], "{value}");
    let tip = value["tip"].as_str().unwrap_or_default();
    assert!(tip.contains("rank ") && !tip.contains("top-3"), "{tip}");
}
