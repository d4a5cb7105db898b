//! `run-colors-cli extract`: sample data for a person on the VPN. It writes what the database is, which tables the user can read, and for each chosen
//! table its schema and its first rows as CSV (the shape `run-colors-cli --input` reads) and JSON.
//!
//! The writers depend only on the [`Catalog`] port, so they are tested on an in-memory table.

pub mod oracle;

use std::path::{Path, PathBuf};

use orabridge_shared::oracle::Identifier;
use serde::Serialize;

use run_colors::encode::{push_csv_field, push_json_string};
use run_colors::sources::{Record, RecordSource, SourceError};

/// A table or view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableName {
    /// Owner (schema).
    pub owner: String,
    /// Table or view name.
    pub name: String,
    /// `TABLE` or `VIEW`.
    pub kind: String,
}

/// One column of a table, as the data dictionary describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnDescription {
    /// Column name.
    pub name: String,
    /// Oracle data type (`VARCHAR2`, `NUMBER`, `DATE`, ...).
    pub data_type: String,
    /// Length in bytes.
    pub length: Option<i64>,
    /// Numeric precision.
    pub precision: Option<i64>,
    /// Numeric scale.
    pub scale: Option<i64>,
    /// Whether NULL is allowed.
    pub nullable: bool,
}

/// What `extract` reads: a database's catalog and table samples.
pub trait Catalog {
    /// Facts about the database and session (name, service, user, version).
    fn database_info(&mut self) -> Result<serde_json::Value, SourceError>;
    /// The schema tables are listed from when none are named.
    fn default_schema(&self) -> String;
    /// Tables and views of `owner` this user can read.
    fn accessible_tables(&mut self, owner: &Identifier) -> Result<Vec<TableName>, SourceError>;
    /// The columns of `table`.
    fn describe(&mut self, table: &TableName) -> Result<Vec<ColumnDescription>, SourceError>;
    /// The first `rows` rows of `table`.
    fn sample(
        &mut self,
        table: &TableName,
        rows: u32,
    ) -> Result<Box<dyn RecordSource + '_>, SourceError>;
}

/// What to extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractRequest {
    /// Output folder (created).
    pub out_dir: PathBuf,
    /// Tables to sample (`TABLE` in the default schema or `OWNER.TABLE`); all accessible
    /// tables of the default schema when empty.
    pub tables: Vec<String>,
    /// Rows per sample.
    pub rows: u32,
}

/// Why extraction stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The catalog could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A named table is not a plain identifier or not accessible.
    #[error("table {0:?} is not a valid name or is not accessible to this user")]
    Table(String),
    /// A file could not be written.
    #[error("writing {} failed", .0.display())]
    Write(PathBuf, #[source] std::io::Error),
}

/// Writes `database_info.json`, `accessible_tables.json` and, per table,
/// `<TABLE>_schema.json`, `<TABLE>_sample.csv` and `<TABLE>_sample.json`. Returns the files
/// written, in order.
pub fn extract(
    catalog: &mut dyn Catalog,
    request: &ExtractRequest,
) -> Result<Vec<PathBuf>, ExtractError> {
    let dir = &request.out_dir;
    std::fs::create_dir_all(dir).map_err(|err| ExtractError::Write(dir.clone(), err))?;
    let mut written = Vec::new();
    let info = catalog.database_info()?;
    written.push(write_json(dir, "database_info.json", &info)?);

    let default_owner = Identifier::parse("schema", &catalog.default_schema())
        .map_err(|err| SourceError::new("the configured schema is invalid", err))?;
    let accessible = catalog.accessible_tables(&default_owner)?;
    written.push(write_json(dir, "accessible_tables.json", &accessible)?);

    let chosen: Vec<TableName> = if request.tables.is_empty() {
        accessible
    } else {
        let mut chosen = Vec::new();
        for wanted in &request.tables {
            let (owner, name) = match wanted.split_once('.') {
                Some((owner, name)) => (owner, name),
                None => (default_owner.as_str(), wanted.as_str()),
            };
            let owner = Identifier::parse("schema", owner)
                .map_err(|_| ExtractError::Table(wanted.clone()))?;
            let name = Identifier::parse("table", name)
                .map_err(|_| ExtractError::Table(wanted.clone()))?;
            let listed = if owner == default_owner {
                accessible.clone()
            } else {
                catalog.accessible_tables(&owner)?
            };
            let table = listed
                .into_iter()
                .find(|t| t.name == name.as_str())
                .ok_or_else(|| ExtractError::Table(wanted.clone()))?;
            chosen.push(table);
        }
        chosen
    };

    for table in &chosen {
        let columns = catalog.describe(table)?;
        let schema = serde_json::json!({
            "owner": table.owner,
            "table": table.name,
            "kind": table.kind,
            "columns": columns,
        });
        written.push(write_json(
            dir,
            &format!("{}_schema.json", table.name),
            &schema,
        )?);
        let mut sample = catalog.sample(table, request.rows)?;
        let (csv, json) = sample_files(sample.as_mut())?;
        for (suffix, body) in [("_sample.csv", csv), ("_sample.json", json)] {
            let path = dir.join(format!("{}{suffix}", table.name));
            std::fs::write(&path, body).map_err(|err| ExtractError::Write(path.clone(), err))?;
            written.push(path);
        }
    }
    Ok(written)
}

fn write_json(dir: &Path, name: &str, value: &impl Serialize) -> Result<PathBuf, ExtractError> {
    let path = dir.join(name);
    let mut body = serde_json::to_vec_pretty(value).unwrap_or_default();
    body.push(b'\n');
    std::fs::write(&path, body).map_err(|err| ExtractError::Write(path.clone(), err))?;
    Ok(path)
}

/// A sample as CSV (empty cells for NULL) and as a JSON array of objects (`null` for NULL).
fn sample_files(source: &mut dyn RecordSource) -> Result<(Vec<u8>, Vec<u8>), SourceError> {
    let columns = source.columns().to_vec();
    let mut csv = Vec::new();
    let mut json = b"[".to_vec();
    for (index, name) in columns.iter().enumerate() {
        if index > 0 {
            csv.push(b',');
        }
        push_csv_field(&mut csv, name);
    }
    csv.push(b'\n');
    let mut record = Record::new();
    let mut count = 0;
    while source.next_record(&mut record)? {
        json.extend_from_slice(if count == 0 { b"\n{" } else { b",\n{" });
        for (index, name) in columns.iter().enumerate() {
            let cell = record.get(index).unwrap_or("");
            if index > 0 {
                csv.push(b',');
                json.push(b',');
            }
            push_csv_field(&mut csv, cell);
            push_json_string(&mut json, name);
            json.push(b':');
            if cell.is_empty() {
                json.extend_from_slice(b"null");
            } else {
                push_json_string(&mut json, cell);
            }
        }
        csv.push(b'\n');
        json.push(b'}');
        count += 1;
    }
    json.extend_from_slice(if count == 0 { b"]\n" } else { b"\n]\n" });
    Ok((csv, json))
}

/// A catalog held in memory: tables with their columns and rows.
#[derive(Debug, Clone, Default)]
pub struct MemoryCatalog {
    /// The default schema.
    pub schema: String,
    /// The tables.
    pub tables: Vec<MemoryTable>,
}

/// One table of a [`MemoryCatalog`].
#[derive(Debug, Clone)]
pub struct MemoryTable {
    /// Its name.
    pub name: TableName,
    /// Its columns.
    pub columns: Vec<ColumnDescription>,
    /// Its rows (`None` is NULL).
    pub rows: Vec<Vec<Option<String>>>,
}

impl Catalog for MemoryCatalog {
    fn database_info(&mut self) -> Result<serde_json::Value, SourceError> {
        Ok(serde_json::json!({"db_name": "MEMORY", "current_schema": self.schema}))
    }

    fn default_schema(&self) -> String {
        self.schema.clone()
    }

    fn accessible_tables(&mut self, owner: &Identifier) -> Result<Vec<TableName>, SourceError> {
        Ok(self
            .tables
            .iter()
            .filter(|t| t.name.owner == owner.as_str())
            .map(|t| t.name.clone())
            .collect())
    }

    fn describe(&mut self, table: &TableName) -> Result<Vec<ColumnDescription>, SourceError> {
        self.tables
            .iter()
            .find(|t| t.name == *table)
            .map(|t| t.columns.clone())
            .ok_or_else(|| SourceError::message(format!("no table {}", table.name)))
    }

    fn sample(
        &mut self,
        table: &TableName,
        rows: u32,
    ) -> Result<Box<dyn RecordSource + '_>, SourceError> {
        let MemoryTable {
            columns,
            rows: data,
            ..
        } = self
            .tables
            .iter()
            .find(|t| t.name == *table)
            .ok_or_else(|| SourceError::message(format!("no table {}", table.name)))?;
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let rows = data.iter().take(rows as usize).cloned().collect();
        Ok(Box::new(run_colors::sources::MemorySource::new(
            &names, rows,
        )))
    }
}
