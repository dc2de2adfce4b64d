//! Package formats and repository metadata for pig: Debian control files,
//! versions, relations, `Packages`/`Release` indexes and `.deb` files; RPM
//! versions, headers and `repodata/`; OpenPGP signing and verification.
//!
//! Pure logic over bytes and files: no network, no command line.

pub mod atomic;
pub mod compress;
pub mod deb;
pub mod error;
pub mod op;
pub mod resolve;
pub mod rpm;
pub mod seed_area;
pub mod signing;

pub use error::{Error, Result};
