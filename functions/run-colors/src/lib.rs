//! `run-colors`: EventBridge cron → Oracle → exclusion rules → per-security ranking → S3.
//!
//! The domain ([`values`], [`rules`], [`pipeline`], [`output`]) knows nothing of Lambda or
//! Oracle: rows arrive through the [`sources::RecordSource`] port and the four files are
//! written to a folder, which a [`publish::Publisher`] then makes visible. The command line
//! (`run-colors-cli`: rank a file, extract samples, generate data) is a crate of its own in
//! `tools/run-colors-cli`, so the Lambda build carries neither it nor its dependencies.

#![warn(missing_docs)]

pub mod config;
pub mod function;
mod interner;
pub mod output;
pub mod pipeline;
pub mod publish;
mod repeated_ids;
pub mod rules;
pub mod sources;
#[cfg(test)]
mod test_rng;
pub mod values;
