//! Test kit: the real local services that adapter tests and `make demo` run against.
//!
//! [`MotoServer`] and [`RestateServer`] start the pinned tools that `make setup` installs
//! (`.venv/bin/moto_server`, the restate-server binary under `node_modules/`) on free loopback ports, wait
//! until they answer, and kill them when dropped. [`postgres`] connects to the PostgreSQL the
//! machine already runs. [`FaultyStore`] makes any object store misbehave on cue. A missing tool or service is an error naming the fix, never a silent
//! skip: a test that passes because its service was absent proves nothing.
//!
//! Only compiled with the `testkit` feature; no Lambda binary depends on it.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The region every local emulator is used with.
pub const LOCAL_REGION: &str = "us-east-1";

/// The PostgreSQL used when `ORABRIDGE_TEST_PG_URL` is not set: the one this machine kind runs.
pub const DEFAULT_PG_URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

/// Why a local service could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// The tool is not installed where `make setup` puts it.
    #[error("{tool} not found at {path}: run `make setup` to install the pinned local tools")]
    MissingTool {
        /// The tool's name.
        tool: &'static str,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The process could not be started, or its log file created.
    #[error("could not start {tool}")]
    Spawn {
        /// The tool's name.
        tool: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The process started but did not answer in time (or exited).
    #[error("{tool} did not become ready at {address} within {waited:?}; last output:\n{log_tail}")]
    NotReady {
        /// The tool's name.
        tool: &'static str,
        /// Where it was probed.
        address: String,
        /// How long we waited.
        waited: Duration,
        /// The end of its output, to see why.
        log_tail: String,
    },
    /// A sample event under `events/` could not be read or is not JSON.
    #[error("sample event {path}: {reason}")]
    SampleEvent {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// PostgreSQL did not accept a connection.
    #[error(
        "PostgreSQL is not reachable with {url:?}: start the local server, or install Debian's \
         `postgresql` package (apt-get install postgresql), or point ORABRIDGE_TEST_PG_URL at \
         one; `make setup` checks this too"
    )]
    PostgresUnavailable {
        /// The connection string tried (it carries no password on this machine kind).
        url: String,
        /// The driver's (or the TLS setup's) error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The workspace root, where `make setup` installs `.venv/` and `node_modules/`.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The repository's sample events, `events/`: the files the demo, the SAM tier and the tests
/// all send, AWS's own under `events/aws-lambda-rust-runtime/`.
pub fn sample_events_dir() -> PathBuf {
    workspace_root().join("events")
}

/// The path of the sample event `name`, relative to `events/`
/// (`aws-lambda-rust-runtime/apigw-request.json` for one of AWS's).
pub fn sample_event_path(name: &str) -> PathBuf {
    sample_events_dir().join(name)
}

/// The text of the sample event `name`, as a function receives it.
pub fn sample_event_text(name: &str) -> Result<String, TestkitError> {
    let path = sample_event_path(name);
    std::fs::read_to_string(&path).map_err(|err| TestkitError::SampleEvent {
        path,
        reason: err.to_string(),
    })
}

/// The sample event `name`, parsed.
pub fn sample_event(name: &str) -> Result<serde_json::Value, TestkitError> {
    serde_json::from_str(&sample_event_text(name)?).map_err(|err| TestkitError::SampleEvent {
        path: sample_event_path(name),
        reason: err.to_string(),
    })
}

/// The path of a tool installed by `make setup`, or [`TestkitError::MissingTool`].
pub fn installed_tool(tool: &'static str, relative: &str) -> Result<PathBuf, TestkitError> {
    let path = workspace_root().join(relative);
    if path.is_file() {
        Ok(path)
    } else {
        Err(TestkitError::MissingTool { tool, path })
    }
}

/// A loopback port that was free a moment ago. The OS may hand it out again before the caller
/// binds it, so callers start their service right away and fail loudly if the bind loses.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or(0)
}

/// A child process killed (and reaped) on drop, with its output in a temporary log file.
#[derive(Debug)]
struct ManagedProcess {
    tool: &'static str,
    child: Option<Child>,
    log_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl ManagedProcess {
    fn spawn(
        tool: &'static str,
        command: &mut Command,
        dir: tempfile::TempDir,
    ) -> Result<Self, TestkitError> {
        let log_path = dir.path().join(format!("{tool}.log"));
        let spawn_err = |source| TestkitError::Spawn { tool, source };
        let log = File::create(&log_path).map_err(spawn_err)?;
        let log_err = log.try_clone().map_err(spawn_err)?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(spawn_err)?;
        Ok(Self {
            tool,
            child: Some(child),
            log_path,
            _dir: dir,
        })
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn has_exited(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => !matches!(child.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// Polls `path` over HTTP until it answers with a 2xx status.
    async fn wait_http_ok(
        &mut self,
        address: SocketAddr,
        path: &str,
        timeout: Duration,
    ) -> Result<(), TestkitError> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if self.has_exited() {
                break;
            }
            if let Ok(Ok(status)) =
                tokio::time::timeout(Duration::from_secs(2), http_get_status(address, path)).await
                && (200..300).contains(&status)
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(TestkitError::NotReady {
            tool: self.tool,
            address: format!("http://{address}{path}"),
            waited: started.elapsed(),
            log_tail: self.log_tail(),
        })
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A minimal HTTP/1.1 GET returning the status code: enough for readiness probes without
/// pulling an HTTP client into the library.
pub async fn http_get_status(address: SocketAddr, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(address).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = [0u8; 64];
    let read = stream.read(&mut head).await?;
    let status_line = String::from_utf8_lossy(&head[..read]);
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {status_line:?}")))
}

/// Sends one HTTP/1.1 request with an optional JSON body (and extra headers) and returns the status
/// and the body text: enough to drive restate-server's ingress and admin APIs from a test.
pub async fn http_request(
    method: &str,
    url: &str,
    body: Option<&serde_json::Value>,
    headers: &[(&str, &str)],
) -> Result<(u16, String), Box<dyn std::error::Error + Send + Sync>> {
    let mut all_headers = headers.to_vec();
    let payload = match body {
        Some(json) => {
            all_headers.push(("content-type", "application/json"));
            serde_json::to_vec(json)?.into()
        }
        None => bytes::Bytes::new(),
    };
    let (status, _, body) = http_exchange(method, url, &all_headers, payload).await?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// Sends one HTTP/1.1 request with any body and headers; returns the answer's status, headers
/// and body, byte for byte.
pub async fn http_exchange(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: bytes::Bytes,
) -> Result<(u16, http::HeaderMap, bytes::Bytes), Box<dyn std::error::Error + Send + Sync>> {
    use http_body_util::{BodyExt, Full};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    let mut request = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client.request(request.body(Full::new(body))?).await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, headers, body))
}

fn temp_dir(tool: &'static str) -> Result<tempfile::TempDir, TestkitError> {
    tempfile::Builder::new()
        .prefix(&format!("orabridge-{tool}-"))
        .tempdir()
        .map_err(|source| TestkitError::Spawn { tool, source })
}

/// A moto server (SSM, SQS, S3, EventBridge, STS emulator) on a free loopback port.
#[derive(Debug)]
pub struct MotoServer {
    process: ManagedProcess,
    address: SocketAddr,
}

impl MotoServer {
    /// Starts moto server and waits until it answers.
    pub async fn start() -> Result<Self, TestkitError> {
        Self::start_on(free_port()).await
    }

    /// Starts moto server on a given port (to bring one back where a test stopped it).
    pub async fn start_on(port: u16) -> Result<Self, TestkitError> {
        const TOOL: &str = "moto_server";
        let binary = installed_tool(TOOL, ".venv/bin/moto_server")?;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let mut command = Command::new(binary);
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let mut process = ManagedProcess::spawn(TOOL, &mut command, temp_dir(TOOL)?)?;
        process
            .wait_http_ok(address, "/moto-api/", Duration::from_secs(30))
            .await?;
        Ok(Self { process, address })
    }

    /// The endpoint URL to give the AWS SDK (`AWS_ENDPOINT_URL`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// An SDK configuration pointing every client at this server, with throwaway credentials
    /// (moto accepts any), so tests never touch the process environment.
    pub async fn sdk_config(&self) -> SdkConfig {
        local_sdk_config(&self.endpoint()).await
    }

    /// Kills the server, to test what happens when AWS is unreachable.
    pub fn stop(&mut self) {
        self.process.kill();
    }
}

/// Writes (or overwrites) an SSM parameter: a SecureString when `secure`, else a String.
pub async fn put_parameter(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
    value: &str,
    secure: bool,
) -> Result<(), aws_sdk_ssm::Error> {
    let kind = if secure {
        aws_sdk_ssm::types::ParameterType::SecureString
    } else {
        aws_sdk_ssm::types::ParameterType::String
    };
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(kind)
        .overwrite(true)
        .send()
        .await?;
    Ok(())
}

/// Creates an SQS queue (or finds it, as SQS does for an existing name) and returns its URL. A
/// name ending in `.fifo` makes a FIFO queue: SQS requires that suffix and the `FifoQueue`
/// attribute together (Amazon SQS API Reference, CreateQueue,
/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html).
pub async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
) -> Result<String, aws_sdk_sqs::Error> {
    let mut create = sqs.create_queue().queue_name(name);
    if name.ends_with(".fifo") {
        create = create.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    let created = create.send().await?;
    Ok(created.queue_url().unwrap_or_default().to_owned())
}

/// Creates the S3 bucket `name` (moto's, in the test kit's region).
pub async fn create_bucket(s3: &aws_sdk_s3::Client, name: &str) -> Result<(), aws_sdk_s3::Error> {
    s3.create_bucket().bucket(name).send().await?;
    Ok(())
}

/// Every object under `prefix` of `bucket`, by key, read whole. One listing page (up to 1,000
/// objects), which is what a test's bucket holds.
pub async fn read_objects(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<BTreeMap<String, Vec<u8>>, crate::errors::BoxError> {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await?;
    let mut objects = BTreeMap::new();
    for object in listed.contents() {
        let key = object.key().ok_or("an object without a key")?.to_owned();
        let body = s3.get_object().bucket(bucket).key(&key).send().await?;
        objects.insert(key, body.body.collect().await?.into_bytes().to_vec());
    }
    Ok(objects)
}

/// Downloads every object under `prefix` of `bucket` into `dir`, each at its key's path, and
/// returns the keys ([`read_objects`], then written out).
pub async fn download_objects(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    dir: &Path,
) -> Result<Vec<String>, crate::errors::BoxError> {
    let objects = read_objects(s3, bucket, prefix).await?;
    for (key, body) in &objects {
        let path = dir.join(key);
        std::fs::create_dir_all(path.parent().ok_or("a key without a folder")?)?;
        std::fs::write(&path, body)?;
    }
    Ok(objects.into_keys().collect())
}

/// Creates an idempotency table as the template declares it: partition key `id` (S), on-demand,
/// TTL on `expiration`.
pub async fn create_idempotency_table(
    dynamodb: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TimeToLiveSpecification,
    };
    dynamodb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()?,
        )
        .send()
        .await?;
    dynamodb
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expiration")
                .enabled(true)
                .build()?,
        )
        .send()
        .await?;
    Ok(())
}

/// An SDK configuration for a local emulator at `endpoint`, with throwaway credentials.
pub async fn local_sdk_config(endpoint: &str) -> SdkConfig {
    let builtin = crate::http::root_store(&[("UNRELATED", "")]).expect("the built-in roots");
    local_sdk_config_trusting(endpoint, builtin).await
}

/// [`local_sdk_config`] whose HTTP client trusts exactly `roots` (for an HTTPS endpoint signed
/// by a test CA).
pub async fn local_sdk_config_trusting(endpoint: &str, roots: rustls::RootCertStore) -> SdkConfig {
    let credentials = aws_sdk_ssm::config::Credentials::new(
        "testing",
        "testing",
        None,
        None,
        "orabridge-testkit",
    );
    // The suite's own HTTP client, as the functions use it (load_sdk_config).
    let http_client = crate::http::sdk::SdkHttpClient::new(roots)
        .expect("a TLS configuration from the given roots");
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(LOCAL_REGION))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .http_client(http_client)
        .load()
        .await
}

/// A restate-server with its own base directory and free ports for ingress, admin and the
/// node-to-node fabric, so several can run at once and none touches the defaults.
#[derive(Debug)]
pub struct RestateServer {
    process: ManagedProcess,
    ingress: SocketAddr,
    admin: SocketAddr,
}

impl RestateServer {
    /// Starts restate-server and waits until its admin API and ingress answer.
    pub async fn start() -> Result<Self, TestkitError> {
        Self::start_with_env(&[]).await
    }

    /// Starts a restate-server that invokes Lambda deployments through the Lambda API at
    /// `endpoint` (such as `sam local start-lambda` on loopback) instead of AWS: its AWS SDK
    /// honours `AWS_ENDPOINT_URL`, and any credentials are accepted there.
    pub async fn start_invoking_lambda_at(endpoint: &str) -> Result<Self, TestkitError> {
        Self::start_with_env(&[
            ("AWS_ENDPOINT_URL", endpoint),
            ("AWS_REGION", LOCAL_REGION),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ])
        .await
    }

    async fn start_with_env(env: &[(&str, &str)]) -> Result<Self, TestkitError> {
        const TOOL: &str = "restate-server";
        let binary = installed_tool(TOOL, &restate_server_binary())?;
        let dir = temp_dir(TOOL)?;
        let loopback = |port| SocketAddr::from(([127, 0, 0, 1], port));
        let (ingress, admin, fabric) = (
            loopback(free_port()),
            loopback(free_port()),
            loopback(free_port()),
        );
        let mut command = Command::new(binary);
        command
            .arg("--base-dir")
            .arg(dir.path().join("data"))
            .args(["--no-logo", "--listen-mode", "tcp"])
            .env("RESTATE_INGRESS__BIND_ADDRESS", ingress.to_string())
            .env("RESTATE_ADMIN__BIND_ADDRESS", admin.to_string())
            .env("RESTATE_BIND_ADDRESS", fabric.to_string())
            .env("RESTATE_ADVERTISED_ADDRESS", format!("http://{fabric}/"))
            // A test server needs few partitions; the default 24 slows start-up on 2 cores.
            .env("RESTATE_DEFAULT_NUM_PARTITIONS", "2")
            .env("RESTATE_ROCKSDB_TOTAL_MEMORY_SIZE", "256MB")
            .env("RESTATE_DISABLE_TELEMETRY", "true")
            .env("RESTATE_LOG_DISABLE_ANSI_CODES", "true")
            .envs(env.iter().copied());
        let mut process = ManagedProcess::spawn(TOOL, &mut command, dir)?;
        process
            .wait_http_ok(admin, "/health", Duration::from_secs(60))
            .await?;
        process
            .wait_http_ok(ingress, "/restate/health", Duration::from_secs(60))
            .await?;
        Ok(Self {
            process,
            ingress,
            admin,
        })
    }

    /// The ingress URL (`POST {ingress}/<Service>/<key>/<handler>`).
    pub fn ingress_url(&self) -> String {
        format!("http://{}", self.ingress)
    }

    /// The admin API URL (`POST {admin}/deployments` registers a service endpoint).
    pub fn admin_url(&self) -> String {
        format!("http://{}", self.admin)
    }

    /// Registers the service endpoint at `uri` (what `make restate-register` does), over
    /// HTTP/1.1 when `http_1_1` (request-response, as Restate invokes Lambda), else HTTP/2. An
    /// answer of 300 or more is an error carrying the status and body.
    pub async fn register(
        &self,
        uri: &str,
        http_1_1: bool,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let mut deployment = serde_json::json!({ "uri": uri });
        if http_1_1 {
            deployment["use_http_11"] = true.into();
        }
        self.register_deployment(uri, &deployment).await
    }

    /// Registers the Lambda function (or version) `arn` as a deployment, as
    /// `make restate-register-aws` does for the deployed closing.
    pub async fn register_lambda(
        &self,
        arn: &str,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.register_deployment(arn, &serde_json::json!({ "arn": arn }))
            .await
    }

    /// `POST /deployments` with `deployment`; `what` names it in the error.
    async fn register_deployment(
        &self,
        what: &str,
        deployment: &serde_json::Value,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let url = format!("{}/deployments", self.admin_url());
        let (status, body) = http_request("POST", &url, Some(deployment), &[]).await?;
        if status >= 300 {
            return Err(
                format!("restate-server refused the deployment {what}: {status} {body}").into(),
            );
        }
        Ok(())
    }

    /// Kills the server.
    pub fn stop(&mut self) {
        self.process.kill();
    }
}

/// The native restate-server inside `node_modules`. The `.bin/restate-server` launcher is a
/// Node.js script that spawns it as a child, and killing the launcher would orphan the server,
/// so the kit runs the native binary directly.
fn restate_server_binary() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("node_modules/@restatedev/restate-server-linux-{arch}/bin/restate-server")
}

/// The PostgreSQL connection string for tests: `ORABRIDGE_TEST_PG_URL` or [`DEFAULT_PG_URL`].
pub fn postgres_url() -> String {
    std::env::var("ORABRIDGE_TEST_PG_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PG_URL.to_owned())
}

/// [`postgres_url`] as a driver configuration and its TLS settings, for building a pool.
pub fn postgres_config()
-> Result<(tokio_postgres::Config, crate::postgres::TlsSettings), crate::postgres::PgTlsError> {
    crate::postgres::parse_connection_string(&postgres_url())
}

/// The test PostgreSQL as the `PG_HOST`, `PG_PORT`, `PG_DATABASE`, `PG_USER` (and
/// `PG_PASSWORD`, `PG_SSLMODE`, `PG_SSLROOTCERT` when it has them) variables a function reads,
/// for starting a function binary.
pub fn postgres_env() -> Result<Vec<(String, String)>, crate::postgres::PgTlsError> {
    postgres_env_for(&postgres_url())
}

/// [`postgres_env`] for the connection string `url`.
pub fn postgres_env_for(url: &str) -> Result<Vec<(String, String)>, crate::postgres::PgTlsError> {
    let (config, tls) = crate::postgres::parse_connection_string(url)?;
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let mut env = vec![
        ("PG_HOST".to_owned(), host),
        (
            "PG_PORT".to_owned(),
            config
                .get_ports()
                .first()
                .copied()
                .unwrap_or(5432)
                .to_string(),
        ),
        (
            "PG_DATABASE".to_owned(),
            config.get_dbname().unwrap_or("postgres").to_owned(),
        ),
        (
            "PG_USER".to_owned(),
            config.get_user().unwrap_or("postgres").to_owned(),
        ),
    ];
    if let Some(password) = config.get_password() {
        env.push((
            "PG_PASSWORD".to_owned(),
            String::from_utf8_lossy(password).into_owned(),
        ));
    }
    // Always given: a template that deploys verify-full must not impose it on a local server
    // whose certificate no CA vouches for (the URL's own sslmode, libpq's prefer by default).
    env.push(("PG_SSLMODE".to_owned(), tls.mode.as_str().to_owned()));
    match tls.root_certificates {
        Some(crate::postgres::RootCertificates::File(path)) => {
            env.push(("PG_SSLROOTCERT".to_owned(), path.display().to_string()))
        }
        Some(crate::postgres::RootCertificates::System) => {
            env.push(("PG_SSLROOTCERT".to_owned(), "system".to_owned()))
        }
        None => {}
    }
    Ok(env)
}

/// Connects to the test PostgreSQL ([`postgres_url`], its `sslmode` and `sslrootcert`
/// honoured) and checks it answers a query. The connection task runs on the current tokio
/// runtime.
pub async fn postgres() -> Result<tokio_postgres::Client, TestkitError> {
    let url = postgres_url();
    let unavailable = |source| TestkitError::PostgresUnavailable {
        // The string may carry a password: only its non-secret parts are reported.
        url: redacted(&url),
        source,
    };
    let client = tls_postgres::connect(&url).await.map_err(unavailable)?;
    client
        .simple_query("SELECT 1")
        .await
        .map_err(|err| unavailable(Box::new(err)))?;
    Ok(client)
}

/// [`postgres_url`] with its password masked, for printing.
pub fn postgres_url_redacted() -> String {
    redacted(&postgres_url())
}

/// A connection string with its password masked: the `password=` pair, or the password of a
/// `postgresql://user:password@host` URL.
fn redacted(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        return match authority.rsplit_once('@') {
            Some((userinfo, host)) if userinfo.contains(':') => {
                let user = userinfo.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}:***@{host}{tail}")
            }
            _ => url.to_owned(),
        };
    }
    url.split_whitespace()
        .map(|pair| match pair.split_once('=') {
            Some(("password", _)) => "password=***".to_owned(),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

mod faulty_store;
pub use faulty_store::{FaultyStore, ReadPlan, WriteCall, WritePlan};
pub mod latency;
mod rng;
pub use rng::TestRng;
pub mod tls_postgres;
pub mod upstream;

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn connection_strings_are_printed_without_their_password() {
        assert_eq!(
            redacted("host=db user=closing password=s3cret dbname=reporting"),
            "host=db user=closing password=*** dbname=reporting"
        );
        assert_eq!(
            redacted("postgresql://closing:s3cret@db:5433/reporting?sslmode=require"),
            "postgresql://closing:***@db:5433/reporting?sslmode=require"
        );
        assert_eq!(
            redacted("postgresql://closing@db/reporting"),
            "postgresql://closing@db/reporting"
        );
    }
}
