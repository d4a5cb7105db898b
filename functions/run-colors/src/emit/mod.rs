//! The run folder's files: `colors.csv` and `colors.json` ([`ranked`], driven by the column
//! table in [`columns`]), `excluded.csv` ([`excluded`]) and `manifest.json` ([`manifest`]),
//! each hashed as it is written so the manifest describes exactly the bytes on disk.

pub mod columns;
mod excluded;
pub mod manifest;
mod output;
mod ranked;

use std::path::{Path, PathBuf};

pub use manifest::{FileEntry, HashingWriter, Manifest, RowCounts, RulesSummary};

use crate::engine::Ranked;
use crate::rules::Rules;
use output::OutputFile;

/// The data files of a run folder, in publication order (the manifest comes after them).
pub const DATA_FILES: [&str; 3] = ["colors.csv", "colors.json", "excluded.csv"];
/// The manifest's file name.
pub const MANIFEST_FILE: &str = "manifest.json";

/// A file of the run folder could not be written.
#[derive(Debug, thiserror::Error)]
#[error("writing {} failed", path.display())]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// Writes the [`DATA_FILES`] of `ranked` into `dir`; their manifest entries, in that order.
pub fn write_data_files(
    dir: &Path,
    ranked: &Ranked,
    rules: &Rules,
    passthrough_names: &[String],
) -> Result<Vec<FileEntry>, WriteError> {
    let [csv_name, json_name, excluded_name] = DATA_FILES;
    let mut csv = OutputFile::create(dir, csv_name)?;
    let mut json = OutputFile::create(dir, json_name)?;
    let mut excluded = OutputFile::create(dir, excluded_name)?;
    let formatted = ranked::write(ranked, passthrough_names, &mut csv, &mut json)
        .and_then(|()| excluded::write(ranked, rules, &mut excluded));
    // Each file is finished either way: a writer that stopped says why there.
    let files = [csv.finish(), json.finish(), excluded.finish()];
    let files = files.into_iter().collect::<Result<Vec<_>, _>>()?;
    formatted.map_err(|source| WriteError {
        path: dir.to_owned(),
        source,
    })?;
    Ok(files)
}

/// Writes `manifest` as `manifest.json` into `dir`.
pub fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), WriteError> {
    let path = dir.join(MANIFEST_FILE);
    let mut body = serde_json::to_vec_pretty(manifest).unwrap_or_default();
    body.push(b'\n');
    std::fs::write(&path, body).map_err(|source| WriteError { path, source })
}
