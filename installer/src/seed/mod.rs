//! The seed: a Pigsty inventory plus pig's `pig:` section, the single
//! input every node reads to derive its own configuration.

pub mod defaults;
pub mod error;
pub mod identity;
pub mod init;
pub mod inventory;
pub mod params;
pub mod pig_section;
pub mod requirements;
pub mod secrets;
pub mod yaml;

pub use error::{Problem, SeedError};
pub use identity::identify;
pub use inventory::{Host, Ignored, LoadOptions, PgMember, Role, Seed, SeqMember};
pub use requirements::{Finding, Requirement, Status, check_requirements};
