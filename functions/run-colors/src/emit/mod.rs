//! The run folder's files: `colors.csv` and `colors.json` ([`ranked`], driven by the column
//! table in [`columns`]), `excluded.csv` ([`excluded`]) and `manifest.json` ([`manifest`]),
//! each hashed as it is written so the manifest describes exactly the bytes on disk.

pub mod columns;
mod excluded;
pub mod manifest;
mod ranked;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

pub use manifest::{FileEntry, HashingWriter, Manifest, RowCounts, RulesSummary};

use crate::engine::Ranked;
use crate::rules::Rules;

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

type Output = HashingWriter<BufWriter<File>>;

/// A hashed output file. The writers hand it chunks of [`ranked::CHUNK`] bytes, which a buffer
/// of that size passes straight to the file instead of through another copy.
fn create(dir: &Path, name: &str) -> Result<Output, WriteError> {
    let path = dir.join(name);
    let file = File::create(&path).map_err(|source| WriteError { path, source })?;
    Ok(HashingWriter::new(BufWriter::with_capacity(
        ranked::CHUNK,
        file,
    )))
}

fn finish(dir: &Path, name: &str, output: Output) -> Result<FileEntry, WriteError> {
    let (size, sha256) = output.finish().map_err(|source| WriteError {
        path: dir.join(name),
        source,
    })?;
    Ok(FileEntry {
        name: name.to_owned(),
        size,
        sha256,
    })
}

/// Writes the [`DATA_FILES`] of `ranked` into `dir`; their manifest entries, in that order.
pub fn write_data_files(
    dir: &Path,
    ranked: &Ranked,
    rules: &Rules,
    passthrough_names: &[String],
) -> Result<Vec<FileEntry>, WriteError> {
    let [csv_name, json_name, excluded_name] = DATA_FILES;
    let (mut csv, mut json) = (create(dir, csv_name)?, create(dir, json_name)?);
    ranked::write(ranked, passthrough_names, &mut csv, &mut json).map_err(|source| WriteError {
        path: dir.join(csv_name),
        source,
    })?;
    let mut excluded = create(dir, excluded_name)?;
    excluded::write(ranked, rules, &mut excluded).map_err(|source| WriteError {
        path: dir.join(excluded_name),
        source,
    })?;
    Ok(vec![
        finish(dir, csv_name, csv)?,
        finish(dir, json_name, json)?,
        finish(dir, excluded_name, excluded)?,
    ])
}

/// Writes `manifest` as `manifest.json` into `dir`.
pub fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), WriteError> {
    let path = dir.join(MANIFEST_FILE);
    let mut body = serde_json::to_vec_pretty(manifest).unwrap_or_default();
    body.push(b'\n');
    std::fs::write(&path, body).map_err(|source| WriteError { path, source })
}
