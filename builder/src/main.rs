use std::process::ExitCode;

use clap::Parser;
use pig_build::cmdline::{Cli, Command, RepoCommand};

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Repo(RepoCommand::Index(args)) => pig_build::repo_index::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pig-build: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
