//! One run, from a [`RecordSource`] to a folder of four files: each row validated
//! ([`row`](crate::row)), tested against the [rules](crate::rules), held by the
//! [engine](crate::engine), then written ([`emit`](crate::emit)) and described in the manifest.

use std::path::Path;
use std::time::Instant;

use orabridge_shared::encoding::sha256_hex;

use crate::emit::{self, Manifest, RulesSummary, WriteError};
use crate::engine::{Engine, EngineFull, Exclusion};
use crate::row::{HeaderError, RowReader};
use crate::rules::Rules;
use crate::sources::{Record, RecordSource, SourceError};
use crate::values::{self, Micros};

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The source failed (connection, query, unreadable file).
    #[error("reading the colors failed")]
    Source(#[from] SourceError),
    /// The input's columns cannot be processed.
    #[error("the input has no usable header")]
    Header(#[from] HeaderError),
    /// An output file could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The input is larger than a run can hold.
    #[error(transparent)]
    TooLarge(#[from] EngineFull),
}

/// What a run needs besides its source.
#[derive(Debug, Clone, Copy)]
pub struct RunSettings<'a> {
    /// The reference time (`older_than_days`, the run id and folder).
    pub as_of: Micros,
    /// The validated rules.
    pub rules: &'a Rules,
    /// The rules document as read, for its checksum in the manifest.
    pub rules_document: &'a [u8],
    /// The folder the four files are written to (created if needed).
    pub out_dir: &'a Path,
}

/// Reads every row from `source`, applies the rules, ranks, and writes `colors.csv`,
/// `colors.json`, `excluded.csv` and then `manifest.json` into `settings.out_dir`.
pub fn run(
    source: &mut impl RecordSource,
    settings: &RunSettings<'_>,
) -> Result<Manifest, RunError> {
    let started = Instant::now();
    let dir = settings.out_dir;
    std::fs::create_dir_all(dir).map_err(|source| WriteError {
        path: dir.to_owned(),
        source,
    })?;
    let mut reader = RowReader::new(source.columns())?;
    let mut engine = Engine::new(reader.passthrough_names().len(), source.size_hint());
    let mut matched = Vec::new();
    let mut record = Record::new();
    while source.next_record(&mut record)? {
        match reader.read(&record) {
            Err(invalid) => {
                let why = Exclusion::Invalid(invalid.columns);
                engine.exclude(invalid.id, invalid.cusip, why)?;
            }
            Ok(row) => {
                matched.clear();
                settings
                    .rules
                    .evaluate(&row.values(), settings.as_of, &mut matched);
                if matched.is_empty() {
                    engine.include(&row)?;
                } else {
                    engine.exclude(row.id, row.cusip, Exclusion::Rules(&matched))?;
                }
            }
        }
    }
    let ranked = engine.finish(settings.rules.price_order())?;
    let files = emit::write_data_files(dir, &ranked, settings.rules, reader.passthrough_names())?;
    let manifest = Manifest {
        run_id: run_id(settings.as_of, &files),
        as_of: values::format_timestamp(settings.as_of),
        source: source.describe(),
        rows: ranked.counts(),
        securities: ranked.security_count() as u64,
        rules: RulesSummary {
            count: settings.rules.len(),
            price_order: settings.rules.price_order().name().into(),
            sha256: sha256_hex(settings.rules_document),
        },
        duration_ms: started.elapsed().as_millis() as u64,
        files,
    };
    emit::write_manifest(dir, &manifest)?;
    Ok(manifest)
}

/// `<as_of as YYYYMMDDTHHMMSSZ>-<8 hex of the outputs' digest>`: the same input and rules at
/// the same `as_of` give the same run id, and so the same S3 folder.
fn run_id(as_of: Micros, files: &[emit::FileEntry]) -> String {
    let digests: String = files.iter().map(|file| file.sha256.as_str()).collect();
    let whole_seconds = as_of - as_of.rem_euclid(1_000_000);
    let compact = values::format_timestamp(whole_seconds).replace(['-', ':'], "");
    format!("{compact}-{}", &sha256_hex(digests.as_bytes())[..8])
}
