//! End-to-end: a three-node PostgreSQL cluster (etcd and pgsql on every
//! node, from a `seed init --template ha3` seed) on nspawn nodes. Both
//! replicas stream, a write through any node's 5433 reaches the primary,
//! a read through 5434 is served by a replica; and one cluster fails
//! over five times with Pigsty's default profile (pg_rto norm), five times
//! with pg_rto fast and pg_rpo 0 after a re-apply, and once with the
//! primary's network cut: the test prints the time until a write through
//! a surviving node's 5433 succeeds (RTO) and the number of committed
//! rows lost (RPO). Needs the pgsql packages in the bed
//! (`PIG_TESTBED_PACKAGES`, see scripts/testbed/README.md).

mod pgsql_common;
mod testbed;

use std::time::{Duration, Instant};

use pgsql_common::{applied, assert_packages, password_of, pg_seed, psql, psql_command};
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
        applied(node, out);
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
    assert_packages(&bed.nodes[0]);
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
        // Through this node's HAProxy, from this node. On a loaded host a
        // health check can time out and take the primary out of a service
        // for a moment (it comes back after `rise` checks): the write must
        // get through within 30 s.
        let insert = psql_command(
            IPS[i],
            5433,
            "dbuser_meta",
            &password,
            "meta",
            &format!("INSERT INTO writes VALUES ('{}')", IPS[i]),
        );
        let wrote = wait_for(Duration::from_secs(30), || {
            node.sh(&insert).status.success().then_some(())
        });
        assert!(
            wrote.is_some(),
            "no write through {}:5433 within 30 s",
            IPS[i]
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

/// The node whose PostgreSQL is the primary, if one is.
fn primary_of(bed: &Bed, down: &[usize]) -> Option<usize> {
    (0..bed.nodes.len())
        .filter(|i| !down.contains(i))
        .find(|&i| {
            bed.nodes[i]
                .sh("runuser -u postgres -- psql -XAtc 'SELECT pg_is_in_recovery()'")
                .stdout
                == b"f\n"
        })
}

/// Wait until the primary streams to both replicas and, in synchronous
/// mode, Patroni has named one the synchronous standby: until then no
/// replica may take over (it could lack committed rows).
fn wait_streaming(bed: &Bed, limit: Duration, sync: bool) -> usize {
    wait_for(limit, || {
        let p = primary_of(bed, &[])?;
        let n = bed.nodes[p].ok("runuser -u postgres -- psql -XAtc \"SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'\"");
        let named = !sync
            || bed.nodes[p]
                .ok("patronictl -c /etc/patroni/patroni.yml list")
                .contains("Sync Standby");
        (n == "2\n" && named).then_some(p)
    })
    .expect("the cluster did not return to a primary streaming to two replicas")
}

/// How the primary's node is taken away.
#[derive(Clone, Copy, PartialEq)]
enum Loss {
    /// Its node shuts down (Patroni releases the leader key).
    Stop,
    /// Its network is cut: the leader key must expire.
    Cut,
}

/// One failover: rows committed one by one through a survivor's 5433,
/// the primary lost, the time until a write through a survivor's 5433
/// succeeds (RTO), the committed rows missing (RPO); then the node
/// comes back and the cluster streams to two replicas again.
fn failover(
    bed: &mut Bed,
    ips: &[&str],
    password: &str,
    round: usize,
    loss: Loss,
    sync: bool,
) -> (Duration, i64) {
    let p = wait_streaming(bed, Duration::from_secs(120), sync);
    let s = (p + 1) % ips.len();
    let committed = 200;
    let script: String = (1..=committed)
        .map(|i| format!("INSERT INTO rpo VALUES ({round}, {i});\n"))
        .collect();
    let survivor = &bed.nodes[s];
    survivor.put("/root/rows.sql", script.as_bytes(), 0o644);
    survivor.ok(&format!(
        "PGPASSWORD='{password}' psql -XAq -v ON_ERROR_STOP=1 \
         'host={} port=5433 user=dbuser_meta dbname=meta sslmode=require' -f /root/rows.sql",
        ips[s]
    ));
    let t = Instant::now();
    match loss {
        Loss::Stop => bed.nodes[p].stop(),
        Loss::Cut => {
            bed.nodes[p].ok("ip link set eth0 down");
        }
    }
    let survivor = &bed.nodes[s];
    let rto = wait_for(Duration::from_secs(120), || {
        try_psql(
            survivor,
            ips[s],
            5433,
            password,
            &format!("INSERT INTO rpo VALUES ({round}, -1)"),
        )
        .map(|_| t.elapsed())
    })
    .expect("no write succeeded through a survivor's 5433 within 120 s");
    let kept = try_psql(
        survivor,
        ips[s],
        5433,
        password,
        &format!("SELECT count(*) FROM rpo WHERE round = {round} AND id > 0"),
    )
    .expect("count rows after failover");
    let lost = committed - kept.trim().parse::<i64>().expect("a count");
    match loss {
        Loss::Stop => bed.nodes[p].boot(),
        Loss::Cut => {
            bed.nodes[p].ok("ip link set eth0 up");
        }
    }
    (rto, lost)
}

/// min/avg/max of some durations, for the figures.
fn spread(rtos: &[Duration]) -> String {
    let min = rtos.iter().min().copied().unwrap_or_default();
    let max = rtos.iter().max().copied().unwrap_or_default();
    let avg = rtos.iter().sum::<Duration>() / u32::try_from(rtos.len().max(1)).unwrap_or(1);
    format!("min {min:.1?} avg {avg:.1?} max {max:.1?}")
}

#[test]
fn five_failovers_per_rto_profile_within_their_targets() {
    let ips = ["10.88.7.11", "10.88.7.12", "10.88.7.13"];
    let Some(mut bed) = Bed::start(&ips) else {
        return;
    };
    assert_packages(&bed.nodes[0]);
    let began = Instant::now();
    // Pigsty's default profile: pg_rto norm, pg_rpo 1 MiB.
    let seed = pg_seed("ha3", &ips, "");
    let password = password_of(&seed, "dbuser_meta");
    form_cluster(&bed, &seed);
    psql(
        &bed.nodes[0],
        ips[0],
        5433,
        "dbuser_meta",
        &password,
        "meta",
        "CREATE TABLE rpo (round int, id int)",
    );
    let mut round = 0;
    let mut run = |bed: &mut Bed, loss: Loss, sync: bool, label: &str, n: usize| {
        let mut rtos = Vec::new();
        let mut lost = Vec::new();
        for _ in 0..n {
            round += 1;
            let (rto, l) = failover(bed, &ips, &password, round, loss, sync);
            eprintln!("figures: {label} round {round}: RTO {rto:.1?}, {l} committed rows lost");
            rtos.push(rto);
            lost.push(l);
        }
        eprintln!(
            "figures: {label}: RTO {} over {n} failovers; rows lost {lost:?}",
            spread(&rtos)
        );
        (rtos, lost)
    };
    let (norm, _) = run(
        &mut bed,
        Loss::Stop,
        false,
        "pg_rto norm, pg_rpo 1 MiB, node stop",
        5,
    );

    // pg_rto fast and pg_rpo 0 on the same cluster: a re-apply moves
    // the new timers into the DCS.
    let fast_seed = seed.replacen("    pg_rto: norm\n", "    pg_rto: fast\n    pg_rpo: 0\n", 1);
    assert_ne!(fast_seed, seed);
    let reapply = form_cluster(&bed, &fast_seed);
    let config = bed.nodes[0].ok("patronictl -c /etc/patroni/patroni.yml show-config");
    assert!(config.contains("ttl: 20"), "{config}");
    assert!(config.contains("synchronous_mode: true"), "{config}");
    let (fast, fast_lost) = run(
        &mut bed,
        Loss::Stop,
        true,
        "pg_rto fast, pg_rpo 0, node stop",
        5,
    );
    let (cut, cut_lost) = run(
        &mut bed,
        Loss::Cut,
        true,
        "pg_rto fast, pg_rpo 0, network cut",
        1,
    );
    eprintln!(
        "figures: re-apply to fast {reapply:.1?}; whole test {:.1?}",
        began.elapsed()
    );

    let worst = |r: &[Duration]| r.iter().max().copied().unwrap_or_default();
    assert!(
        worst(&norm) < Duration::from_secs(30),
        "norm RTO {}",
        spread(&norm)
    );
    assert!(
        worst(&fast) < Duration::from_secs(12),
        "fast RTO {}",
        spread(&fast)
    );
    assert!(
        fast_lost.iter().chain(&cut_lost).all(|&l| l == 0),
        "pg_rpo 0 lost rows"
    );
    // A cut primary keeps its leader key until its lease runs out (ttl).
    assert!(
        worst(&cut) < Duration::from_secs(30),
        "cut RTO {}",
        spread(&cut)
    );
}
