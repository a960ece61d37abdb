//! Interventions: each turns a parsed snippet into a variant by edits on its tree-sitter tree
//! ([`Snippet::edit`] re-parses incrementally). Every variant except `syntax` must re-parse
//! with zero ERROR nodes; a variant that does not is rejected and counted, and the next
//! candidate site is tried (up to `max_attempts`). Random choices come from a generator seeded
//! by (seed, intervention, snippet id), so the testbed is the same on every run and thread count.
//!
//! Which side is control and which is treated:
//! - `comments`: control = comments and docstrings stripped, treated = original;
//! - `bugfix`: control = buggy (a synthetic mutant, or the real pair's buggy side), treated =
//!   fixed (the original);
//! - `rename`, `reformat`, `deadcode`, `syntax`: control = original, treated = the variant.

mod breakage;
mod bugfix;
mod comments;
mod deadcode;
mod reformat;
mod rename;

use std::collections::{BTreeMap, HashSet};

use icodegen_lang::ast::Visit;
use icodegen_lang::{Class, Edit, Parsers, Snippet};
use rand::RngExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use bugfix::Operator;
use icodegen_artifacts::vocab::Intervention as TestbedIntervention;

/// The interventions preprocess applies, by their params and testbed names: artifacts'
/// [`TestbedIntervention`] without `none` (the originals), which params cannot ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Intervention {
    Comments,
    Bugfix,
    Rename,
    Reformat,
    Deadcode,
    Syntax,
}

impl Intervention {
    pub const ALL: [Intervention; 6] = [
        Intervention::Comments,
        Intervention::Bugfix,
        Intervention::Rename,
        Intervention::Reformat,
        Intervention::Deadcode,
        Intervention::Syntax,
    ];

    /// The testbed's value for this intervention ([`TestbedIntervention`]).
    pub fn testbed(self) -> TestbedIntervention {
        match self {
            Intervention::Comments => TestbedIntervention::Comments,
            Intervention::Bugfix => TestbedIntervention::Bugfix,
            Intervention::Rename => TestbedIntervention::Rename,
            Intervention::Reformat => TestbedIntervention::Reformat,
            Intervention::Deadcode => TestbedIntervention::Deadcode,
            Intervention::Syntax => TestbedIntervention::Syntax,
        }
    }

    /// The `intervention` value of its testbed rows.
    pub fn name(self) -> &'static str {
        self.testbed().as_str()
    }

    /// True when the variant is the control side (the original is treated).
    pub fn variant_is_control(self) -> bool {
        matches!(self, Intervention::Comments | Intervention::Bugfix)
    }
}

/// Settings the interventions read.
#[derive(Debug, Clone)]
pub struct Settings {
    pub seed: u64,
    pub operators: Vec<Operator>,
    pub max_attempts: usize,
}

/// A variant made from a snippet.
pub struct Variant {
    pub snippet: Snippet,
    /// The mutation that made it (`flip_comparison`, `strip_comments` ...).
    pub mutation: &'static str,
}

/// What one intervention did to one snippet, for the report.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Pairs written.
    pub pairs: u64,
    /// Snippets left unchanged (nothing to strip, ...): no pair.
    pub unchanged: u64,
    /// Snippets with no site for any mutation: no pair.
    pub no_site: u64,
    /// Snippets for which every attempt was rejected: no pair.
    pub failed: u64,
    /// Rejected attempts (re-parse found errors; for `syntax`: the code still parsed), by mutation.
    pub rejected: BTreeMap<String, u64>,
    /// Pairs by mutation.
    pub mutations: BTreeMap<String, u64>,
}

impl Tally {
    pub fn merge(&mut self, other: &Tally) {
        self.pairs += other.pairs;
        self.unchanged += other.unchanged;
        self.no_site += other.no_site;
        self.failed += other.failed;
        for (mutation, count) in &other.rejected {
            *self.rejected.entry(mutation.clone()).or_default() += count;
        }
        for (mutation, count) in &other.mutations {
            *self.mutations.entry(mutation.clone()).or_default() += count;
        }
    }

    fn reject(&mut self, mutation: &str) {
        *self.rejected.entry(mutation.to_owned()).or_default() += 1;
    }
}

/// The outcome of applying an intervention.
pub enum Outcome {
    Made(Variant),
    Unchanged,
    NoSite,
    Failed,
}

/// A candidate edit set, tried in random order.
pub(crate) struct Candidate {
    pub mutation: &'static str,
    pub edits: Vec<Edit>,
}

/// The seeded generator for one (intervention, snippet).
pub fn generator(seed: u64, intervention: Intervention, snippet_id: &str) -> ChaCha8Rng {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&seed.to_le_bytes());
    hasher.update(intervention.name().as_bytes());
    hasher.update(&[0]);
    hasher.update(snippet_id.as_bytes());
    ChaCha8Rng::from_seed(*hasher.finalize().as_bytes())
}

/// Tries candidates grouped by mutation: picks a mutation uniformly among those with sites,
/// then a site uniformly, until one is accepted or `max_attempts` were rejected.
pub(crate) fn try_candidates(
    parsers: &mut Parsers,
    snippet: &Snippet,
    mut candidates: Vec<Candidate>,
    rng: &mut ChaCha8Rng,
    max_attempts: usize,
    tally: &mut Tally,
    accept: impl Fn(&Snippet, &Snippet) -> bool,
) -> Outcome {
    if candidates.is_empty() {
        return Outcome::NoSite;
    }
    for _ in 0..max_attempts.max(1) {
        if candidates.is_empty() {
            break;
        }
        // Mutations in order of first appearance, so the draw does not depend on hashing.
        let mut unique: Vec<&'static str> = Vec::new();
        for candidate in &candidates {
            if !unique.contains(&candidate.mutation) {
                unique.push(candidate.mutation);
            }
        }
        let mutation = unique[rng.random_range(0..unique.len())];
        let sites: Vec<usize> = candidates
            .iter()
            .enumerate()
            .filter(|(_, candidate)| candidate.mutation == mutation)
            .map(|(index, _)| index)
            .collect();
        let chosen = sites[rng.random_range(0..sites.len())];
        let candidate = candidates.swap_remove(chosen);
        match snippet.edit(parsers, &candidate.edits) {
            Ok(edited) if edited.code() != snippet.code() && accept(snippet, &edited) => {
                return Outcome::Made(Variant {
                    snippet: edited,
                    mutation: candidate.mutation,
                });
            }
            _ => tally.reject(candidate.mutation),
        }
    }
    Outcome::Failed
}

/// Accepts variants that parse without errors.
pub(crate) fn parses_cleanly(_original: &Snippet, edited: &Snippet) -> bool {
    edited.error_count() == 0
}

/// Applies `intervention` to `snippet`.
pub fn apply(
    intervention: Intervention,
    parsers: &mut Parsers,
    snippet: &Snippet,
    snippet_id: &str,
    settings: &Settings,
    tally: &mut Tally,
) -> Outcome {
    let mut rng = generator(settings.seed, intervention, snippet_id);
    let outcome = match intervention {
        Intervention::Comments => comments::apply(parsers, snippet, tally),
        Intervention::Bugfix => bugfix::apply(parsers, snippet, &mut rng, settings, tally),
        Intervention::Rename => rename::apply(parsers, snippet, &mut rng, tally),
        Intervention::Reformat => reformat::apply(parsers, snippet, tally),
        Intervention::Deadcode => deadcode::apply(parsers, snippet, &mut rng, settings, tally),
        Intervention::Syntax => breakage::apply(parsers, snippet, &mut rng, settings, tally),
    };
    match &outcome {
        Outcome::Made(variant) => {
            tally.pairs += 1;
            *tally
                .mutations
                .entry(variant.mutation.to_owned())
                .or_default() += 1;
        }
        Outcome::Unchanged => tally.unchanged += 1,
        Outcome::NoSite => tally.no_site += 1,
        Outcome::Failed => tally.failed += 1,
    }
    outcome
}

/// Every word (identifier or keyword spelling) in the snippet, to keep new names fresh.
pub(crate) fn words(snippet: &Snippet) -> HashSet<String> {
    let mut words = HashSet::new();
    snippet.walk(|node, _| {
        if node.child_count() == 0 {
            let text = snippet.text(node);
            if text
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$')
            {
                words.insert(text.trim_start_matches('$').to_owned());
            }
        }
        Visit::Descend
    });
    words
}

/// Neutral names for renamed and inserted variables.
const VOCABULARY: [&str; 32] = [
    "value", "item", "data", "result", "temp", "element", "entry", "node", "current", "buffer",
    "count", "index", "key", "record", "state", "target", "source", "output", "payload", "token",
    "chunk", "field", "handle", "flag", "offset", "limit", "total", "part", "unit", "slot", "mark",
    "cell",
];

/// A name that is not in `taken` and not reserved in the language; records it in `taken`.
pub(crate) fn fresh_name(
    rng: &mut ChaCha8Rng,
    taken: &mut HashSet<String>,
    reserved: &[&str],
) -> String {
    for _ in 0..VOCABULARY.len() {
        let name = VOCABULARY[rng.random_range(0..VOCABULARY.len())];
        if !taken.contains(name) && !reserved.contains(&name) {
            taken.insert(name.to_owned());
            return name.to_owned();
        }
    }
    let mut index = 0usize;
    loop {
        let name = format!("var{index}");
        if !taken.contains(&name) {
            taken.insert(name.clone());
            return name;
        }
        index += 1;
    }
}

/// The statements of a block (its named children), comments left out.
pub(crate) fn statements<'a>(
    snippet: &'a Snippet,
    list: tree_sitter::Node<'a>,
) -> Vec<tree_sitter::Node<'a>> {
    let syntax = snippet.language.syntax();
    let mut cursor = list.walk();
    list.named_children(&mut cursor)
        .filter(|child| !syntax.is(*child, Class::COMMENT))
        .collect()
}

/// Visits nodes outside string literals (their insides are text, not code), with their parent.
pub(crate) fn walk_code<'a>(
    snippet: &'a Snippet,
    mut visit: impl FnMut(tree_sitter::Node<'a>, Option<tree_sitter::Node<'a>>),
) {
    let syntax = snippet.language.syntax();
    snippet.walk_with_path(|node, path| {
        visit(node, path.last().copied());
        if syntax.is(node, Class::STRING) {
            Visit::Skip
        } else {
            Visit::Descend
        }
    });
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use icodegen_lang::Language;

    pub fn settings() -> Settings {
        Settings {
            seed: 7,
            operators: Operator::ALL.to_vec(),
            max_attempts: 3,
        }
    }

    /// Applies `intervention` and returns the variant's code and mutation.
    pub fn variant(
        intervention: Intervention,
        language: Language,
        code: &str,
        id: &str,
    ) -> Option<(String, &'static str)> {
        let mut parsers = Parsers::new();
        let snippet = Snippet::parse(&mut parsers, language, code).unwrap();
        let mut tally = Tally::default();
        match apply(
            intervention,
            &mut parsers,
            &snippet,
            id,
            &settings(),
            &mut tally,
        ) {
            Outcome::Made(variant) => Some((variant.snippet.code().to_owned(), variant.mutation)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_depend_on_seed_intervention_and_snippet() {
        let draw = |seed, intervention, id: &str| {
            generator(seed, intervention, id).random_range(0..u64::MAX)
        };
        assert_eq!(
            draw(1, Intervention::Rename, "a"),
            draw(1, Intervention::Rename, "a")
        );
        assert_ne!(
            draw(1, Intervention::Rename, "a"),
            draw(2, Intervention::Rename, "a")
        );
        assert_ne!(
            draw(1, Intervention::Rename, "a"),
            draw(1, Intervention::Bugfix, "a")
        );
        assert_ne!(
            draw(1, Intervention::Rename, "a"),
            draw(1, Intervention::Rename, "b")
        );
    }
}
