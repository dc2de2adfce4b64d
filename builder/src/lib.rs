//! pig-build: recipes, closure, fetch, locks, repositories and bundles.

pub mod cmdline;
pub mod lock;
pub mod pack;
pub mod recipe;
pub mod repo_index;
