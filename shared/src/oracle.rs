//! The Oracle adapter's shared half (feature `oracle`): connection settings, validated
//! identifiers, thick-mode connect with the Instant Client check, query helpers that read rows
//! as text, and one error type that says what went wrong without leaking a secret.
//!
//! The `oracle` crate is synchronous (ODPI-C over OCI): everything here blocks and is meant to
//! run inside `tokio::task::spawn_blocking`. It loads `libclntsh.so` at the first connect; in
//! Lambda that library comes from the Oracle Instant Client layer, mounted at `/opt/lib`.

use std::fmt;
use std::time::Duration;

use oracle::sql_type::{OracleType, Timestamp, ToSql};
use oracle::{Connection, Connector, ErrorKind, ResultSet, Row};
use secrecy::{ExposeSecret, SecretString};

/// Where the Instant Client layer puts its libraries in a Lambda function.
pub const LAYER_LIB_DIR: &str = "/opt/lib";

/// A schema, table or column name checked to be a plain Oracle identifier: a letter, then up to
/// 29 letters, digits, `_`, `$` or `#`. It is upper-cased (Oracle's own folding) and always
/// written quoted, so it can never carry SQL of its own.
///
/// 30 bytes is Oracle 11.2's limit ("Database Object Naming Rules", SQL Language Reference
/// 11.2: "Names must be from 1 to 30 bytes long"); 12.2 raised it to 128, but the databases
/// this suite reaches are 11.2, where a longer name fails with ORA-00972.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identifier(String);

/// The longest identifier Oracle 11.2 accepts, in bytes.
pub const MAX_IDENTIFIER_BYTES: usize = 30;

/// A name that is not a plain identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{what} {name:?} is not a valid Oracle identifier (a letter, then letters, digits, _, $ or #; at most {MAX_IDENTIFIER_BYTES} bytes, Oracle 11.2's limit)"
)]
pub struct IdentifierError {
    what: &'static str,
    name: String,
}

impl Identifier {
    /// Validates `name`; `what` ("schema", "table") names it in the error.
    pub fn parse(what: &'static str, name: &str) -> Result<Identifier, IdentifierError> {
        let trimmed = name.trim();
        let mut chars = trimmed.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '#'))
            && trimmed.len() <= MAX_IDENTIFIER_BYTES;
        if !valid {
            return Err(IdentifierError {
                what,
                name: name.to_owned(),
            });
        }
        Ok(Identifier(trimmed.to_ascii_uppercase()))
    }

    /// The upper-cased name, as stored in the data dictionary (for binds).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Identifier {
    /// The quoted form for SQL text: `"NAME"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

/// How to reach one database as one user.
#[derive(Clone)]
pub struct ConnectOptions {
    /// The database user.
    pub username: String,
    /// The user's password (from an SSM SecureString).
    pub password: SecretString,
    /// An Easy Connect string (`//host:port/service`) or a TNS alias.
    pub connect_string: String,
    /// The longest any single round trip may take (OCI call timeout).
    pub call_timeout: Duration,
    /// The longest a connect may take to reach the listener and log in
    /// (`ORACLE_CONNECT_TIMEOUT`): a black-holed VPN then fails with ORA-12170 instead of
    /// hanging until the function's own timeout. See [`ConnectOptions::client_connect_string`].
    pub connect_timeout: Duration,
}

/// `ORACLE_CONNECT_TIMEOUT` unless set: long enough for a VPN's first handshake, far shorter
/// than any function's timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads `ORACLE_CONNECT_TIMEOUT` (a duration, [`DEFAULT_CONNECT_TIMEOUT`] when unset).
pub fn connect_timeout(
    reader: &crate::config::ConfigReader<impl crate::config::VarSource>,
) -> Result<Duration, crate::config::ConfigError> {
    reader.positive_duration_or("ORACLE_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT)
}

impl ConnectOptions {
    /// The connect string the Oracle client is given: [`connect_string`](Self::connect_string)
    /// with the connect timeout in it, in whole seconds, both for the whole connect and for
    /// its TCP part. An Easy Connect string gets it as Easy Connect Plus parameters
    /// (`?connect_timeout=10&transport_connect_timeout=10`; Easy Connect Plus is read by 19c
    /// and later clients, the layer's 19.x included: Net Services Administrator's Guide,
    /// "Support for Easy Connect Plus",
    /// https://docs.oracle.com/en/database/oracle/oracle-database/23/netag/support-easy-connect-plus.html);
    /// a connect descriptor gets `(CONNECT_TIMEOUT=10)(TRANSPORT_CONNECT_TIMEOUT=10)` in its
    /// `DESCRIPTION`. A timeout the string already sets is kept. A TNS alias cannot carry one:
    /// `None`, and the bound must come from `sqlnet.ora` (`SQLNET.OUTBOUND_CONNECT_TIMEOUT`).
    pub fn client_connect_string(&self) -> Option<String> {
        let text = self.connect_string.trim();
        let rounded_up = u64::from(self.connect_timeout.subsec_nanos() > 0);
        let seconds = (self.connect_timeout.as_secs() + rounded_up).max(1);
        if text.starts_with('(') {
            return descriptor_with_timeouts(text, seconds);
        }
        if !text.contains('/') && !text.contains(':') {
            return None;
        }
        let query = text.split_once('?').map_or("", |(_, query)| query);
        let present: Vec<String> = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(key, _)| key.trim().to_ascii_lowercase())
            .collect();
        let mut out = text.to_owned();
        for key in ["connect_timeout", "transport_connect_timeout"] {
            if !present.iter().any(|set| set == key) {
                out.push(if out.contains('?') { '&' } else { '?' });
                out.push_str(&format!("{key}={seconds}"));
            }
        }
        Some(out)
    }
}

/// `descriptor` with `(CONNECT_TIMEOUT=n)(TRANSPORT_CONNECT_TIMEOUT=n)` in each of its
/// `DESCRIPTION`s (those of a `DESCRIPTION_LIST` included) that does not set them, spaces
/// around `=` allowed as in tnsnames files; `None` when it has no `DESCRIPTION`.
fn descriptor_with_timeouts(descriptor: &str, seconds: u64) -> Option<String> {
    let upper = descriptor.to_ascii_uppercase();
    let bytes = upper.as_bytes();
    let (mut out, mut copied, mut found) = (String::new(), 0, false);
    let mut from = 0;
    while let Some(offset) = upper[from..].find("(DESCRIPTION") {
        let open = from + offset;
        from = open + 1;
        let mut equals = open + "(DESCRIPTION".len();
        while bytes.get(equals).is_some_and(u8::is_ascii_whitespace) {
            equals += 1;
        }
        if bytes.get(equals) != Some(&b'=') {
            continue;
        }
        found = true;
        let mut depth = 0usize;
        let close = (open..bytes.len())
            .find(|&i| {
                match bytes[i] {
                    b'(' => depth += 1,
                    b')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .unwrap_or(bytes.len());
        let own: String = upper[equals..close]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        out.push_str(&descriptor[copied..=equals]);
        copied = equals + 1;
        for key in ["CONNECT_TIMEOUT", "TRANSPORT_CONNECT_TIMEOUT"] {
            if !own.contains(&format!("({key}=")) {
                out.push_str(&format!("({key}={seconds})"));
            }
        }
    }
    found.then(|| out + &descriptor[copied..])
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("connect_string", &self.connect_string)
            .field("call_timeout", &self.call_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// The Easy Connect string for `host`, `port` and `service_name`.
pub fn easy_connect(host: &str, port: u16, service_name: &str) -> String {
    format!("//{}:{port}/{}", host.trim(), service_name.trim())
}

/// What went wrong talking to Oracle, sorted by what an operator would do about it. Messages
/// carry Oracle's code and text but never the password.
#[derive(Debug, thiserror::Error)]
pub enum OracleError {
    /// `libclntsh.so` could not be loaded (DPI-1047): the function runs without its layer.
    #[error(
        "the Oracle Instant Client could not be loaded: attach the OracleInstantClientLayer \
         (libraries under /opt/lib) to this function, or set LD_LIBRARY_PATH to an Instant \
         Client directory when running locally"
    )]
    InstantClientMissing(#[source] Box<oracle::Error>),
    /// The credentials were refused, or the account is locked or expired.
    #[error("Oracle refused the login of user {username}")]
    Authentication {
        /// The user that tried to log in.
        username: String,
        /// Oracle's error.
        #[source]
        source: Box<oracle::Error>,
    },
    /// The listener or database could not be reached (VPN down, wrong host or service).
    #[error("the Oracle database at {connect_string} could not be reached")]
    Unreachable {
        /// Where it tried.
        connect_string: String,
        /// Oracle's error.
        #[source]
        source: Box<oracle::Error>,
    },
    /// A call took longer than the call timeout.
    #[error("an Oracle call exceeded the call timeout")]
    Timeout(#[source] Box<oracle::Error>),
    /// The table, view or procedure does not exist or is not visible to this user.
    #[error("an Oracle object was not found or is not accessible")]
    NotFound(#[source] Box<oracle::Error>),
    /// Any other database or driver error.
    #[error("an Oracle call failed")]
    Database(#[source] Box<oracle::Error>),
}

/// What kind of failure an Oracle or ODPI-C error code stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The client library is missing.
    ClientMissing,
    /// Login refused.
    Authentication,
    /// Network or listener.
    Unreachable,
    /// Call timeout.
    Timeout,
    /// Missing object or privilege.
    NotFound,
    /// Anything else.
    Other,
}

/// Sorts an error by its ORA- (`oci_code`) or DPI- (`dpi_code`) number.
pub fn failure_kind(oci_code: Option<i32>, dpi_code: Option<i32>) -> FailureKind {
    match (oci_code, dpi_code) {
        // DPI-1047: cannot locate a 64-bit Oracle Client library; 1072: client too old.
        (_, Some(1047 | 1072)) => FailureKind::ClientMissing,
        // DPI-1067: call timeout exceeded; DPI-1080: connection closed by the timeout.
        (_, Some(1067 | 1080)) => FailureKind::Timeout,
        // ORA-01017 invalid credentials, 28000 locked, 28001 expired, 01005 null password,
        // 01045 no CREATE SESSION.
        (Some(1017 | 28000 | 28001 | 1005 | 1045), _) => FailureKind::Authentication,
        // ORA-12154/12262 cannot resolve, 12170 connect timeout, 12514/12505 unknown service or
        // SID, 12537/12547 connection closed, 12541 no listener, 12543/12545 host unreachable
        // or unknown, 03113/03114/03135 lost contact, 12560 protocol adapter.
        (
            Some(
                12154 | 12262 | 12170 | 12514 | 12505 | 12537 | 12541 | 12543 | 12545 | 12547
                | 12560 | 3113 | 3114 | 3135,
            ),
            _,
        ) => FailureKind::Unreachable,
        // ORA-03136 inbound connect timeout, 03156 OCI call timed out, 01013 cancelled (what a
        // call timeout reports on some versions).
        (Some(3136 | 3156 | 1013), _) => FailureKind::Timeout,
        // ORA-00942 table or view does not exist, 04043 object does not exist, 06550 PL/SQL
        // compilation (usually a missing procedure), 01031 insufficient privileges.
        (Some(942 | 4043 | 6550 | 1031), _) => FailureKind::NotFound,
        _ => FailureKind::Other,
    }
}

impl OracleError {
    /// Maps a driver error, knowing who connected to where.
    pub fn from_driver(error: oracle::Error, options: &ConnectOptions) -> OracleError {
        // Boxed: oracle::Error is large, and this error travels up through every Result.
        let error = Box::new(error);
        let (oci, dpi) = match error.kind() {
            ErrorKind::OciError | ErrorKind::DpiError => (error.oci_code(), error.dpi_code()),
            _ => (None, None),
        };
        match failure_kind(oci, dpi) {
            FailureKind::ClientMissing => OracleError::InstantClientMissing(error),
            FailureKind::Authentication => OracleError::Authentication {
                username: options.username.clone(),
                source: error,
            },
            FailureKind::Unreachable => OracleError::Unreachable {
                connect_string: options.connect_string.clone(),
                source: error,
            },
            FailureKind::Timeout => OracleError::Timeout(error),
            FailureKind::NotFound => OracleError::NotFound(error),
            FailureKind::Other => OracleError::Database(error),
        }
    }

    /// Whether trying again later may succeed (network, timeouts) rather than needing a fix.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            OracleError::Unreachable { .. } | OracleError::Timeout(_)
        )
    }
}

/// Loads the Oracle Client library now (from [`LAYER_LIB_DIR`] when the layer is there, else
/// the usual library search path), so a function deployed without its layer fails at start-up
/// with [`OracleError::InstantClientMissing`] instead of at its first query.
pub fn load_client() -> Result<(), OracleError> {
    let mut params = oracle::InitParams::new();
    let layer_client = std::path::Path::new(LAYER_LIB_DIR).join("libclntsh.so");
    let configured = if layer_client.exists() {
        params.oracle_client_lib_dir(LAYER_LIB_DIR).map(|_| ())
    } else {
        Ok(())
    };
    let result = configured.and_then(|()| params.init().map(|_| ()));
    result.map_err(|err| match failure_kind(None, err.dpi_code()) {
        FailureKind::ClientMissing => OracleError::InstantClientMissing(Box::new(err)),
        _ => OracleError::Database(Box::new(err)),
    })
}

/// Connects in thick mode, bounded by the connect timeout, and sets the call timeout. Blocks:
/// call from `spawn_blocking`.
pub fn connect(options: &ConnectOptions) -> Result<Connection, OracleError> {
    let map = |err| OracleError::from_driver(err, options);
    let target = options.client_connect_string().unwrap_or_else(|| {
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            tracing::warn!(
                connect_string = %options.connect_string,
                "this connect string cannot carry a connect timeout (a TNS alias, or a descriptor without DESCRIPTION): set SQLNET.OUTBOUND_CONNECT_TIMEOUT in sqlnet.ora"
            );
        });
        options.connect_string.clone()
    });
    let connection = Connector::new(
        options.username.as_str(),
        options.password.expose_secret(),
        target.as_str(),
    )
    .driver_name("orabridge")
    .connect()
    .map_err(map)?;
    let timeout = (!options.call_timeout.is_zero()).then_some(options.call_timeout);
    connection.set_call_timeout(timeout).map_err(map)?;
    Ok(connection)
}

/// Rows are fetched from the server this many at a time (and prefetched as many): fewer round
/// trips over a VPN matter more than the few MB of buffer.
pub const FETCH_ARRAY_SIZE: u32 = 5_000;

/// A query whose rows are read as text cells, for sources that treat every column as text
/// (dates become ISO 8601, numbers their exact decimal text).
pub struct TextRows {
    rows: ResultSet<'static, Row>,
    columns: Vec<String>,
    kinds: Vec<CellKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellKind {
    Text,
    Timestamp,
}

impl TextRows {
    /// Runs `sql` with positional `binds`, fetching [`FETCH_ARRAY_SIZE`] rows per round trip.
    pub fn query(
        connection: &Connection,
        sql: &str,
        binds: &[&dyn ToSql],
    ) -> Result<TextRows, oracle::Error> {
        let statement = connection
            .statement(sql)
            .fetch_array_size(FETCH_ARRAY_SIZE)
            .prefetch_rows(FETCH_ARRAY_SIZE)
            .build()?;
        let rows = statement.into_result_set::<Row>(binds)?;
        let info = rows.column_info();
        let columns = info.iter().map(|c| c.name().to_owned()).collect();
        let kinds = info
            .iter()
            .map(|c| match c.oracle_type() {
                OracleType::Date
                | OracleType::Timestamp(_)
                | OracleType::TimestampTZ(_)
                | OracleType::TimestampLTZ(_) => CellKind::Timestamp,
                _ => CellKind::Text,
            })
            .collect();
        Ok(TextRows {
            rows,
            columns,
            kinds,
        })
    }

    /// The column names, as Oracle reports them.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Reads the next row into `cells` (`None` for NULL); `false` at the end.
    pub fn next_into(&mut self, cells: &mut Vec<Option<String>>) -> Result<bool, oracle::Error> {
        let Some(row) = self.rows.next() else {
            return Ok(false);
        };
        let row = row?;
        cells.clear();
        for (index, kind) in self.kinds.iter().enumerate() {
            cells.push(match kind {
                CellKind::Text => row.get::<_, Option<String>>(index)?,
                CellKind::Timestamp => row
                    .get::<_, Option<Timestamp>>(index)?
                    .map(|t| timestamp_text(&t)),
            });
        }
        Ok(true)
    }
}

/// An Oracle DATE or TIMESTAMP as ISO 8601: `2026-11-20T14:30:00`, with the fraction when
/// there is one and the offset when the type has a time zone.
pub fn timestamp_text(t: &Timestamp) -> String {
    let mut text = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if t.nanosecond() != 0 {
        let fraction = format!("{:09}", t.nanosecond());
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    if t.with_tz() {
        let offset = t.tz_offset();
        let sign = if offset < 0 { '-' } else { '+' };
        let offset = offset.abs();
        text.push_str(&format!(
            "{sign}{:02}:{:02}",
            offset / 3600,
            offset / 60 % 60
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_identifiers_are_upper_cased_and_quoted() {
        let table = Identifier::parse("table", " mp_colors ").unwrap();
        assert_eq!(table.as_str(), "MP_COLORS");
        assert_eq!(table.to_string(), "\"MP_COLORS\"");
        assert!(Identifier::parse("schema", "FIN$DATA#1").is_ok());
        assert!(
            Identifier::parse("table", &"X".repeat(30)).is_ok(),
            "11.2's longest"
        );
    }

    #[test]
    fn identifiers_that_could_carry_sql_are_rejected_with_their_role() {
        for bad in [
            "",
            "1TABLE",
            "COLORS; DROP TABLE X",
            "A\"B",
            "SCHEMA.TABLE",
            "A B",
            "TÄBLE",
            "A--",
            // 31 bytes: ORA-00972 on 11.2.
            &"X".repeat(31),
        ] {
            let err = Identifier::parse("table", bad).unwrap_err();
            assert!(err.to_string().starts_with("table "), "{err}");
        }
    }

    #[test]
    fn error_codes_map_to_what_an_operator_would_do() {
        assert_eq!(failure_kind(None, Some(1047)), FailureKind::ClientMissing);
        assert_eq!(failure_kind(Some(1017), None), FailureKind::Authentication);
        assert_eq!(failure_kind(Some(28000), None), FailureKind::Authentication);
        for code in [12154, 12170, 12514, 12541, 12545, 3113, 3135] {
            assert_eq!(
                failure_kind(Some(code), None),
                FailureKind::Unreachable,
                "{code}"
            );
        }
        assert_eq!(failure_kind(None, Some(1067)), FailureKind::Timeout);
        assert_eq!(failure_kind(Some(3156), None), FailureKind::Timeout);
        assert_eq!(failure_kind(Some(942), None), FailureKind::NotFound);
        assert_eq!(failure_kind(Some(1), None), FailureKind::Other);
        assert_eq!(failure_kind(None, None), FailureKind::Other);
    }

    fn options() -> ConnectOptions {
        ConnectOptions {
            username: "MP_READER".into(),
            password: SecretString::from("s3cr3t-pw"),
            connect_string: easy_connect("10.0.0.5", 1521, "MPPROD"),
            call_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_millis(7_500),
        }
    }

    #[test]
    fn the_connect_timeout_reaches_the_string_the_client_is_given() {
        let with = |connect_string: &str| ConnectOptions {
            connect_string: connect_string.into(),
            ..options()
        };
        // Whole seconds, rounded up.
        assert_eq!(
            options().client_connect_string().as_deref(),
            Some("//10.0.0.5:1521/MPPROD?connect_timeout=8&transport_connect_timeout=8")
        );
        assert_eq!(
            with("tcps://db.vpn:2484/GENIUS?wallet_location=/opt/wallet")
                .client_connect_string()
                .as_deref(),
            Some(
                "tcps://db.vpn:2484/GENIUS?wallet_location=/opt/wallet&connect_timeout=8&transport_connect_timeout=8"
            )
        );
        assert_eq!(
            with("(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=10.0.0.5)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=G)))")
                .client_connect_string()
                .as_deref(),
            Some("(DESCRIPTION=(CONNECT_TIMEOUT=8)(TRANSPORT_CONNECT_TIMEOUT=8)(ADDRESS=(PROTOCOL=TCP)(HOST=10.0.0.5)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=G)))")
        );
        // The operator's own setting wins, each on its own; an alias cannot carry one.
        let own = "//h:1521/S?connect_timeout=30&transport_connect_timeout=5";
        assert_eq!(with(own).client_connect_string().as_deref(), Some(own));
        assert_eq!(
            with("//h/S?transport_connect_timeout=3")
                .client_connect_string()
                .as_deref(),
            Some("//h/S?transport_connect_timeout=3&connect_timeout=8")
        );
        assert_eq!(
            with("[::1]:1521/S").client_connect_string().as_deref(),
            Some("[::1]:1521/S?connect_timeout=8&transport_connect_timeout=8")
        );
        assert_eq!(with("GENIUS_PROD").client_connect_string(), None);
        // tnsnames spacing, a list of descriptions, and one that sets a timeout of its own.
        assert_eq!(
            with("(DESCRIPTION = (ADDRESS = (PROTOCOL = TCP)(HOST = h)(PORT = 1521)))")
                .client_connect_string()
                .as_deref(),
            Some(
                "(DESCRIPTION =(CONNECT_TIMEOUT=8)(TRANSPORT_CONNECT_TIMEOUT=8) (ADDRESS = (PROTOCOL = TCP)(HOST = h)(PORT = 1521)))"
            )
        );
        assert_eq!(
            with("(DESCRIPTION_LIST=(DESCRIPTION=(ADDRESS=(HOST=a)))(DESCRIPTION=(CONNECT_TIMEOUT = 4)(ADDRESS=(HOST=b))))")
                .client_connect_string()
                .as_deref(),
            Some("(DESCRIPTION_LIST=(DESCRIPTION=(CONNECT_TIMEOUT=8)(TRANSPORT_CONNECT_TIMEOUT=8)(ADDRESS=(HOST=a)))(DESCRIPTION=(TRANSPORT_CONNECT_TIMEOUT=8)(CONNECT_TIMEOUT = 4)(ADDRESS=(HOST=b))))")
        );
        assert_eq!(with("(ADDRESS=(HOST=h))").client_connect_string(), None);
    }

    #[test]
    fn the_password_never_appears_in_debug_output() {
        let debug = format!("{:?}", options());
        assert!(!debug.contains("s3cr3t-pw"));
        assert!(debug.contains("//10.0.0.5:1521/MPPROD"));
    }

    #[test]
    fn connecting_without_the_instant_client_names_the_layer() {
        // This machine has no Instant Client, so the real driver fails to load it: the same
        // path a function deployed without its layer takes.
        let err = connect(&options()).expect_err("no Instant Client here");
        assert!(
            matches!(err, OracleError::InstantClientMissing(_)),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("OracleInstantClientLayer"), "{message}");
        assert!(message.contains("/opt/lib"), "{message}");
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert!(cause.contains("DPI-1047"), "{cause}");
        assert!(!format!("{message} {cause}").contains("s3cr3t-pw"));
    }

    #[test]
    fn loading_the_client_at_start_up_without_the_layer_names_the_layer() {
        let err = load_client().expect_err("no Instant Client here");
        assert!(
            matches!(err, OracleError::InstantClientMissing(_)),
            "{err:?}"
        );
        assert!(err.to_string().contains("OracleInstantClientLayer"));
    }

    #[test]
    fn driver_errors_that_are_not_database_errors_are_generic() {
        let err = OracleError::from_driver(
            oracle::Error::new(ErrorKind::InvalidArgument, "bad"),
            &options(),
        );
        assert!(matches!(err, OracleError::Database(_)));
        assert!(!err.is_transient());
    }

    #[test]
    fn timestamps_are_written_as_iso_8601_with_fraction_and_offset_only_when_present() {
        let plain = Timestamp::new(2026, 11, 20, 14, 30, 0, 0).unwrap();
        assert_eq!(timestamp_text(&plain), "2026-11-20T14:30:00");
        let fraction = Timestamp::new(2026, 1, 2, 3, 4, 5, 120_000_000).unwrap();
        assert_eq!(timestamp_text(&fraction), "2026-01-02T03:04:05.12");
        let zoned = plain.and_tz_hm_offset(-5, -30).unwrap();
        assert_eq!(timestamp_text(&zoned), "2026-11-20T14:30:00-05:30");
    }
}
