//! RPM: versions, package headers and `repodata/`.

pub mod header;
pub mod repodata;
pub mod version;
