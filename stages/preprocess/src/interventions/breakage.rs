//! `syntax`: removes one closing bracket or parenthesis (or, in Python, a colon). Unlike the
//! other interventions the variant must *not* parse cleanly: a removal that leaves valid code
//! (`a[1:]` -> `a[1]`) is rejected and counted, and another site is tried.

use icodegen_artifacts::vocab::Mutation;
use icodegen_lang::{Class, Edit, Parsers, Snippet};
use rand_chacha::ChaCha8Rng;

use super::{Candidate, Outcome, Settings, Tally, try_candidates, walk_code};

pub(super) fn apply(
    parsers: &mut Parsers,
    snippet: &Snippet,
    rng: &mut ChaCha8Rng,
    settings: &Settings,
    tally: &mut Tally,
) -> Outcome {
    let syntax = snippet.language.syntax();
    let mut candidates = Vec::new();
    walk_code(snippet, |node, _| {
        if node.is_named() || !syntax.is(node, Class::CLOSER) || node.is_missing() {
            return;
        }
        let mutation = if snippet.text(node) == ":" {
            Mutation::RemoveColon.as_str()
        } else {
            Mutation::RemoveClosingBracket.as_str()
        };
        candidates.push(Candidate {
            mutation,
            edits: vec![Edit::delete(snippet.range(node))],
        });
    });
    let breaks = |_: &Snippet, edited: &Snippet| edited.error_count() > 0;
    try_candidates(
        parsers,
        snippet,
        candidates,
        rng,
        settings.max_attempts,
        tally,
        breaks,
    )
}

#[cfg(test)]
mod tests {
    use super::super::Intervention;
    use super::super::testing::variant;
    use icodegen_lang::{Language, Parsers, Snippet};

    #[test]
    fn the_variant_has_one_closer_less_and_does_not_parse() {
        let code = "def f(x):\n    return [x, (x + 1)]\n";
        for id in ["a", "b", "c", "d", "e"] {
            let (broken, mutation) =
                variant(Intervention::Syntax, Language::Python, code, id).unwrap();
            assert_eq!(broken.len(), code.len() - 1);
            assert!(mutation == "remove_colon" || mutation == "remove_closing_bracket");
            let mut parsers = Parsers::new();
            assert!(
                Snippet::parse(&mut parsers, Language::Python, &broken)
                    .unwrap()
                    .error_count()
                    > 0,
                "{broken}"
            );
        }
    }
}
