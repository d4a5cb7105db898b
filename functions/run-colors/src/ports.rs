//! What a run reads, as ports `main` builds and the tests replace: the rules document and the
//! colors. The configured adapters are [`ConfiguredRules`] (a file, an SSM parameter or an S3
//! object) and [`ColorsLocation`] (a CSV file or the Oracle table); a test can pass a
//! [`MemorySource`] of colors instead.

use std::future::Future;
use std::path::PathBuf;

use orabridge_shared::object_store::ObjectReader;
use orabridge_shared::oracle::OracleError;
use orabridge_shared::params::{GetOptions, ParameterSource, ParameterStore};

use crate::config::{ColorsLocation, RulesLocation};
use crate::sources::oracle::OracleColors;
use crate::sources::{CsvSource, MemorySource, Record, RecordSource, SourceError};

/// Why a document could not be read.
pub type ReadError = Box<dyn std::error::Error + Send + Sync>;

/// Where a run's rules document is read: at the start of every run, so a change applies to the
/// next run without a redeploy.
pub trait RulesSource {
    /// Where the document is, as an operator would look for it (in error messages).
    fn location(&self) -> String;

    /// The document.
    fn read(&self) -> impl Future<Output = Result<Vec<u8>, ReadError>>;
}

/// The rules where the configuration says (`RULES_FILE`, `RULES_PARAM`, `RULES_S3_URI`).
pub enum ConfiguredRules<P, R> {
    /// A local file.
    File(PathBuf),
    /// An SSM parameter, through the store's cache.
    Parameter {
        /// The parameter store.
        store: ParameterStore<P>,
        /// The parameter's name.
        name: String,
    },
    /// An S3 object.
    Object {
        /// The rules bucket.
        bucket: R,
        /// `s3://bucket/key`, for messages.
        uri: String,
        /// The object's key.
        key: String,
    },
}

impl<P: ParameterSource, R: ObjectReader> ConfiguredRules<P, R> {
    /// The rules at `location`: `parameters` builds the SSM store and `bucket` a reader of the
    /// named bucket, each called only when the location needs it (a function whose rules are a
    /// file builds neither client).
    pub fn new(
        location: &RulesLocation,
        parameters: impl FnOnce() -> ParameterStore<P>,
        bucket: impl FnOnce(&str) -> R,
    ) -> Self {
        match location {
            RulesLocation::File(path) => ConfiguredRules::File(path.clone()),
            RulesLocation::Parameter(name) => ConfiguredRules::Parameter {
                store: parameters(),
                name: name.clone(),
            },
            RulesLocation::S3 { bucket: name, key } => ConfiguredRules::Object {
                bucket: bucket(name),
                uri: format!("s3://{name}/{key}"),
                key: key.clone(),
            },
        }
    }
}

impl<P: ParameterSource + 'static, R: ObjectReader> RulesSource for ConfiguredRules<P, R> {
    fn location(&self) -> String {
        match self {
            ConfiguredRules::File(path) => path.display().to_string(),
            ConfiguredRules::Parameter { name, .. } => format!("SSM parameter {name}"),
            ConfiguredRules::Object { uri, .. } => uri.clone(),
        }
    }

    async fn read(&self) -> Result<Vec<u8>, ReadError> {
        match self {
            ConfiguredRules::File(path) => Ok(tokio::fs::read(path).await?),
            ConfiguredRules::Parameter { store, name } => {
                let parameter = store.get(name, GetOptions::plain()).await?;
                Ok(parameter.expose().as_bytes().to_vec())
            }
            ConfiguredRules::Object { bucket, key, .. } => Ok(bucket.get(key).await?),
        }
    }
}

/// Why the colors could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ColorsError {
    /// The source could not be opened (a missing or unreadable CSV file).
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Oracle could not be reached or queried, or its client is missing.
    #[error(transparent)]
    Oracle(#[from] OracleError),
}

/// Opens a run's colors. Called once per run, on the blocking pool: Oracle's calls block.
pub trait OpenColors: Send + Sync + 'static {
    /// The rows, in source order.
    type Records: RecordSource;

    /// Fails the init when the source cannot work in this process at all (the Oracle source
    /// without the Instant Client layer), rather than every scheduled run.
    fn check(&self) -> Result<(), ColorsError> {
        Ok(())
    }

    /// Opens the source for one run.
    fn open(&self) -> Result<Self::Records, ColorsError>;
}

/// The colors of a [`ColorsLocation`]: a CSV file's rows or the Oracle table's.
// One value per run, held by the run for its whole length: the size difference is never copied.
#[allow(clippy::large_enum_variant)]
pub enum LocatedColors {
    /// `COLORS_CSV`.
    Csv(CsvSource<std::fs::File>),
    /// The Oracle table.
    Oracle(OracleColors),
}

impl OpenColors for ColorsLocation {
    type Records = LocatedColors;

    fn check(&self) -> Result<(), ColorsError> {
        match self {
            ColorsLocation::Csv(_) => Ok(()),
            ColorsLocation::Oracle(_) => Ok(orabridge_shared::oracle::load_client()?),
        }
    }

    fn open(&self) -> Result<LocatedColors, ColorsError> {
        match self {
            ColorsLocation::Csv(path) => Ok(LocatedColors::Csv(CsvSource::open(path)?)),
            ColorsLocation::Oracle(oracle) => {
                Ok(LocatedColors::Oracle(OracleColors::open(oracle)?))
            }
        }
    }
}

impl RecordSource for LocatedColors {
    fn describe(&self) -> String {
        match self {
            LocatedColors::Csv(csv) => csv.describe(),
            LocatedColors::Oracle(oracle) => oracle.describe(),
        }
    }

    fn columns(&self) -> &[String] {
        match self {
            LocatedColors::Csv(csv) => csv.columns(),
            LocatedColors::Oracle(oracle) => oracle.columns(),
        }
    }

    fn next_record(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        match self {
            LocatedColors::Csv(csv) => csv.next_record(record),
            LocatedColors::Oracle(oracle) => oracle.next_record(record),
        }
    }

    fn size_hint(&self) -> Option<(usize, usize)> {
        match self {
            LocatedColors::Csv(csv) => csv.size_hint(),
            LocatedColors::Oracle(oracle) => oracle.size_hint(),
        }
    }
}

/// A table in memory: each run reads its own copy.
impl OpenColors for MemorySource {
    type Records = MemorySource;

    fn open(&self) -> Result<MemorySource, ColorsError> {
        Ok(self.clone())
    }
}
