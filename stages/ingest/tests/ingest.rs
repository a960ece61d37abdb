//! `icodegen-ingest` driven as a user would: params file, inputs, outputs, exit code, report.
//! Fixtures are written by the tests into temporary directories.
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use icodegen_artifacts::read_all;
use icodegen_artifacts::schemas::snippets::Row;
use serde_json::Value;

struct Run {
    output: Output,
    dir: PathBuf,
}

impl Run {
    fn ok(self) -> Self {
        assert!(
            self.output.status.success(),
            "ingest failed: {}",
            String::from_utf8_lossy(&self.output.stderr)
        );
        self
    }

    fn rows(&self) -> Vec<Row> {
        read_all::<Row>(self.dir.join("snippets.parquet")).unwrap()
    }

    fn report(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.join("report.json")).unwrap())
            .unwrap()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
}

/// Writes `params` to `dir/params.yaml` and runs ingest from `dir`.
fn ingest(dir: &Path, params: &str) -> Run {
    std::fs::write(dir.join("params.yaml"), params).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_icodegen-ingest"))
        .current_dir(dir)
        .args([
            "--params",
            "params.yaml",
            "--out",
            "snippets.parquet",
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

fn write(path: &Path, contents: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// Every row carries the covariates of its code parsed alone (what preprocess used to compute).
fn assert_covariates_of_the_code(rows: &[Row]) {
    let mut parsers = icodegen_lang::Parsers::new();
    for row in rows {
        let language = icodegen_lang::Language::from_name(&row.language).unwrap();
        let snippet = icodegen_lang::Snippet::parse(&mut parsers, language, &row.code).unwrap();
        let expected = icodegen_lang::covariates::covariates(&snippet);
        assert_eq!(row.covariates(), expected, "{}", row.code);
        assert!(expected.n_ast_nodes > 0 && expected.cyclomatic >= 1);
    }
}

fn skipped(report: &Value, reason: &str) -> u64 {
    report["skipped"][reason]["count"].as_u64().unwrap_or(0)
}

fn examples(report: &Value, reason: &str) -> Vec<String> {
    report["skipped"][reason]["examples"]
        .as_array()
        .map(|examples| {
            examples
                .iter()
                .map(|e| e.as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn assert_counts_add_up(report: &Value) {
    let rows = &report["rows"];
    assert_eq!(
        rows["read"].as_u64().unwrap(),
        rows["kept"].as_u64().unwrap() + rows["skipped"].as_u64().unwrap(),
        "{report:#}"
    );
    let by_reason: u64 = report["skipped"]
        .as_object()
        .unwrap()
        .values()
        .filter(|entry| entry["unit"] == "row")
        .map(|entry| entry["count"].as_u64().unwrap())
        .sum();
    assert_eq!(by_reason, rows["skipped"].as_u64().unwrap());
}

const PYTHON_FILE: &str = "import os\n\n\ndef add(a, b):\n    \"\"\"Add two numbers.\"\"\"\n    return a + b\n\n\nclass Greeter:\n    @staticmethod\n    def greet(name):\n        if name:\n            return 'hi ' + name\n        return 'hi'\n";

fn csn_row(code: &str, language: &str, partition: &str, name: &str) -> String {
    serde_json::json!({
        "repo": "octo/demo",
        "path": "src/demo.py",
        "func_name": name,
        "original_string": code,
        "language": language,
        "code": code,
        "code_tokens": [],
        "docstring": "Docs.",
        "docstring_tokens": [],
        "url": "https://github.com/octo/demo/blob/abc/src/demo.py#L10-L12",
        "partition": partition,
    })
    .to_string()
}

#[test]
fn codesearchnet_jsonl_and_gzipped_jsonl_rows_keep_their_partition() {
    let dir = tempfile::tempdir().unwrap();
    let plain = [
        csn_row("def one(x):\n    return x + 1\n", "python", "train", "one"),
        csn_row("def two(x):\n    return x * 2\n", "python", "test", "two"),
    ]
    .join("\n");
    write(&dir.path().join("csn/python_train_0.jsonl"), plain);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let java = csn_row(
        "int three(int x) {\n  return x - 3;\n}",
        "java",
        "valid",
        "Demo.three",
    );
    encoder.write_all(java.as_bytes()).unwrap();
    write(
        &dir.path().join("csn/java_valid_0.jsonl.gz"),
        encoder.finish().unwrap(),
    );

    let run = ingest(
        dir.path(),
        "ingest:\n  sources:\n    - kind: codesearchnet\n      path: csn\n",
    )
    .ok();
    let rows = run.rows();
    let summary: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|row| {
            (
                row.name.as_deref().unwrap(),
                row.language.as_str(),
                row.split.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("Demo.three", "java", "valid"),
            ("one", "python", "train"),
            ("two", "python", "test")
        ]
    );
    let one = &rows[1];
    assert_eq!(one.source, "codesearchnet");
    assert_eq!(one.repo.as_deref(), Some("octo/demo"));
    assert_eq!(one.docstring.as_deref(), Some("Docs."));
    assert_eq!((one.start_line, one.end_line), (Some(10), Some(12)));
    assert_eq!(
        one.snippet_id,
        icodegen_artifacts::content_id("python", &one.code)
    );
    assert_eq!(one.n_bytes, one.code.len() as i64);
    assert_eq!(run.report()["files"]["read"], 2);
}

#[test]
fn malformed_lines_invalid_utf8_and_rows_without_code_are_skipped_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = csn_row(
        "def good(x):\n    return x + 1\n",
        "python",
        "train",
        "good",
    );
    let missing_code =
        serde_json::json!({"language": "python", "func_name": "nocode", "partition": "train"})
            .to_string();
    let broken_code = csn_row(
        "def broken(x:\n    return (x\n",
        "python",
        "train",
        "broken",
    );
    let unknown = csn_row(
        "      PROGRAM HELLO\n      END\n",
        "fortran",
        "train",
        "hello",
    );
    let mut lines: Vec<u8> = Vec::new();
    lines.extend_from_slice(good.as_bytes());
    lines.extend_from_slice(b"\n{\"code\": \"def f(\n");
    lines.extend_from_slice(b"{\"code\": \"\xff\xfe\", \"language\": \"python\"}\n");
    lines.extend_from_slice(missing_code.as_bytes());
    lines.push(b'\n');
    lines.extend_from_slice(broken_code.as_bytes());
    lines.push(b'\n');
    lines.extend_from_slice(unknown.as_bytes());
    lines.extend_from_slice(b"\n\n[1, 2]\n");
    write(&dir.path().join("rows.jsonl"), lines);

    let run = ingest(
        dir.path(),
        "ingest:\n  sources:\n    - kind: codesearchnet\n      path: rows.jsonl\n",
    )
    .ok();
    let rows = run.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].name.as_deref(), Some("good"));
    let report = run.report();
    assert_eq!(skipped(&report, "malformed_json"), 2);
    assert!(
        examples(&report, "malformed_json")[0].starts_with("rows.jsonl:2:"),
        "{report:#}"
    );
    assert!(
        examples(&report, "malformed_json")[1].starts_with("rows.jsonl:8:"),
        "{report:#}"
    );
    assert_eq!(examples(&report, "invalid_utf8"), ["rows.jsonl:3"]);
    assert_eq!(skipped(&report, "missing_code"), 1);
    assert!(examples(&report, "missing_code")[0].starts_with("rows.jsonl:4"));
    assert_eq!(examples(&report, "parse_error"), ["rows.jsonl:5"]);
    assert_eq!(skipped(&report, "unknown_language"), 1);
    assert_eq!(report["rows"]["read"], 7);
    assert_counts_add_up(&report);
}

#[test]
fn a_source_tree_yields_one_snippet_per_function_in_every_language() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("project");
    write(&tree.join("pkg/mod.py"), PYTHON_FILE);
    write(
        &tree.join("src/Demo.java"),
        "class Demo {\n  /** Builds a demo. */\n  Demo() { this.x = 1; }\n  int twice(int y) { return y * 2; }\n}\n",
    );
    write(
        &tree.join("web/app.js"),
        "function a() { return 1; }\nconst b = (x) => x + 1;\n",
    );
    write(
        &tree.join("go/m.go"),
        "package m\n\nfunc Add(a, b int) int {\n\treturn a + b\n}\n",
    );
    write(&tree.join("rb/m.rb"), "def hello(name)\n  puts name\nend\n");
    write(
        &tree.join("php/m.php"),
        "<?php\nfunction hello($name) {\n  echo $name;\n}\n",
    );
    write(&tree.join("README.md"), "# not code\n");
    write(
        &tree.join(".git/objects/x.py"),
        "def hidden():\n    return 1\n",
    );

    let run = ingest(
        dir.path(),
        "ingest:\n  sources:\n    - kind: tree\n      path: project\n",
    )
    .ok();
    let rows = run.rows();
    let mut names: Vec<(String, String)> = rows
        .iter()
        .map(|row| (row.language.clone(), row.name.clone().unwrap()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("go", "Add"),
            ("java", "Demo.Demo"),
            ("java", "Demo.twice"),
            ("javascript", "a"),
            ("javascript", "b"),
            ("php", "hello"),
            ("python", "Greeter.greet"),
            ("python", "add"),
            ("ruby", "hello"),
        ]
        .map(|(language, name)| (language.to_owned(), name.to_owned()))
    );
    let greet = rows
        .iter()
        .find(|row| row.name.as_deref() == Some("Greeter.greet"))
        .unwrap();
    assert_eq!(greet.path.as_deref(), Some("pkg/mod.py"));
    assert_eq!(greet.repo.as_deref(), Some("project"));
    assert_eq!((greet.start_line, greet.end_line), (Some(10), Some(14)));
    assert!(
        greet
            .code
            .starts_with("@staticmethod\ndef greet(name):\n    if name:"),
        "{}",
        greet.code
    );
    let add = rows
        .iter()
        .find(|row| row.name.as_deref() == Some("add"))
        .unwrap();
    assert_eq!(add.docstring.as_deref(), Some("Add two numbers."));
    let constructor = rows
        .iter()
        .find(|row| row.name.as_deref() == Some("Demo.Demo"))
        .unwrap();
    assert_eq!(constructor.docstring.as_deref(), Some("Builds a demo."));
    assert!(rows.iter().all(|row| row.source == "tree"));
    assert_eq!(run.report()["files"]["read"], 6);
    assert_covariates_of_the_code(&rows);
    assert_eq!(greet.covariates().cyclomatic, 2);
}

#[test]
fn bad_files_in_a_tree_are_skipped_with_a_reason_and_the_good_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    write(&tree.join("good.py"), "def good(x):\n    return x + 1\n");
    write(
        &tree.join("binary.py"),
        b"def f():\n\x00\x01\x02 return 1\n",
    );
    write(
        &tree.join("latin1.py"),
        b"def f():\n    return '\xe9t\xe9'\n",
    );
    write(&tree.join("empty.py"), "");
    write(
        &tree.join("huge.py"),
        format!("x = [{}]\n", "1, ".repeat((10 << 20) / 3)),
    );
    write(
        &tree.join("broken.py"),
        "def broken(x):\n    return x +\n\n\ndef fine(y):\n    return y * 2\n",
    );
    std::os::unix::fs::symlink(".", tree.join("loop")).unwrap();

    let run = ingest(
        dir.path(),
        "ingest:\n  sources:\n    - kind: tree\n      path: tree\n",
    )
    .ok();
    let mut names: Vec<String> = run
        .rows()
        .into_iter()
        .map(|row| row.name.unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["fine", "good"]);
    let report = run.report();
    assert_eq!(skipped(&report, "binary_file"), 1, "{report:#}");
    assert!(examples(&report, "binary_file")[0].ends_with("binary.py"));
    assert_eq!(skipped(&report, "invalid_utf8_file"), 1);
    assert_eq!(skipped(&report, "empty_file"), 1);
    assert_eq!(skipped(&report, "file_too_large"), 1);
    assert!(examples(&report, "file_too_large")[0].contains("huge.py"));
    assert!(skipped(&report, "parse_error") >= 1);
    assert!(
        examples(&report, "parse_error")[0].ends_with("broken.py:1"),
        "{report:#}"
    );
    assert_eq!(skipped(&report, "symlink_loop"), 1);
    assert!(examples(&report, "symlink_loop")[0].contains("loop"));
    assert_counts_add_up(&report);
}

fn tar_gz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    for (name, contents) in entries {
        let mut header = tar::Header::new_gnu();
        // Written raw: `set_path` refuses `..`, which is exactly what this fixture needs.
        let bytes = name.as_bytes();
        header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, *contents).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

fn zip_file(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, contents) in entries {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(contents).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn sdist_archives_are_read_and_path_traversal_members_refused() {
    let dir = tempfile::tempdir().unwrap();
    let module = b"def area(w, h):\n    return w * h\n".as_slice();
    let evil = b"def evil():\n    return 666\n".as_slice();
    write(
        &dir.path().join("sdists/demo-1.0.tar.gz"),
        tar_gz(&[
            ("demo-1.0/demo/geometry.py", module),
            ("../evil.py", evil),
            ("demo-1.0/setup.cfg", b"[x]"),
        ]),
    );
    write(
        &dir.path().join("sdists/other-2.0.zip"),
        zip_file(&[
            ("other-2.0/other/util.py", b"def util(x):\n    return -x\n"),
            ("../../evil2.py", evil),
        ]),
    );
    write(&dir.path().join("sdists/notes.txt"), "ignored");

    let run = ingest(
        dir.path(),
        "ingest:\n  sources:\n    - kind: archive\n      path: sdists\n",
    )
    .ok();
    let rows = run.rows();
    let found: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|row| {
            (
                row.repo.as_deref().unwrap(),
                row.path.as_deref().unwrap(),
                row.name.as_deref().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("demo-1.0", "demo-1.0/demo/geometry.py", "area"),
            ("other-2.0", "other-2.0/other/util.py", "util")
        ]
    );
    assert!(rows.iter().all(|row| row.source == "archive"));
    let report = run.report();
    assert_eq!(skipped(&report, "unsafe_archive_path"), 2, "{report:#}");
    let refused = examples(&report, "unsafe_archive_path");
    assert!(
        refused[0].ends_with("demo-1.0.tar.gz!/../evil.py"),
        "{refused:?}"
    );
    assert!(
        refused[1].ends_with("other-2.0.zip!/../../evil2.py"),
        "{refused:?}"
    );
    assert!(
        !dir.path().join("evil.py").exists()
            && !dir.path().parent().unwrap().join("evil.py").exists()
    );
}

#[test]
fn a_corrupt_archive_is_skipped_and_the_others_are_read() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("a/broken-1.0.tar.gz"),
        b"\x1f\x8b\x08\x00garbage",
    );
    write(
        &dir.path().join("a/fine-1.0.tar.gz"),
        tar_gz(&[("fine-1.0/f.py", b"def fine(a):\n    return a or 1\n")]),
    );
    let run = ingest(
        dir.path(),
        "ingest:\n  sources:\n    - kind: archive\n      path: a\n",
    )
    .ok();
    assert_eq!(run.rows().len(), 1);
    let report = run.report();
    assert_eq!(skipped(&report, "unreadable_file"), 1, "{report:#}");
    assert!(examples(&report, "unreadable_file")[0].contains("broken-1.0.tar.gz"));
}

fn parquet_file(path: &Path, columns: Vec<(&str, Vec<Option<&str>>)>) {
    use arrow::array::{ArrayRef, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, _)| Field::new(*name, DataType::Utf8, true))
        .collect();
    let arrays: Vec<ArrayRef> = columns
        .into_iter()
        .map(|(_, values)| Arc::new(StringArray::from(values)) as ArrayRef)
        .collect();
    let batch =
        arrow::record_batch::RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

#[test]
fn paired_jsonl_and_parquet_rows_stay_together_in_one_split() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = [
        serde_json::json!({"id": "bug-1", "buggy": "def f(a):\n    return a - 1\n", "fixed": "def f(a):\n    return a + 1\n"}),
        serde_json::json!({"id": "bug-2", "buggy": "def g(a):\n    return a < 0\n", "fixed": "def g(a):\n    return a <= 0\n"}),
        serde_json::json!({"id": "same", "buggy": "def h():\n    return 1\n", "fixed": "def h():\n    return 1\n"}),
        serde_json::json!({"id": "half", "buggy": "def k():\n    return 2\n"}),
    ];
    let text: Vec<String> = pairs.iter().map(Value::to_string).collect();
    write(&dir.path().join("bugs.jsonl"), text.join("\n"));
    parquet_file(
        &dir.path().join("clones.parquet"),
        vec![
            (
                "function_1",
                vec![Some("int a(int x) {\n  return x + 1;\n}")],
            ),
            (
                "function_2",
                vec![Some("int b(int y) {\n  int z = y;\n  return z + 1;\n}")],
            ),
        ],
    );
    let params = "ingest:\n  sources:\n    - kind: pairs\n      path: bugs.jsonl\n      columns: [buggy, fixed]\n      language: python\n      pair_id_column: id\n    - kind: pairs\n      path: clones.parquet\n      columns: [function_1, function_2]\n      language: java\n";
    let run = ingest(dir.path(), params).ok();
    let rows = run.rows();
    assert_eq!(rows.len(), 6);
    for pair in rows.chunks(2) {
        assert_eq!(pair[0].pair_id, pair[1].pair_id);
        assert_eq!(pair[0].split, pair[1].split);
        assert_ne!(pair[0].snippet_id, pair[1].snippet_id);
        assert_eq!(pair[0].source, "pairs");
    }
    assert_eq!(rows[0].pair_id.as_deref(), Some("bug-1"));
    assert_eq!(rows[0].pair_role.as_deref(), Some("buggy"));
    assert_eq!(rows[1].pair_role.as_deref(), Some("fixed"));
    assert_eq!(rows[4].pair_role.as_deref(), Some("function_1"));
    assert_eq!(rows[4].language, "java");
    assert_eq!(rows[4].pair_id.as_ref().unwrap().len(), 64);
    assert_covariates_of_the_code(&rows);
    let report = run.report();
    assert_eq!(skipped(&report, "identical_pair"), 2);
    assert_eq!(skipped(&report, "missing_code"), 2);
    assert_counts_add_up(&report);
}

#[test]
fn parquet_with_a_code_column_is_read_like_a_hugging_face_dataset() {
    let dir = tempfile::tempdir().unwrap();
    parquet_file(
        &dir.path().join("hf/train-00000.parquet"),
        vec![
            (
                "whole_func_string",
                vec![
                    Some("def a(x):\n    return x\n"),
                    None,
                    Some("function b() { return 2; }"),
                ],
            ),
            (
                "language",
                vec![Some("python"), Some("python"), Some("javascript")],
            ),
            ("func_name", vec![Some("a"), Some("nothing"), Some("b")]),
            (
                "split_name",
                vec![Some("test"), Some("test"), Some("validation")],
            ),
        ],
    );
    let params = "ingest:\n  sources:\n    - kind: parquet\n      path: hf\n      code_column: whole_func_string\n      language_column: language\n      name_column: func_name\n      split_column: split_name\n";
    let run = ingest(dir.path(), params).ok();
    let rows = run.rows();
    let summary: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|row| {
            (
                row.name.as_deref().unwrap(),
                row.language.as_str(),
                row.split.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [("a", "python", "test"), ("b", "javascript", "valid")]
    );
    assert!(rows.iter().all(|row| row.source == "parquet"));
    let report = run.report();
    assert_eq!(examples(&report, "missing_code").len(), 1);
    assert!(examples(&report, "missing_code")[0].contains("train-00000.parquet:row 2"));

    let wrong = "ingest:\n  sources:\n    - kind: parquet\n      path: hf\n      code_column: content\n      language: python\n";
    let run = ingest(dir.path(), wrong);
    assert_eq!(run.output.status.code(), Some(2), "{}", run.stderr());
    assert!(
        run.stderr().contains("no column `content`"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("whole_func_string"),
        "{}",
        run.stderr()
    );
    // A mistyped column gets the nearest one as a hint.
    let typo = wrong.replace("code_column: content", "code_column: whole_func_strin");
    let run = ingest(dir.path(), &typo);
    assert_eq!(run.output.status.code(), Some(2), "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("no column `whole_func_strin`; did you mean `whole_func_string`?"),
        "{}",
        run.stderr()
    );
}

#[test]
fn exact_duplicates_and_cross_split_near_duplicates_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let long = "def total(values):\n    result = 0\n    for value in values:\n        if value > 0:\n            result += value * 2\n        else:\n            result -= value\n    print('done', result)\n    return result\n";
    write(&dir.path().join("train/a.py"), long);
    write(&dir.path().join("train/copy.py"), long);
    write(
        &dir.path().join("test/b.py"),
        long.replace("'done'", "'finished'"),
    );
    write(
        &dir.path().join("test/c.py"),
        "def unrelated(text):\n    return json.loads(text.strip())['items'][0]\n",
    );
    let params = "ingest:\n  sources:\n    - kind: tree\n      path: train\n      split: train\n    - kind: tree\n      path: test\n      split: test\n";
    let run = ingest(dir.path(), params).ok();
    let rows = run.rows();
    let names: Vec<(&str, &str)> = rows
        .iter()
        .map(|row| (row.path.as_deref().unwrap(), row.split.as_str()))
        .collect();
    assert_eq!(names, [("a.py", "train"), ("c.py", "test")]);
    let report = run.report();
    assert_eq!(skipped(&report, "exact_duplicate"), 1);
    assert_eq!(skipped(&report, "near_duplicate"), 1);
    assert!(examples(&report, "near_duplicate")[0].contains("b.py:1"));

    let disabled = format!("{params}  near_duplicates:\n    enabled: false\n");
    let run = ingest(dir.path(), &disabled).ok();
    assert_eq!(run.rows().len(), 3);
}

#[test]
fn the_output_is_deterministic_and_the_split_follows_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let mut source = String::new();
    for index in 0..60 {
        source.push_str(&format!(
            "def f{index}(x):\n    return x * {index} + {}\n\n",
            index * 7
        ));
    }
    write(&dir.path().join("t/many.py"), &source);
    let params = |seed: u64| {
        format!(
            "ingest:\n  seed: {seed}\n  splits: {{train: 0.5, valid: 0.25, test: 0.25}}\n  near_duplicates:\n    enabled: false\n  sources:\n    - kind: tree\n      path: t\n"
        )
    };
    let first = ingest(dir.path(), &params(1)).ok().rows();
    let again = ingest(dir.path(), &params(1)).ok().rows();
    assert_eq!(first, again);
    assert_eq!(first.len(), 60);
    for split in ["train", "valid", "test"] {
        assert!(
            first.iter().any(|row| row.split == split),
            "no {split} rows"
        );
    }
    let other = ingest(dir.path(), &params(2)).ok().rows();
    let moved = first
        .iter()
        .zip(&other)
        .filter(|(a, b)| a.split != b.split)
        .count();
    assert!(moved > 0);
}

#[test]
fn a_missing_source_path_is_a_usage_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = ingest(
        dir.path(),
        "ingest:\n  sources:\n    - kind: tree\n      path: nowhere\n",
    );
    assert_eq!(run.output.status.code(), Some(2));
    assert!(run.stderr().contains("`nowhere`"), "{}", run.stderr());
    assert!(!dir.path().join("snippets.parquet").exists());
}

#[test]
fn a_params_typo_is_a_usage_error_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("t/a.py"), "def f():\n    return 1\n");
    let run = ingest(
        dir.path(),
        "ingest:\n  sources:\n    - kind: tree\n      path: t\n  filters:\n    max_byte: 10\n",
    );
    assert_eq!(run.output.status.code(), Some(2));
    let stderr = run.stderr();
    assert!(stderr.contains("params.yaml:6"), "{stderr}");
    assert!(stderr.contains("did you mean `max_bytes`?"), "{stderr}");
    let run = ingest(
        dir.path(),
        "ingest:\n  sources:\n    - kind: trees\n      path: t\n",
    );
    assert_eq!(run.output.status.code(), Some(2));
    assert!(
        run.stderr().contains("did you mean `tree`?"),
        "{}",
        run.stderr()
    );
    let run = ingest(
        dir.path(),
        "ingest:\n  splits: {train: 0.9, valid: 0.2, test: 0.1}\n  sources:\n    - kind: tree\n      path: t\n",
    );
    assert_eq!(run.output.status.code(), Some(2));
    assert!(run.stderr().contains("sum to 1"), "{}", run.stderr());
}

#[test]
fn filters_drop_small_large_and_long_lined_functions() {
    let dir = tempfile::tempdir().unwrap();
    let long_line = format!("def wide():\n    return '{}'\n", "x".repeat(2000));
    let many_lines = format!("def tall():\n{}    return 0\n", "    x = 1\n".repeat(50));
    write(
        &dir.path().join("t/a.py"),
        format!("def f(): pass\n\n{long_line}\n{many_lines}\ndef kept(a):\n    return a + 1\n"),
    );
    let params = "ingest:\n  filters:\n    min_bytes: 20\n    max_lines: 20\n    max_line_bytes: 500\n  sources:\n    - kind: tree\n      path: t\n";
    let run = ingest(dir.path(), params).ok();
    let names: Vec<String> = run
        .rows()
        .into_iter()
        .map(|row| row.name.unwrap())
        .collect();
    assert_eq!(names, ["kept"]);
    let report = run.report();
    assert_eq!(skipped(&report, "too_small"), 1);
    assert_eq!(skipped(&report, "line_too_long"), 1);
    assert_eq!(skipped(&report, "too_many_lines"), 1);
}

#[test]
fn a_source_with_nothing_readable_fails_and_unreadable_files_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    // A truncated gzip: the only file of its source.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(csn_row("def f(x):\n    return x + 1\n", "python", "train", "f").as_bytes())
        .unwrap();
    let bytes = gz.finish().unwrap();
    write(
        &dir.path().join("csn/python_train_0.jsonl.gz"),
        &bytes[..bytes.len() / 2],
    );
    let run = ingest(
        dir.path(),
        "ingest:\n  sources:\n    - kind: codesearchnet\n      path: csn\n",
    );
    assert_eq!(run.output.status.code(), Some(1), "{}", run.stderr());
    assert!(
        run.stderr().contains("has nothing readable"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("python_train_0.jsonl.gz"),
        "{}",
        run.stderr()
    );
    assert!(!dir.path().join("snippets.parquet").exists());
    assert!(!dir.path().join("report.json").exists());

    // A `kind: parquet` file that is not Parquet.
    write(&dir.path().join("hf/data.parquet"), b"not parquet at all");
    let run = ingest(
        dir.path(),
        "ingest:\n  sources:\n    - kind: parquet\n      path: hf\n      code_column: code\n      language: python\n",
    );
    assert_eq!(run.output.status.code(), Some(1), "{}", run.stderr());
    assert!(run.stderr().contains("data.parquet"), "{}", run.stderr());

    // Beside a readable file, an unreadable one is a counted skip.
    write(
        &dir.path().join("csn/python_train_1.jsonl"),
        csn_row("def g(y):\n    return y * 2\n", "python", "train", "g"),
    );
    let run = ingest(
        dir.path(),
        "ingest:\n  sources:\n    - kind: codesearchnet\n      path: csn\n",
    )
    .ok();
    assert_eq!(skipped(&run.report(), "unreadable_file"), 1);
    assert!(run.stderr().contains("(1 unreadable"), "{}", run.stderr());
}
