//! `run-colors-cli`: see [`run_colors_cli::cli`] for the commands.

use std::process::ExitCode;

use clap::Parser;
use run_colors_cli::cli::{self, Cli};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // A usage mistake prints clap's message and exits 2; `--help` and `--version` exit 0.
    let command = Cli::parse().command().unwrap_or_else(|err| err.exit());
    match cli::execute(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!(
                "run-colors-cli: {}",
                orabridge_shared::errors::chain(err.as_ref())
            );
            ExitCode::FAILURE
        }
    }
}
