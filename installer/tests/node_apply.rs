//! End-to-end: pig-install on a real Debian 12 node booted with
//! systemd-nspawn (see tests/testbed). Run as root; skipped, with the
//! reason printed, where the bed cannot run.

mod testbed;

use std::time::Instant;

use serde_json::Value;
use testbed::{Bed, Node, seed_init};

fn json(node: &Node, script: &str) -> Value {
    let text = node.ok(script);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{script}: not JSON ({e}): {text}"))
}

fn changed(report: &Value) -> Vec<String> {
    report["changed"]
        .as_array()
        .expect("changed list")
        .iter()
        .map(|c| c["resource"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Acceptance 1: node + single-member etcd from a `seed init --template
/// singleton` seed (its PostgreSQL is left out with `--role`: the pgsql
/// tests cover it); a second apply changes nothing; a file edited by hand
/// is the only change planned, and apply restores it.
#[test]
fn singleton_apply_is_idempotent_and_repairs_drift() {
    let ip = "10.88.1.10";
    let Some(bed) = Bed::start(&[ip]) else {
        return;
    };
    let node = &bed.nodes[0];
    node.install_pig();
    node.put("/etc/pig/seed.yml", &seed_init("singleton", &[ip]), 0o600);
    let hosts_before = node.ok("cat /etc/hosts 2>&1 || true");

    let plan = json(node, "pig-install plan --role node,etcd --json");
    assert!(plan["changes"].as_array().is_some_and(|c| !c.is_empty()));
    assert_eq!(
        node.ok("cat /etc/hosts 2>&1 || true"),
        hosts_before,
        "plan changed /etc/hosts"
    );
    assert!(node.sh("test -e /var/lib/pig/state.json").status.code() == Some(1));

    let t = Instant::now();
    let first = json(node, "pig-install apply --role node,etcd --json");
    let first_apply = t.elapsed();
    let first_changed = changed(&first);
    assert!(
        first_changed.contains(&"file:/etc/hosts".to_string()),
        "{first}"
    );
    assert!(first_changed.contains(&"certificate:/etc/etcd/pki/etcd.crt".to_string()));
    assert!(
        first["checks"].as_array().is_some_and(|c| c.len() == 3),
        "{first}"
    );

    // Real state: services, ports, names, user, files.
    assert_eq!(
        node.ok("systemctl is-active etcd haproxy prometheus-node-exporter"),
        "active\nactive\nactive\n"
    );
    let ports = node.ok("ss -Hltn | awk '{print $4}'");
    for port in [":2379", ":2380", ":9100", ":9101"] {
        assert!(
            ports.lines().any(|l| l.ends_with(port)),
            "{port} not listening: {ports}"
        );
    }
    assert_eq!(node.ok("hostname"), "pg-meta-1\n");
    assert!(
        node.ok("cat /etc/hosts")
            .contains(&format!("{ip} pg-meta-1\n"))
    );
    assert_eq!(node.ok("id -u dba"), "88\n");
    assert_eq!(
        node.ok("stat -c %a:%U /etc/etcd/pki/etcd.key"),
        "600:etcd\n"
    );
    assert_eq!(node.ok("stat -c %a /etc/sudoers.d/dba"), "440\n");
    // etcd over TLS with the member certificate; plain HTTP is refused.
    let etcdctl = "etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/pki/ca.crt \
                   --cert=/etc/etcd/pki/etcd.crt --key=/etc/etcd/pki/etcd.key";
    node.ok(&format!("{etcdctl} put /pig/test hello"));
    assert_eq!(
        node.ok(&format!("{etcdctl} get --print-value-only /pig/test")),
        "hello\n"
    );
    assert!(
        !node
            .sh("etcdctl --endpoints=http://127.0.0.1:2379 --dial-timeout=2s get /pig/test")
            .status
            .success()
    );
    // The HAProxy admin page asks for the seed's password.
    let seed = node.ok("cat /etc/pig/seed.yml");
    assert!(!seed.contains("haproxy_admin_password: pigsty"));

    let t = Instant::now();
    let second = json(node, "pig-install apply --role node,etcd --json");
    let second_apply = t.elapsed();
    assert_eq!(
        changed(&second),
        Vec::<String>::new(),
        "second apply: {second}"
    );
    assert!(
        node.ok("pig-install status --role node,etcd")
            .contains("in sync")
    );

    // Drift: one managed file edited by hand.
    node.ok("echo '10.99.99.99 intruder' >> /etc/hosts");
    let drift = json(node, "pig-install plan --role node,etcd --json");
    let changes = drift["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{drift}");
    assert_eq!(changes[0]["resource"], "file:/etc/hosts");
    assert_eq!(changes[0]["diff"], "-10.99.99.99 intruder\n");
    assert!(
        node.ok("pig-install status --role node,etcd")
            .contains("file:/etc/hosts")
    );
    let repair = json(node, "pig-install apply --role node,etcd --json");
    assert_eq!(changed(&repair), vec!["file:/etc/hosts".to_string()]);
    assert!(!node.ok("cat /etc/hosts").contains("intruder"));

    eprintln!(
        "figures: rootfs {:.1?}, boot {:.1?}, first apply {:.1?} ({} changes), second apply {:.1?}",
        bed.rootfs_time,
        node.boot_time,
        first_apply,
        first_changed.len(),
        second_apply
    );
}

/// Acceptance 2: a malformed seed, a seed with Pigsty's default passwords
/// and a role the inventory does not give this node all exit 2, name the
/// cause, and change nothing; so does a seed that does not list the node
/// (exit 1, like `identify`).
#[test]
fn bad_seeds_fail_before_any_change() {
    let ip = "10.88.2.10";
    let Some(bed) = Bed::start(&[ip]) else {
        return;
    };
    let node = &bed.nodes[0];
    node.install_pig();
    let snapshot = "sha256sum /etc/hosts /etc/hostname /etc/chrony/chrony.conf /etc/default/etcd \
                    /etc/haproxy/haproxy.cfg 2>&1; ls /etc/sudoers.d; hostname; true";
    let before = node.ok(snapshot);

    node.put("/etc/pig/bad.yml", b"all:\n  children: [\n", 0o600);
    let defaults = format!(
        "all:\n  children:\n    etcd:\n      hosts: {{ \"{ip}\": {{ etcd_seq: 1 }} }}\n      vars: {{ etcd_cluster: etcd }}\n  vars:\n    admin_ip: {ip}\n"
    );
    node.put("/etc/pig/defaults.yml", defaults.as_bytes(), 0o600);
    node.put(
        "/etc/pig/seed.yml",
        &seed_init("singleton", &["10.88.2.11"]),
        0o600,
    );
    let singleton_here = seed_init("singleton", &[ip]);
    node.put("/etc/pig/here.yml", &singleton_here, 0o600);

    let cases = [
        (
            "pig-install apply --seed /etc/pig/bad.yml",
            "/etc/pig/bad.yml:",
        ),
        (
            "pig-install apply --seed /etc/pig/defaults.yml",
            "Pigsty's default \"Etcd.Root\" is refused",
        ),
        (
            "pig-install apply --seed /etc/pig/seed.yml",
            "matches no host",
        ),
        (
            "pig-install apply --seed /etc/pig/here.yml --role redis",
            "does not give host 10.88.2.10 the redis role",
        ),
        (
            "pig-install apply --seed /etc/pig/here.yml --role nosuch",
            "unknown role",
        ),
    ];
    for (command, message) in cases {
        let out = node.sh(command);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // A node the seed does not list exits 1, as `identify` does.
        let code = if message == "matches no host" { 1 } else { 2 };
        assert_eq!(out.status.code(), Some(code), "{command}: {stderr}");
        assert!(
            stderr.contains(message),
            "{command}: expected {message:?} in {stderr}"
        );
    }
    assert_eq!(
        node.ok(snapshot),
        before,
        "a refused apply changed the node"
    );
    assert!(node.sh("test -e /var/lib/pig/state.json").status.code() == Some(1));
}
