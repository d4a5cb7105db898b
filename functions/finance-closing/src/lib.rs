//! `finance-closing`: the daily Oracle closing as a durable Restate workflow, results copied to PostgreSQL.
//!
//! One binary, two modes. `service` serves the [`workflow`] (Restate over HTTP locally, through
//! `LambdaEndpoint` in Lambda), built by [`service`] from [`config`]; `trigger` is the daily
//! [`trigger`] that starts the previous business day's workflow through Restate's ingress.
//! Underneath: the closing vocabulary ([`closing`]), the ERP port with the simulated ERP
//! ([`erp`]) and the Oracle adapter ([`oracle_erp`]), and the PostgreSQL side ([`store`]).

#![warn(missing_docs)]

pub mod closing;
pub mod config;
pub mod erp;
pub mod oracle_erp;
pub mod service;
pub mod store;
pub mod trigger;
// The #[workflow] macro generates undocumented public items.
#[allow(missing_docs)]
pub mod workflow;
