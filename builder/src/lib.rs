//! pig-build: recipes, closure, fetch, locks, repositories, bundles and
//! node images.

pub mod bundle;
pub mod bundle_layout;
pub mod cache;
pub mod closure;
pub mod cmdline;
pub mod fetch;
pub mod image;
pub mod lock;
pub mod mirror;
pub mod pack;
pub mod recipe;
pub mod repo_index;
pub mod self_package;
pub mod upstream;
pub mod verify;
