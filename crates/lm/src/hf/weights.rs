//! The weights of a Hugging Face checkpoint: `model.safetensors`, or shards listed in
//! `model.safetensors.index.json`, read through memory maps one tensor at a time.
//!
//! libtorch's own reader (`Tensor::read_safetensors`) materialises the whole file before the
//! model takes its copy, so loading needs twice the checkpoint's size. Here each tensor is
//! copied from the map into the model's dtype and device, and the pages it came from are
//! dropped from the process (`MADV_DONTNEED`; the page cache keeps them), so the peak is the
//! model itself plus one tensor.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use memmap2::{Mmap, UncheckedAdvice};
use safetensors::SafeTensors;
use safetensors::tensor::Dtype;
use serde_json::Value;
use tch::{Device, Kind, Tensor};

use crate::error::{LmError, Result, torch_message};

pub const SINGLE_FILE: &str = "model.safetensors";
pub const INDEX_FILE: &str = "model.safetensors.index.json";

/// Bytes of a tensor copied from the map at once.
const COPY_SLICE: usize = 16 << 20;

/// One mapped safetensors file and where each of its tensors lies.
struct Shard {
    path: PathBuf,
    map: Mmap,
    /// name -> (dtype, shape, byte range in the file)
    tensors: HashMap<String, (Dtype, Vec<usize>, usize, usize)>,
}

/// The tensors of a checkpoint, taken one at a time into `kind` on `device`.
pub struct Weights {
    shards: Vec<Shard>,
    /// tensor name -> shard index
    index: HashMap<String, usize>,
    taken: HashSet<String>,
    kind: Kind,
    device: Device,
    /// Scalars loaded so far (each checkpoint tensor counted once).
    pub parameters: i64,
}

fn weights_error(path: &Path, message: String) -> LmError {
    LmError::Weights {
        path: path.to_path_buf(),
        message,
    }
}

impl Weights {
    /// Opens the checkpoint's safetensors in `dir`: the index and every shard it names, or the
    /// single file.
    pub fn open(dir: &Path, kind: Kind, device: Device) -> Result<Self> {
        let index_path = dir.join(INDEX_FILE);
        let files: Vec<PathBuf> = if index_path.is_file() {
            let text = fs_err::read_to_string(&index_path)
                .map_err(|e| LmError::io("read", &index_path, e))?;
            let value: Value = serde_json::from_str(&text)
                .map_err(|e| weights_error(&index_path, format!("not valid JSON: {e}")))?;
            let Some(map) = value.get("weight_map").and_then(Value::as_object) else {
                return Err(weights_error(
                    &index_path,
                    "has no `weight_map` object".to_owned(),
                ));
            };
            let mut names: Vec<&str> = Vec::new();
            for (tensor, file) in map {
                let Some(file) = file.as_str() else {
                    return Err(weights_error(
                        &index_path,
                        format!("`weight_map.{tensor}` is not a file name"),
                    ));
                };
                if file.contains('/') || file.contains('\\') || file.starts_with('.') {
                    return Err(weights_error(
                        &index_path,
                        format!("shard `{file}` is not a plain file name in the folder"),
                    ));
                }
                if !names.contains(&file) {
                    names.push(file);
                }
            }
            names.sort_unstable();
            let mut files = Vec::new();
            for name in names {
                let path = dir.join(name);
                if !path.is_file() {
                    return Err(weights_error(
                        &path,
                        format!(
                            "no such file, though `{}` names it as a shard",
                            index_path.display()
                        ),
                    ));
                }
                files.push(path);
            }
            files
        } else {
            vec![dir.join(SINGLE_FILE)]
        };
        let mut shards = Vec::new();
        let mut index = HashMap::new();
        for path in files {
            let shard = Shard::open(&path)?;
            for name in shard.tensors.keys() {
                if index.insert(name.clone(), shards.len()).is_some() {
                    return Err(weights_error(
                        &path,
                        format!("tensor `{name}` is also in another shard"),
                    ));
                }
            }
            shards.push(shard);
        }
        Ok(Self {
            shards,
            index,
            taken: HashSet::new(),
            kind,
            device,
            parameters: 0,
        })
    }

    /// The dtype tensors are converted to from now on.
    pub fn set_kind(&mut self, kind: Kind) {
        self.kind = kind;
    }

    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The shape of a tensor, if present.
    pub fn shape(&self, name: &str) -> Option<Vec<i64>> {
        let shard = &self.shards[*self.index.get(name)?];
        let (_, shape, _, _) = &shard.tensors[name];
        Some(shape.iter().map(|&d| d as i64).collect())
    }

    /// The first of `names` that the checkpoint has (checkpoints saved from the base model lack
    /// the `transformer.`/`model.` prefix).
    pub fn resolve<'n>(&self, names: &[&'n str]) -> Option<&'n str> {
        names.iter().copied().find(|name| self.contains(name))
    }

    fn missing(&self, name: &str) -> LmError {
        let path = match self.shards.as_slice() {
            [single] => single.path.clone(),
            _ => self
                .shards
                .first()
                .map(|shard| shard.path.with_file_name(INDEX_FILE))
                .unwrap_or_default(),
        };
        weights_error(
            &path,
            format!("has no tensor `{name}`, which the model needs"),
        )
    }

    /// Takes tensor `name`, checking its shape, as a CPU tensor of the file's dtype.
    pub fn raw(&mut self, name: &str, shape: &[i64]) -> Result<Tensor> {
        let Some(&shard_index) = self.index.get(name) else {
            return Err(self.missing(name));
        };
        let shard = &self.shards[shard_index];
        let (dtype, file_shape, start, end) = &shard.tensors[name];
        let file_shape: Vec<i64> = file_shape.iter().map(|&d| d as i64).collect();
        if file_shape != shape {
            return Err(weights_error(
                &shard.path,
                format!(
                    "tensor `{name}` has shape {file_shape:?}, but config.json implies {shape:?}"
                ),
            ));
        }
        let kind = kind_of(*dtype).ok_or_else(|| {
            weights_error(
                &shard.path,
                format!("tensor `{name}` has dtype {dtype:?}, which icodegen cannot load"),
            )
        })?;
        // Copied straight into the new tensor in slices of at most COPY_SLICE bytes, each
        // dropped from the process once copied, so a large tensor (an embedding of hundreds of
        // MB) is never resident twice and no temporary buffer is made.
        let tensor = Tensor::f_empty(&file_shape, (kind, Device::Cpu)).map_err(|e| {
            weights_error(
                &shard.path,
                format!("cannot allocate tensor `{name}`: {}", torch_message(&e)),
            )
        })?;
        let expected = file_shape.iter().product::<i64>() as usize * kind.elt_size_in_bytes();
        if expected != end - start {
            return Err(weights_error(
                &shard.path,
                format!(
                    "tensor `{name}` holds {} bytes, but its shape and dtype need {expected}",
                    end - start
                ),
            ));
        }
        let destination = tensor.data_ptr() as *mut u8;
        let mut offset = *start;
        while offset < *end {
            let to = (offset + COPY_SLICE).min(*end);
            let bytes = &shard.map[offset..to];
            // SAFETY: `tensor` is a fresh contiguous CPU tensor of exactly `end - start` bytes
            // (its shape and element size are the file's), so the destination range is in
            // bounds and does not overlap the read-only map.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    bytes.as_ptr(),
                    destination.add(offset - start),
                    bytes.len(),
                );
            }
            // SAFETY: the map is read-only and this range is not read again (the tensor owns
            // its copy); a page shared with the next tensor is simply read in again.
            unsafe {
                let _ = shard.map.unchecked_advise_range(
                    UncheckedAdvice::DontNeed,
                    offset,
                    to - offset,
                );
            }
            offset = to;
        }
        if self.taken.insert(name.to_owned()) {
            self.parameters += file_shape.iter().product::<i64>();
        }
        Ok(tensor)
    }

    /// Moves a tensor assembled from [`Weights::raw`] parts into the model's dtype and device.
    pub fn place(&self, tensor: Tensor) -> Result<Tensor> {
        Ok(tensor
            .f_to_kind(self.kind)?
            .f_to_device(self.device)?
            .contiguous())
    }

    /// Takes tensor `name` of shape `shape`, in the model's dtype and on its device.
    pub fn take(&mut self, name: &str, shape: &[i64]) -> Result<Tensor> {
        let tensor = self.raw(name, shape)?;
        self.place(tensor)
    }

    /// Takes a `Conv1D` weight (GPT-2 stores `[in, out]`) as a linear one (`[out, in]`).
    pub fn take_transposed(&mut self, name: &str, shape: &[i64]) -> Result<Tensor> {
        let tensor = self.raw(name, shape)?.f_transpose(0, 1)?;
        self.place(tensor)
    }

    /// Like [`Weights::take`], `None` when the checkpoint has no such tensor.
    pub fn take_optional(&mut self, name: &str, shape: &[i64]) -> Result<Option<Tensor>> {
        if self.contains(name) {
            self.take(name, shape).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Tensors of the checkpoint that the model did not use, sorted (buffers such as
    /// `attn.bias` masks of old GPT-2 checkpoints are expected there).
    pub fn unused(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .index
            .keys()
            .filter(|name| !self.taken.contains(*name))
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// The safetensors files read, for messages and provenance.
    pub fn files(&self) -> Vec<PathBuf> {
        self.shards.iter().map(|shard| shard.path.clone()).collect()
    }

    /// Total bytes of the checkpoint's files.
    pub fn bytes(&self) -> u64 {
        self.shards.iter().map(|shard| shard.map.len() as u64).sum()
    }

    /// The dtype most of the checkpoint's floating-point scalars are stored in.
    pub fn stored_kind(&self) -> Option<Kind> {
        let mut counts: BTreeMap<String, (usize, Kind)> = BTreeMap::new();
        for shard in &self.shards {
            for (dtype, shape, _, _) in shard.tensors.values() {
                if let Some(kind) = kind_of(*dtype).filter(|kind| {
                    matches!(
                        kind,
                        Kind::Float | Kind::Half | Kind::BFloat16 | Kind::Double
                    )
                }) {
                    let entry = counts.entry(format!("{kind:?}")).or_insert((0, kind));
                    entry.0 += shape.iter().product::<usize>();
                }
            }
        }
        counts
            .into_values()
            .max_by_key(|(count, _)| *count)
            .map(|(_, kind)| kind)
    }
}

impl Shard {
    fn open(path: &Path) -> Result<Self> {
        let file = fs_err::File::open(path).map_err(|e| LmError::io("read", path, e))?;
        // SAFETY: the file is only read; a checkpoint modified while it loads is the user's
        // problem, as it is for every mmap-based loader (transformers included).
        let map = unsafe { Mmap::map(file.file()) }.map_err(|e| LmError::io("map", path, e))?;
        let parsed = SafeTensors::deserialize(&map).map_err(|e| {
            weights_error(
                path,
                format!("not a valid safetensors file (truncated or corrupt): {e:?}"),
            )
        })?;
        let base = map.as_ptr() as usize;
        let tensors = parsed
            .tensors()
            .into_iter()
            .map(|(name, view)| {
                let data = view.data();
                let start = data.as_ptr() as usize - base;
                (
                    name,
                    (
                        view.dtype(),
                        view.shape().to_vec(),
                        start,
                        start + data.len(),
                    ),
                )
            })
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            map,
            tensors,
        })
    }
}

fn kind_of(dtype: Dtype) -> Option<Kind> {
    Some(match dtype {
        Dtype::F32 => Kind::Float,
        Dtype::F16 => Kind::Half,
        Dtype::BF16 => Kind::BFloat16,
        Dtype::F64 => Kind::Double,
        Dtype::I64 => Kind::Int64,
        Dtype::I32 => Kind::Int,
        Dtype::U8 => Kind::Uint8,
        Dtype::BOOL => Kind::Bool,
        _ => return None,
    })
}
