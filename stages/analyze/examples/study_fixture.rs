//! Writes the study test fixture at any size, for `scripts/bench/study.sh`:
//! `cargo run --release -p icodegen-analyze --example study_fixture -- DIR SNIPPETS`
//! writes `DIR/testbed.parquet`, `DIR/covariates.parquet` and `DIR/models/{gru,gpt}/`.

#[path = "../tests/study_fixture/mod.rs"]
mod study_fixture;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(snippets)) = (args.next(), args.next()) else {
        eprintln!("usage: study_fixture DIR SNIPPETS");
        std::process::exit(2);
    };
    let snippets: usize = snippets.parse().expect("SNIPPETS is a number");
    study_fixture::write_fixture(std::path::Path::new(&dir), &["gru", "gpt"], snippets);
}
