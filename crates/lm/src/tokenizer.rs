//! Byte-level BPE tokenizers for code (Hugging Face `tokenizers`).
//!
//! Offsets are **byte** offsets into the code: `Tokenizer::encode` reports bytes (only
//! `encode_char_offsets` reports characters), which is what `tag` needs to bind tokens to
//! tree-sitter nodes on non-ASCII code. A byte-level token that holds only part of a multi-byte
//! character gets the span of the whole character, so spans can overlap there.
//!
//! Special tokens (BOS) are never produced by [`CodeTokenizer::encode`]: whether a BOS is
//! prepended is the model's business (its `config.json`), not the tokenizer's post-processor.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{
    AddedToken, DecoderWrapper, ModelWrapper, NormalizerWrapper, PostProcessorWrapper,
    PreTokenizerWrapper, Tokenizer, TokenizerImpl,
};

use crate::error::{LmError, Result};

/// How to train a tokenizer (the `tokenizer` section of `params.yaml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizerSpec {
    /// Target vocabulary size, special tokens and the 256 byte symbols included.
    pub vocab_size: usize,
    /// A merge must occur at least this often in the training code.
    #[serde(default = "default_min_frequency")]
    pub min_frequency: u64,
    /// Prepended to every sequence, and appended as end-of-text when training models.
    #[serde(default = "default_bos")]
    pub bos_token: String,
    /// Fills batches; never scored.
    #[serde(default = "default_pad")]
    pub pad_token: String,
}

fn default_min_frequency() -> u64 {
    2
}
fn default_bos() -> String {
    "<|endoftext|>".to_owned()
}
fn default_pad() -> String {
    "<|pad|>".to_owned()
}

/// One piece of code as token ids, with each token's byte span in the code (`None` for
/// special tokens, which have no span).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Encoded {
    pub ids: Vec<i64>,
    pub spans: Vec<Option<(u32, u32)>>,
}

impl Encoded {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A loaded tokenizer and where it came from (for messages).
#[derive(Clone)]
pub struct CodeTokenizer {
    inner: Tokenizer,
    path: PathBuf,
}

type Impl = TokenizerImpl<
    ModelWrapper,
    NormalizerWrapper,
    PreTokenizerWrapper,
    PostProcessorWrapper,
    DecoderWrapper,
>;

impl CodeTokenizer {
    /// Trains a byte-level BPE tokenizer (GPT-2's pre-tokenization, no prefix space, so code is
    /// tokenized exactly as written) on `texts`. `origin` names the training data in messages.
    pub fn train<I, S>(spec: &TokenizerSpec, texts: I, origin: &Path) -> Result<Self>
    where
        I: Iterator<Item = S> + Send,
        S: AsRef<str> + Send,
    {
        let error = |message: String| LmError::Tokenizer {
            path: origin.to_path_buf(),
            message,
        };
        let mut special = vec![spec.bos_token.clone()];
        if spec.pad_token != spec.bos_token {
            special.push(spec.pad_token.clone());
        }
        let minimum = 256 + special.len();
        if spec.vocab_size < minimum {
            return Err(error(format!(
                "vocab_size {} is smaller than the 256 byte symbols plus {} special tokens",
                spec.vocab_size,
                special.len()
            )));
        }
        let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
            .vocab_size(spec.vocab_size)
            .min_frequency(spec.min_frequency)
            .show_progress(false)
            .special_tokens(
                special
                    .iter()
                    .map(|token| AddedToken::from(token.clone(), true))
                    .collect(),
            )
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .build()
            .into();
        let byte_level = ByteLevel::default()
            .add_prefix_space(false)
            .trim_offsets(false);
        let mut tokenizer: Impl = TokenizerImpl::new(ModelWrapper::BPE(BPE::default()));
        tokenizer
            .with_pre_tokenizer(Some(PreTokenizerWrapper::ByteLevel(byte_level)))
            .with_decoder(Some(DecoderWrapper::ByteLevel(byte_level)));
        tokenizer
            .train(&mut trainer, texts)
            .map_err(|e| LmError::TokenizerFailed {
                path: origin.to_path_buf(),
                message: format!("training failed: {e}"),
            })?;
        Ok(Self {
            inner: Tokenizer::from(tokenizer),
            path: origin.to_path_buf(),
        })
    }

    /// Loads a Hugging Face `tokenizer.json`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = fs_err::read(path).map_err(|e| LmError::io("read", path, e))?;
        let inner = Tokenizer::from_bytes(&bytes).map_err(|e| LmError::TokenizerFailed {
            path: path.to_path_buf(),
            message: format!("not a valid tokenizer.json: {e}"),
        })?;
        Ok(Self {
            inner,
            path: path.to_path_buf(),
        })
    }

    /// Loads a GPT-2-style byte-level BPE from `vocab.json` and `merges.txt` (what the slow
    /// tokenizers of older checkpoints ship), as `transformers` converts them: byte-level
    /// pre-tokenization without a prefix space unless `add_prefix_space`, untrimmed offsets, and
    /// `special` (token, id) pairs as special tokens.
    pub fn load_vocab_merges(
        vocab: &Path,
        merges: &Path,
        add_prefix_space: bool,
        special: &[String],
    ) -> Result<Self> {
        let error = |message: String| LmError::TokenizerFailed {
            path: vocab.to_path_buf(),
            message,
        };
        for path in [vocab, merges] {
            if !path.is_file() {
                return Err(LmError::Tokenizer {
                    path: path.to_path_buf(),
                    message: "no such file".to_owned(),
                });
            }
        }
        let bpe = BPE::from_file(&vocab.to_string_lossy(), &merges.to_string_lossy())
            .build()
            .map_err(|e| {
                error(format!(
                    "cannot build a BPE from it and `{}`: {e}",
                    merges.display()
                ))
            })?;
        let byte_level = ByteLevel::default()
            .add_prefix_space(add_prefix_space)
            .trim_offsets(false);
        let mut tokenizer: Impl = TokenizerImpl::new(ModelWrapper::BPE(bpe));
        tokenizer
            .with_pre_tokenizer(Some(PreTokenizerWrapper::ByteLevel(byte_level)))
            .with_decoder(Some(DecoderWrapper::ByteLevel(byte_level)))
            .with_post_processor(Some(PostProcessorWrapper::ByteLevel(byte_level)));
        let special: Vec<AddedToken> = special
            .iter()
            .map(|token| AddedToken::from(token.clone(), true))
            .collect();
        tokenizer.add_special_tokens(&special);
        Ok(Self {
            inner: Tokenizer::from(tokenizer),
            path: vocab.to_path_buf(),
        })
    }

    /// The special tokens the tokenizer's own post-processor puts before a text (a BOS for
    /// Llama-style tokenizers; none for GPT-2's).
    pub fn special_prefix(&self) -> Result<Vec<i64>> {
        let encoding = self
            .inner
            .encode("x", true)
            .map_err(|e| LmError::TokenizerFailed {
                path: self.path.clone(),
                message: format!("cannot encode: {e}"),
            })?;
        Ok(encoding
            .get_ids()
            .iter()
            .zip(encoding.get_special_tokens_mask())
            .take_while(|(_, special)| **special == 1)
            .map(|(&id, _)| i64::from(id))
            .collect())
    }

    /// The `tokenizer.json` text.
    pub fn to_json(&self) -> Result<String> {
        self.inner
            .to_string(true)
            .map_err(|e| LmError::TokenizerFailed {
                path: self.path.clone(),
                message: format!("cannot serialize: {e}"),
            })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Vocabulary size including added (special) tokens: every id the tokenizer can produce
    /// is below it.
    pub fn vocab_size(&self) -> i64 {
        let base = self.inner.get_vocab_size(true) as i64;
        // Added tokens may sit anywhere; the largest id bounds what the model must predict.
        let largest = self
            .inner
            .get_vocab(true)
            .values()
            .copied()
            .max()
            .map_or(0, |id| i64::from(id) + 1);
        base.max(largest)
    }

    /// The id of a token spelled `text`, if the vocabulary has it.
    pub fn token_id(&self, text: &str) -> Option<i64> {
        self.inner.token_to_id(text).map(i64::from)
    }

    /// The token as the vocabulary spells it (`Ġreturn` for " return" in byte-level BPE).
    pub fn token_text(&self, id: i64) -> String {
        u32::try_from(id)
            .ok()
            .and_then(|id| self.inner.id_to_token(id))
            .unwrap_or_default()
    }

    /// Decodes ids to text (byte-level bytes joined back into UTF-8).
    pub fn decode(&self, ids: &[i64]) -> Result<String> {
        let ids: Vec<u32> = ids.iter().map(|&id| id as u32).collect();
        self.inner
            .decode(&ids, false)
            .map_err(|e| LmError::TokenizerFailed {
                path: self.path.clone(),
                message: format!("cannot decode: {e}"),
            })
    }

    /// Tokenizes `code` without special tokens, with byte spans.
    pub fn encode(&self, code: &str) -> Result<Encoded> {
        let encoding = self
            .inner
            .encode(code, false)
            .map_err(|e| LmError::TokenizerFailed {
                path: self.path.clone(),
                message: format!("cannot encode: {e}"),
            })?;
        Ok(to_encoded(&encoding))
    }

    /// Tokenizes many pieces of code in parallel (the tokenizers crate's rayon pool).
    pub fn encode_batch(&self, codes: &[&str]) -> Result<Vec<Encoded>> {
        let encodings = self
            .inner
            .encode_batch(codes.to_vec(), false)
            .map_err(|e| LmError::TokenizerFailed {
                path: self.path.clone(),
                message: format!("cannot encode: {e}"),
            })?;
        Ok(encodings.iter().map(to_encoded).collect())
    }
}

fn to_encoded(encoding: &tokenizers::Encoding) -> Encoded {
    let ids = encoding.get_ids().iter().map(|&id| i64::from(id)).collect();
    let special = encoding.get_special_tokens_mask();
    let spans = encoding
        .get_offsets()
        .iter()
        .zip(special)
        .map(|(&(start, end), &is_special)| {
            (is_special == 0 && end > start).then_some((start as u32, end as u32))
        })
        .collect();
    Encoded { ids, spans }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORPUS: &[&str] = &[
        "def add(a, b):\n    return a + b\n",
        "def greet(name):\n    print(f\"héllo {name} ✓\")\n    return None\n",
        "for i in range(10):\n    total += i * i\n",
        "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    ];

    fn tiny() -> CodeTokenizer {
        let spec = TokenizerSpec {
            vocab_size: 300,
            min_frequency: 1,
            bos_token: default_bos(),
            pad_token: default_pad(),
        };
        let texts = CORPUS.iter().cycle().take(40);
        CodeTokenizer::train(&spec, texts, Path::new("corpus")).unwrap()
    }

    #[test]
    fn offsets_are_byte_offsets_on_non_ascii_code() {
        let tokenizer = tiny();
        let code = "s = \"héllo wörld ✓\"  # ünïcode\nreturn s\n";
        let encoded = tokenizer.encode(code).unwrap();
        assert!(!encoded.is_empty());
        let mut checked_after_non_ascii = 0;
        for (index, (&id, span)) in encoded.ids.iter().zip(&encoded.spans).enumerate() {
            let (start, end) = span.expect("code tokens have spans");
            let text = tokenizer.decode(&[id]).unwrap();
            if text.contains('\u{FFFD}') {
                // Part of a multi-byte character: its span is the whole character.
                let piece = &code.as_bytes()[start as usize..end as usize];
                assert!(
                    std::str::from_utf8(piece).is_ok(),
                    "token {index} splits a character"
                );
                continue;
            }
            assert_eq!(&code[start as usize..end as usize], text, "token {index}");
            if start as usize > code.find('é').unwrap() {
                checked_after_non_ascii += 1;
            }
        }
        // With character offsets every token after the first non-ASCII character would drift.
        assert!(checked_after_non_ascii > 5);
        let last = encoded.spans.last().unwrap().unwrap();
        assert_eq!(last.1 as usize, code.len());
    }

    #[test]
    fn encoding_adds_no_special_tokens_and_round_trips() {
        let tokenizer = tiny();
        let code = CORPUS[1];
        let encoded = tokenizer.encode(code).unwrap();
        let bos = tokenizer.token_id("<|endoftext|>").unwrap();
        assert!(!encoded.ids.contains(&bos));
        assert_eq!(tokenizer.decode(&encoded.ids).unwrap(), code);
        assert!(tokenizer.encode("").unwrap().is_empty());
    }

    #[test]
    fn training_learns_merges_and_specials_and_saves_loadable_json() {
        let tokenizer = tiny();
        assert_eq!(tokenizer.vocab_size(), 300);
        assert!(tokenizer.token_id("<|pad|>").is_some());
        let code = CORPUS[0];
        let encoded = tokenizer.encode(code).unwrap();
        assert!(encoded.len() < code.len(), "merges shorten the sequence");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        fs_err::write(&path, tokenizer.to_json().unwrap()).unwrap();
        let loaded = CodeTokenizer::load(&path).unwrap();
        assert_eq!(loaded.encode(code).unwrap(), encoded);
        let batch = loaded.encode_batch(&[code, CORPUS[2]]).unwrap();
        assert_eq!(batch[0], encoded);
    }

    #[test]
    fn a_corrupt_tokenizer_file_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        fs_err::write(&path, "{ not json").unwrap();
        let error = CodeTokenizer::load(&path).err().unwrap();
        // A corrupt input file is the work failing (exit 1), not the user's invocation.
        assert!(!error.is_user_error());
        assert!(error.to_string().contains("tokenizer.json"), "{error}");
    }
}
