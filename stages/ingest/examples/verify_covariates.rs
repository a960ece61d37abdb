//! Checks, on a corpus, that the covariates ingest computes from a function's subtree in its
//! file's tree equal those of the standalone parse of the function's text, for every function
//! of every file (filters aside), and counts where the subtree is declined.
//!
//! Usage: `cargo run --release -p icodegen-ingest --example verify_covariates -- DIR...`
//! Prints one line per language (functions, computed in the file, declined, differing), the
//! first differences, and the seconds spent (one thread) parsing files, extracting functions,
//! computing covariates in the file, parsing snippets alone and computing their covariates;
//! exits 1 when any function differs.

use icodegen_ingest::extract;
use icodegen_lang::covariates::{covariates, covariates_in_file};
use icodegen_lang::{Language, Parsers, Snippet};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Runs `step`, adding its duration to `total`.
fn timed<T>(total: &mut Duration, step: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let result = step();
    *total += start.elapsed();
    result
}

#[derive(Default)]
struct Tally {
    functions: u64,
    in_file: u64,
    declined: u64,
    differing: u64,
}

fn main() -> anyhow::Result<()> {
    let mut tallies: BTreeMap<Language, Tally> = BTreeMap::new();
    let mut parsers = Parsers::new();
    let mut shown = 0;
    // file parse, extraction, covariates in the file, snippet parse, snippet covariates
    let mut spent = [Duration::ZERO; 5];
    for root in std::env::args().skip(1) {
        for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
            let entry = entry?;
            if !entry.file_type().is_file() {
                continue;
            }
            let Some(language) = Language::from_path(entry.path()) else {
                continue;
            };
            let Ok(source) = String::from_utf8(fs_err::read(entry.path())?) else {
                continue;
            };
            let source = source.strip_prefix('\u{feff}').unwrap_or(&source);
            let tree = timed(&mut spent[0], || language.parse_file(source))?;
            let tally = tallies.entry(language).or_default();
            let functions = timed(&mut spent[1], || {
                extract::functions(language, &tree, source)
            });
            for function in functions {
                tally.functions += 1;
                let in_file = timed(&mut spent[2], || {
                    covariates_in_file(language, &tree, function.node, source, &function.code)
                });
                let snippet = timed(&mut spent[3], || {
                    Snippet::parse(&mut parsers, language, &function.code)
                })?;
                let alone = timed(&mut spent[4], || covariates(&snippet));
                drop(snippet);
                let Some(found) = in_file else {
                    tally.declined += 1;
                    continue;
                };
                tally.in_file += 1;
                if found != alone {
                    tally.differing += 1;
                    if shown < 20 {
                        shown += 1;
                        println!(
                            "DIFFERS {}:{}\n  in file {found:?}\n  alone   {alone:?}",
                            entry.path().display(),
                            function.start_line
                        );
                    }
                }
            }
        }
    }
    let mut differing = 0;
    println!("language functions in_file declined differing");
    for (language, tally) in &tallies {
        println!(
            "{language} {} {} {} {}",
            tally.functions, tally.in_file, tally.declined, tally.differing
        );
        differing += tally.differing;
    }
    let [
        file_parse,
        extraction,
        in_file,
        snippet_parse,
        snippet_covariates,
    ] = spent.map(|duration| duration.as_secs_f64());
    println!(
        "seconds: file parse {file_parse:.2}, extraction {extraction:.2}, covariates in file \
         {in_file:.2}, snippet parse {snippet_parse:.2}, snippet covariates {snippet_covariates:.2}"
    );
    if differing > 0 {
        std::process::exit(1);
    }
    Ok(())
}
