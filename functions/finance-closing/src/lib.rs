//! `finance-closing`: the daily Oracle closing as a durable Restate workflow, results copied to PostgreSQL.
//!
//! One binary, two modes. `service` serves the [`workflow`] (Restate over HTTP locally, through
//! `LambdaEndpoint` in Lambda), built by [`service`] from [`config`]; `trigger` is the daily
//! [`trigger`] that starts the previous business day's workflow through Restate's ingress.
//! Underneath: the closing vocabulary ([`closing`]); the closing itself, step by step, over its
//! ports ([`flow`]); the durable-steps port with its in-memory journal ([`durable`]); the ERP
//! port and its Oracle, simulated and in-memory adapters ([`erp`]); the results store
//! ([`store`]) and the PostgreSQL plumbing both PostgreSQL adapters share ([`pg`]).

#![warn(missing_docs)]

pub mod closing;
pub mod config;
pub mod durable;
pub mod erp;
pub mod flow;
pub mod pg;
pub mod service;
pub mod store;
pub mod trigger;
// The #[workflow] macro generates undocumented public items.
#[allow(missing_docs)]
pub mod workflow;
