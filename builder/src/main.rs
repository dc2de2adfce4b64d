use clap::Parser;
use pig_build::cmdline::{Cli, Command, RepoCommand};

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Repo(RepoCommand::Index(args)) => pig_build::repo_index::run(&args),
    }
}
