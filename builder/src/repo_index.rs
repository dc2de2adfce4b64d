//! `pig-build repo index`: index a directory of packages as a repository.

use anyhow::Result;

use crate::cmdline::RepoIndexArgs;

pub fn run(args: &RepoIndexArgs) -> Result<()> {
    anyhow::bail!("repo index {}: not yet implemented", args.dir.display())
}
