//! `--device auto|cpu|cuda`: where models train and infer.

use std::fmt;
use std::str::FromStr;

use crate::error::{LmError, Result};

/// The device a user asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// CUDA when libtorch sees a GPU, else the CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
}

impl DeviceChoice {
    /// The tch device; asking for CUDA where none is available is an error, not a silent
    /// fall-back.
    pub fn resolve(self) -> Result<tch::Device> {
        match self {
            DeviceChoice::Auto => Ok(tch::Device::cuda_if_available()),
            DeviceChoice::Cpu => Ok(tch::Device::Cpu),
            DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(tch::Device::Cuda(0)),
            DeviceChoice::Cuda => Err(LmError::Device(
                "`--device cuda` was requested but libtorch sees no CUDA device\nhint: use `--device auto` or `--device cpu`".to_owned(),
            )),
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda),
            other => Err(format!(
                "unknown device `{other}`, expected `auto`, `cpu` or `cuda`"
            )),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceChoice::Auto => "auto",
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Cuda => "cuda",
        })
    }
}

/// `infer.dtype`: the floating-point type a model runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DtypeChoice {
    /// A Hugging Face checkpoint's own dtype on CUDA, float32 on the CPU.
    #[default]
    Auto,
    Float32,
    Bfloat16,
    Float16,
}

impl FromStr for DtypeChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(DtypeChoice::Auto),
            "float32" | "fp32" => Ok(DtypeChoice::Float32),
            "bfloat16" | "bf16" => Ok(DtypeChoice::Bfloat16),
            "float16" | "fp16" | "half" => Ok(DtypeChoice::Float16),
            other => Err(format!(
                "unknown dtype `{other}`, expected `auto`, `float32`, `bfloat16` or `float16`"
            )),
        }
    }
}

impl fmt::Display for DtypeChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DtypeChoice::Auto => "auto",
            DtypeChoice::Float32 => "float32",
            DtypeChoice::Bfloat16 => "bfloat16",
            DtypeChoice::Float16 => "float16",
        })
    }
}

/// A readable name for a tch device (`cpu`, `cuda:0`).
pub fn device_name(device: tch::Device) -> String {
    match device {
        tch::Device::Cpu => "cpu".to_owned(),
        tch::Device::Cuda(index) => format!("cuda:{index}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_always_available_and_auto_resolves() {
        assert_eq!(DeviceChoice::Cpu.resolve().unwrap(), tch::Device::Cpu);
        let auto = DeviceChoice::Auto.resolve().unwrap();
        assert_eq!(auto.is_cuda(), tch::Cuda::is_available());
    }

    #[test]
    fn cuda_without_a_gpu_is_a_user_error() {
        if tch::Cuda::is_available() {
            return;
        }
        let error = DeviceChoice::Cuda.resolve().unwrap_err();
        assert!(error.is_user_error());
        assert!(error.to_string().contains("no CUDA device"), "{error}");
    }

    #[test]
    fn device_names_parse() {
        assert_eq!("cuda".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda);
        assert!("tpu".parse::<DeviceChoice>().is_err());
    }
}
