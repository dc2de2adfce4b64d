//! Debian: control paragraphs, versions, relations, indexes and `.deb` files.

pub mod control;
pub mod debfile;
pub mod packages;
pub mod relation;
pub mod release;
pub mod version;
