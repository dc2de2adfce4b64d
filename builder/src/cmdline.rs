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
    /// Resolve a recipe's dependency closure and write its lock.
    ///
    /// Reads the upstream indexes (signatures checked against the recipe's
    /// keyrings, index hashes against Release), picks candidates as apt-get
    /// does, and writes `<recipe>.lock` beside the recipe (or `--lock`).
    Resolve(ResolveArgs),
    /// Build the offline bundle `pigsty-pkg-<version>.<os>.<arch>.tgz`.
    ///
    /// Resolves (or, with `--locked`, reads the lock), downloads every package
    /// into the shared cache with its sha256 checked, writes a signed flat
    /// repository under `pigsty/` with MANIFEST.json, SHA256SUMS and
    /// repo_complete, and packs it deterministically.
    Bundle(BundleArgs),
    /// Check a bundle: signatures, every hash, and that it is complete.
    Verify(VerifyArgs),
    /// Show what changed between two lock files.
    Diff(DiffArgs),
}

#[derive(Debug, Args)]
pub struct RecipeArgs {
    /// Recipe file, e.g. recipes/d12.yml.
    #[arg(long, value_name = "FILE")]
    pub recipe: PathBuf,

    /// Only these modules (and `ext:<category>` extension sets); default all.
    #[arg(long, value_name = "M,…", value_delimiter = ',')]
    pub modules: Vec<String>,

    /// Upstream base URL for `${mirror.NAME}` (repeatable); overrides
    /// PIG_MIRROR_<NAME> and the host's apt sources.
    #[arg(long = "mirror", value_name = "NAME=URL")]
    pub mirrors: Vec<String>,

    /// Install Recommends too, as apt-get does by default on Debian.
    #[arg(long)]
    pub with_recommends: bool,

    /// Packages the upstreams do not have (third-party repositories that
    /// cannot be reached) are reported, not fatal.
    #[arg(long)]
    pub allow_missing: bool,

    /// Download cache (content-addressed, shared by all recipes)
    /// [default: $PIG_CACHE, else ~/.cache/pig].
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    #[command(flatten)]
    pub recipe: RecipeArgs,

    /// Where to write the lock [default: the recipe path with `.lock`].
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,

    /// Print the chain of dependencies that pulled PKG in, and exit.
    #[arg(long, value_name = "PKG")]
    pub why: Option<String>,

    /// Print the closure as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    #[command(flatten)]
    pub recipe: RecipeArgs,

    /// Fetch exactly what the lock says instead of resolving again.
    #[arg(long)]
    pub locked: bool,

    /// Lock file [default: the recipe path with `.lock`].
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,

    /// Output directory for the tarball (and a generated key).
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,

    /// Armored OpenPGP secret key to sign the bundle's repository with;
    /// generated (with its public half beside it) if the file is missing
    /// [default: OUT/pigsty-repo-key.asc].
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,

    /// The pig-install binary to package into the bundle as a .deb or
    /// .rpm [default: beside pig-build].
    #[arg(long, value_name = "FILE")]
    pub pig_install: Option<PathBuf>,

    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle tarball.
    pub bundle: PathBuf,

    /// Public key the repository must be signed with [default: the key
    /// inside the bundle, checked against MANIFEST.json].
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Skip the install test (signatures and hashes only).
    #[arg(long)]
    pub no_install: bool,

    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older lock.
    pub old: PathBuf,
    /// The newer lock.
    pub new: PathBuf,

    /// Print the difference as JSON.
    #[arg(long)]
    pub json: bool,
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
