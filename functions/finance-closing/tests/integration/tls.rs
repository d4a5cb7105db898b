//! The service against a PostgreSQL that refuses unencrypted connections, as RDS for
//! PostgreSQL 15+ does by default (`rds.force_ssl`, "Using SSL with a PostgreSQL DB instance",
//! https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/PostgreSQL.Concepts.General.SSL.html):
//! the test kit's throwaway `hostssl`-only cluster. The service starts with `PG_SSLMODE=
//! verify-full` and `PG_SSLROOTCERT`, migrates and copies over TLS; without TLS it does not
//! start, and says why. The pool also replaces a connection that a NAT gateway dropped silently.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use finance_closing::closing::ClosingDate;
use finance_closing::config::ServiceConfig;
use finance_closing::erp::SimulatedErp;
use finance_closing::pg::pool;
use finance_closing::store::{ClosingStore, PostgresStore};
use orabridge_shared::postgres::parse_connection_string;
use orabridge_shared::testkit::tls_postgres::{TLS_POSTGRES_PASSWORD, TlsPostgres};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn service_env(cluster: &TlsPostgres, host: &str, sslmode: &str) -> HashMap<String, String> {
    [
        ("ERP_BACKEND", "simulated".to_owned()),
        ("PG_HOST", host.to_owned()),
        ("PG_PORT", cluster.port().to_string()),
        ("PG_DATABASE", "postgres".to_owned()),
        ("PG_USER", "postgres".to_owned()),
        ("PG_PASSWORD", TLS_POSTGRES_PASSWORD.to_owned()),
        ("PG_SCHEMA", "finance_tls".to_owned()),
        ("PG_SSLMODE", sslmode.to_owned()),
        ("PG_SSLROOTCERT", cluster.ca_file().display().to_string()),
        ("CLOSING_RESULT_TABLES", "gl_balances".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

async fn build(env: HashMap<String, String>) -> Result<(), String> {
    let config = ServiceConfig::from_source(env).map_err(|e| e.to_string())?;
    finance_closing::service::from_config(&config)
        .await
        .map(|_| ())
        .map_err(|err| format!("{} | {err:?}", orabridge_shared::errors::chain(&err)))
}

#[tokio::test]
async fn the_service_runs_on_verify_full_and_refuses_to_start_without_tls() {
    let cluster = TlsPostgres::start()
        .await
        .expect("throwaway TLS PostgreSQL");
    build(service_env(&cluster, "127.0.0.1", "verify-full"))
        .await
        .expect("migrations over verify-full");

    // Copy a day over the same settings and check the server saw TLS on that connection.
    let (mut config, tls) =
        parse_connection_string(&cluster.connection_string("127.0.0.1", "verify-full"))
            .expect("url");
    config.application_name("fc-tls-test");
    let pool = pool(config, &tls, 2).expect("pool");
    let store = PostgresStore::new(pool.clone(), "finance_tls").expect("store");
    let erp = SimulatedErp::new(pool.clone(), "finance_tls_sim", Duration::from_millis(1))
        .expect("simulator");
    erp.migrate().await.expect("simulator tables");
    let date = ClosingDate::parse("2026-11-20").expect("date");
    let copied = store
        .copy_from(&erp, "gl_balances", date)
        .await
        .expect("copy");
    assert_eq!(copied, 40);
    let encrypted: bool = pool
        .get()
        .await
        .expect("connection")
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("pg_stat_ssl")
        .get(0);
    assert!(encrypted);

    // Unencrypted: refused by the server, and the start fails naming PostgreSQL.
    let err = build(service_env(&cluster, "127.0.0.1", "disable"))
        .await
        .expect_err("a plain connection is refused");
    assert!(err.contains("no encryption"), "{err}");
    assert!(!err.contains(TLS_POSTGRES_PASSWORD), "{err}");
    // verify-full to a name the certificate does not carry.
    let err = build(service_env(&cluster, "localhost", "verify-full"))
        .await
        .expect_err("wrong name");
    assert!(err.contains("NotValidForName"), "{err}");
}

/// A loopback TCP relay in front of the cluster that can go silent for the connections it
/// already carries, as a NAT gateway does when it forgets an idle flow: nothing is closed,
/// nothing more is delivered. Connections opened afterwards are relayed normally.
struct Relay {
    port: u16,
    generation: Arc<AtomicU64>,
}

impl Relay {
    async fn start(upstream_port: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("relay");
        let port = listener.local_addr().expect("address").port();
        let generation = Arc::new(AtomicU64::new(0));
        let current = Arc::clone(&generation);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let born = current.load(Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                for (mut from, mut to) in [
                    (
                        Box::new(client_read) as Box<dyn tokio::io::AsyncRead + Send + Unpin>,
                        Box::new(server_write) as Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
                    ),
                    (Box::new(server_read), Box::new(client_write)),
                ] {
                    let current = Arc::clone(&current);
                    tokio::spawn(async move {
                        let mut buffer = vec![0u8; 16 * 1024];
                        while let Ok(read) = from.read(&mut buffer).await {
                            if read == 0 {
                                break;
                            }
                            if current.load(Ordering::SeqCst) != born {
                                // Forgotten flow: hold both sockets open, deliver nothing.
                                std::future::pending::<()>().await;
                            }
                            if to.write_all(&buffer[..read]).await.is_err() {
                                break;
                            }
                        }
                    });
                }
            }
        });
        Relay { port, generation }
    }

    fn forget_existing_flows(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_connection_dropped_silently_while_idle_is_replaced_not_reused() {
    let cluster = TlsPostgres::start()
        .await
        .expect("throwaway TLS PostgreSQL");
    let relay = Relay::start(cluster.port()).await;
    let through_relay = cluster
        .connection_string("127.0.0.1", "verify-full")
        .replace(
            &format!("port={}", cluster.port()),
            &format!("port={}", relay.port),
        );
    let (config, tls) = parse_connection_string(&through_relay).expect("url");
    let pool = pool(config, &tls, 1).expect("pool");
    let first_pid: i32 = {
        let client = pool.get().await.expect("first connection");
        client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .expect("query")
            .get(0)
    };
    relay.forget_existing_flows();
    // The pooled connection looks open (nothing was closed); the check before reuse gets no
    // answer, so the pool gives up on it after its recycle timeout and opens a new one.
    let client = tokio::time::timeout(Duration::from_secs(30), pool.get())
        .await
        .expect("the pool does not hang on the dead connection")
        .expect("a new connection");
    let second_pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("query on the new connection")
        .get(0);
    assert_ne!(
        first_pid, second_pid,
        "a new server session, not the dead one"
    );
}
