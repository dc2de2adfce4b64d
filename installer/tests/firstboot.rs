//! End-to-end: `pig-install-firstboot.service` on a real Debian 12 node
//! booted with systemd-nspawn (see tests/testbed). The unit, the binary
//! and the seed go into the node's root before its first boot, as an
//! image would carry them. Run as root; skipped, with the reason printed,
//! where the bed cannot run.

mod testbed;

use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use testbed::{Bed, Node, seed_init};

const UNIT: &str = "pig-install-firstboot.service";
const SEED: &str = "/etc/pigsty/seed.yml";
const RESULT: &str = "/var/lib/pig/firstboot/result.json";

fn result(node: &Node) -> Value {
    let text = node.ok(&format!("cat {RESULT}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{RESULT}: not JSON ({e}): {text}"))
}

/// This boot's journal of the unit.
fn unit_log(node: &Node) -> String {
    node.ok(&format!("journalctl -b -u {UNIT} --no-pager -o cat"))
}

/// The unit's state after boot: `active` or `failed`.
fn unit_state(node: &Node) -> String {
    let out = node.sh(&format!("systemctl is-active {UNIT}"));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn reboot(node: &mut Node) -> std::time::Duration {
    node.stop();
    let t = Instant::now();
    node.boot();
    t.elapsed()
}

/// The unit as `pig-install firstboot --print-unit` prints it.
fn unit_text() -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_pig-install"))
        .args(["firstboot", "--print-unit"])
        .output()
        .expect("running pig-install");
    assert!(out.status.success());
    out.stdout
}

/// First boot applies the seed once; a reboot with the same seed does
/// nothing; a changed seed applies again; a broken seed fails with a
/// banner and result.json, and is not retried on the next boot.
#[test]
fn firstboot_applies_once_reruns_on_change_and_never_loops() {
    let ip = "10.88.5.10";
    let Some(mut bed) = Bed::create(&[ip]) else {
        return;
    };
    let node = &mut bed.nodes[0];
    let binary = std::fs::read(env!("CARGO_BIN_EXE_pig-install")).expect("reading pig-install");
    node.put("/usr/bin/pig-install", &binary, 0o755);
    node.put(&format!("/etc/systemd/system/{UNIT}"), &unit_text(), 0o644);
    let wants = node.root.join("etc/systemd/system/multi-user.target.wants");
    std::fs::create_dir_all(&wants).expect("making the .wants directory");
    std::os::unix::fs::symlink(format!("../{UNIT}"), wants.join(UNIT)).expect("enabling the unit");
    // The whole singleton, PostgreSQL included, exactly as `seed init`
    // writes it.
    let seed = String::from_utf8(seed_init("singleton", &[ip])).expect("a text seed");
    node.put(SEED, seed.as_bytes(), 0o600);

    // First boot: the unit applies the seed.
    let t = Instant::now();
    node.boot();
    let first_boot = t.elapsed();
    assert_eq!(unit_state(node), "active", "{}", unit_log(node));
    let first = result(node);
    assert_eq!(first["status"], "ok", "{first}");
    assert_eq!(first["error"], Value::Null);
    let first_changes = first["changes"].as_array().map_or(0, Vec::len);
    assert!(
        first["changes"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c == "file:/etc/hosts")),
        "{first}"
    );
    assert_eq!(
        node.ok("systemctl is-active etcd haproxy prometheus-node-exporter patroni pgbouncer"),
        "active\nactive\nactive\nactive\nactive\n"
    );
    assert_eq!(
        node.ok("runuser -u postgres -- psql -XAt -d meta -c 'SELECT pg_is_in_recovery()'"),
        "f\n"
    );
    assert_eq!(node.ok("hostname"), "pg-meta-1\n");
    let stamp = node.ok("cat /var/lib/pig/state.json");
    assert!(stamp.contains(first["seed_digest"].as_str().expect("a digest")));

    // Reboot, same seed: the unit runs and does nothing.
    let second_boot = reboot(node);
    assert_eq!(unit_state(node), "active");
    let log = unit_log(node);
    assert!(log.contains("seed unchanged"), "{log}");
    assert!(!log.contains("applying"), "{log}");
    assert_eq!(node.ok("cat /var/lib/pig/state.json"), stamp);
    assert_eq!(result(node), first);

    // A changed seed is applied on the next boot.
    let changed = seed.replacen(
        "\n  vars:\n",
        "\n  vars:\n    node_timezone: Europe/Berlin\n",
        1,
    );
    assert_ne!(changed, seed);
    node.put(SEED, changed.as_bytes(), 0o600);
    reboot(node);
    assert_eq!(unit_state(node), "active", "{}", unit_log(node));
    let third = result(node);
    assert_eq!(third["status"], "ok", "{third}");
    assert_ne!(third["seed_digest"], first["seed_digest"]);
    assert!(
        third["changes"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c == "file:/etc/timezone")),
        "{third}"
    );
    assert_eq!(node.ok("cat /etc/timezone"), "Europe/Berlin\n");
    assert_ne!(node.ok("cat /var/lib/pig/state.json"), stamp);

    // A broken seed: failed unit, result.json with the error, a banner.
    node.put(SEED, b"all:\n  children: [\n", 0o600);
    reboot(node);
    assert_eq!(unit_state(node), "failed", "{}", unit_log(node));
    let failed = result(node);
    assert_eq!(failed["status"], "failed", "{failed}");
    let error = failed["error"].as_str().expect("an error").to_string();
    assert!(error.contains(SEED), "{error}");
    let console = node.console();
    // Once: the unit's journal+console carries stderr to the console, so
    // pig-install does not write there a second time.
    assert_eq!(
        console.matches("pig-install FIRST BOOT FAILED").count(),
        1,
        "{console}"
    );
    assert!(console.contains(RESULT), "{console}");
    let log = unit_log(node);
    assert!(log.contains("FIRST BOOT FAILED"), "{log}");
    assert!(log.contains(&error), "{log}");

    // Same broken seed on the next boot: apply does not run again.
    reboot(node);
    assert_eq!(unit_state(node), "failed");
    let log = unit_log(node);
    assert!(log.contains("not retrying"), "{log}");
    assert!(!log.contains("applying"), "{log}");
    assert_eq!(result(node), failed);
    assert!(node.console().contains("FIRST BOOT FAILED"));

    eprintln!(
        "figures: rootfs {:.1?}, first boot with apply {:.1?} ({} changes), boot with unchanged seed {:.1?}",
        bed.rootfs_time, first_boot, first_changes, second_boot
    );
}
