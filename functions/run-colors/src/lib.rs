//! `run-colors`: EventBridge cron → Oracle → exclusion rules → per-security ranking → S3.
//!
//! A run reads rows from a [`sources::RecordSource`], validates each into a typed [`row`],
//! tests it against the [`rules`], hands it to the [`engine`] (which holds the rows, settles
//! repeated IDs and groups them by security, ranked by [`order`]), and writes the four files
//! of a run folder ([`emit`]); [`run`] wires these, and [`publish`] makes the folder visible in
//! S3. [`function`] is the Lambda adapter, [`config`] its settings and [`ports`] what a run reads
//! (the rules and the colors), built in `main` and replaced in tests. The command
//! line (`run-colors-cli`: rank a file, extract samples, generate data) is a crate of its own in
//! `tools/run-colors-cli`, so the Lambda build carries neither it nor its dependencies.

#![warn(missing_docs)]

pub mod config;
pub mod emit;
pub mod encode;
pub mod engine;
pub mod function;
pub mod order;
pub mod ports;
pub mod publish;
pub mod row;
pub mod rules;
pub mod run;
pub mod sources;
pub mod values;

pub use function::{Ports, build};
