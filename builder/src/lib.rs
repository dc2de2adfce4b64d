//! pig-build: recipes, closure, fetch, locks, repositories and bundles.

pub mod cmdline;
pub mod repo_index;
