//! The command line, for people rather than schedules:
//!
//! ```text
//! run-colors-cli --input colors.csv --rules rules.json [--as-of <RFC 3339>] --out out/
//! run-colors-cli extract --out sample_data/ [--tables T1,T2] [--rows 1000] [--param-prefix /p/]
//! run-colors-cli generate --out colors.csv [--rows 1000] [--cusips 200] [--seed 1]
//! ```
//!
//! The first (also spelled `run-colors-cli rank ...`) needs neither AWS nor Oracle. `extract`
//! reads the Oracle settings from `ORACLE_HOST`, ... and, for any that are not set, from SSM
//! under `--param-prefix` (or `ORACLE_PARAM_PREFIX`).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use orabridge_shared::aws;
use orabridge_shared::config::{ConfigReader, ProcessEnv, VarSource};
use orabridge_shared::settings::SettingsPlan;
use run_colors::config::OracleConfig;
use run_colors::rules::Rules;
use run_colors::run::{RunSettings, run};
use run_colors::sources::CsvSource;
use run_colors::values;

use crate::extract::oracle::OracleCatalog;
use crate::extract::{ExtractRequest, extract};
use crate::sample::{SampleSpec, generate};

/// The parsed command line.
#[derive(Debug, Parser)]
#[command(
    name = "run-colors-cli",
    version,
    about = "Rank colors as the run-colors Lambda does, sample Oracle tables, generate test data.",
    args_conflicts_with_subcommands = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Ranking without a subcommand (`run-colors-cli --input ...`), as `rank` does.
    #[command(flatten)]
    rank: Option<RankArgs>,
    #[command(subcommand)]
    command: Option<Command>,
}

impl Cli {
    /// The command to run: a subcommand, or ranking by the top-level flags. clap's own checks
    /// (help when nothing is given, the rank flags required together) leave no line with
    /// neither; should one get through, it is a usage error, not a run on empty paths.
    pub fn command(self) -> Result<Command, clap::Error> {
        match (self.command, self.rank) {
            (Some(command), _) => Ok(command),
            (None, Some(rank)) => Ok(Command::Rank(rank)),
            (None, None) => Err(<Cli as clap::CommandFactory>::command().error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "give --input, --rules and --out, or a subcommand (rank, extract, generate)",
            )),
        }
    }
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Rank a colors CSV into a run folder (colors.csv, colors.json, excluded.csv, manifest.json).
    Rank(RankArgs),
    /// Sample tables from Oracle: database info, accessible tables, and each table's schema and
    /// first rows as CSV and JSON.
    Extract(ExtractArgs),
    /// Write a realistic, reproducible colors CSV.
    Generate(GenerateArgs),
}

/// `rank`: needs neither AWS nor Oracle.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct RankArgs {
    /// The colors CSV.
    #[arg(long, value_name = "colors.csv")]
    pub input: PathBuf,
    /// The rules document (the shape of events/run-colors-rules.json).
    #[arg(long, value_name = "rules.json")]
    pub rules: PathBuf,
    /// The reference time for `older_than_days` and the run id [default: now].
    #[arg(long, value_name = "RFC 3339", value_parser = timestamp)]
    pub as_of: Option<values::Micros>,
    /// The run folder to write (created if needed).
    #[arg(long, value_name = "dir")]
    pub out: PathBuf,
}

/// `extract`: the Oracle settings come from `ORACLE_*` and SSM.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ExtractArgs {
    /// The folder to write the samples to.
    #[arg(long, value_name = "dir")]
    pub out: PathBuf,
    /// Tables to sample, comma-separated (`T1,OWNER.T2`) [default: the configured table].
    #[arg(long, value_name = "T1,OWNER.T2", value_delimiter = ',')]
    pub tables: Vec<String>,
    /// Rows per table.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub rows: u32,
    /// SSM prefix of the Oracle settings [default: $ORACLE_PARAM_PREFIX].
    #[arg(long, value_name = "/prefix/")]
    pub param_prefix: Option<String>,
}

/// `generate`: the demo's sample and the benchmark's input come from here.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct GenerateArgs {
    /// The CSV file to write.
    #[arg(long, value_name = "colors.csv")]
    pub out: PathBuf,
    /// Rows.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub rows: u64,
    /// Distinct CUSIPs [default: a fifth of the rows].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub cusips: Option<u64>,
    /// Seed of the generator: the same seed gives the same file.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub seed: u64,
    /// The day the colors lead up to.
    #[arg(long, value_name = "RFC 3339", default_value = "2026-11-20T16:00:00Z", value_parser = timestamp)]
    pub as_of: values::Micros,
}

impl ExtractArgs {
    /// The extraction asked for: table names trimmed, empty ones (`--tables A,`) dropped, as
    /// `extract` would otherwise refuse "" as a table name.
    pub fn request(&self) -> ExtractRequest {
        ExtractRequest {
            out_dir: self.out.clone(),
            tables: self
                .tables
                .iter()
                .map(|name| name.trim())
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect(),
            rows: self.rows,
        }
    }
}

impl GenerateArgs {
    /// What to generate.
    pub fn spec(&self) -> SampleSpec {
        SampleSpec {
            rows: self.rows,
            cusips: self.cusips.unwrap_or((self.rows / 5).max(1)),
            seed: self.seed,
            as_of: self.as_of,
        }
    }
}

fn timestamp(text: &str) -> Result<values::Micros, String> {
    values::parse_timestamp(text)
        .ok_or_else(|| "not an RFC 3339 timestamp (2026-11-20T16:00:00Z)".to_owned())
}

/// Runs a command; the error is what to print.
pub async fn execute(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Generate(args) => {
            let (out, spec) = (&args.out, args.spec());
            let file = std::fs::File::create(out)
                .map_err(|err| anyhow::anyhow!("cannot create {}: {err}", out.display()))?;
            let mut writer = std::io::BufWriter::new(file);
            generate(&spec, &mut writer)?;
            std::io::Write::flush(&mut writer)?;
            Ok(())
        }
        Command::Rank(RankArgs {
            input,
            rules,
            as_of,
            out,
        }) => {
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
        Command::Extract(args) => {
            let request = args.request();
            let prefix = args
                .param_prefix
                .or_else(|| ProcessEnv.var("ORACLE_PARAM_PREFIX"));
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
                anyhow::Ok(extract(&mut catalog, &request)?)
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
    use clap::error::ErrorKind;

    fn parse(line: &str) -> Result<Command, clap::Error> {
        Cli::try_parse_from(std::iter::once("run-colors-cli").chain(line.split_whitespace()))
            .and_then(Cli::command)
    }

    #[test]
    fn ranking_reads_its_four_options_with_or_without_the_subcommand() {
        let expected = Command::Rank(RankArgs {
            input: "c.csv".into(),
            rules: "r.json".into(),
            as_of: values::parse_timestamp("2026-11-20T16:00:00Z"),
            out: "out/".into(),
        });
        let flags = "--input c.csv --rules r.json --as-of 2026-11-20T16:00:00Z --out out/";
        assert_eq!(parse(flags).unwrap(), expected);
        assert_eq!(parse(&format!("rank {flags}")).unwrap(), expected);
    }

    #[test]
    fn extract_and_generate_have_their_defaults() {
        let extract = |line: &str| match parse(line).unwrap() {
            Command::Extract(args) => args,
            other => panic!("{line}: {other:?}"),
        };
        let args = extract("extract --out sample_data/ --tables A, --rows 50");
        assert_eq!(
            args.request(),
            ExtractRequest {
                out_dir: "sample_data/".into(),
                tables: vec!["A".into()],
                rows: 50,
            }
        );
        assert_eq!(args.param_prefix, None);
        assert_eq!(
            extract("extract --out s --tables A,OWNER.B --param-prefix /p/").request(),
            ExtractRequest {
                out_dir: "s".into(),
                tables: vec!["A".into(), "OWNER.B".into()],
                rows: 1000,
            }
        );
        let Command::Generate(args) = parse("generate --out g.csv --rows 5000").unwrap() else {
            panic!("not generate");
        };
        assert_eq!(
            args.spec(),
            SampleSpec {
                rows: 5000,
                cusips: 1000,
                seed: 1,
                as_of: values::parse_timestamp("2026-11-20T16:00:00Z").unwrap(),
            }
        );
    }

    #[test]
    fn mistakes_name_the_flag() {
        for (line, kind, names) in [
            (
                "--input c.csv --rules r.json",
                ErrorKind::MissingRequiredArgument,
                "--out",
            ),
            (
                "--input c.csv --rules r.json --out o --as-of soon",
                ErrorKind::ValueValidation,
                "--as-of",
            ),
            (
                "--input c.csv --rules r.json --out o --verbose yes",
                ErrorKind::UnknownArgument,
                "--verbose",
            ),
            (
                "--input a --input b",
                ErrorKind::ArgumentConflict,
                "--input",
            ),
            (
                "extract --out o --rows 0",
                ErrorKind::ValueValidation,
                "--rows",
            ),
            (
                "generate --out o --seed 0",
                ErrorKind::ValueValidation,
                "--seed",
            ),
            (
                "generate --rows 10",
                ErrorKind::MissingRequiredArgument,
                "--out",
            ),
            ("--out", ErrorKind::InvalidValue, "--out"),
            (
                "--input c.csv extract --out o",
                ErrorKind::ArgumentConflict,
                "extract",
            ),
        ] {
            let err = parse(line).expect_err(line);
            let message = err.to_string();
            assert_eq!(err.kind(), kind, "{line}: {message}");
            assert!(message.contains(names), "{line}: {message}");
            assert!(
                message.contains("Usage:") || message.contains("--help"),
                "{message}"
            );
        }
    }

    #[test]
    fn no_arguments_help_and_version_are_answers_not_errors_of_the_run() {
        let kind = |line: &str| parse(line).expect_err(line).kind();
        assert_eq!(
            kind(""),
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        );
        assert_eq!(kind("--help"), ErrorKind::DisplayHelp);
        assert_eq!(kind("generate --help"), ErrorKind::DisplayHelp);
        assert_eq!(kind("--version"), ErrorKind::DisplayVersion);
        let help = parse("extract --help").expect_err("help").to_string();
        assert!(help.contains("--param-prefix"), "{help}");
    }
}
