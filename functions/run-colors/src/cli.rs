//! The command line of the same binary, for people rather than schedules:
//!
//! ```text
//! run-colors --input colors.csv --rules rules.json [--as-of <RFC 3339>] --out out/
//! run-colors extract --out sample_data/ [--tables T1,T2] [--rows 1000] [--param-prefix /p/]
//! run-colors generate --out colors.csv [--rows 1000] [--cusips 200] [--seed 1]
//! ```
//!
//! The first needs neither AWS nor Oracle. `extract` reads the Oracle settings from
//! `ORACLE_HOST`, ... and, for any that are not set, from SSM under `--param-prefix` (or
//! `ORACLE_PARAM_PREFIX`).

use std::path::PathBuf;
use std::time::Duration;

use orabridge_shared::aws;
use orabridge_shared::config::{ConfigReader, ProcessEnv, VarSource};
use orabridge_shared::settings::SettingsPlan;

use crate::config::OracleConfig;
use crate::extract::oracle::OracleCatalog;
use crate::extract::{ExtractRequest, extract};
use crate::pipeline::{RunSettings, run};
use crate::rules::Rules;
use crate::sample::{SampleSpec, generate};
use crate::sources::CsvSource;
use crate::values;

/// How to use the command line.
pub const USAGE: &str = "\
usage:
  run-colors --input <colors.csv> --rules <rules.json> [--as-of <RFC 3339>] --out <dir>
  run-colors extract --out <dir> [--tables T1,OWNER.T2] [--rows 1000] [--param-prefix /prefix/]
  run-colors generate --out <colors.csv> [--rows 1000] [--cusips 200] [--seed 1] [--as-of <RFC 3339>]

Without arguments the binary runs as an AWS Lambda function.";

/// A command line that could not be understood.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}\n\n{USAGE}")]
pub struct UsageError(String);

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Rank a CSV file into a folder.
    Rank {
        /// Input CSV.
        input: PathBuf,
        /// Rules document.
        rules: PathBuf,
        /// Reference time (now when absent).
        as_of: Option<values::Micros>,
        /// Output folder.
        out: PathBuf,
    },
    /// Sample data from Oracle.
    Extract {
        /// Output folder.
        out: PathBuf,
        /// Tables to sample.
        tables: Vec<String>,
        /// Rows per sample.
        rows: u32,
        /// SSM prefix of the Oracle settings.
        param_prefix: Option<String>,
    },
    /// Write a generated colors CSV.
    Generate {
        /// Output file.
        out: PathBuf,
        /// What to generate.
        spec: SampleSpec,
    },
    /// Print the usage.
    Help,
}

/// Parses the arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    let mut args = args.iter();
    let mut flags = std::collections::HashMap::new();
    let mut mode = "rank";
    let mut first = true;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" | "help" => return Ok(Command::Help),
            "extract" | "generate" if first => {
                mode = if arg == "extract" {
                    "extract"
                } else {
                    "generate"
                }
            }
            flag if flag.starts_with("--") => {
                let value = args
                    .next()
                    .ok_or_else(|| UsageError(format!("{flag} needs a value")))?;
                if flags.insert(flag.to_owned(), value.clone()).is_some() {
                    return Err(UsageError(format!("{flag} is given twice")));
                }
            }
            other => return Err(UsageError(format!("unexpected argument {other:?}"))),
        }
        first = false;
    }
    let mut take = |name: &str| flags.remove(name);
    let mut number = |name: &str, default: u64| -> Result<u64, UsageError> {
        match take(name) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| UsageError(format!("{name} {text:?} is not a positive number"))),
        }
    };
    let command = if mode == "generate" {
        let rows = number("--rows", 1000)?;
        let cusips = number("--cusips", (rows / 5).max(1))?;
        let seed = number("--seed", 1)?;
        let as_of = match take("--as-of") {
            None => values::parse_timestamp("2026-11-20T16:00:00Z").unwrap_or_default(),
            Some(text) => values::parse_timestamp(&text)
                .ok_or_else(|| UsageError(format!("--as-of {text:?} is not a timestamp")))?,
        };
        Command::Generate {
            out: take("--out")
                .ok_or_else(|| UsageError("--out is required".into()))?
                .into(),
            spec: SampleSpec {
                rows,
                cusips,
                seed,
                as_of,
            },
        }
    } else if mode == "extract" {
        let rows =
            match take("--rows") {
                None => 1000,
                Some(text) => text.parse().ok().filter(|rows| *rows > 0).ok_or_else(|| {
                    UsageError(format!("--rows {text:?} is not a positive number"))
                })?,
            };
        Command::Extract {
            out: take("--out")
                .ok_or_else(|| UsageError("--out is required".into()))?
                .into(),
            tables: take("--tables")
                .map(|t| {
                    t.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            rows,
            param_prefix: take("--param-prefix"),
        }
    } else {
        let as_of = match take("--as-of") {
            None => None,
            Some(text) => Some(
                values::parse_timestamp(&text)
                    .ok_or_else(|| UsageError(format!("--as-of {text:?} is not a timestamp")))?,
            ),
        };
        let mut required =
            |name: &str| take(name).ok_or_else(|| UsageError(format!("{name} is required")));
        Command::Rank {
            input: required("--input")?.into(),
            rules: required("--rules")?.into(),
            out: required("--out")?.into(),
            as_of,
        }
    };
    if let Some(unknown) = flags.keys().next() {
        return Err(UsageError(format!("unknown option {unknown}")));
    }
    Ok(command)
}

/// Runs a command; the error is what to print.
pub async fn execute(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Generate { out, spec } => {
            let file = std::fs::File::create(&out)
                .map_err(|err| anyhow::anyhow!("cannot create {}: {err}", out.display()))?;
            let mut writer = std::io::BufWriter::new(file);
            generate(&spec, &mut writer)?;
            std::io::Write::flush(&mut writer)?;
            Ok(())
        }
        Command::Help => {
            println!("{USAGE}");
            Ok(())
        }
        Command::Rank {
            input,
            rules,
            as_of,
            out,
        } => {
            let document = std::fs::read(&rules)
                .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", rules.display()))?;
            // Rules first: an invalid document stops the run before the input is opened.
            let rules = Rules::parse(&document)?;
            let as_of = as_of.unwrap_or_else(|| chrono::Utc::now().timestamp_micros());
            let manifest = tokio::task::spawn_blocking(move || {
                let mut source = CsvSource::open(&input)?;
                anyhow::Ok(run(
                    &mut source,
                    &RunSettings {
                        as_of,
                        rules: &rules,
                        rules_document: &document,
                        out_dir: &out,
                    },
                )?)
            })
            .await??;
            println!("{}", serde_json::to_string_pretty(&manifest)?);
            Ok(())
        }
        Command::Extract {
            out,
            tables,
            rows,
            param_prefix,
        } => {
            let prefix = param_prefix.or_else(|| ProcessEnv.var("ORACLE_PARAM_PREFIX"));
            let plan = OracleConfig::settings(SettingsPlan::new(ProcessEnv), prefix.as_deref());
            let ssm = match plan.needs_parameters() {
                true => Some(aws::ssm_parameter_store(&aws::load_sdk_config().await?)),
                false => None,
            };
            let settings = OracleConfig::from_source(
                &ConfigReader::new(plan.resolve(ssm.as_ref()).await?),
                Duration::from_secs(300),
            )?;
            let written = tokio::task::spawn_blocking(move || {
                let mut catalog = OracleCatalog::open(settings)?;
                anyhow::Ok(extract(
                    &mut catalog,
                    &ExtractRequest {
                        out_dir: out,
                        tables,
                        rows,
                    },
                )?)
            })
            .await??;
            for path in written {
                println!("{}", path.display());
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_rank_command_reads_its_four_options() {
        let command = parse(&args(
            "--input c.csv --rules r.json --as-of 2026-11-20T16:00:00Z --out out/",
        ))
        .unwrap();
        assert_eq!(
            command,
            Command::Rank {
                input: "c.csv".into(),
                rules: "r.json".into(),
                as_of: values::parse_timestamp("2026-11-20T16:00:00Z"),
                out: "out/".into(),
            }
        );
    }

    #[test]
    fn extract_has_defaults_for_rows_and_tables() {
        let command = parse(&args("extract --out sample_data/ --tables A, --rows 50")).unwrap();
        assert_eq!(
            command,
            Command::Extract {
                out: "sample_data/".into(),
                tables: vec!["A".into()],
                rows: 50,
                param_prefix: None,
            }
        );
        let defaults = parse(&args("extract --out s")).unwrap();
        assert!(matches!(defaults, Command::Extract { rows: 1000, .. }));
    }

    #[test]
    fn mistakes_are_explained_with_the_usage() {
        for (line, expected) in [
            ("--input c.csv --rules r.json", "--out is required"),
            (
                "--input c.csv --rules r.json --out o --as-of soon",
                "--as-of \"soon\" is not a timestamp",
            ),
            (
                "--input c.csv --rules r.json --out o --verbose yes",
                "unknown option --verbose",
            ),
            ("--input a --input b", "--input is given twice"),
            (
                "extract --out o --rows 0",
                "--rows \"0\" is not a positive number",
            ),
            ("rank", "unexpected argument \"rank\""),
            ("--out", "--out needs a value"),
        ] {
            let err = parse(&args(line)).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{line}: {err}");
            assert!(err.contains("usage:"));
        }
    }
}
