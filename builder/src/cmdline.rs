//! The command line of pig-build: clap types only. Doc comments are the help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Build pig's offline PostgreSQL package bundles, repositories and images.
#[derive(Debug, Parser)]
#[command(name = "pig-build", version, about, max_term_width = 80)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with package repositories.
    #[command(subcommand)]
    Repo(RepoCommand),
}

#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// Index a directory of .deb and/or .rpm files as a repository.
    ///
    /// Writes a flat APT repository (Packages, Packages.gz, Release, and
    /// InRelease + Release.gpg when signed) for the .deb files and a
    /// repodata/ directory for the .rpm files, like dpkg-scanpackages,
    /// apt-ftparchive and createrepo_c together. Unchanged packages reuse
    /// the results of the previous run.
    Index(RepoIndexArgs),
}

#[derive(Debug, Args)]
pub struct RepoIndexArgs {
    /// Directory holding the packages (searched recursively).
    pub dir: PathBuf,

    /// Armored OpenPGP secret key to sign Release and repomd.xml with.
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,

    /// Print a JSON summary on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}
