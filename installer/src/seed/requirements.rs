//! What a seed asks a bundle for (PostgreSQL major version, packages,
//! extensions, modules), and a per-item comparison with the package names
//! a bundle holds.

use std::collections::BTreeSet;
use std::fmt;

use super::inventory::{Role, Seed};
use super::params::Origin;
use super::yaml::Node;

/// One thing the inventory needs from the bundle.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Requirement {
    /// A PostgreSQL major version (`pg_version`).
    PgVersion {
        /// The major version.
        version: i64,
        /// Where it was set, or `default`.
        path: String,
    },
    /// A package or Pigsty package alias from `pg_packages` / `pg_extensions`.
    Package {
        /// The name as written.
        name: String,
        /// The PostgreSQL major version it is for.
        version: i64,
        /// Where it was set.
        path: String,
    },
    /// An extension created in a database (`pg_databases[].extensions`).
    Extension {
        /// The extension's SQL name.
        name: String,
        /// The PostgreSQL major version it is for.
        version: i64,
        /// Where it was set.
        path: String,
    },
    /// A module (role) some host plays.
    Module(Role),
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Requirement::PgVersion { version, .. } => write!(f, "pg_version {version}"),
            Requirement::Package { name, .. } => write!(f, "package {name}"),
            Requirement::Extension { name, .. } => write!(f, "extension {name}"),
            Requirement::Module(role) => write!(f, "module {role}"),
        }
    }
}

/// How a requirement compares with a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The bundle has it.
    Present,
    /// The bundle lacks it.
    Missing,
    /// pig cannot tell (a Pigsty package group it does not expand).
    Unknown,
}

/// The result for one requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was required.
    pub requirement: Requirement,
    /// Whether the bundle has it.
    pub status: Status,
    /// One line for the operator: `pg_version 18: bundle has PostgreSQL 15 only`.
    pub message: String,
}

/// Pigsty package aliases pig expands, `$v` standing for the PostgreSQL
/// major version; each inner list is alternatives (Debian name, EL name).
const ALIASES: &[(&str, &[&[&str]])] = &[
    ("pgsql-main", &[&["postgresql-$v", "postgresql$v-server"]]),
    ("pgsql-core", &[&["postgresql-$v", "postgresql$v-server"]]),
    ("pgsql-client", &[&["postgresql-client-$v", "postgresql$v"]]),
    (
        "pgsql-common",
        &[
            &["patroni"],
            &["pgbouncer"],
            &["pgbackrest"],
            &["pg-exporter", "pg_exporter"],
        ],
    ),
];

/// Extensions shipped with the server itself (contrib).
const CONTRIB: &[&str] = &[
    "adminpack",
    "amcheck",
    "auto_explain",
    "btree_gin",
    "btree_gist",
    "citext",
    "cube",
    "dblink",
    "dict_int",
    "earthdistance",
    "file_fdw",
    "fuzzystrmatch",
    "hstore",
    "intagg",
    "intarray",
    "isn",
    "lo",
    "ltree",
    "pageinspect",
    "pg_buffercache",
    "pg_freespacemap",
    "pg_prewarm",
    "pg_stat_statements",
    "pg_surgery",
    "pg_trgm",
    "pg_visibility",
    "pg_walinspect",
    "pgcrypto",
    "pgrowlocks",
    "pgstattuple",
    "plpgsql",
    "postgres_fdw",
    "seg",
    "sslinfo",
    "tablefunc",
    "tcn",
    "tsm_system_rows",
    "tsm_system_time",
    "unaccent",
    "uuid-ossp",
    "xml2",
];

/// Extension SQL names whose package has another name.
const EXTENSION_PACKAGES: &[(&str, &str)] = &[
    ("vector", "pgvector"),
    ("postgis_topology", "postgis"),
    ("postgis_raster", "postgis"),
    ("postgis_tiger_geocoder", "postgis"),
    ("address_standardizer", "postgis"),
];

/// Modules and the packages that carry them (alternatives per item).
const MODULE_PACKAGES: &[(Role, &[&[&str]])] = &[
    (Role::Etcd, &[&["etcd", "etcd-server"]]),
    (Role::Minio, &[&["minio"]]),
    (Role::Redis, &[&["redis", "redis-server", "valkey"]]),
    (
        Role::Pgsql,
        &[&["patroni"], &["pgbouncer"], &["pgbackrest"], &["haproxy"]],
    ),
    (
        Role::Infra,
        &[&["nginx"], &["victoria-metrics"], &["grafana"]],
    ),
    (
        Role::Node,
        &[
            &["haproxy"],
            &["node-exporter", "node_exporter", "prometheus-node-exporter"],
        ],
    ),
];

fn path_of(origin: Option<Origin>) -> String {
    match origin {
        Some(Origin::Set(p)) => p,
        _ => "default".to_string(),
    }
}

/// Package lists accept several names per item, separated by commas or spaces.
fn split_names(node: &Node) -> Vec<String> {
    node.as_seq()
        .unwrap_or_default()
        .iter()
        .filter_map(Node::scalar_text)
        .flat_map(|item| {
            item.split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

impl Seed {
    /// Everything the inventory asks of a bundle, without duplicates.
    pub fn requirements(&self) -> Vec<Requirement> {
        let mut out = BTreeSet::new();
        for h in self.hosts() {
            for role in h.roles() {
                out.insert(Requirement::Module(role));
            }
            if !h.has_role(Role::Pgsql) {
                continue;
            }
            let Some(version) = h.vars.int("pg_version") else {
                continue;
            };
            out.insert(Requirement::PgVersion {
                version,
                path: path_of(h.vars.resolved("pg_version").map(|r| r.origin)),
            });
            for param in ["pg_packages", "pg_extensions"] {
                if let Some(r) = h.vars.resolved(param) {
                    let path = path_of(Some(r.origin));
                    for name in split_names(&r.node) {
                        out.insert(Requirement::Package {
                            name,
                            version,
                            path: path.clone(),
                        });
                    }
                }
            }
            if let Some(r) = h.vars.resolved("pg_databases") {
                let path = path_of(Some(r.origin));
                for (i, db) in r.node.as_seq().unwrap_or_default().iter().enumerate() {
                    let extensions = db.get("extensions").and_then(Node::as_seq);
                    for ext in extensions.unwrap_or_default() {
                        // Items are `name` or `{ name: …, schema: … }`.
                        let name = ext
                            .scalar_text()
                            .or_else(|| ext.get("name").and_then(Node::scalar_text));
                        if let Some(name) = name {
                            out.insert(Requirement::Extension {
                                name,
                                version,
                                path: format!("{path}[{i}].extensions"),
                            });
                        }
                    }
                }
            }
        }
        out.into_iter().collect()
    }
}

/// Compare requirements with the package names a bundle holds.
pub fn check_requirements(requirements: &[Requirement], available: &[String]) -> Vec<Finding> {
    let have: BTreeSet<&str> = available.iter().map(String::as_str).collect();
    let versions = server_versions(&have);
    requirements
        .iter()
        .map(|r| {
            let (status, message) = match r {
                Requirement::PgVersion { version, path } => {
                    if versions.contains(version) {
                        (Status::Present, format!("pg_version {version}: present"))
                    } else if versions.is_empty() {
                        (
                            Status::Missing,
                            format!(
                                "pg_version {version} ({path}): bundle has no PostgreSQL server"
                            ),
                        )
                    } else {
                        let list: Vec<String> = versions.iter().map(ToString::to_string).collect();
                        (
                            Status::Missing,
                            format!(
                                "pg_version {version} ({path}): bundle has PostgreSQL {} only",
                                list.join(", ")
                            ),
                        )
                    }
                }
                Requirement::Package {
                    name,
                    version,
                    path,
                } => package(name, *version, path, &have),
                Requirement::Extension {
                    name,
                    version,
                    path,
                } => extension(name, *version, path, &have),
                Requirement::Module(role) => module(*role, &have),
            };
            Finding {
                requirement: r.clone(),
                status,
                message,
            }
        })
        .collect()
}

/// PostgreSQL major versions whose server package is present.
fn server_versions(have: &BTreeSet<&str>) -> BTreeSet<i64> {
    have.iter()
        .filter_map(|n| {
            n.strip_prefix("postgresql-")
                .or_else(|| {
                    n.strip_prefix("postgresql")
                        .and_then(|r| r.strip_suffix("-server"))
                })
                .and_then(|v| v.parse().ok())
        })
        .collect()
}

fn all_of(groups: &[&[&str]], version: i64, have: &BTreeSet<&str>) -> Result<(), Vec<String>> {
    let mut missing = Vec::new();
    for alternatives in groups {
        let names: Vec<String> = alternatives
            .iter()
            .map(|a| a.replace("$v", &version.to_string()))
            .collect();
        if !names.iter().any(|n| have.contains(n.as_str())) {
            missing.push(names.join(" or "));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing)
    }
}

fn package(name: &str, version: i64, path: &str, have: &BTreeSet<&str>) -> (Status, String) {
    if let Some((_, groups)) = ALIASES.iter().find(|(a, _)| *a == name) {
        return match all_of(groups, version, have) {
            Ok(()) => (Status::Present, format!("package {name}: present")),
            Err(missing) => (
                Status::Missing,
                format!(
                    "package {name} ({path}): bundle lacks {}",
                    missing.join(", ")
                ),
            ),
        };
    }
    // Pigsty's per-version extension groups (pg18-time, pg18-gis, …).
    let group_prefix = format!("pg{version}-");
    if name.starts_with(&group_prefix) && !have.contains(name) {
        return (
            Status::Unknown,
            format!(
                "package {name} ({path}): a Pigsty package group pig does not expand; check the bundle's recipe"
            ),
        );
    }
    extension_package(name, name, version, path, have, "package")
}

fn extension(name: &str, version: i64, path: &str, have: &BTreeSet<&str>) -> (Status, String) {
    if CONTRIB.contains(&name) {
        return (
            Status::Present,
            format!("extension {name}: part of PostgreSQL"),
        );
    }
    let base = EXTENSION_PACKAGES
        .iter()
        .find(|(e, _)| *e == name)
        .map_or(name, |(_, p)| *p);
    extension_package(name, base, version, path, have, "extension")
}

/// An extension package by Debian (`postgresql-18-pgvector`,
/// `postgresql-18-postgis-3`) or EL (`pgvector_18`, `postgis35_18`) naming.
fn extension_package(
    name: &str,
    base: &str,
    version: i64,
    path: &str,
    have: &BTreeSet<&str>,
    what: &str,
) -> (Status, String) {
    let short = base.strip_prefix("pg").unwrap_or(base);
    let deb: Vec<String> = [base, short]
        .iter()
        .map(|b| format!("postgresql-{version}-{b}"))
        .collect();
    let rpm_suffix = format!("_{version}");
    let found = have.iter().find(|n| {
        **n == base
            || deb.iter().any(|d| {
                *n == d
                    || n.strip_prefix(d.as_str())
                        .is_some_and(|r| r.starts_with('-'))
            })
            || (n.starts_with(base) && n.ends_with(&rpm_suffix))
    });
    match found {
        Some(p) => (Status::Present, format!("{what} {name}: {p}")),
        None => (
            Status::Missing,
            format!(
                "{what} {name} ({path}): bundle has no {} or {base}_{version} package",
                deb.first().map_or("", String::as_str)
            ),
        ),
    }
}

fn module(role: Role, have: &BTreeSet<&str>) -> (Status, String) {
    let groups = MODULE_PACKAGES
        .iter()
        .find(|(r, _)| *r == role)
        .map_or(&[][..], |(_, g)| *g);
    match all_of(groups, 0, have) {
        Ok(()) => (Status::Present, format!("module {role}: present")),
        Err(missing) => (
            Status::Missing,
            format!("module {role}: bundle lacks {}", missing.join(", ")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> BTreeSet<&'static str> {
        list.iter()
            .map(|s| &*Box::leak(s.to_string().into_boxed_str()))
            .collect()
    }

    #[test]
    fn extension_packages_by_debian_and_el_names() {
        let deb = names(&["postgresql-17-pgvector", "postgresql-17-postgis-3"]);
        let el = names(&["pgvector_17", "postgis35_17", "postgresql17-server"]);
        for have in [&deb, &el] {
            assert_eq!(extension("vector", 17, "p", have).0, Status::Present);
            assert_eq!(extension("postgis", 17, "p", have).0, Status::Present);
            assert_eq!(extension("pg_trgm", 17, "p", have).0, Status::Present);
            let (status, message) = extension("timescaledb", 17, "p", have);
            assert_eq!(status, Status::Missing);
            assert!(
                message.contains("postgresql-17-timescaledb or timescaledb_17"),
                "{message}"
            );
            // another major version does not count
            assert_eq!(extension("vector", 18, "p", have).0, Status::Missing);
        }
        assert_eq!(server_versions(&el), BTreeSet::from([17]));
    }

    #[test]
    fn aliases_and_groups() {
        let have = names(&["postgresql-16", "patroni", "pgbouncer", "pgbackrest"]);
        assert_eq!(package("pgsql-main", 16, "p", &have).0, Status::Present);
        let (status, message) = package("pgsql-common", 16, "p", &have);
        assert_eq!(status, Status::Missing);
        assert!(
            message.ends_with("bundle lacks pg-exporter or pg_exporter"),
            "{message}"
        );
        assert_eq!(package("pg16-time", 16, "p", &have).0, Status::Unknown);
    }
}
