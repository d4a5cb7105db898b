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

use std::sync::Arc;

use super::scheduler::codes;
use super::{Erp, ErpError, JobStatus, ResultMessage, ResultSender, Submission, job_state};
use crate::closing::{ClosingDate, JobSeen};

/// Submission in one round trip that cannot be left half done. `CREATE_JOB` commits by itself
/// ("DBMS_SCHEDULER", PL/SQL Packages and Types Reference 11.2: most of its procedures commit),
/// so a call that failed after it left a DISABLED job behind: this block recognises that job of
/// the same attempt and finishes it (argument, enable) instead of reusing a job that never
/// starts. An ENABLED or finished job is left alone. Before `ENABLE` it looks for another job
/// of the date (`:siblings`, a `LIKE` pattern of the date's job names) in any state but the
/// ones that can no longer run (a state it does not know counts as able to run, as the port
/// reads it), and then enables nothing. The check and the `ENABLE` are two statements, and
/// the scheduler's calls commit by themselves, so two submits of one date in the same
/// instant could each find the other not yet enabled: the workflow settles every earlier job
/// before it submits, which leaves only that instant. `:outcome` says which it was.
///
/// The date is converted with an explicit format, never the session's `NLS_DATE_FORMAT`: as a
/// DATE through `SYS.ANYDATA.ConvertDate` for a procedure taking a DATE, or as text in
/// `:text_format` for one taking a VARCHAR2.
///
/// Binds, in order of first appearance (a PL/SQL block: each name is one position however
/// often it appears): [`SUBMIT_BINDS`].
pub const SUBMIT_SQL: Statement<7> = Statement::new(
    "DECLARE
  job_state user_scheduler_jobs.state%TYPE;
  runnable PLS_INTEGER;
  outcome VARCHAR2(16) := 'EXISTS';
BEGIN
  BEGIN
    SELECT state INTO job_state FROM user_scheduler_jobs WHERE job_name = :job;
  EXCEPTION
    WHEN NO_DATA_FOUND THEN job_state := NULL;
  END;
  IF job_state IS NULL THEN
    DBMS_SCHEDULER.CREATE_JOB(job_name => :job, job_type => 'STORED_PROCEDURE',
      job_action => :procedure, number_of_arguments => 1, enabled => FALSE, auto_drop => FALSE);
  END IF;
  IF job_state IS NULL OR job_state = 'DISABLED' THEN
    IF :argument_type = 'DATE' THEN
      DBMS_SCHEDULER.SET_JOB_ANYDATA_VALUE(job_name => :job, argument_position => 1,
        argument_value => SYS.ANYDATA.ConvertDate(TO_DATE(:closing_date, 'YYYY-MM-DD')));
    ELSE
      DBMS_SCHEDULER.SET_JOB_ARGUMENT_VALUE(job_name => :job, argument_position => 1,
        argument_value => TO_CHAR(TO_DATE(:closing_date, 'YYYY-MM-DD'), :text_format));
    END IF;
    SELECT COUNT(*) INTO runnable FROM user_scheduler_jobs
      WHERE job_name LIKE :siblings ESCAPE '\\' AND job_name <> :job
        AND state NOT IN ('DISABLED', 'SUCCEEDED', 'FAILED', 'BROKEN', 'COMPLETED', 'STOPPED');
    IF runnable > 0 THEN
      outcome := 'BLOCKED';
    ELSE
      DBMS_SCHEDULER.ENABLE(:job);
      outcome := CASE WHEN job_state IS NULL THEN 'SUBMITTED' ELSE 'RECOVERED' END;
    END IF;
  END IF;
  :outcome := outcome;
END;",
);

/// [`SUBMIT_SQL`]'s bind names in position order; the adapter passes its values in this order.
pub const SUBMIT_BINDS: [&str; 7] = [
    "job",
    "procedure",
    "argument_type",
    "closing_date",
    "text_format",
    "siblings",
    "outcome",
];

/// The job's scheduler state; bind: job name.
pub const JOB_STATE_SQL: Statement<1> =
    Statement::new("SELECT state FROM user_scheduler_jobs WHERE job_name = :1");

/// Every job of one date's attempts with the status of its latest run, if it ran; bind: the
/// `LIKE` pattern of their names ([`siblings_pattern`]).
pub const DATE_JOBS_SQL: Statement<1> = Statement::new(
    "SELECT j.job_name, j.state,
  (SELECT MAX(d.status) KEEP (DENSE_RANK LAST ORDER BY d.log_id)
     FROM user_scheduler_job_run_details d WHERE d.job_name = j.job_name)
  FROM user_scheduler_jobs j WHERE j.job_name LIKE :1 ESCAPE '\\'
  ORDER BY j.job_name",
);

/// The job's latest run: its status, Oracle's error number and the run's additional
/// information, which carries the error stack (11.2 has no `ERRORS` column: 12.1 added it);
/// bind: job name. The newest row is the first of an ordered subquery (`ROWNUM` applies before
/// `ORDER BY` in one query block); `FETCH FIRST` would be simpler but arrived in 12c, and the
/// ERP database is 11.2.
pub const RUN_DETAILS_SQL: Statement<1> = Statement::new(
    "SELECT * FROM (SELECT status, error#, additional_info,
  TO_CHAR(actual_start_date AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
  TO_CHAR((actual_start_date + run_duration) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
  FROM user_scheduler_job_run_details WHERE job_name = :1
  ORDER BY log_id DESC) WHERE ROWNUM = 1",
);

/// Keeps the job from starting (a running one runs on to its end); bind: job name.
pub const DISABLE_SQL: Statement<1> =
    Statement::new("BEGIN DBMS_SCHEDULER.DISABLE(name => :1, force => TRUE); END;");

/// Stops the job (not forced: the procedure gets to roll back); bind: job name.
pub const STOP_SQL: Statement<1> =
    Statement::new("BEGIN DBMS_SCHEDULER.STOP_JOB(job_name => :1, force => FALSE); END;");

/// The `LIKE` pattern of `date`'s job names, `_` escaped (it matches any character in `LIKE`).
pub fn siblings_pattern(date: ClosingDate) -> String {
    format!("{}%", date.job_prefix().replace('_', "\\_"))
}

/// How the closing procedure takes its date (`CLOSING_DATE_ARGUMENT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateArgument {
    /// A `DATE` parameter (the default): bound as a DATE, so no session date format is used.
    Date,
    /// A `VARCHAR2` parameter: the date written with this Oracle format model (`text:YYYYMMDD`).
    Text(String),
}

impl DateArgument {
    /// Parses `date` or `text:<format model>`; the format model is bound, never spliced, and
    /// limited to the characters Oracle's datetime format elements use.
    pub fn parse(text: &str) -> Option<DateArgument> {
        match text.trim() {
            "date" | "DATE" => Some(DateArgument::Date),
            other => {
                let format = other
                    .strip_prefix("text:")
                    .or_else(|| other.strip_prefix("TEXT:"))?;
                let plausible = !format.is_empty()
                    && format.len() <= 40
                    && format
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-/.,:; _".contains(c));
                plausible.then(|| DateArgument::Text(format.to_owned()))
            }
        }
    }
}

/// A result table's rows for one date; bind: the date as `YYYY-MM-DD`, converted with that
/// explicit format (never the session's).
pub fn results_sql(owner: &Identifier, table: &Identifier) -> Statement<1> {
    Statement::owned(format!(
        "SELECT * FROM {owner}.{table} WHERE closing_date = TO_DATE(:1, 'YYYY-MM-DD')"
    ))
}

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
    date_argument: DateArgument,
}

impl OracleErp {
    /// Runs `procedure` (validated) as the closing, passing the date as `date_argument` says;
    /// result tables are read from `owner`.
    pub fn new(
        options: ConnectOptions,
        procedure: &str,
        owner: &str,
        date_argument: DateArgument,
    ) -> Result<Self, String> {
        Ok(Self {
            options,
            procedure: procedure_name(procedure)?,
            results_owner: Identifier::parse("schema", owner).map_err(|e| e.to_string())?,
            date_argument,
        })
    }

    /// The `:argument_type` and `:text_format` values of [`SUBMIT_SQL`].
    fn argument_binds(&self) -> (&'static str, String) {
        match &self.date_argument {
            DateArgument::Date => ("DATE", String::new()),
            DateArgument::Text(format) => ("TEXT", format.clone()),
        }
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
        let (argument_type, text_format) = self.argument_binds();
        let siblings = siblings_pattern(date);
        let (job, procedure, date) = (job.to_owned(), self.procedure.clone(), date.to_string());
        self.blocking(move |connection, options| {
            let mut statement = connection
                .statement(SUBMIT_SQL.text())
                .build()
                .map_err(|e| erp_error(e, options))?;
            let outcome = oracle::sql_type::OracleType::Varchar2(16);
            // In SUBMIT_BINDS' order, read from the names: the list and the values cannot drift.
            let values = SUBMIT_BINDS.map(|name| -> &dyn oracle::sql_type::ToSql {
                match name {
                    "job" => &job,
                    "procedure" => &procedure,
                    "argument_type" => &argument_type,
                    "closing_date" => &date,
                    "text_format" => &text_format,
                    "siblings" => &siblings,
                    _ => &outcome,
                }
            });
            match statement.execute(&SUBMIT_SQL.binds(values)) {
                Ok(()) => {}
                // Another submit created it between this one's check and its CREATE_JOB:
                // retried, the block then finds it.
                Err(err) if oracle_code(&err) == Some(codes::ALREADY_EXISTS) => {
                    return Err(ErpError::Transient(Box::new(err)));
                }
                Err(err) => return Err(erp_error(err, options)),
            }
            let outcome: String = statement
                .bind_value(SUBMIT_BINDS.len())
                .map_err(|e| erp_error(e, options))?;
            submission(&outcome)
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
                Option<i64>,
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
            let (status, error_number, info, started, ended) = details.unwrap_or_default();
            let error = run_error(error_number, info);
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

    async fn jobs_of(&self, date: ClosingDate) -> Result<Vec<JobSeen>, ErpError> {
        let pattern = siblings_pattern(date);
        self.blocking(move |connection, options| {
            let rows = connection
                .query_as::<(String, String, Option<String>)>(
                    DATE_JOBS_SQL.text(),
                    &DATE_JOBS_SQL.binds([&pattern]),
                )
                .map_err(|e| erp_error(e, options))?;
            let mut jobs = Vec::new();
            for row in rows {
                let (job, state, run_status) = row.map_err(|e| erp_error(e, options))?;
                // `LIKE` also matches names that only start like the date's.
                if date.attempt_of(&job).is_some() {
                    let state = job_state(Some(&state), run_status.as_deref(), None);
                    jobs.push(JobSeen { job, state });
                }
            }
            Ok(jobs)
        })
        .await
    }

    async fn disable(&self, job: &str) -> Result<(), ErpError> {
        let job = job.to_owned();
        self.blocking(move |connection, options| disable(connection, options, &job))
            .await
    }

    async fn stop(&self, job: &str) -> Result<(), ErpError> {
        let job = job.to_owned();
        self.blocking(move |connection, options| {
            // Disabled first: STOP_JOB does not keep a job that is not running yet from
            // starting later (it answers ORA-27366 and leaves it enabled).
            disable(connection, options, &job)?;
            match connection.execute(STOP_SQL.text(), &STOP_SQL.binds([&job])) {
                Ok(_) => Ok(()),
                Err(err) if oracle_code(&err).is_some_and(codes::stop_settles) => Ok(()),
                Err(err) => Err(erp_error(err, options)),
            }
        })
        .await
    }

    async fn fetch_results(
        &self,
        table: &str,
        date: ClosingDate,
        rows: ResultSender,
    ) -> Result<(), ErpError> {
        let table =
            Identifier::parse("table", table).map_err(|e| ErpError::Permanent(e.to_string()))?;
        let sql = results_sql(&self.results_owner, &table);
        let date = date.to_string();
        self.blocking(move |connection, options| {
            // One fetch array per batch: the rows in memory are the batch being fetched and the
            // ones the channel holds, whatever the table's size.
            let batch_rows = ora::FETCH_ARRAY_SIZE as usize;
            let mut source = TextRows::query(connection, sql.text(), &sql.binds([&date]))
                .map_err(|e| erp_error(e, options))?;
            let columns: Arc<[String]> = source.columns().into();
            let mut batch = Vec::with_capacity(batch_rows);
            let mut cells = Vec::new();
            loop {
                let more = source
                    .next_into(&mut cells)
                    .map_err(|e| erp_error(e, options))?;
                if more {
                    batch.push(std::mem::take(&mut cells));
                }
                if batch.len() == batch_rows || (!more && !batch.is_empty()) {
                    rows.blocking_send(ResultMessage::Batch {
                        columns: Arc::clone(&columns),
                        rows: std::mem::replace(&mut batch, Vec::with_capacity(batch_rows)),
                    })
                    .map_err(|_| ErpError::Abandoned)?;
                }
                if !more {
                    break;
                }
            }
            rows.blocking_send(ResultMessage::End)
                .map_err(|_| ErpError::Abandoned)
        })
        .await
    }
}

/// `DISABLE(force => TRUE)` on `connection`; a job that is gone counts as disabled.
fn disable(
    connection: &oracle::Connection,
    options: &ConnectOptions,
    job: &str,
) -> Result<(), ErpError> {
    match connection.execute(DISABLE_SQL.text(), &DISABLE_SQL.binds([&job])) {
        Ok(_) => Ok(()),
        Err(err) if oracle_code(&err).is_some_and(codes::disable_settles) => Ok(()),
        Err(err) => Err(erp_error(err, options)),
    }
}

/// The error of a run from its `ERROR#` and `ADDITIONAL_INFO` (which holds the error stack):
/// the text when there is one, else the number as `ORA-NNNNN`; `None` for a run without error.
pub fn run_error(error_number: Option<i64>, additional_info: Option<String>) -> Option<String> {
    let text = additional_info.filter(|text| !text.trim().is_empty());
    match error_number {
        Some(number) if number != 0 => text.or_else(|| Some(format!("ORA-{number:05}"))),
        _ => text,
    }
}

/// The port's view of [`SUBMIT_SQL`]'s `:outcome`.
pub fn submission(outcome: &str) -> Result<Submission, ErpError> {
    match outcome.trim() {
        "SUBMITTED" => Ok(Submission::Submitted),
        "RECOVERED" => Ok(Submission::Recovered),
        "EXISTS" => Ok(Submission::AlreadyExists),
        "BLOCKED" => Ok(Submission::Blocked),
        other => Err(ErpError::Permanent(format!(
            "the submit block answered {other:?}, not SUBMITTED, RECOVERED, EXISTS or BLOCKED"
        ))),
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
    use crate::closing::JobState;
    use secrecy::SecretString;
    use std::time::Duration;

    #[test]
    fn the_submit_block_binds_by_name_in_the_order_the_adapter_passes() {
        // Oracle gives a PL/SQL block's distinct names positions in order of first appearance;
        // the adapter passes values in SUBMIT_BINDS's order, so the two must agree.
        let mut first_appearances: Vec<String> = Vec::new();
        for name in orabridge_shared::oracle_sql::placeholders(SUBMIT_SQL.text()) {
            if !first_appearances.contains(&name) {
                first_appearances.push(name);
            }
        }
        assert_eq!(first_appearances, SUBMIT_BINDS);
        let submit_sql = SUBMIT_SQL;
        let submit = submit_sql.text();
        assert!(
            submit.starts_with("DECLARE"),
            "one PL/SQL block, one round trip"
        );
        assert!(
            submit.contains("auto_drop => FALSE"),
            "the run stays inspectable"
        );
        // Create only when absent, finish a DISABLED one, leave the rest alone.
        let create = submit.find("CREATE_JOB").expect("create");
        let argument = submit.find("SET_JOB_ANYDATA_VALUE").expect("argument");
        let enable = submit.find("DBMS_SCHEDULER.ENABLE").expect("enable");
        assert!(create < argument && argument < enable);
        assert!(submit.contains("job_state = 'DISABLED'"));
        // Nothing is enabled while another job of the date can run.
        let guard = submit.find("LIKE :siblings").expect("guard");
        assert!(argument < guard && guard < enable);
        assert!(submit.contains("outcome := 'BLOCKED'"));
        // No session date format anywhere: every conversion names its format.
        assert_eq!(
            submit
                .matches("TO_DATE(:closing_date, 'YYYY-MM-DD')")
                .count(),
            2
        );
        assert!(submit.contains("SYS.ANYDATA.ConvertDate"));
        assert!(STOP_SQL.text().contains("force => FALSE"));
        assert!(DISABLE_SQL.text().contains("force => TRUE"));
        for sql in [JOB_STATE_SQL, RUN_DETAILS_SQL] {
            assert!(sql.text().contains("job_name = :1"));
        }
    }

    #[test]
    fn the_submit_outcome_maps_to_the_port() {
        assert_eq!(submission("SUBMITTED").ok(), Some(Submission::Submitted));
        assert_eq!(submission("RECOVERED").ok(), Some(Submission::Recovered));
        assert_eq!(submission("EXISTS").ok(), Some(Submission::AlreadyExists));
        assert_eq!(submission("BLOCKED").ok(), Some(Submission::Blocked));
        assert!(matches!(submission(""), Err(ErpError::Permanent(_))));
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
            ("date jobs", DATE_JOBS_SQL.problems()),
            ("disable", DISABLE_SQL.problems()),
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
    fn a_column_12c_added_put_back_in_the_poll_fails_the_statement_check() {
        // 11.2's run details end at ADDITIONAL_INFO; ERRORS arrived in 12.1 (the catalogue's
        // `about`). On 11.2 every poll would fail with ORA-00904.
        let with_errors = Statement::<1>::owned(RUN_DETAILS_SQL.text().replace("error#", "errors"));
        let problems = with_errors.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .starts_with("line 1: ERRORS is not a column of USER_SCHEDULER_JOB_RUN_DETAILS"),
            "{problems:?}"
        );
    }

    #[test]
    fn every_documented_job_state_has_its_meaning_and_the_submit_guard_counts_the_runnable_ones() {
        let catalogue = orabridge_shared::oracle_sql::catalogue::catalogue();
        let states = catalogue
            .values("USER_SCHEDULER_JOBS.STATE")
            .expect("documented states");
        let submit = SUBMIT_SQL;
        let guard = submit.text();
        let guard = &guard[guard.find("state NOT IN (").expect("guard")..];
        let guard = &guard[..guard.find(')').expect("list")];
        let also_read = catalogue
            .readable_values("USER_SCHEDULER_JOBS.STATE")
            .expect("states");
        for state in also_read.iter().filter(|state| !states.contains(state)) {
            let meaning = super::super::job_state(Some(state), None, None);
            assert_eq!(
                !guard.contains(&format!("'{state}'")),
                meaning.can_run(),
                "the submit guard and the port disagree on {state}"
            );
        }
        // A state nobody documented counts as able to run, for the guard as for the port.
        assert!(super::super::job_state(Some("RESOURCE_UNAVAILABLE"), None, None).can_run());
        assert!(!guard.contains("RESOURCE_UNAVAILABLE"));
        for state in states {
            let meaning = super::super::job_state(Some(state), None, None);
            let expected = match state.as_str() {
                "SCHEDULED" | "RETRY SCHEDULED" => JobState::Scheduled,
                "RUNNING" | "CHAIN_STALLED" | "REMOTE" => JobState::Running,
                "SUCCEEDED" => JobState::Succeeded,
                "DISABLED" => JobState::Disabled,
                // Ended without a run to say how: nothing of it can run any more.
                "COMPLETED" => JobState::Disabled,
                "FAILED" | "BROKEN" => JobState::Failed {
                    error: "Oracle gave no error text for the job's run".into(),
                },
                other => panic!("{other} is documented but has no meaning here"),
            };
            assert_eq!(meaning, expected, "{state}");
            assert_eq!(
                !guard.contains(&format!("'{state}'")),
                meaning.can_run(),
                "the submit guard and the port disagree on {state}"
            );
        }
        // Undocumented for the jobs view, but what a stopped run shows.
        assert_eq!(
            super::super::job_state(Some("STOPPED"), None, None),
            JobState::Stopped
        );
    }

    #[test]
    fn a_runs_error_is_its_text_or_else_its_number() {
        let stack = "ORA-20001: out of balance\nORA-06512: at \"GENIUS.PKG_CLOSING\", line 12";
        assert_eq!(
            run_error(Some(20001), Some(stack.into())).as_deref(),
            Some(stack)
        );
        assert_eq!(run_error(Some(1013), None).as_deref(), Some("ORA-01013"));
        assert_eq!(
            run_error(Some(1013), Some("  ".into())).as_deref(),
            Some("ORA-01013")
        );
        assert_eq!(run_error(Some(0), None), None);
        assert_eq!(run_error(None, None), None);
    }

    #[test]
    fn a_dates_jobs_are_matched_with_the_underscores_escaped() {
        let date = ClosingDate::parse("2026-11-20").expect("date");
        assert_eq!(siblings_pattern(date), "FC\\_20261120\\_A%");
        assert!(DATE_JOBS_SQL.text().contains("LIKE :1 ESCAPE '\\'"));
        assert!(SUBMIT_SQL.text().contains("LIKE :siblings ESCAPE '\\'"));
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
                connect_timeout: Duration::from_secs(5),
            },
            "GENIUS.PKG_CLOSING.RUN_DAILY",
            "GENIUS",
            DateArgument::Date,
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
