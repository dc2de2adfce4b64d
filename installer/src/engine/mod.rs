//! The plan/apply engine: a small vocabulary of idempotent resources that
//! every role composes, a planner that compares them with the machine
//! without changing it, and an applier that makes the planned changes.

pub mod apply;
pub mod cert;
pub mod diff;
pub mod journal;
pub mod plan;
pub mod resource;
pub mod state;
pub mod system;
pub mod template;

pub use apply::{ApplyReport, apply};
pub use plan::{Action, Plan, Step, plan};
pub use resource::{CertSpec, Guard, Resource};
pub use state::Stamp;
pub use system::{LocalSystem, System};
