//! RPM repository metadata (`repodata/`): `repomd.xml` and the
//! `primary`/`filelists`/`other` XML documents, written as createrepo_c
//! writes them and read back as a stream.

mod deps;
mod read;
mod write;
mod xml;

pub use deps::{Dependencies, indexed_dependencies};
pub use read::{PackageFiles, RepoPackage, RepodataReader};
pub use write::{IndexKey, RepodataWriter, Repomd, RepomdRecord};

/// The default number of changelog entries createrepo_c keeps per package
/// in `other.xml` (`--changelog-limit`).
pub const CHANGELOG_LIMIT: usize = 10;
