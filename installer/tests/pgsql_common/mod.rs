//! Helpers shared by the pgsql end-to-end tests.

#![allow(dead_code)] // each test binary uses a different part

use std::process::Output;

use crate::testbed::{Node, seed_init};

/// The packages the role installs; without them in the bed the test
/// cannot prove anything (nodes have no repository to install from).
const NEEDED: &str = "postgresql-15 patroni pgbouncer pgbackrest prometheus-postgres-exporter";

/// What a node prints when an apply fails: the pgsql units' journal and
/// the logs of Patroni and pgBackRest.
const DIAGNOSTICS: &str = "journalctl -u patroni -u pgbouncer -u pig-pgbouncer-exporter \
    -u prometheus-postgres-exporter -u haproxy --no-pager -n 80; \
    tail -n 30 /pg/log/patroni/*.log; tail -n 40 /pg/log/pgbackrest/*.log";

/// The output of `pig-install apply` on `node`, which must have succeeded;
/// else panics with the node's diagnostics.
pub fn applied(node: &Node, out: &Output) -> String {
    assert!(
        out.status.success(),
        "apply on {}: {}{}\njournal:\n{}",
        node.ip,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&node.sh(DIAGNOSTICS).stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `pig-install apply` on `node`; its output (see [`applied`]).
pub fn apply(node: &Node) -> String {
    applied(node, &node.sh("pig-install apply"))
}

/// A seed from `seed init` (PostgreSQL 15, pgBouncer offering TLS) with
/// `extra_vars` added to all.vars.
pub fn pg_seed(template: &str, ips: &[&str], extra_vars: &str) -> String {
    let seed = String::from_utf8(seed_init(template, ips)).expect("UTF-8 seed");
    seed.replacen("\n  vars:\n", &format!("\n  vars:\n{extra_vars}"), 1)
}

/// The generated password of seed user `user`.
pub fn password_of(seed: &str, user: &str) -> String {
    let line = seed
        .lines()
        .find(|l| l.contains(&format!("name: {user},")))
        .unwrap_or_else(|| panic!("no user {user} in the seed"));
    let after = line
        .split("password: \"")
        .nth(1)
        .expect("a quoted password");
    after.split('"').next().expect("closing quote").to_string()
}

/// The bed's nodes carry the pgsql packages: the root filesystem is made
/// with them from the bundle (scripts/testbed/rootfs.sh), so a node without
/// them is a broken bed, not a reason to skip.
pub fn assert_packages(node: &Node) {
    let out = node.sh(&format!("dpkg-query -W {NEEDED} 2>&1"));
    assert!(
        out.status.success(),
        "the bed's root filesystem lacks some of {NEEDED} (PIG_TESTBED_PACKAGES, \
         scripts/testbed/README.md):\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `psql` from inside a node against `host:port`, as `user`, over TLS;
/// panics unless it succeeds.
pub fn psql(
    node: &Node,
    host: &str,
    port: u16,
    user: &str,
    password: &str,
    db: &str,
    sql: &str,
) -> String {
    node.ok(&psql_command(host, port, user, password, db, sql))
}

/// The shell command [`psql`] runs.
pub fn psql_command(
    host: &str,
    port: u16,
    user: &str,
    password: &str,
    db: &str,
    sql: &str,
) -> String {
    format!(
        "PGPASSWORD='{password}' PGCONNECT_TIMEOUT=5 psql -XAt \
         'host={host} port={port} user={user} dbname={db} sslmode=require' -c \"{sql}\""
    )
}
