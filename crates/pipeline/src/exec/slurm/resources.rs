//! Resources: a stage's `resources`, over the command line's, over `slurm:` in params.yaml, as
//! `sbatch` options. None of it is part of any key.

use std::path::Path;

use serde::Deserialize;

use crate::error::{PipelineError, Result};
use crate::session::Session;
use crate::spec::Resources;

/// `slurm:` in params.yaml: defaults for every stage.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamsDefaults {
    cpus: Option<u32>,
    mem: Option<Scalar>,
    gpus: Option<u32>,
    time: Option<Scalar>,
    partition: Option<String>,
    account: Option<String>,
    #[serde(default)]
    extra: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Number(u64),
    Text(String),
}

impl Scalar {
    fn text(self) -> String {
        match self {
            Scalar::Number(number) => number.to_string(),
            Scalar::Text(text) => text,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ParamsWithSlurm {
    slurm: Option<ParamsDefaults>,
}

/// The defaults under `slurm:` in params.yaml (none when absent).
pub fn params_defaults(session: &Session) -> Result<Resources> {
    let file = session
        .pipeline
        .root
        .join(crate::spec::params::DEFAULT_FILE);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Resources::default());
        }
        Err(error) => return Err(PipelineError::io("read", file, error)),
    };
    if text.trim().is_empty() {
        return Ok(Resources::default());
    }
    let display = session
        .pipeline
        .file
        .parent()
        .unwrap_or(Path::new(""))
        .join(crate::spec::params::DEFAULT_FILE);
    let parsed: ParamsWithSlurm = crate::spec::yaml::from_str(&display, &text)?;
    let Some(raw) = parsed.slurm else {
        return Ok(Resources::default());
    };
    Ok(Resources {
        cpus: raw.cpus,
        mem: raw.mem.map(Scalar::text),
        gpus: raw.gpus,
        time: raw.time.map(Scalar::text),
        partition: raw.partition,
        account: raw.account,
        extra: raw.extra,
    })
}

/// The stage's own resources, then the command line's, then params.yaml's. `extra` lists add
/// up (params first, so later options win in `sbatch`).
pub fn merge(stage: &Resources, cli: &Resources, params: &Resources) -> Resources {
    let pick = |a: &Option<String>, b: &Option<String>, c: &Option<String>| {
        a.clone().or_else(|| b.clone()).or_else(|| c.clone())
    };
    Resources {
        cpus: stage.cpus.or(cli.cpus).or(params.cpus),
        mem: pick(&stage.mem, &cli.mem, &params.mem),
        gpus: stage.gpus.or(cli.gpus).or(params.gpus),
        time: pick(&stage.time, &cli.time, &params.time),
        partition: pick(&stage.partition, &cli.partition, &params.partition),
        account: pick(&stage.account, &cli.account, &params.account),
        extra: params
            .extra
            .iter()
            .chain(&cli.extra)
            .chain(&stage.extra)
            .cloned()
            .collect(),
    }
}

/// The `sbatch` options for `resources`.
pub fn resource_args(resources: &Resources) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(cpus) = resources.cpus {
        args.push(format!("--cpus-per-task={cpus}"));
    }
    if let Some(mem) = &resources.mem {
        args.push(format!("--mem={mem}"));
    }
    if let Some(gpus) = resources.gpus.filter(|&gpus| gpus > 0) {
        args.push(format!("--gres=gpu:{gpus}"));
    }
    if let Some(time) = &resources.time {
        args.push(format!("--time={time}"));
    }
    if let Some(partition) = &resources.partition {
        args.push(format!("--partition={partition}"));
    }
    if let Some(account) = &resources.account {
        args.push(format!("--account={account}"));
    }
    args.extend(resources.extra.iter().cloned());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_map_to_sbatch_options() {
        let resources = Resources {
            cpus: Some(4),
            mem: Some("8G".to_owned()),
            gpus: Some(2),
            time: Some("1:00:00".to_owned()),
            partition: Some("gpu".to_owned()),
            account: Some("lab".to_owned()),
            extra: vec!["--qos=high".to_owned()],
        };
        assert_eq!(
            resource_args(&resources),
            [
                "--cpus-per-task=4",
                "--mem=8G",
                "--gres=gpu:2",
                "--time=1:00:00",
                "--partition=gpu",
                "--account=lab",
                "--qos=high"
            ]
        );
        assert!(resource_args(&Resources::default()).is_empty());
    }

    #[test]
    fn stage_resources_win_over_the_command_line_over_params() {
        let stage = Resources {
            cpus: Some(8),
            extra: vec!["--c".to_owned()],
            ..Resources::default()
        };
        let cli = Resources {
            cpus: Some(2),
            mem: Some("1G".to_owned()),
            extra: vec!["--b".to_owned()],
            ..Resources::default()
        };
        let params = Resources {
            mem: Some("2G".to_owned()),
            partition: Some("debug".to_owned()),
            extra: vec!["--a".to_owned()],
            ..Resources::default()
        };
        let merged = merge(&stage, &cli, &params);
        assert_eq!(merged.cpus, Some(8));
        assert_eq!(merged.mem.as_deref(), Some("1G"));
        assert_eq!(merged.partition.as_deref(), Some("debug"));
        assert_eq!(merged.extra, ["--a", "--b", "--c"]);
    }
}
