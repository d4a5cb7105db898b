//! The Oracle source of run-colors: the colors query over the connection [`OracleConfig`]
//! describes, read row by row as text (the `extract` command of `run-colors-cli` reads its
//! samples the same way, through [`OracleRecords`]).
//!
//! Every statement here is built from validated identifiers and bind variables only; the SQL
//! builders are plain functions so the tests can check exactly what would be sent.

use orabridge_shared::oracle::{self as ora, ConnectOptions, Identifier, OracleError, TextRows};
use orabridge_shared::oracle_sql::Statement;

use super::{Record, RecordSource, SourceError};
use crate::config::OracleConfig;

/// The colors query: every column of the configured table.
pub fn colors_query(schema: &Identifier, table: &Identifier) -> Statement<0> {
    Statement::owned(format!("SELECT * FROM {schema}.{table}"))
}

/// An Oracle query read row by row as text cells (NULL as an empty cell).
pub struct OracleRecords {
    rows: TextRows,
    cells: Vec<Option<String>>,
    description: String,
    options: ConnectOptions,
    context: &'static str,
}

impl OracleRecords {
    /// Reads `rows`, described as `description` (`oracle:OWNER.TABLE`); a fetch error says
    /// `context` and is mapped with the connection's `options`.
    pub fn new(
        rows: TextRows,
        description: String,
        options: ConnectOptions,
        context: &'static str,
    ) -> Self {
        Self {
            rows,
            cells: Vec::new(),
            description,
            options,
            context,
        }
    }
}

impl RecordSource for OracleRecords {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn columns(&self) -> &[String] {
        self.rows.columns()
    }

    fn next_record(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        let more = self.rows.next_into(&mut self.cells).map_err(|err| {
            SourceError::new(self.context, OracleError::from_driver(err, &self.options))
        })?;
        if more {
            record.set_cells(&self.cells);
        }
        Ok(more)
    }
}

/// The colors table read row by row as text cells.
pub struct OracleColors {
    records: OracleRecords,
    // Kept for the lifetime of the result set.
    _connection: oracle::Connection,
}

impl OracleColors {
    /// Connects and starts the query. Blocks: run inside `spawn_blocking`.
    pub fn open(settings: &OracleConfig) -> Result<OracleColors, OracleError> {
        let connection = ora::connect(&settings.connect)?;
        let sql = colors_query(&settings.schema, &settings.table);
        let rows = TextRows::query(&connection, sql.text(), &sql.binds([]))
            .map_err(|err| OracleError::from_driver(err, &settings.connect))?;
        Ok(OracleColors {
            records: OracleRecords::new(
                rows,
                format!(
                    "oracle:{}.{}",
                    settings.schema.as_str(),
                    settings.table.as_str()
                ),
                settings.connect.clone(),
                "fetching colors from Oracle failed",
            ),
            _connection: connection,
        })
    }
}

impl RecordSource for OracleColors {
    fn describe(&self) -> String {
        self.records.describe()
    }

    fn columns(&self) -> &[String] {
        self.records.columns()
    }

    fn next_record(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        self.records.next_record(record)
    }
}
