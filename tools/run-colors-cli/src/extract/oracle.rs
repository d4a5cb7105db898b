//! The Oracle adapter of the extract command's [`Catalog`]: who and where, the accessible
//! tables, their columns and sample rows, each statement built from validated identifiers and
//! bind variables only.

use orabridge_shared::oracle::{self as ora, Identifier, OracleError, TextRows};

use super::{Catalog, ColumnDescription, TableName};
use run_colors::config::OracleConfig;
use run_colors::sources::oracle::OracleRecords;
use run_colors::sources::{RecordSource, SourceError};

/// SQL of the catalog queries, with their binds, as the extract command sends them.
pub mod catalog_sql {
    use super::Identifier;
    use orabridge_shared::oracle_sql::Statement;

    /// Who and where: no privileged views needed.
    pub const DATABASE_INFO: Statement<0> = Statement::new(
        "SELECT SYS_CONTEXT('USERENV', 'DB_NAME'), \
         SYS_CONTEXT('USERENV', 'SERVICE_NAME'), SYS_CONTEXT('USERENV', 'SESSION_USER'), \
         SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') FROM DUAL",
    );

    /// Tables and views of one owner visible to this user; bind 1: the owner. The owner is
    /// compared once, outside the union: in SQL each placeholder occurrence is a bind position
    /// of its own, so `:1` written in both branches would need the value twice (ORA-01008).
    pub const ACCESSIBLE_TABLES: Statement<1> = Statement::new(
        "SELECT owner, name, kind FROM (\
         SELECT owner, table_name name, 'TABLE' kind FROM all_tables UNION ALL \
         SELECT owner, view_name, 'VIEW' FROM all_views) WHERE owner = :1 ORDER BY 2",
    );

    /// Columns of one table; binds: owner, table.
    pub const DESCRIBE: Statement<2> = Statement::new(
        "SELECT column_name, data_type, data_length, data_precision, \
         data_scale, nullable FROM all_tab_columns WHERE owner = :1 AND table_name = :2 \
         ORDER BY column_id",
    );

    /// The first rows of one table; bind 1: the row limit.
    pub fn sample(owner: &Identifier, table: &Identifier) -> Statement<1> {
        Statement::owned(format!("SELECT * FROM {owner}.{table} WHERE ROWNUM <= :1"))
    }
}

/// The catalog of one schema, read over a live connection.
pub struct OracleCatalog {
    connection: oracle::Connection,
    settings: OracleConfig,
}

impl OracleCatalog {
    /// Connects. Blocks.
    pub fn open(settings: OracleConfig) -> Result<OracleCatalog, OracleError> {
        Ok(OracleCatalog {
            connection: ora::connect(&settings.connect)?,
            settings,
        })
    }

    fn map(&self, context: &str, err: oracle::Error) -> SourceError {
        SourceError::new(
            context.to_owned(),
            OracleError::from_driver(err, &self.settings.connect),
        )
    }
}

impl Catalog for OracleCatalog {
    fn database_info(&mut self) -> Result<serde_json::Value, SourceError> {
        let row = self
            .connection
            .query_row(
                catalog_sql::DATABASE_INFO.text(),
                &catalog_sql::DATABASE_INFO.binds([]),
            )
            .map_err(|err| self.map("reading the database info failed", err))?;
        let text = |index: usize| row.get::<_, Option<String>>(index).ok().flatten();
        let version = self
            .connection
            .server_version()
            .map(|(version, banner)| (version.to_string(), banner))
            .ok();
        Ok(serde_json::json!({
            "db_name": text(0),
            "service_name": text(1),
            "session_user": text(2),
            "current_schema": text(3),
            "server_version": version.as_ref().map(|v| &v.0),
            "banner": version.as_ref().map(|v| &v.1),
            "connect_string": self.settings.connect.connect_string,
        }))
    }

    fn default_schema(&self) -> String {
        self.settings.schema.as_str().to_owned()
    }

    fn accessible_tables(&mut self, owner: &Identifier) -> Result<Vec<TableName>, SourceError> {
        let rows = self
            .connection
            .query_as::<(String, String, String)>(
                catalog_sql::ACCESSIBLE_TABLES.text(),
                &catalog_sql::ACCESSIBLE_TABLES.binds([&owner.as_str()]),
            )
            .map_err(|err| self.map("listing the accessible tables failed", err))?;
        rows.map(|row| {
            row.map(|(owner, name, kind)| TableName { owner, name, kind })
                .map_err(|err| self.map("listing the accessible tables failed", err))
        })
        .collect()
    }

    fn describe(&mut self, table: &TableName) -> Result<Vec<ColumnDescription>, SourceError> {
        let rows = self
            .connection
            .query_as::<(
                String,
                String,
                Option<i64>,
                Option<i64>,
                Option<i64>,
                String,
            )>(
                catalog_sql::DESCRIBE.text(),
                &catalog_sql::DESCRIBE.binds([&table.owner, &table.name]),
            )
            .map_err(|err| self.map("describing the table failed", err))?;
        rows.map(|row| {
            row.map(
                |(name, data_type, length, precision, scale, nullable)| ColumnDescription {
                    name,
                    data_type,
                    length,
                    precision,
                    scale,
                    nullable: nullable == "Y",
                },
            )
            .map_err(|err| self.map("describing the table failed", err))
        })
        .collect()
    }

    fn sample(
        &mut self,
        table: &TableName,
        rows: u32,
    ) -> Result<Box<dyn RecordSource + '_>, SourceError> {
        let owner = Identifier::parse("schema", &table.owner)
            .map_err(|err| SourceError::new("invalid owner", err))?;
        let name = Identifier::parse("table", &table.name)
            .map_err(|err| SourceError::new("invalid table", err))?;
        let sql = catalog_sql::sample(&owner, &name);
        let result = TextRows::query(&self.connection, sql.text(), &sql.binds([&rows]))
            .map_err(|err| self.map("sampling the table failed", err))?;
        Ok(Box::new(OracleRecords::new(
            result,
            format!("oracle:{}.{}", table.owner, table.name),
            self.settings.connect.clone(),
            "fetching sample rows failed",
        )))
    }
}
