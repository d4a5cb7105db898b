//! The closing's vocabulary, free of Restate, Oracle and PostgreSQL: the closing date (the
//! workflow key), the business-day rule of the daily trigger, the deterministic scheduler job
//! name, job states, phases and the report.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// The day being closed: the workflow key, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClosingDate(NaiveDate);

/// A closing date that is not `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("closing date {0:?} is not a calendar date written YYYY-MM-DD")]
pub struct InvalidDate(String);

impl ClosingDate {
    /// Parses exactly `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<ClosingDate, InvalidDate> {
        let valid_shape = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        if !valid_shape {
            return Err(InvalidDate(text.to_owned()));
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(ClosingDate)
            .map_err(|_| InvalidDate(text.to_owned()))
    }

    /// The date.
    pub fn date(self) -> NaiveDate {
        self.0
    }

    /// The business day before `today` (Monday → the Friday before): what the daily trigger
    /// closes. Public holidays are not known here; a holiday closing is started by hand.
    pub fn previous_business_day(today: NaiveDate) -> ClosingDate {
        let mut day = today.pred_opt().unwrap_or(today);
        while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            day = day.pred_opt().unwrap_or(day);
        }
        ClosingDate(day)
    }

    /// The scheduler job for this date and attempt: `FC_20261120_A1`. Deterministic, so a
    /// retried submit finds the job it already created instead of closing twice; a re-run
    /// takes the number after every earlier attempt's.
    pub fn job_name(self, attempt: u32) -> String {
        format!("{}{attempt}", self.job_prefix())
    }

    /// What every job name of this date starts with: `FC_20261120_A`.
    pub fn job_prefix(self) -> String {
        format!("FC_{}_A", self.0.format("%Y%m%d"))
    }

    /// The attempt number of `job` if it is one of this date's jobs (`FC_20261120_A2` → 2).
    pub fn attempt_of(self, job: &str) -> Option<u32> {
        let number = job.strip_prefix(&self.job_prefix())?;
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        number.parse().ok()
    }
}

impl std::fmt::Display for ClosingDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl TryFrom<String> for ClosingDate {
    type Error = InvalidDate;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        ClosingDate::parse(&text)
    }
}

impl From<ClosingDate> for String {
    fn from(date: ClosingDate) -> String {
        date.to_string()
    }
}

/// Where the ERP's job is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    /// Enabled, waiting for a job slave to start it.
    Scheduled,
    /// Running.
    Running,
    /// Finished successfully.
    Succeeded,
    /// Finished with an error; Oracle's text.
    Failed {
        /// The error as the ERP reported it.
        error: String,
    },
    /// Stopped on request.
    Stopped,
    /// Disabled before it ran: it will not start unless someone enables it again.
    Disabled,
}

impl JobState {
    /// Whether the job may still run the closing procedure: enabled and waiting, or running.
    pub fn can_run(&self) -> bool {
        matches!(self, JobState::Scheduled | JobState::Running)
    }

    /// Whether the job will not change any more by itself: it ended, or it is disabled.
    pub fn is_final(&self) -> bool {
        !self.can_run()
    }
}

/// One job of a closing date and its state when last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSeen {
    /// The scheduler job (`FC_20261120_A1`).
    pub job: String,
    /// Its state.
    #[serde(flatten)]
    pub state: JobState,
}

/// The workflow's phase, as `status()` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Looking up an earlier run of the date.
    Checking,
    /// Waiting for, or disabling, an earlier attempt's job that could still run.
    Settling,
    /// The job is submitted.
    Submitted,
    /// The job runs; the workflow sleeps between polls.
    Running,
    /// Copying results to PostgreSQL.
    Syncing,
    /// Done.
    Succeeded,
    /// The job or the copy failed.
    Failed,
    /// Stopped on request.
    Cancelled,
}

/// Rows copied for one result table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCopy {
    /// The table.
    pub table: String,
    /// Rows now in PostgreSQL for the date.
    pub rows: u64,
}

/// What `run` returns, and what `closing_runs` stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosingReport {
    /// The closing date.
    pub date: ClosingDate,
    /// Final phase: `succeeded`, `failed` or `cancelled`.
    pub phase: Phase,
    /// The scheduler job.
    pub job: String,
    /// The job's final state as the ERP reported it.
    pub erp_status: String,
    /// When the job started (RFC 3339), if it did.
    pub started_at: Option<String>,
    /// When it ended (RFC 3339), if it did.
    pub ended_at: Option<String>,
    /// Rows copied per table.
    pub tables: Vec<TableCopy>,
    /// Wall time from submit to record, in seconds.
    pub duration_seconds: u64,
    /// The error text, for a failed closing.
    pub error: Option<String>,
    /// Every scheduler job of the date as the closing last saw it, earlier attempts included.
    #[serde(default)]
    pub jobs: Vec<JobSeen>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn only_exact_calendar_dates_are_closing_dates() {
        assert_eq!(
            ClosingDate::parse("2026-11-20").expect("valid").to_string(),
            "2026-11-20"
        );
        for bad in [
            "2026-11-31",
            "2026-2-01",
            "20261120",
            "2026-11-20T00:00:00Z",
            " 2026-11-20",
            "",
        ] {
            assert!(ClosingDate::parse(bad).is_err(), "{bad:?}");
        }
        let json: ClosingDate = serde_json::from_str("\"2024-02-29\"").expect("leap day");
        assert_eq!(
            serde_json::to_string(&json).expect("json"),
            "\"2024-02-29\""
        );
        assert!(serde_json::from_str::<ClosingDate>("\"2026-02-29\"").is_err());
    }

    #[test]
    fn the_trigger_closes_the_previous_business_day() {
        // 2026-11-23 is a Monday: the Friday before.
        for (today, expected) in [
            ("2026-11-23", "2026-11-20"),
            ("2026-11-24", "2026-11-23"),
            ("2026-11-22", "2026-11-20"),
            ("2026-11-21", "2026-11-20"),
            ("2026-01-01", "2025-12-31"),
        ] {
            assert_eq!(
                ClosingDate::previous_business_day(date(today)).to_string(),
                expected,
                "{today}"
            );
        }
    }

    #[test]
    fn job_names_are_deterministic_valid_identifiers() {
        let day = ClosingDate::parse("2026-11-20").expect("date");
        assert_eq!(day.job_name(1), "FC_20261120_A1");
        assert_eq!(day.job_name(1), day.job_name(1));
        assert_ne!(day.job_name(1), day.job_name(2));
        assert_eq!(day.attempt_of("FC_20261120_A12"), Some(12));
        for other in ["FC_20261121_A1", "FC_20261120_A", "FC_20261120_A1X", "X"] {
            assert_eq!(day.attempt_of(other), None, "{other}");
        }
        assert!(
            day.job_name(12)
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        );
    }

    #[test]
    fn only_enabled_and_running_jobs_can_still_run() {
        assert!(!JobState::Scheduled.is_final());
        assert!(!JobState::Running.is_final());
        assert!(JobState::Succeeded.is_final());
        assert!(JobState::Stopped.is_final());
        assert!(JobState::Disabled.is_final());
        assert!(
            JobState::Failed {
                error: "ORA-20001".into()
            }
            .is_final()
        );
    }
}
