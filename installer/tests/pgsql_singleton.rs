//! End-to-end: the PGSQL role on one nspawn node (node + etcd + pgsql
//! from a `seed init --template singleton` seed): Patroni bootstraps
//! PostgreSQL with checksums; a seed user logs in over TLS through
//! HAProxy's 5433 (pgBouncer) and 5436 (direct); a second apply changes
//! nothing; a user and a database added to the seed arrive without a
//! restart. The bed's root filesystem must hold the pgsql packages
//! (`PIG_TESTBED_PACKAGES`, see scripts/testbed/README.md).

mod pgsql_common;
mod testbed;

use std::time::Instant;

use pgsql_common::{apply, assert_packages, password_of, pg_seed, psql};
use testbed::Bed;

#[test]
fn singleton_serves_tls_through_pgbouncer_and_direct_and_is_idempotent() {
    let ip = "10.88.5.10";
    let Some(bed) = Bed::start(&[ip]) else {
        return;
    };
    let node = &bed.nodes[0];
    assert_packages(node);
    node.install_pig();
    let seed = pg_seed("singleton", &[ip], "");
    node.put("/etc/pig/seed.yml", seed.as_bytes(), 0o600);
    let password = password_of(&seed, "dbuser_meta");

    let t = Instant::now();
    apply(node);
    let first_apply = t.elapsed();

    // Debian's own cluster is gone; Patroni runs PostgreSQL 15.
    assert!(node.sh("test -e /etc/postgresql/15/main").status.code() == Some(1));
    assert_eq!(node.ok("readlink /pg"), "/data/postgres/pg-meta-15\n");
    // The seed user on the seed database, through a port.
    let meta = |port: u16, sql: &str| psql(node, ip, port, "dbuser_meta", &password, "meta", sql);
    assert_eq!(meta(5433, "SELECT current_user"), "dbuser_meta\n");
    assert_eq!(
        meta(
            5436,
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ),
        "t\n",
        "the direct connection is not TLS"
    );
    assert_eq!(meta(5436, "SHOW data_checksums"), "on\n");
    assert_eq!(meta(5436, "SHOW password_encryption"), "scram-sha-256\n");
    // The access model: default roles and the monitor schema.
    assert_eq!(
        node.ok("runuser -u postgres -- psql -XAt -d meta -c \"SELECT count(*) FROM pg_roles WHERE rolname IN ('dbrole_readonly','dbrole_readwrite','dbrole_admin','dbrole_offline','dbuser_dba','dbuser_monitor','replicator')\""),
        "7\n"
    );
    // A wrong password is refused.
    assert!(
        !node
            .sh(&format!(
                "PGPASSWORD=wrong psql -XAt 'host={ip} port=5436 user=dbuser_meta dbname=meta sslmode=require' -c 'SELECT 1'"
            ))
            .status
            .success()
    );
    // Both exporters answer: PostgreSQL's on 9630, pgBouncer's on 9631
    // with the pool of the seed's database, which the writes above used.
    let metrics = |port: u16| {
        node.ok(&format!(
            "python3 -c 'import urllib.request; print(urllib.request.urlopen(\"http://127.0.0.1:{port}/metrics\", timeout=10).read().decode())'"
        ))
    };
    assert!(metrics(9630).contains("\npg_up 1\n"));
    let pgb = metrics(9631);
    for line in [
        "\npgbouncer_up 1\n",
        "\npgbouncer_lists_items{list=\"databases\"} ",
        "\npgbouncer_stats_total_xact_count{database=\"meta\"} ",
        "\npgbouncer_pools_cl_active{database=\"meta\",user=\"dbuser_meta\"} ",
    ] {
        assert!(
            pgb.contains(line),
            "no {line:?} in pgBouncer's metrics:\n{pgb}"
        );
    }

    let t = Instant::now();
    let second = apply(node);
    let second_apply = t.elapsed();
    assert!(second.starts_with("0 change(s) applied"), "{second}");

    // A new user and database in the seed arrive without a restart.
    let started = node.ok("runuser -u postgres -- psql -XAtc 'SELECT pg_postmaster_start_time()'");
    let seed2 = seed.replacen(
        "        pg_databases:\n",
        "          - { name: dbuser_new, password: \"New.Secret.4711\", pgbouncer: true, roles: [dbrole_readwrite] }\n        pg_databases:\n          - { name: newdb, owner: dbuser_new, schemas: [app] }\n",
        1,
    );
    assert_ne!(seed2, seed);
    node.put("/etc/pig/seed.yml", seed2.as_bytes(), 0o600);
    let t = Instant::now();
    apply(node);
    let third_apply = t.elapsed();
    assert_eq!(
        psql(
            node,
            ip,
            5433,
            "dbuser_new",
            "New.Secret.4711",
            "newdb",
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'app'"
        ),
        "1\n"
    );
    assert_eq!(
        node.ok("runuser -u postgres -- psql -XAtc 'SELECT pg_postmaster_start_time()'"),
        started,
        "PostgreSQL restarted"
    );
    eprintln!(
        "figures: rootfs {:.1?}, boot {:.1?}, first apply {:.1?}, second apply {:.1?}, apply adding a user and a database {:.1?}",
        bed.rootfs_time, node.boot_time, first_apply, second_apply, third_apply
    );
}
