//! Helpers the finance-closing integration tests share: a pool on the test PostgreSQL, a
//! per-test schema, and registering a workflow endpoint with restate-server.

#![allow(dead_code)] // Each test file uses its own subset.

use std::net::SocketAddr;

use finance_closing::pg::pool;
use orabridge_shared::testkit::{self, RestateServer};

/// A pool of `size` connections on the test PostgreSQL (fails with how to get one).
pub async fn test_pool(size: usize) -> deadpool_postgres::Pool {
    testkit::postgres().await.expect("PostgreSQL for the tests");
    let (config, tls) = testkit::postgres_config().expect("url");
    pool(config, &tls, size).expect("pool")
}

/// Drops `schema` and everything in it (a test's leftovers from an earlier run, or its own).
pub async fn drop_schema(pool: &deadpool_postgres::Pool, schema: &str) {
    pool.get()
        .await
        .expect("connection")
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .expect("drop schema");
}

/// Registers the endpoint at `address` with `restate`.
pub async fn register(restate: &RestateServer, address: SocketAddr) {
    if let Err(err) = restate.register(&format!("http://{address}"), false).await {
        panic!("registration failed: {err}");
    }
}
