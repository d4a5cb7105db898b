//! `run-colors`: EventBridge cron → Oracle → exclusion rules → per-security ranking → S3.
//!
//! The domain ([`values`], [`rules`], [`pipeline`], [`output`]) knows nothing of Lambda or
//! Oracle: rows arrive through the [`sources::RecordSource`] port and the four files are
//! written to a folder, which a [`publish::Publisher`] then makes visible.

#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod extract;
pub mod function;
mod interner;
pub mod output;
pub mod pipeline;
pub mod publish;
mod repeated_ids;
pub mod rules;
pub mod sample;
pub mod sources;
pub mod values;
