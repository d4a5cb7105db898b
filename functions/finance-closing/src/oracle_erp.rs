//! The ERP port over Oracle: the closing procedure runs as a one-off `DBMS_SCHEDULER` job named
//! after the date and attempt, so it keeps running inside the database while no Lambda does.
//!
//! Each call opens its own connection inside `spawn_blocking` (calls are minutes apart and a
//! Lambda may be frozen in between: a held connection would mostly be a dead one), with the call
//! timeout set. Every value is bound; the procedure and table names are validated identifiers.

use orabridge_shared::oracle::{
    self as ora, ConnectOptions, FailureKind, Identifier, OracleError, TextRows, failure_kind,
};
use orabridge_shared::oracle_sql::Statement;

use crate::closing::{ClosingDate, JobState};
use crate::erp::{Erp, ErpError, JobStatus, ResultRows, Submission};

/// Creates, parameterises and enables the job; binds: job name, procedure, closing date (a
/// PL/SQL block: `:1` written three times is one position).
pub const SUBMIT_SQL: Statement<3> = Statement::new(
    "BEGIN
  DBMS_SCHEDULER.CREATE_JOB(job_name => :1, job_type => 'STORED_PROCEDURE',
    job_action => :2, number_of_arguments => 1, enabled => FALSE, auto_drop => FALSE);
  DBMS_SCHEDULER.SET_JOB_ARGUMENT_VALUE(job_name => :1, argument_position => 1,
    argument_value => :3);
  DBMS_SCHEDULER.ENABLE(:1);
END;",
);

/// The job's scheduler state; bind: job name.
pub const JOB_STATE_SQL: Statement<1> =
    Statement::new("SELECT state FROM user_scheduler_jobs WHERE job_name = :1");

/// The job's latest run; bind: job name. The newest row is the first of an ordered subquery
/// (`ROWNUM` applies before `ORDER BY` in one query block); `FETCH FIRST` would be simpler but
/// arrived in 12c, and the ERP database is 11.2.
pub const RUN_DETAILS_SQL: Statement<1> = Statement::new(
    "SELECT * FROM (SELECT status, errors, additional_info,
  TO_CHAR(actual_start_date AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
  TO_CHAR((actual_start_date + run_duration) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
  FROM user_scheduler_job_run_details WHERE job_name = :1
  ORDER BY log_id DESC) WHERE ROWNUM = 1",
);

/// Stops the job (not forced: the procedure gets to roll back); bind: job name.
pub const STOP_SQL: Statement<1> =
    Statement::new("BEGIN DBMS_SCHEDULER.STOP_JOB(job_name => :1, force => FALSE); END;");

/// A result table's rows for one date; bind: the date as `YYYY-MM-DD`.
pub fn results_sql(owner: &Identifier, table: &Identifier) -> Statement<1> {
    Statement::owned(format!(
        "SELECT * FROM {owner}.{table} WHERE closing_date = TO_DATE(:1, 'YYYY-MM-DD')"
    ))
}

// ORA-27477: the job already exists (a retried submit); ORA-27366: the job is not running (a
// stop that came late); ORA-27475: unknown job.
const JOB_EXISTS: i32 = 27477;
const JOB_NOT_RUNNING: i32 = 27366;
const UNKNOWN_JOB: i32 = 27475;

/// A `PACKAGE.PROCEDURE` or `SCHEMA.PACKAGE.PROCEDURE` name, each part an identifier.
pub fn procedure_name(text: &str) -> Result<String, String> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return Err(format!(
            "CLOSING_PROCEDURE {text:?} is not [SCHEMA.]PACKAGE.PROCEDURE"
        ));
    }
    parts
        .iter()
        .map(|part| {
            Identifier::parse("procedure", part)
                .map(|id| id.as_str().to_owned())
                .map_err(|err| format!("CLOSING_PROCEDURE {text:?}: {err}"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|parts| parts.join("."))
}

/// The port's view of a scheduler state and the latest run's status and error text.
pub fn job_state(
    scheduler_state: Option<&str>,
    run_status: Option<&str>,
    error: Option<&str>,
) -> JobState {
    let failed = || JobState::Failed {
        error: error
            .filter(|e| !e.trim().is_empty())
            .unwrap_or("the closing job failed without an error text")
            .trim()
            .to_owned(),
    };
    match scheduler_state {
        Some("RUNNING") | Some("CHAIN_STALLED") => JobState::Running,
        Some("SCHEDULED") | Some("DISABLED") | Some("RETRY SCHEDULED") | Some("READY TO RUN") => {
            JobState::Scheduled
        }
        Some("SUCCEEDED") | Some("COMPLETED") => JobState::Succeeded,
        Some("FAILED") | Some("BROKEN") => failed(),
        Some("STOPPED") => JobState::Stopped,
        // The job is gone (dropped after running): the run details say how it ended.
        _ => match run_status {
            Some("SUCCEEDED") => JobState::Succeeded,
            Some("STOPPED") => JobState::Stopped,
            Some(_) => failed(),
            None => JobState::Scheduled,
        },
    }
}

/// Maps a driver error: network and timeouts are transient, the rest permanent, and the
/// missing Instant Client says which layer to attach.
pub fn erp_error(err: oracle::Error, options: &ConnectOptions) -> ErpError {
    from_oracle(OracleError::from_driver(err, options))
}

fn from_oracle(err: OracleError) -> ErpError {
    if err.is_transient() {
        ErpError::Transient(Box::new(err))
    } else {
        ErpError::Permanent(orabridge_shared::errors::chain(&err).to_string())
    }
}

fn oracle_code(err: &oracle::Error) -> Option<i32> {
    err.oci_code()
}

/// The Oracle adapter.
#[derive(Clone)]
pub struct OracleErp {
    options: ConnectOptions,
    procedure: String,
    results_owner: Identifier,
}

impl OracleErp {
    /// Runs `procedure` (validated) as the closing; result tables are read from `owner`.
    pub fn new(options: ConnectOptions, procedure: &str, owner: &str) -> Result<Self, String> {
        Ok(Self {
            options,
            procedure: procedure_name(procedure)?,
            results_owner: Identifier::parse("schema", owner).map_err(|e| e.to_string())?,
        })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&oracle::Connection, &ConnectOptions) -> Result<T, ErpError> + Send + 'static,
    ) -> Result<T, ErpError> {
        let options = self.options.clone();
        tokio::task::spawn_blocking(move || {
            let connection = ora::connect(&options).map_err(from_oracle)?;
            call(&connection, &options)
        })
        .await
        .map_err(|err| ErpError::Transient(Box::new(err)))?
    }
}

impl Erp for OracleErp {
    async fn submit(&self, job: &str, date: ClosingDate) -> Result<Submission, ErpError> {
        let (job, procedure, date) = (job.to_owned(), self.procedure.clone(), date.to_string());
        self.blocking(move |connection, options| {
            match connection.execute(
                SUBMIT_SQL.text(),
                &SUBMIT_SQL.binds([&job, &procedure, &date]),
            ) {
                Ok(_) => Ok(Submission::Submitted),
                Err(err) if oracle_code(&err) == Some(JOB_EXISTS) => Ok(Submission::AlreadyExists),
                Err(err) => Err(erp_error(err, options)),
            }
        })
        .await
    }

    async fn poll(&self, job: &str) -> Result<JobStatus, ErpError> {
        let job = job.to_owned();
        self.blocking(move |connection, options| {
            let state = match connection
                .query_row_as::<String>(JOB_STATE_SQL.text(), &JOB_STATE_SQL.binds([&job]))
            {
                Ok(state) => Some(state),
                Err(err) if err.kind() == oracle::ErrorKind::NoDataFound => None,
                Err(err) => return Err(erp_error(err, options)),
            };
            type Details = (
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
            );
            let details = match connection
                .query_row_as::<Details>(RUN_DETAILS_SQL.text(), &RUN_DETAILS_SQL.binds([&job]))
            {
                Ok(details) => Some(details),
                Err(err) if err.kind() == oracle::ErrorKind::NoDataFound => None,
                Err(err) => return Err(erp_error(err, options)),
            };
            if state.is_none() && details.is_none() {
                return Err(ErpError::Permanent(format!("no scheduler job named {job}")));
            }
            let (status, errors, info, started, ended) = details.unwrap_or_default();
            let error = errors.or(info);
            let parse = |t: Option<String>| {
                t.and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.with_timezone(&chrono::Utc))
            };
            let state = job_state(state.as_deref(), status.as_deref(), error.as_deref());
            let ended_at = if state.is_final() { parse(ended) } else { None };
            Ok(JobStatus {
                state,
                started_at: parse(started),
                ended_at,
            })
        })
        .await
    }

    async fn stop(&self, job: &str) -> Result<(), ErpError> {
        let job = job.to_owned();
        self.blocking(move |connection, options| {
            match connection.execute(STOP_SQL.text(), &STOP_SQL.binds([&job])) {
                Ok(_) => Ok(()),
                Err(err) if matches!(oracle_code(&err), Some(JOB_NOT_RUNNING | UNKNOWN_JOB)) => {
                    Ok(())
                }
                Err(err) => Err(erp_error(err, options)),
            }
        })
        .await
    }

    async fn fetch_results(&self, table: &str, date: ClosingDate) -> Result<ResultRows, ErpError> {
        let table =
            Identifier::parse("table", table).map_err(|e| ErpError::Permanent(e.to_string()))?;
        let sql = results_sql(&self.results_owner, &table);
        let date = date.to_string();
        self.blocking(move |connection, options| {
            let mut rows = TextRows::query(connection, sql.text(), &sql.binds([&date]))
                .map_err(|e| erp_error(e, options))?;
            let columns = rows.columns().to_vec();
            let mut out = Vec::new();
            let mut cells = Vec::new();
            while rows
                .next_into(&mut cells)
                .map_err(|e| erp_error(e, options))?
            {
                out.push(std::mem::take(&mut cells));
            }
            Ok(ResultRows { columns, rows: out })
        })
        .await
    }
}

/// Whether an Oracle error code is one Restate should retry.
pub fn is_transient_code(code: i32) -> bool {
    matches!(
        failure_kind(Some(code), None),
        FailureKind::Unreachable | FailureKind::Timeout
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use std::time::Duration;

    #[test]
    fn the_job_is_created_disabled_given_its_date_then_enabled_all_by_binds() {
        let (submit_sql, stop_sql) = (SUBMIT_SQL, STOP_SQL);
        let (submit, stop) = (submit_sql.text(), stop_sql.text());
        assert!(submit.contains("job_name => :1"));
        assert!(submit.contains("job_action => :2"));
        assert!(submit.contains("argument_value => :3"));
        assert!(
            submit.contains("auto_drop => FALSE"),
            "the run stays inspectable"
        );
        let enable = submit.find("ENABLE").expect("enable");
        assert!(enable > submit.find("SET_JOB_ARGUMENT_VALUE").expect("argument"));
        assert!(stop.contains("force => FALSE"));
        for sql in [JOB_STATE_SQL, RUN_DETAILS_SQL] {
            assert!(sql.text().contains("job_name = :1"));
        }
    }

    #[test]
    fn every_statement_the_adapter_sends_binds_as_oracle_counts_and_runs_on_11g() {
        // Bind positions as Oracle counts them (SQL: every occurrence; PL/SQL: each name once)
        // against the values each call passes (the statement's type fixes that number), and
        // nothing newer than 11.2: see orabridge_shared::oracle_sql.
        let owner = Identifier::parse("schema", "genius").expect("owner");
        let table = Identifier::parse("table", "gl_balances").expect("table");
        for (name, problems) in [
            ("submit", SUBMIT_SQL.problems()),
            ("job state", JOB_STATE_SQL.problems()),
            ("run details", RUN_DETAILS_SQL.problems()),
            ("stop", STOP_SQL.problems()),
            ("results", results_sql(&owner, &table).problems()),
        ] {
            assert!(problems.is_empty(), "{name}: {problems:?}");
        }
    }

    #[test]
    fn result_tables_are_read_for_one_date_through_quoted_identifiers() {
        let owner = Identifier::parse("schema", "genius").expect("owner");
        let table = Identifier::parse("table", "gl_balances").expect("table");
        assert_eq!(
            results_sql(&owner, &table).text(),
            "SELECT * FROM \"GENIUS\".\"GL_BALANCES\" WHERE closing_date = TO_DATE(:1, 'YYYY-MM-DD')"
        );
    }

    #[test]
    fn procedure_names_are_validated_part_by_part() {
        assert_eq!(
            procedure_name("genius.pkg_closing.run_daily"),
            Ok("GENIUS.PKG_CLOSING.RUN_DAILY".into())
        );
        assert_eq!(procedure_name("PKG.RUN"), Ok("PKG.RUN".into()));
        for bad in [
            "",
            "a.b.c.d",
            "PKG.RUN; DROP TABLE X",
            "PKG..RUN",
            "PKG.RUN(1)",
        ] {
            assert!(procedure_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn scheduler_states_map_to_job_states_with_the_error_text() {
        assert_eq!(job_state(Some("RUNNING"), None, None), JobState::Running);
        assert_eq!(
            job_state(Some("SCHEDULED"), None, None),
            JobState::Scheduled
        );
        assert_eq!(
            job_state(Some("SUCCEEDED"), Some("SUCCEEDED"), None),
            JobState::Succeeded
        );
        assert_eq!(
            job_state(Some("STOPPED"), Some("STOPPED"), None),
            JobState::Stopped
        );
        assert_eq!(
            job_state(
                Some("FAILED"),
                Some("FAILED"),
                Some("ORA-20001: out of balance\n")
            ),
            JobState::Failed {
                error: "ORA-20001: out of balance".into()
            }
        );
        assert_eq!(
            job_state(Some("BROKEN"), None, None),
            JobState::Failed {
                error: "the closing job failed without an error text".into()
            }
        );
        // Dropped job: the run details decide.
        assert_eq!(
            job_state(None, Some("SUCCEEDED"), None),
            JobState::Succeeded
        );
        assert!(matches!(
            job_state(None, Some("FAILED"), Some("ORA-1")),
            JobState::Failed { .. }
        ));
        assert_eq!(job_state(None, None, None), JobState::Scheduled);
    }

    #[test]
    fn lost_connections_and_timeouts_are_retried_the_rest_is_not() {
        for code in [3113, 3114, 3135, 12170, 12541, 3156] {
            assert!(is_transient_code(code), "ORA-{code}");
        }
        for code in [1017, 942, 20001, 27477] {
            assert!(!is_transient_code(code), "ORA-{code}");
        }
    }

    #[tokio::test]
    async fn without_the_instant_client_every_call_fails_permanently_naming_the_layer() {
        let erp = OracleErp::new(
            ConnectOptions {
                username: "GENIUS_BATCH".into(),
                password: SecretString::from("closing-pw-5521"),
                connect_string: ora::easy_connect("10.1.2.3", 1521, "GENIUS"),
                call_timeout: Duration::from_secs(5),
            },
            "GENIUS.PKG_CLOSING.RUN_DAILY",
            "GENIUS",
        )
        .expect("adapter");
        let date = ClosingDate::parse("2026-11-20").expect("date");
        let err = erp
            .submit(&date.job_name(1), date)
            .await
            .expect_err("no client here");
        let ErpError::Permanent(message) = err else {
            panic!("expected a permanent error, got {err:?}");
        };
        assert!(message.contains("OracleInstantClientLayer"), "{message}");
        assert!(!message.contains("closing-pw-5521"));
    }
}
