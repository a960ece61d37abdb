//! Reading each kind of source into [`Work`] for the ingestor: CodeSearchNet JSONL, source
//! trees, archives, paired tables and Parquet. Readers only read: they never parse code (that
//! happens in parallel in [`crate::process`]) and they count unreadable input as skips.

use std::io::Read;
use std::path::{Component, Path};

use icodegen_lang::Language;

use crate::Ingestor;
use crate::config::{SourceConfig, Split, split_from_partition};
use crate::error::IngestError;
use crate::process::{Origin, RowInput, Work};
use crate::report::{Reason, Skip};
use crate::table::{self, TableError};
use icodegen_artifacts::vocab::SnippetSource;

/// Reads one source into the ingestor.
pub fn read(ingestor: &mut Ingestor, source: &SourceConfig) -> anyhow::Result<()> {
    match source {
        SourceConfig::Codesearchnet { path, split } => codesearchnet(ingestor, path, *split),
        SourceConfig::Tree { path, repo, split } => tree(ingestor, path, repo.clone(), *split),
        SourceConfig::Archive { path, split } => archives(ingestor, path, *split),
        SourceConfig::Pairs {
            path,
            columns,
            language,
            language_column,
            pair_id_column,
            split,
        } => pairs(
            ingestor,
            path,
            columns,
            language.as_deref(),
            language_column.as_deref(),
            pair_id_column.as_deref(),
            *split,
        ),
        SourceConfig::Parquet {
            path,
            code_column,
            language,
            language_column,
            name_column,
            path_column,
            repo_column,
            docstring_column,
            split_column,
            split,
        } => {
            let columns = ParquetColumns {
                code: code_column,
                language: language_column.as_deref(),
                name: name_column.as_deref(),
                path: path_column.as_deref(),
                repo: repo_column.as_deref(),
                docstring: docstring_column.as_deref(),
                split: split_column.as_deref(),
            };
            parquet(ingestor, path, &columns, language.as_deref(), *split)
        }
    }
}

/// A table error: a missing column is the user's to fix (exit 2); an unreadable file is a skip.
fn table_error(ingestor: &mut Ingestor, error: TableError) -> anyhow::Result<()> {
    match error {
        TableError::MissingColumn { .. } => Err(IngestError::Table(error).into()),
        TableError::Unreadable { .. } => {
            ingestor.skip(Skip::new(Reason::UnreadableFile, error.to_string()));
            Ok(())
        }
    }
}

/// The language of a row: a fixed one, or the row's language column.
fn row_language(
    ingestor: &mut Ingestor,
    fixed: Option<&str>,
    value: Option<&str>,
    location: &str,
    rows: u64,
) -> Option<Language> {
    let name = fixed.or(value);
    let Some(language) = name.and_then(|name| Language::from_name(name).ok()) else {
        ingestor.skip(
            Skip::new(
                Reason::UnknownLanguage,
                format!("{location}: {}", name.unwrap_or("no language")),
            )
            .rows(rows),
        );
        return None;
    };
    if !ingestor.selects(language) {
        ingestor.skip(Skip::new(Reason::LanguageNotSelected, location.to_owned()).rows(rows));
        return None;
    }
    Some(language)
}

/// `.../blob/<sha>/<path>#L12-L30` -> (12, 30).
fn lines_from_url(url: &str) -> (Option<usize>, Option<usize>) {
    let Some((_, fragment)) = url.rsplit_once("#L") else {
        return (None, None);
    };
    let mut parts = fragment.split("-L");
    let start = parts.next().and_then(|start| start.parse().ok());
    let end = parts.next().and_then(|end| end.parse().ok()).or(start);
    (start, end)
}

const CSN_COLUMNS: [&str; 8] = [
    "code",
    "language",
    "repo",
    "path",
    "func_name",
    "docstring",
    "partition",
    "url",
];

fn codesearchnet(
    ingestor: &mut Ingestor,
    path: &Path,
    forced: Option<Split>,
) -> anyhow::Result<()> {
    for file in table::files_under(path, &[".jsonl", ".jsonl.gz", ".json.gz", ".ndjson"]) {
        ingestor.report.files.read += 1;
        let result = table::read_jsonl(&file, &CSN_COLUMNS, |location, record| {
            let values = match record {
                Ok(values) => values,
                Err(skip) => {
                    ingestor.skip(skip);
                    return Ok(());
                }
            };
            let [code, language, repo, path, name, docstring, partition, url] =
                <[Option<String>; 8]>::try_from(values).expect("one value per column");
            let Some(code) = code else {
                ingestor.skip(Skip::new(
                    Reason::MissingCode,
                    format!("{location}: no `code` field"),
                ));
                return Ok(());
            };
            let Some(language) = row_language(ingestor, None, language.as_deref(), &location, 1)
            else {
                return Ok(());
            };
            let (start_line, end_line) = url.as_deref().map_or((None, None), lines_from_url);
            let origin = Origin {
                source: SnippetSource::Codesearchnet,
                repo,
                path,
                forced_split: forced
                    .or_else(|| partition.as_deref().and_then(split_from_partition)),
            };
            ingestor.push(Work::Row {
                origin,
                row: RowInput {
                    language,
                    code,
                    name,
                    docstring,
                    location,
                    start_line,
                    end_line,
                },
            })
        });
        match result {
            Ok(visited) => visited?,
            Err(error) => table_error(ingestor, error)?,
        }
    }
    Ok(())
}

/// Directories never walked into.
const SKIPPED_DIRECTORIES: [&str; 4] = [".git", ".hg", ".svn", "__pycache__"];

fn tree(
    ingestor: &mut Ingestor,
    root: &Path,
    repo: Option<String>,
    forced: Option<Split>,
) -> anyhow::Result<()> {
    let repo = repo.or_else(|| {
        fs_err::canonicalize(root).ok().and_then(|path| {
            path.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
    });
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            !(entry.file_type().is_dir()
                && SKIPPED_DIRECTORIES.contains(&entry.file_name().to_string_lossy().as_ref()))
        });
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                let at = error.path().map_or_else(
                    || root.display().to_string(),
                    |path| path.display().to_string(),
                );
                let reason = if error.loop_ancestor().is_some() {
                    Reason::SymlinkLoop
                } else {
                    Reason::UnreadableFile
                };
                ingestor.skip(Skip::new(reason, format!("{at}: {error}")));
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(language) = Language::from_path(entry.path()) else {
            continue;
        };
        if !ingestor.selects(language) {
            ingestor.report.files.ignored += 1;
            continue;
        }
        let relative = entry
            .path()
            .strip_prefix(root)
            .unwrap_or(entry.path())
            .to_string_lossy()
            .into_owned();
        let relative = if relative.is_empty() {
            entry.file_name().to_string_lossy().into_owned()
        } else {
            relative
        };
        let display = entry.path().display().to_string();
        let size = entry.metadata().map(|metadata| metadata.len()).unwrap_or(0);
        if size > ingestor.filters().max_file_bytes {
            ingestor.skip(Skip::new(
                Reason::FileTooLarge,
                format!("{display}: {size} bytes"),
            ));
            continue;
        }
        let bytes = match fs_err::read(entry.path()) {
            Ok(bytes) => bytes,
            Err(error) => {
                // fs_err's message names the file.
                ingestor.skip(Skip::new(Reason::UnreadableFile, error.to_string()));
                continue;
            }
        };
        ingestor.report.files.read += 1;
        ingestor.push(Work::File {
            origin: Origin {
                source: SnippetSource::Tree,
                repo: repo.clone(),
                path: Some(relative),
                forced_split: forced,
            },
            language,
            display,
            bytes,
        })?;
    }
    Ok(())
}

/// Archive kinds by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArchiveKind {
    TarGz,
    Tar,
    Zip,
}

fn archive_kind(path: &Path) -> Option<(ArchiveKind, String)> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let lower = name.to_ascii_lowercase();
    for (suffix, kind) in [
        (".tar.gz", ArchiveKind::TarGz),
        (".tgz", ArchiveKind::TarGz),
        (".tar", ArchiveKind::Tar),
        (".zip", ArchiveKind::Zip),
    ] {
        if lower.ends_with(suffix) {
            return Some((kind, name[..name.len() - suffix.len()].to_owned()));
        }
    }
    None
}

/// True when a member path stays inside the archive (no `..`, no absolute path).
fn is_safe_member(path: &Path) -> bool {
    path.components()
        .all(|component| matches!(component, Component::Normal(_) | Component::CurDir))
}

fn archives(ingestor: &mut Ingestor, path: &Path, forced: Option<Split>) -> anyhow::Result<()> {
    let files = if path.is_file() {
        vec![path.to_path_buf()]
    } else {
        table::files_under(path, &[".tar.gz", ".tgz", ".tar", ".zip"])
    };
    for file in files {
        let Some((kind, repo)) = archive_kind(&file) else {
            ingestor.skip(Skip::new(
                Reason::UnreadableFile,
                format!(
                    "{}: not a .tar.gz, .tgz, .tar or .zip archive",
                    file.display()
                ),
            ));
            continue;
        };
        let result = match kind {
            ArchiveKind::Zip => zip_members(ingestor, &file, &repo, forced),
            ArchiveKind::TarGz | ArchiveKind::Tar => {
                tar_members(ingestor, &file, kind, &repo, forced)
            }
        };
        match result {
            Ok(visited) => visited?,
            Err(message) => {
                ingestor.skip(Skip::new(
                    Reason::UnreadableFile,
                    format!("{}: {message}", file.display()),
                ));
            }
        }
    }
    Ok(())
}

/// Decides what to do with one archive member before reading it: `Some(language)` to read it.
fn admit_member(
    ingestor: &mut Ingestor,
    archive: &Path,
    member: &Path,
    size: u64,
) -> Option<Language> {
    let display = format!("{}!/{}", archive.display(), member.display());
    if !is_safe_member(member) {
        ingestor.skip(Skip::new(Reason::UnsafeArchivePath, display));
        return None;
    }
    let language = Language::from_path(member)?;
    if !ingestor.selects(language) {
        ingestor.report.files.ignored += 1;
        return None;
    }
    if size > ingestor.filters().max_file_bytes {
        ingestor.skip(Skip::new(
            Reason::FileTooLarge,
            format!("{display}: {size} bytes"),
        ));
        return None;
    }
    Some(language)
}

fn push_member(
    ingestor: &mut Ingestor,
    archive: &Path,
    repo: &str,
    member: &Path,
    language: Language,
    bytes: Vec<u8>,
    forced: Option<Split>,
) -> anyhow::Result<()> {
    ingestor.report.files.read += 1;
    ingestor.push(Work::File {
        origin: Origin {
            source: SnippetSource::Archive,
            repo: Some(repo.to_owned()),
            path: Some(member.to_string_lossy().into_owned()),
            forced_split: forced,
        },
        language,
        display: format!("{}!/{}", archive.display(), member.display()),
        bytes,
    })
}

/// Streams a tar archive. `Err` = the archive itself is unreadable (members already read stay).
fn tar_members(
    ingestor: &mut Ingestor,
    file: &Path,
    kind: ArchiveKind,
    repo: &str,
    forced: Option<Split>,
) -> Result<anyhow::Result<()>, String> {
    #[expect(
        clippy::disallowed_methods,
        reason = "the caller's skip message names the archive"
    )]
    let handle = std::fs::File::open(file).map_err(|error| error.to_string())?;
    let reader: Box<dyn Read> = match kind {
        ArchiveKind::TarGz => Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(
            handle,
        ))),
        _ => Box::new(std::io::BufReader::new(handle)),
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|error| error.to_string())?;
    for entry in entries {
        let mut entry = entry.map_err(|error| error.to_string())?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let member = match entry.path() {
            Ok(path) => path.into_owned(),
            Err(error) => {
                ingestor.skip(Skip::new(
                    Reason::UnreadableFile,
                    format!("{}: {error}", file.display()),
                ));
                continue;
            }
        };
        let Some(language) = admit_member(ingestor, file, &member, entry.size()) else {
            continue;
        };
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|error| error.to_string())?;
        if let Err(error) = push_member(ingestor, file, repo, &member, language, bytes, forced) {
            return Ok(Err(error));
        }
    }
    Ok(Ok(()))
}

fn zip_members(
    ingestor: &mut Ingestor,
    file: &Path,
    repo: &str,
    forced: Option<Split>,
) -> Result<anyhow::Result<()>, String> {
    #[expect(
        clippy::disallowed_methods,
        reason = "the caller's skip message names the archive"
    )]
    let handle = std::fs::File::open(file).map_err(|error| error.to_string())?;
    let mut archive =
        zip::ZipArchive::new(std::io::BufReader::new(handle)).map_err(|error| error.to_string())?;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(|error| error.to_string())?;
        if !entry.is_file() {
            continue;
        }
        let member = Path::new(entry.name()).to_path_buf();
        let safe = entry.enclosed_name().is_some() && is_safe_member(&member);
        let size = entry.size();
        if !safe {
            ingestor.skip(Skip::new(
                Reason::UnsafeArchivePath,
                format!("{}!/{}", file.display(), member.display()),
            ));
            continue;
        }
        let Some(language) = admit_member(ingestor, file, &member, size) else {
            continue;
        };
        let mut bytes = Vec::with_capacity(size as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|error| error.to_string())?;
        drop(entry);
        if let Err(error) = push_member(ingestor, file, repo, &member, language, bytes, forced) {
            return Ok(Err(error));
        }
    }
    Ok(Ok(()))
}

#[allow(clippy::too_many_arguments)]
fn pairs(
    ingestor: &mut Ingestor,
    path: &Path,
    columns: &[String; 2],
    language: Option<&str>,
    language_column: Option<&str>,
    pair_id_column: Option<&str>,
    forced: Option<Split>,
) -> anyhow::Result<()> {
    let mut wanted: Vec<&str> = vec![columns[0].as_str(), columns[1].as_str()];
    wanted.push(language_column.unwrap_or(""));
    wanted.push(pair_id_column.unwrap_or(""));
    let mut required: Vec<&str> = vec![columns[0].as_str(), columns[1].as_str()];
    required.extend(language_column);
    for file in table::files_under(path, &[".jsonl", ".jsonl.gz", ".ndjson", ".parquet"]) {
        ingestor.report.files.read += 1;
        let result = table::read_table(&file, &wanted, &required, |location, record| {
            let values = match record {
                Ok(values) => values,
                Err(skip) => {
                    ingestor.skip(skip.rows(2));
                    return Ok(());
                }
            };
            let [first, second, language_value, pair_id] =
                <[Option<String>; 4]>::try_from(values).expect("one value per column");
            let (Some(first), Some(second)) = (first, second) else {
                ingestor.skip(
                    Skip::new(
                        Reason::MissingCode,
                        format!(
                            "{location}: needs both `{}` and `{}`",
                            columns[0], columns[1]
                        ),
                    )
                    .rows(2),
                );
                return Ok(());
            };
            let Some(language) =
                row_language(ingestor, language, language_value.as_deref(), &location, 2)
            else {
                return Ok(());
            };
            let member = |code: String| RowInput {
                language,
                code,
                name: None,
                docstring: None,
                location: location.clone(),
                start_line: None,
                end_line: None,
            };
            ingestor.push(Work::Pair {
                origin: Origin {
                    source: SnippetSource::Pairs,
                    repo: None,
                    path: Some(file.display().to_string()),
                    forced_split: forced,
                },
                pair_id,
                members: Box::new([
                    (columns[0].clone(), member(first)),
                    (columns[1].clone(), member(second)),
                ]),
            })
        });
        match result {
            Ok(visited) => visited?,
            Err(error) => table_error(ingestor, error)?,
        }
    }
    Ok(())
}

struct ParquetColumns<'a> {
    code: &'a str,
    language: Option<&'a str>,
    name: Option<&'a str>,
    path: Option<&'a str>,
    repo: Option<&'a str>,
    docstring: Option<&'a str>,
    split: Option<&'a str>,
}

fn parquet(
    ingestor: &mut Ingestor,
    path: &Path,
    columns: &ParquetColumns,
    language: Option<&str>,
    forced: Option<Split>,
) -> anyhow::Result<()> {
    let optional = [
        columns.language,
        columns.name,
        columns.path,
        columns.repo,
        columns.docstring,
        columns.split,
    ];
    let mut wanted = vec![columns.code];
    wanted.extend(optional.iter().map(|column| column.unwrap_or("")));
    let required: Vec<&str> = std::iter::once(columns.code)
        .chain(optional.iter().flatten().copied())
        .collect();
    for file in table::files_under(path, &[".parquet"]) {
        ingestor.report.files.read += 1;
        let result = table::read_parquet(&file, &wanted, &required, |location, record| {
            let values = match record {
                Ok(values) => values,
                Err(skip) => {
                    ingestor.skip(skip);
                    return Ok(());
                }
            };
            let [code, language_value, name, row_path, repo, docstring, split] =
                <[Option<String>; 7]>::try_from(values).expect("one value per column");
            let Some(code) = code else {
                ingestor.skip(Skip::new(
                    Reason::MissingCode,
                    format!("{location}: `{}` is null", columns.code),
                ));
                return Ok(());
            };
            let Some(language) =
                row_language(ingestor, language, language_value.as_deref(), &location, 1)
            else {
                return Ok(());
            };
            ingestor.push(Work::Row {
                origin: Origin {
                    source: SnippetSource::Parquet,
                    repo,
                    path: row_path.or_else(|| Some(file.display().to_string())),
                    forced_split: forced
                        .or_else(|| split.as_deref().and_then(split_from_partition)),
                },
                row: RowInput {
                    language,
                    code,
                    name,
                    docstring,
                    location,
                    start_line: None,
                    end_line: None,
                },
            })
        });
        match result {
            Ok(visited) => visited?,
            Err(error) => table_error(ingestor, error)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_paths_that_leave_the_archive_are_unsafe() {
        assert!(is_safe_member(Path::new("pkg-1.0/src/a.py")));
        assert!(!is_safe_member(Path::new("../evil.py")));
        assert!(!is_safe_member(Path::new("pkg/../../evil.py")));
        assert!(!is_safe_member(Path::new("/etc/evil.py")));
    }

    #[test]
    fn archive_names_give_kind_and_repo() {
        assert_eq!(
            archive_kind(Path::new("d/flask-3.1.0.tar.gz")),
            Some((ArchiveKind::TarGz, "flask-3.1.0".to_owned()))
        );
        assert_eq!(
            archive_kind(Path::new("a.ZIP")).map(|(kind, _)| kind),
            Some(ArchiveKind::Zip)
        );
        assert_eq!(archive_kind(Path::new("a.tar.bz2")), None);
    }

    #[test]
    fn codesearchnet_urls_give_line_ranges() {
        assert_eq!(
            lines_from_url("https://github.com/a/b/blob/sha/x.py#L12-L30"),
            (Some(12), Some(30))
        );
        assert_eq!(
            lines_from_url("https://github.com/a/b/blob/sha/x.py#L7"),
            (Some(7), Some(7))
        );
        assert_eq!(lines_from_url("https://github.com/a/b"), (None, None));
    }
}
