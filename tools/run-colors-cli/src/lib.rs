//! `run-colors-cli`: the run-colors engine on the command line, for people rather than
//! schedules. Kept out of the Lambda's crate so the function's build carries neither the
//! extraction tooling nor clap and anyhow.

#![warn(missing_docs)]

pub mod cli;
pub mod extract;
pub mod sample;
