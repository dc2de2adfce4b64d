//! End-to-end: point-in-time recovery on one nspawn node (node + etcd +
//! pgsql from a `seed init --template singleton` seed). The apply sets up
//! pgBackRest (stanza, first full backup, WAL archiving); a table is
//! created and filled, the time T is noted, the table is dropped, and
//! `pig-install pitr --time T` brings it back with its rows; Patroni is
//! running the cluster again (not paused, the server its own child) and a
//! second apply changes nothing. Then `--lsn` brings back a row deleted after a noted LSN.

mod pgsql_common;
mod testbed;

use std::time::Instant;

use pgsql_common::{apply, assert_packages, pg_seed};
use testbed::Node;

/// `psql` as the database superuser on the node's socket.
fn sql(node: &Node, query: &str) -> String {
    node.ok(&format!(
        "runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d postgres -c \"{query}\""
    ))
}

fn pitr(node: &Node, option: &str, value: &str) {
    let out = node.sh(&format!("pig-install pitr {option} '{value}'"));
    assert!(
        out.status.success(),
        "pitr {option} {value}: {}{}\nlogs:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(
            &node
                .sh("journalctl -u patroni --no-pager -n 40; tail -n 40 /pg/log/pgbackrest/*.log; tail -n 30 /pg/log/postgres/*.csv")
                .stdout
        )
    );
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
}

/// Wait until WAL written so far is in the repository: `check` switches
/// to a new segment and waits for it to be archived.
fn archive_now(node: &Node) {
    node.ok("runuser -u postgres -- pgbackrest --stanza=pg-meta check");
}

/// Patroni runs the member as the leader, is not paused, and owns the
/// server again (in its service, without the recovery settings).
fn assert_patroni_leads(node: &Node) {
    node.ok("grep -q patroni.service /proc/$(head -n 1 /pg/data/postmaster.pid)/cgroup");
    assert_eq!(sql(node, "SHOW recovery_target_time"), "\n");
    let state = node.ok(
        "python3 -c 'import json, urllib.request; d = json.load(urllib.request.urlopen(\"http://127.0.0.1:8008/patroni\", timeout=5)); print(d[\"role\"], d[\"state\"], d.get(\"pause\", False))'",
    );
    assert!(
        ["primary running False\n", "master running False\n"].contains(&state.as_str()),
        "Patroni: {state}"
    );
}

#[test]
fn pitr_by_time_and_by_lsn_restores_dropped_data() {
    let ip = "10.88.9.10";
    let Some(bed) = testbed::Bed::start(&[ip]) else {
        return;
    };
    let node = &bed.nodes[0];
    assert_packages(node);
    node.install_pig();
    let seed = pg_seed("singleton", &[ip], "");
    node.put("/etc/pig/seed.yml", seed.as_bytes(), 0o600);

    let t = Instant::now();
    apply(node);
    let first_apply = t.elapsed();

    assert_eq!(sql(node, "SHOW archive_mode"), "on\n");
    let info = node.ok("runuser -u postgres -- pgbackrest --stanza=pg-meta info");
    assert!(info.contains("status: ok"), "{info}");
    assert!(info.contains("full backup"), "{info}");

    // A table, the moment after it is filled, then its loss.
    sql(
        node,
        "CREATE TABLE pitr_probe AS SELECT g AS id FROM generate_series(1, 1000) g",
    );
    std::thread::sleep(std::time::Duration::from_secs(1));
    let when = sql(
        node,
        "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'",
    );
    let when = when.trim().to_string();
    std::thread::sleep(std::time::Duration::from_secs(1));
    sql(node, "DROP TABLE pitr_probe");
    archive_now(node);
    assert_eq!(
        sql(
            node,
            "SELECT count(*) FROM pg_class WHERE relname = 'pitr_probe'"
        ),
        "0\n"
    );

    let t = Instant::now();
    pitr(node, "--time", &when);
    let pitr_time = t.elapsed();
    assert_eq!(sql(node, "SELECT count(*) FROM pitr_probe"), "1000\n");
    assert_eq!(sql(node, "SELECT pg_is_in_recovery()"), "f\n");
    assert_patroni_leads(node);

    let t = Instant::now();
    let second = apply(node);
    let second_apply = t.elapsed();
    assert!(second.starts_with("0 change(s) applied"), "{second}");

    // By LSN: rows deleted after the noted position come back.
    let lsn = sql(
        node,
        "SELECT pg_current_wal_insert_lsn() FROM (SELECT txid_current()) x",
    );
    let lsn = lsn.trim().to_string();
    sql(node, "DELETE FROM pitr_probe WHERE id > 500");
    archive_now(node);
    assert_eq!(sql(node, "SELECT count(*) FROM pitr_probe"), "500\n");
    let t = Instant::now();
    pitr(node, "--lsn", &lsn);
    let pitr_lsn = t.elapsed();
    assert_eq!(sql(node, "SELECT count(*) FROM pitr_probe"), "1000\n");
    assert_patroni_leads(node);

    eprintln!(
        "figures: rootfs {:.1?}, boot {:.1?}, first apply (with stanza and full backup) {:.1?}, \
         pitr --time {:.1?}, second apply {:.1?}, pitr --lsn {:.1?}",
        bed.rootfs_time, node.boot_time, first_apply, pitr_time, second_apply, pitr_lsn
    );
}
