//! Roles: each turns the seed and this node's host entry into the list of
//! resources that configure it. Pure: no role reads the machine; the few
//! facts a role needs (is a local repository present, the machine's size)
//! come in [`Context`].

pub mod etcd;
pub mod node;
pub mod pgsql;
pub mod repo;

use crate::engine::Resource;
use crate::engine::template;
use crate::seed::{Host, Role, Seed};

/// A seed that cannot configure this node: exit status 2, before any change.
#[derive(Debug, thiserror::Error)]
#[error("{input}: {message}")]
pub struct RoleInputError {
    /// The seed.
    pub input: String,
    /// What is wrong.
    pub message: String,
}

/// What a role reads.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The whole seed.
    pub seed: &'a Seed,
    /// This node's inventory entry.
    pub host: &'a Host,
    /// A bundle tarball to unpack into `/www`, if given.
    pub bundle: Option<&'a std::path::Path>,
    /// Whether `/www/pigsty` already holds an unpacked repository.
    pub local_repo: bool,
    /// The machine's memory, CPUs and data disk, which PostgreSQL's sizing
    /// needs; `None` where the caller did not measure them (the pgsql role
    /// then refuses to plan).
    pub machine: Option<pgsql::tune::NodeSpec>,
}

impl Context<'_> {
    fn error(&self, message: impl Into<String>) -> RoleInputError {
        RoleInputError {
            input: self.seed.input().to_string(),
            message: message.into(),
        }
    }

    /// A string parameter of this host, or an error naming it.
    fn str(&self, name: &str) -> Result<String, RoleInputError> {
        self.host
            .vars
            .str(name)
            .ok_or_else(|| self.error(format!("host {}: {name} is not set", self.host.ip)))
    }

    /// An integer parameter of this host, or an error naming it.
    fn int(&self, name: &str) -> Result<i64, RoleInputError> {
        self.host
            .vars
            .int(name)
            .ok_or_else(|| self.error(format!("host {}: {name} is not set", self.host.ip)))
    }

    /// A boolean parameter (Pigsty default when unset).
    fn bool(&self, name: &str) -> bool {
        self.host.vars.bool(name).unwrap_or(false)
    }

    /// Fill a template; a mismatch between template and role is a defect.
    fn render(
        &self,
        label: &str,
        text: &str,
        values: &[(&str, String)],
    ) -> Result<String, RoleInputError> {
        template::render(label, text, values)
            .map_err(|e| self.error(format!("template defect: {e}")))
    }
}

/// The roles this build of pig-install configures.
pub const IMPLEMENTED: [Role; 3] = [Role::Node, Role::Etcd, Role::Pgsql];

/// Resources for `roles` on this node, in apply order, each tagged with
/// its role. Roles pig-install does not implement yet are left out (the
/// caller reports them).
pub fn resources(ctx: &Context, roles: &[Role]) -> Result<Vec<(String, Resource)>, RoleInputError> {
    let mut out = Vec::new();
    let mut push = |role: Role, list: Vec<Resource>| {
        out.extend(list.into_iter().map(|r| (role.name().to_string(), r)));
    };
    if roles.contains(&Role::Node) {
        push(Role::Node, repo::resources(ctx)?);
        push(Role::Node, node::resources(ctx)?);
    }
    if roles.contains(&Role::Etcd) {
        push(Role::Etcd, etcd::resources(ctx)?);
    }
    if roles.contains(&Role::Pgsql) {
        push(Role::Pgsql, pgsql::resources(ctx)?);
    }
    Ok(out)
}
