//! `rename`: consistent renaming of the snippet's variables and parameters (not attributes,
//! keyword-argument names, function names or pinned names such as `self` and `global` ones).

use icodegen_artifacts::vocab::Mutation;
use std::collections::BTreeMap;

use icodegen_lang::{Edit, Parsers, Snippet};
use rand_chacha::ChaCha8Rng;

use super::{Outcome, Tally, Variant, fresh_name, words};
use icodegen_lang::bindings;

/// Names never renamed whatever the language (receivers by convention).
const CONVENTIONAL: [&str; 3] = ["self", "cls", "this"];

pub(super) fn apply(
    parsers: &mut Parsers,
    snippet: &Snippet,
    rng: &mut ChaCha8Rng,
    tally: &mut Tally,
) -> Outcome {
    let syntax = snippet.language.syntax();
    let found = bindings::bindings(snippet);
    let renamable: Vec<&String> = found
        .variables
        .iter()
        .chain(&found.parameters)
        .filter(|name| {
            !found.pinned.contains(*name)
                && !CONVENTIONAL.contains(&name.as_str())
                && !syntax.reserved_names.contains(&name.as_str())
        })
        .collect();
    if renamable.is_empty() {
        return Outcome::NoSite;
    }
    let mut taken = words(snippet);
    let mut sorted: Vec<&String> = renamable;
    sorted.sort();
    sorted.dedup();
    let mapping: BTreeMap<&str, String> = sorted
        .into_iter()
        .map(|name| {
            (
                name.as_str(),
                fresh_name(rng, &mut taken, syntax.reserved_names),
            )
        })
        .collect();
    let edits: Vec<Edit> = bindings::occurrences(snippet)
        .into_iter()
        .filter_map(|(range, name)| {
            mapping
                .get(name.as_str())
                .map(|new| Edit::replace(range, new.clone()))
        })
        .collect();
    if edits.is_empty() {
        return Outcome::NoSite;
    }
    match snippet.edit(parsers, &edits) {
        Ok(renamed) if renamed.error_count() == 0 && renamed.code() != snippet.code() => {
            Outcome::Made(Variant {
                snippet: renamed,
                mutation: Mutation::RenameIdentifiers.as_str(),
            })
        }
        _ => {
            *tally
                .rejected
                .entry("rename_identifiers".to_owned())
                .or_default() += 1;
            Outcome::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Intervention;
    use super::super::testing::variant;
    use icodegen_lang::Language;

    #[test]
    fn python_variables_are_renamed_consistently_and_attributes_kept() {
        let code = "def scale(self, factor):\n    size = self.size * factor\n    return f(size=size) + size\n";
        let (renamed, mutation) =
            variant(Intervention::Rename, Language::Python, code, "a").unwrap();
        assert_eq!(mutation, "rename_identifiers");
        assert!(renamed.contains("self.size"), "{renamed}");
        assert!(renamed.contains("f(size="), "{renamed}");
        assert!(!renamed.contains("factor"), "{renamed}");
        assert!(renamed.starts_with("def scale(self, "), "{renamed}");
        // `size` the variable appears three times: renamed everywhere to one new name
        let new = renamed
            .split("f(size=")
            .nth(1)
            .unwrap()
            .split(')')
            .next()
            .unwrap()
            .to_owned();
        assert_ne!(new, "size");
        assert_eq!(renamed.matches(new.as_str()).count(), 3, "{renamed}");
    }

    #[test]
    fn java_locals_are_renamed() {
        let code = "int sum(int[] values) {\n  int total = 0;\n  for (int v : values) { total += v; }\n  return total;\n}";
        let (renamed, _) = variant(Intervention::Rename, Language::Java, code, "a").unwrap();
        assert!(
            !renamed.contains("total") || !renamed.contains(" v "),
            "{renamed}"
        );
        assert!(renamed.starts_with("int sum(int[] "), "{renamed}");
    }

    #[test]
    fn nothing_bound_means_no_pair() {
        assert!(
            variant(
                Intervention::Rename,
                Language::Python,
                "def f():\n    return g()\n",
                "a"
            )
            .is_none()
        );
    }
}
