//! A throwaway PostgreSQL that only accepts TLS, like RDS for PostgreSQL 15 and later with
//! `rds.force_ssl` on: a cluster made by the machine's own `initdb` in a temporary directory,
//! a CA and server certificate made here, `pg_hba.conf` with `hostssl` lines only, SCRAM
//! passwords, a free loopback port. Stopped (fast shutdown) and deleted when dropped.
//!
//! The server certificate names `127.0.0.1` only (an IP address SAN), so `verify-full` succeeds
//! for `host=127.0.0.1` and must fail for `host=localhost`, while `verify-ca` accepts both.

use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::{ManagedProcess, TestkitError, free_port};
use crate::postgres::{parse_connection_string, tls_connector};

/// The superuser's password in the throwaway cluster (it lives as long as the test).
pub const TLS_POSTGRES_PASSWORD: &str = "throwaway-tls-cluster-pw";

/// The server binaries' directory: the one `initdb` on `PATH` lives in, else Debian's
/// `/usr/lib/postgresql/<version>/bin`.
fn postgres_bin_dir() -> Result<PathBuf, TestkitError> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("initdb"))
        .find(|candidate| candidate.is_file())
        .and_then(|initdb| std::fs::canonicalize(initdb).ok())
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf));
    let debian = || {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path().join("bin"))
            .filter(|bin| bin.join("initdb").is_file())
            .collect();
        versions.sort();
        versions.pop()
    };
    on_path
        .or_else(debian)
        .ok_or_else(|| TestkitError::MissingTool {
            tool: "initdb",
            path: PathBuf::from("/usr/lib/postgresql/<version>/bin/initdb"),
        })
}

/// PostgreSQL refuses to run as root. When the tests do (as on this machine kind), the
/// cluster's files belong to, and its programs run as, the `postgres` system user.
fn server_user() -> Option<(u32, u32)> {
    let running_as_root = std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0);
    if !running_as_root {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres") && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

/// A PostgreSQL cluster accepting only TLS connections on a loopback port.
pub struct TlsPostgres {
    server: ManagedProcess,
    port: u16,
    ca_file: PathBuf,
}

fn io_error(tool: &'static str) -> impl Fn(std::io::Error) -> TestkitError {
    move |source| TestkitError::Spawn { tool, source }
}

fn write_owned(
    path: &Path,
    contents: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<(), TestkitError> {
    let err = io_error("the TLS PostgreSQL's files");
    std::fs::write(path, contents).map_err(&err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(&err)?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(&err)?;
    }
    Ok(())
}

/// A CA and a server certificate it signed for `127.0.0.1`, as PEM: (CA, server chain, key).
fn certificates() -> Result<(String, String, String), rcgen::Error> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        SanType,
    };
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "orabridge throwaway test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_certificate = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);
    let server_key = KeyPair::generate()?;
    let mut server = CertificateParams::default();
    server
        .distinguished_name
        .push(DnType::CommonName, "orabridge throwaway PostgreSQL");
    server.subject_alt_names = vec![SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST))];
    let server_certificate = server.signed_by(&server_key, &issuer)?;
    Ok((
        ca_certificate.pem(),
        server_certificate.pem(),
        server_key.serialize_pem(),
    ))
}

/// `program` from PostgreSQL's `bin` directory, run as the server's user `owner` when the tests
/// run as root (PostgreSQL refuses to run as root).
fn server_command(bin: &Path, program: &str, owner: Option<(u32, u32)>) -> Command {
    let program = bin.join(program);
    match owner {
        Some((uid, gid)) => {
            let mut command = Command::new("setpriv");
            command
                .arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--clear-groups")
                .arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// Runs `initdb` for a cluster in `data` whose `postgres` user has the password in
/// `password_file`, logging in by SCRAM only.
fn init_cluster(
    mut initdb: Command,
    data: &Path,
    password_file: &Path,
) -> Result<(), TestkitError> {
    let initdb = initdb
        .arg("--pgdata")
        .arg(data)
        .args([
            "--username=postgres",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
        ])
        .args(["--no-sync", "--no-instructions"])
        .arg(format!("--pwfile={}", password_file.display()))
        .output()
        .map_err(io_error("initdb"))?;
    if !initdb.status.success() {
        return Err(TestkitError::NotReady {
            tool: "initdb",
            address: data.display().to_string(),
            waited: Duration::ZERO,
            log_tail: String::from_utf8_lossy(&initdb.stderr).into_owned(),
        });
    }
    Ok(())
}

impl TlsPostgres {
    /// Makes the cluster and starts it; ready when a `verify-full` login succeeds.
    pub async fn start() -> Result<TlsPostgres, TestkitError> {
        let bin = postgres_bin_dir()?;
        let owner = server_user();
        let dir = tempfile::Builder::new()
            .prefix("orabridge-tls-pg-")
            .tempdir()
            .map_err(io_error("a temporary directory"))?;
        let root = dir.path().to_path_buf();
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&root, Some(uid), Some(gid))
                .map_err(io_error("the TLS PostgreSQL's files"))?;
        }
        let data = root.join("data");
        let password_file = root.join("password");
        write_owned(
            &password_file,
            TLS_POSTGRES_PASSWORD.as_bytes(),
            0o600,
            owner,
        )?;
        let as_server_user = |program: &str| server_command(&bin, program, owner);
        init_cluster(as_server_user("initdb"), &data, &password_file)?;
        let (ca, chain, key) = certificates().map_err(|err| TestkitError::Spawn {
            tool: "the test certificates",
            source: std::io::Error::other(err),
        })?;
        let ca_file = root.join("ca.pem");
        write_owned(&ca_file, ca.as_bytes(), 0o644, None)?;
        write_owned(&data.join("server.crt"), chain.as_bytes(), 0o644, owner)?;
        write_owned(&data.join("server.key"), key.as_bytes(), 0o600, owner)?;
        // Only `hostssl` lines: a plain TCP connection, or one from elsewhere, finds no entry
        // and is refused ("no pg_hba.conf entry ... no encryption").
        write_owned(
            &data.join("pg_hba.conf"),
            b"hostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n",
            0o600,
            owner,
        )?;
        let port = free_port();
        let mut postgres = as_server_user("postgres");
        postgres
            .arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(port.to_string())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", root.display()))
            .args([
                "-c",
                "ssl=on",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=30",
            ])
            .args(["-c", "shared_buffers=16MB", "-c", "log_connections=on"]);
        let server = ManagedProcess::spawn("postgres (TLS only)", &mut postgres, dir)?;
        let mut cluster = TlsPostgres {
            server,
            port,
            ca_file,
        };
        cluster.wait_ready(Duration::from_secs(30)).await?;
        Ok(cluster)
    }

    async fn wait_ready(&mut self, timeout: Duration) -> Result<(), TestkitError> {
        let started = Instant::now();
        let url = self.connection_string("127.0.0.1", "verify-full");
        while started.elapsed() < timeout && !self.server.has_exited() {
            if let Ok(client) = connect(&url).await
                && client.simple_query("SELECT 1").await.is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(TestkitError::NotReady {
            tool: self.server.tool,
            address: format!("127.0.0.1:{}", self.port),
            waited: started.elapsed(),
            log_tail: self.server.log_tail(),
        })
    }

    /// The port it listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The PEM file of the CA that signed the server's certificate.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// A libpq connection string for `host` (`127.0.0.1` or `localhost`) with `sslmode`, the
    /// CA as `sslrootcert`, as the superuser.
    pub fn connection_string(&self, host: &str, sslmode: &str) -> String {
        format!(
            "host={host} port={} user=postgres password={TLS_POSTGRES_PASSWORD} dbname=postgres \
             sslmode={sslmode} sslrootcert={}",
            self.port,
            self.ca_file.display()
        )
    }

    /// The server's log so far (connections are logged, with whether they used TLS).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.server.log_path).unwrap_or_default()
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        // SIGINT is PostgreSQL's fast shutdown: it removes its shared memory and socket files,
        // where the kill on the process's own drop would leave them behind.
        if let Some(child) = self.server.child.as_mut() {
            let _ = Command::new("kill")
                .arg("-INT")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Connects with a libpq connection string, `sslmode` and `sslrootcert` honoured; the
/// connection task runs on the current tokio runtime.
pub async fn connect(
    url: &str,
) -> Result<tokio_postgres::Client, Box<dyn std::error::Error + Send + Sync>> {
    let (mut config, tls) = parse_connection_string(url)?;
    let connector = tls_connector(&mut config, &tls)?;
    let (client, connection) = config.connect(connector).await?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!(error = %err, "test PostgreSQL connection closed");
        }
    });
    Ok(client)
}
