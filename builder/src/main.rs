use std::process::ExitCode;

use clap::Parser;
use pig_build::cmdline::{Cli, Command, RepoCommand};

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Repo(RepoCommand::Index(args)) => pig_build::repo_index::run(&args),
        Command::Resolve(args) => pig_build::closure::run(&args),
        Command::Bundle(args) => pig_build::bundle::run(&args),
        Command::Verify(args) => pig_build::verify::run(&args),
        Command::Diff(args) => pig_build::lock::run_diff(&args),
        Command::Image(args) => pig_build::image::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pig-build: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
