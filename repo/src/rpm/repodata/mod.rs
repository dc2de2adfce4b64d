//! RPM repository metadata (`repodata/`): `repomd.xml` and the
//! `primary`/`filelists`/`other` XML documents, written as createrepo_c
//! writes them and read back as a stream.
//!
//! The XML is byte-for-byte what createrepo_c 0.17 writes for the same
//! files (`tests/rpm_repodata.rs` proves it), with one deliberate
//! difference: `<time file=…>` is the package's build time, not the mtime
//! of the file on this disk, so a repository rebuilt from the same packages
//! is identical wherever they were downloaded. Documents are gzip
//! (older yum and libsolv tools read nothing else) and named
//! `<sha256>-<type>.xml.gz`; the revision and every timestamp are the
//! caller's (`SOURCE_DATE_EPOCH`).

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
