//! The local repository: unpack the bundle under `/www` (or use the one
//! already there) and point apt at it, signed by the bundle's own key.

use std::path::PathBuf;

use super::{Context, RoleInputError};
use crate::engine::{Guard, Resource};

/// The bundle's top directory under `/www`, as pig-build lays it out.
const REPO: &str = "/www/pigsty";
/// The bundle's public key, inside [`REPO`].
const KEY: &str = "pigsty-repo-key.pub.asc";
/// Written last by pig-build: a repository with it is complete.
const COMPLETE: &str = "repo_complete";

/// Resources of the local repository; none when there is no bundle and
/// nothing under `/www/pigsty` (packages must then be installed already).
pub fn resources(ctx: &Context) -> Result<Vec<Resource>, RoleInputError> {
    let mut out = Vec::new();
    if let Some(bundle) = ctx.bundle {
        out.push(Resource::directory("/www", "root", "root", 0o755));
        out.push(Resource::Command {
            name: "unpack-bundle".into(),
            argv: vec![
                "tar".into(),
                "-xzf".into(),
                bundle.display().to_string(),
                "-C".into(),
                "/www".into(),
                "--no-same-owner".into(),
            ],
            guard: Guard::Creates(PathBuf::from(REPO).join(COMPLETE)),
        });
    } else if !ctx.local_repo {
        return Ok(out);
    }
    let sources = ctx.render(
        "node/pigsty.sources",
        include_str!("../../templates/node/pigsty.sources"),
        &[("repo", REPO.into()), ("key", format!("{REPO}/{KEY}"))],
    )?;
    out.push(Resource::file(
        crate::engine::apply::LOCAL_SOURCES,
        sources,
        0o644,
    ));
    Ok(out)
}
