//! The value vocabularies of the artifacts' string columns: every closed set of values a column
//! holds (concept kinds, interventions, metrics, skip reasons, ...) as an enum. This module is
//! the only place such a value is spelled, as [`schemas`](crate::schemas) is for column names;
//! `docs/artifacts.md` lists each vocabulary with its values and the contract test checks that
//! the list is exactly each enum's `ALL`.
//!
//! Every vocabulary has `as_str` (the value written), `FromStr` (an [`UnknownValue`] error naming
//! the value and the allowed ones), `ALL`, `VALUES`, `Display`, and serde (the value as a string;
//! an unknown one is serde's "unknown variant" error, which params turn into a "did you mean").
//!
//! Languages are not here: `icodegen-lang` owns them (with their grammars).

use std::fmt;

/// A value that is not in its vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {vocabulary} `{value}`, expected one of {}", quoted(allowed))]
pub struct UnknownValue {
    /// The vocabulary's name (its enum's name).
    pub vocabulary: &'static str,
    pub value: String,
    pub allowed: &'static [&'static str],
}

fn quoted(values: &[&str]) -> String {
    values
        .iter()
        .map(|value| format!("`{value}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $value:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )*
        }

        impl $name {
            /// The vocabulary's name, as `docs/artifacts.md` lists it.
            pub const NAME: &'static str = stringify!($name);
            /// Every value, in the order `docs/artifacts.md` lists them.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];
            /// The spelling of every value of [`Self::ALL`], in the same order.
            pub const VALUES: &'static [&'static str] = &[ $( $value, )* ];

            /// The value as artifacts spell it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $value, )*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;

            fn from_str(value: &str) -> Result<Self, UnknownValue> {
                match value {
                    $( $value => Ok($name::$variant), )*
                    _ => Err(UnknownValue {
                        vocabulary: Self::NAME,
                        value: value.to_owned(),
                        allowed: Self::VALUES,
                    }),
                }
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.as_str()
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                self == other.as_str()
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                value
                    .parse()
                    .map_err(|_| serde::de::Error::unknown_variant(&value, Self::VALUES))
            }
        }
    };
}

vocabulary! {
    /// `snippets.split`.
    Split {
        Train = "train",
        Valid = "valid",
        Test = "test",
    }
}

vocabulary! {
    /// `snippets.source`: the kind of input a snippet came from.
    SnippetSource {
        Codesearchnet = "codesearchnet",
        Tree = "tree",
        Archive = "archive",
        Pairs = "pairs",
        Parquet = "parquet",
    }
}

vocabulary! {
    /// `testbed.intervention`, `study_paired.intervention` and `study_effects.treatment` /
    /// `study_refutations.treatment` when the treatment kind is `intervention`. `none` holds the
    /// original test snippets. Not closed: a `preprocess.pairs` mapping may name the intervention
    /// of its real pairs otherwise (any name but `none`), so readers accept other names.
    Intervention {
        None = "none",
        Comments = "comments",
        Bugfix = "bugfix",
        Rename = "rename",
        Reformat = "reformat",
        Deadcode = "deadcode",
        Syntax = "syntax",
    }
}

vocabulary! {
    /// `testbed.mutation`: the edit that made a row of a pair (null for originals): `real_pair`
    /// for both rows of a pair read from the input, else by intervention: `bugfix` (the six
    /// mutation operators), `comments`, `rename`, `reformat`, `deadcode`, `syntax`.
    Mutation {
        FlipComparison = "flip_comparison",
        SwapArithmetic = "swap_arithmetic",
        OffByOne = "off_by_one",
        NegateCondition = "negate_condition",
        SwapArguments = "swap_arguments",
        DeleteStatement = "delete_statement",
        RealPair = "real_pair",
        StripComments = "strip_comments",
        RenameIdentifiers = "rename_identifiers",
        Reformat = "reformat",
        DeadAssignment = "dead_assignment",
        DeadBranch = "dead_branch",
        RemoveColon = "remove_colon",
        RemoveClosingBracket = "remove_closing_bracket",
    }
}

vocabulary! {
    /// `scores.skip_reason`: why infer did not score a row.
    SkipReason {
        Empty = "empty or whitespace-only code",
        SingleToken = "a single token and no BOS: nothing to predict",
    }
}

vocabulary! {
    /// `concepts.concept_kind`, `concepts_global.concept_kind`, `study_concepts.concept_kind`,
    /// and the `<concept_kind>` of a `<concept_kind>:<concept>` outcome or measure.
    ConceptKind {
        NodeType = "node_type",
        Category = "category",
    }
}

vocabulary! {
    /// `study_tokens.concept_kind`: a [`ConceptKind`] of the token's leaf, or `all` tokens.
    TokenConceptKind {
        All = "all",
        Category = "category",
        NodeType = "node_type",
    }
}

vocabulary! {
    /// `study_metrics.metric`, and the values of `study_paired.outcome`,
    /// `study_effects.outcome` and `study_comparisons.measure` that are not a concept.
    Metric {
        CrossEntropy = "cross_entropy",
        Accuracy = "accuracy",
    }
}

vocabulary! {
    /// `study_metrics.ci_method`, `study_concepts.ci_method`: the bootstrap interval.
    CiMethod {
        Bca = "bca",
        Percentile = "percentile",
    }
}

vocabulary! {
    /// `study_concepts.reading`: the seed studies' reading of a mean probability.
    Reading {
        Confident = "confident",
        Erroneous = "erroneous",
        Uncertain = "uncertain",
    }
}

vocabulary! {
    /// `study_effects.treatment_kind`, `study_refutations.treatment_kind`.
    TreatmentKind {
        Intervention = "intervention",
        Concept = "concept",
    }
}

vocabulary! {
    /// `study_effects.method`, `study_refutations.method`: the back-door estimator
    /// (`icodegen-causal`'s `Method::name`).
    EffectMethod {
        LinearRegression = "linear_regression",
        PsStratification = "ps_stratification",
        PsMatching = "ps_matching",
        PsWeighting = "ps_weighting",
        Aipw = "aipw",
    }
}

vocabulary! {
    /// `study_effects.interval_kind`: how the effect's interval was computed.
    IntervalKind {
        StudentT = "student_t",
        InfluenceFunction = "influence_function",
        Bootstrap = "bootstrap",
    }
}

vocabulary! {
    /// `study_refutations.refuter` (`icodegen-causal`'s `Refuter::name`).
    Refuter {
        Placebo = "placebo",
        RandomCommonCause = "random_common_cause",
        DataSubset = "data_subset",
        Bootstrap = "bootstrap",
        UnobservedCommonCause = "unobserved_common_cause",
    }
}

vocabulary! {
    /// `study_seed_checks.check`: the seed studies' findings checked on this run.
    SeedCheck {
        BlocksVsIdentifiers = "blocks_vs_identifiers",
        BlocksVsNaturalLanguage = "blocks_vs_natural_language",
        BugfixSizeAdjustment = "bugfix_size_adjustment",
    }
}

vocabulary! {
    /// `study_seed_checks.verdict`.
    Verdict {
        Holds = "holds",
        PartlyHolds = "partly holds",
        DoesNotHold = "does not hold",
        Inconclusive = "inconclusive",
        NotTestable = "not testable",
    }
}

/// Every vocabulary: its name and values, for the contract test and tools.
pub const VOCABULARIES: &[(&str, &[&str])] = &[
    (Split::NAME, Split::VALUES),
    (SnippetSource::NAME, SnippetSource::VALUES),
    (Intervention::NAME, Intervention::VALUES),
    (Mutation::NAME, Mutation::VALUES),
    (SkipReason::NAME, SkipReason::VALUES),
    (ConceptKind::NAME, ConceptKind::VALUES),
    (TokenConceptKind::NAME, TokenConceptKind::VALUES),
    (Metric::NAME, Metric::VALUES),
    (CiMethod::NAME, CiMethod::VALUES),
    (Reading::NAME, Reading::VALUES),
    (TreatmentKind::NAME, TreatmentKind::VALUES),
    (EffectMethod::NAME, EffectMethod::VALUES),
    (IntervalKind::NAME, IntervalKind::VALUES),
    (Refuter::NAME, Refuter::VALUES),
    (SeedCheck::NAME, SeedCheck::VALUES),
    (Verdict::NAME, Verdict::VALUES),
];

impl ConceptKind {
    /// The same kind in `study_tokens`' vocabulary.
    pub const fn tokens_kind(self) -> TokenConceptKind {
        match self {
            ConceptKind::NodeType => TokenConceptKind::NodeType,
            ConceptKind::Category => TokenConceptKind::Category,
        }
    }

    /// The other kind.
    pub const fn other(self) -> ConceptKind {
        match self {
            ConceptKind::NodeType => ConceptKind::Category,
            ConceptKind::Category => ConceptKind::NodeType,
        }
    }
}

impl Intervention {
    /// The interventions that make treated rows (every value but `none`).
    pub const TREATMENTS: &'static [Intervention] = &[
        Intervention::Comments,
        Intervention::Bugfix,
        Intervention::Rename,
        Intervention::Reformat,
        Intervention::Deadcode,
        Intervention::Syntax,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_unknown_ones_name_the_allowed() {
        for (index, kind) in ConceptKind::ALL.iter().enumerate() {
            assert_eq!(kind.as_str(), ConceptKind::VALUES[index]);
            assert_eq!(kind.as_str().parse::<ConceptKind>().unwrap(), *kind);
            assert_eq!(kind.to_string(), kind.as_str());
        }
        let error = "nodetype".parse::<ConceptKind>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown ConceptKind `nodetype`, expected one of `node_type`, `category`"
        );
        assert_eq!(
            "partly holds".parse::<Verdict>().unwrap(),
            Verdict::PartlyHolds
        );
        assert!(Metric::CrossEntropy == *"cross_entropy");
        let owned = Intervention::None.to_string();
        assert!(owned == Intervention::None && Intervention::None == "none");
    }

    #[test]
    fn serde_spells_the_value_and_rejects_others_as_unknown_variants() {
        let json = serde_json::to_string(&Split::Valid).unwrap();
        assert_eq!(json, "\"valid\"");
        assert_eq!(serde_json::from_str::<Split>(&json).unwrap(), Split::Valid);
        let error = serde_json::from_str::<Split>("\"vaild\"")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("unknown variant `vaild`, expected one of `train`, `valid`, `test`"),
            "{error}"
        );
    }

    #[test]
    fn every_vocabulary_is_listed_once_with_distinct_values() {
        let mut names: Vec<&str> = VOCABULARIES.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), VOCABULARIES.len());
        for (name, values) in VOCABULARIES {
            let mut sorted = values.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), values.len(), "{name} repeats a value");
        }
    }
}
