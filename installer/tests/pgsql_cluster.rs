//! End-to-end: a three-node PostgreSQL cluster (etcd and pgsql on every
//! node, from a `seed init --template ha3` seed) on nspawn nodes. Both
//! replicas stream, a write through any node's 5433 reaches the primary,
//! a read through 5434 is served by a replica; and, with `pg_rto: fast`,
//! stopping the primary's node fails over: the test prints the time until
//! a write through a surviving node's 5433 succeeds (RTO) and the number
//! of committed rows lost (RPO). Needs the pgsql packages in the bed
//! (`PIG_TESTBED_PACKAGES`, see scripts/testbed/README.md).

mod pgsql_common;
mod testbed;

use std::time::{Duration, Instant};

use pgsql_common::{has_packages, password_of, pg_seed, psql};
use testbed::{Bed, Node};

/// Apply on every node at once (members wait for each other); panics
/// with the failing node's Patroni log.
fn form_cluster(bed: &Bed, seed: &str) -> Duration {
    for node in &bed.nodes {
        node.install_pig();
        node.put("/etc/pig/seed.yml", seed.as_bytes(), 0o600);
    }
    let t = Instant::now();
    let results: Vec<std::process::Output> = std::thread::scope(|s| {
        let handles: Vec<_> = bed
            .nodes
            .iter()
            .map(|node| s.spawn(|| node.sh("pig-install apply")))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("apply thread"))
            .collect()
    });
    let took = t.elapsed();
    for (out, node) in results.iter().zip(&bed.nodes) {
        assert!(
            out.status.success(),
            "apply on {}: {}{}\njournal:\n{}",
            node.ip,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(
                &node
                    .sh("journalctl -u patroni -u pgbouncer -u prometheus-pgbouncer-exporter -u prometheus-postgres-exporter -u haproxy --no-pager -n 80; tail -n 30 /pg/log/patroni/*.log")
                    .stdout
            )
        );
    }
    took
}

/// Retry `f` until it returns `Some` or `limit` passes.
fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn try_psql(node: &Node, host: &str, port: u16, password: &str, sql: &str) -> Option<String> {
    let out = node.sh(&format!(
        "PGPASSWORD='{password}' PGCONNECT_TIMEOUT=2 timeout 5 psql -XAt \
         'host={host} port={port} user=dbuser_meta dbname=meta sslmode=require' -c \"{sql}\""
    ));
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

const IPS: [&str; 3] = ["10.88.6.11", "10.88.6.12", "10.88.6.13"];

#[test]
fn three_nodes_stream_and_route_writes_to_primary_reads_to_replicas() {
    let Some(bed) = Bed::start(&IPS) else {
        return;
    };
    if !has_packages(&bed.nodes[0]) {
        return;
    }
    let seed = pg_seed("ha3", &IPS, "");
    let password = password_of(&seed, "dbuser_meta");
    let apply_time = form_cluster(&bed, &seed);

    let primary = &bed.nodes[0];
    let streaming = wait_for(Duration::from_secs(60), || {
        let n = primary.ok("runuser -u postgres -- psql -XAtc \"SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'\"");
        (n == "2\n").then_some(())
    });
    assert!(
        streaming.is_some(),
        "{}",
        primary.ok("runuser -u postgres -- psql -XAtc 'SELECT * FROM pg_stat_replication'")
    );

    psql(
        primary,
        IPS[0],
        5433,
        "dbuser_meta",
        &password,
        "meta",
        "CREATE TABLE writes (via text)",
    );
    for (i, node) in bed.nodes.iter().enumerate() {
        // Through this node's HAProxy, from this node.
        psql(
            node,
            IPS[i],
            5433,
            "dbuser_meta",
            &password,
            "meta",
            &format!("INSERT INTO writes VALUES ('{}')", IPS[i]),
        );
        let replica = psql(
            node,
            IPS[i],
            5434,
            "dbuser_meta",
            &password,
            "meta",
            "SELECT pg_is_in_recovery()",
        );
        assert_eq!(replica, "t\n", "5434 on {} reached the primary", IPS[i]);
    }
    assert_eq!(
        primary.ok("runuser -u postgres -- psql -XAt -d meta -c 'SELECT count(*) FROM writes'"),
        "3\n"
    );
    for node in &bed.nodes {
        assert!(
            node.ok("pig-install apply")
                .starts_with("0 change(s) applied")
        );
    }
    eprintln!(
        "figures: rootfs {:.1?}, boots {:?}, parallel apply of 3 nodes {:.1?}",
        bed.rootfs_time,
        bed.nodes.iter().map(|n| n.boot_time).collect::<Vec<_>>(),
        apply_time
    );
}

#[test]
fn stopping_the_primary_fails_over_within_the_fast_rto() {
    let ips = ["10.88.7.11", "10.88.7.12", "10.88.7.13"];
    let Some(mut bed) = Bed::start(&ips) else {
        return;
    };
    if !has_packages(&bed.nodes[0]) {
        return;
    }
    let seed = pg_seed("ha3", &ips, "    pg_rto: fast\n").replacen("    pg_rto: norm\n", "", 1);
    let password = password_of(&seed, "dbuser_meta");
    form_cluster(&bed, &seed);
    let survivor = &bed.nodes[1];
    psql(
        survivor,
        ips[1],
        5433,
        "dbuser_meta",
        &password,
        "meta",
        "CREATE TABLE rpo (id int)",
    );
    // Rows committed one by one, each acknowledged before the next.
    let committed = 500;
    let script: String = (1..=committed)
        .map(|i| format!("INSERT INTO rpo VALUES ({i});\n"))
        .collect();
    survivor.put("/root/rows.sql", script.as_bytes(), 0o644);
    survivor.ok(&format!(
        "PGPASSWORD='{password}' psql -XAq -v ON_ERROR_STOP=1 \
         'host={} port=5436 user=dbuser_meta dbname=meta sslmode=require' -f /root/rows.sql",
        ips[1]
    ));

    let t = Instant::now();
    bed.nodes[0].stop();
    let stopped = t.elapsed();
    let survivor = &bed.nodes[1];
    let rto = wait_for(Duration::from_secs(120), || {
        try_psql(
            survivor,
            ips[1],
            5433,
            &password,
            "INSERT INTO rpo VALUES (-1)",
        )
        .map(|_| t.elapsed())
    })
    .expect("no write succeeded through a survivor's 5433 within 120 s");
    let kept = try_psql(
        survivor,
        ips[1],
        5433,
        &password,
        "SELECT count(*) FROM rpo WHERE id > 0",
    )
    .expect("count rows after failover");
    let lost = committed - kept.trim().parse::<i64>().expect("a count");
    eprintln!(
        "figures: pg_rto fast, clean stop of the primary's node: node stopped in {stopped:.1?}, \
         RTO {rto:.1?} (write through a survivor's 5433), RPO {lost} of {committed} committed rows lost"
    );
    assert_eq!(lost, 0, "committed rows lost");
    assert!(
        rto < Duration::from_secs(12),
        "RTO {rto:?} is not under 12 s"
    );
}
