//! Causal LMs traced or scripted elsewhere (`torch.jit`), loaded with `tch::CModule`.
//! `forward(input_ids, attention_mask)` (or `forward(input_ids)` when the config says
//! `accepts_attention_mask: false`) must return logits `[batch, time, vocab]`, or a tuple whose
//! first element they are (what Hugging Face models traced with `torchscript=True` return).

use std::path::Path;

use tch::{CModule, Device, IValue, Kind, Tensor};

use crate::error::{LmError, Result, torch_message};

pub struct TorchScript {
    module: CModule,
    accepts_attention_mask: bool,
}

impl TorchScript {
    /// Loads `model.pt` onto `device` in eval mode. A missing or unreadable file is the user's
    /// to fix.
    pub fn load(path: &Path, device: Device, accepts_attention_mask: bool) -> Result<Self> {
        if !path.is_file() {
            return Err(LmError::Weights {
                path: path.to_path_buf(),
                message: "no such file".to_owned(),
            });
        }
        let mut module = CModule::load_on_device(path, device).map_err(|e| LmError::Weights {
            path: path.to_path_buf(),
            message: format!("not a loadable TorchScript module: {}", torch_message(&e)),
        })?;
        module.set_eval();
        Ok(Self {
            module,
            accepts_attention_mask,
        })
    }

    pub fn forward(&self, ids: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let output = if self.accepts_attention_mask {
            let ones;
            let mask = match mask {
                Some(mask) => mask,
                None => {
                    ones = ids.ones_like();
                    &ones
                }
            };
            self.module.forward_is(&[
                IValue::Tensor(ids.shallow_clone()),
                IValue::Tensor(mask.shallow_clone()),
            ])
        } else {
            self.module
                .forward_is(&[IValue::Tensor(ids.shallow_clone())])
        }
        .map_err(|e| {
            LmError::Torch(format!("TorchScript forward failed: {}", torch_message(&e)))
        })?;
        let logits = match output {
            IValue::Tensor(tensor) => tensor,
            IValue::Tuple(mut items) | IValue::GenericList(mut items) if !items.is_empty() => {
                match items.swap_remove(0) {
                    IValue::Tensor(tensor) => tensor,
                    other => return Err(not_logits(&other)),
                }
            }
            other => return Err(not_logits(&other)),
        };
        if logits.dim() != 3 {
            return Err(LmError::Torch(format!(
                "TorchScript forward returned a tensor of shape {:?}, expected [batch, time, vocab]",
                logits.size()
            )));
        }
        Ok(logits.to_kind(Kind::Float))
    }
}

fn not_logits(value: &IValue) -> LmError {
    let kind = match value {
        IValue::Tuple(_) => "a tuple without a tensor first",
        IValue::GenericDict(_) => "a dict",
        IValue::GenericList(_) => "a list without a tensor first",
        _ => "a value that is not a tensor",
    };
    LmError::Torch(format!(
        "TorchScript forward returned {kind}; expected logits [batch, time, vocab] (export with scripts/export_hf.py)"
    ))
}
