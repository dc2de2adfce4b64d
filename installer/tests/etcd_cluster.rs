//! End-to-end: three nspawn nodes form a 3-member etcd cluster over TLS
//! from one shared seed, and keep accepting writes with one member down.

mod testbed;

use std::time::Instant;

use testbed::{Bed, seed_init};

const ETCDCTL: &str = "etcdctl --cacert=/etc/etcd/pki/ca.crt --cert=/etc/etcd/pki/etcd.crt \
                       --key=/etc/etcd/pki/etcd.key --dial-timeout=3s --command-timeout=5s";

/// Acceptance 3.
#[test]
fn three_nodes_form_a_tls_etcd_cluster_that_survives_one_loss() {
    let ips = ["10.88.3.11", "10.88.3.12", "10.88.3.13"];
    let Some(mut bed) = Bed::start(&ips) else {
        return;
    };
    let seed = seed_init("ha3", &ips);
    for node in &bed.nodes {
        node.install_pig();
        node.put("/etc/pig/seed.yml", &seed, 0o600);
    }
    // Members wait for each other's peers: apply on all three at once.
    let t = Instant::now();
    let results: Vec<(String, std::process::Output)> = std::thread::scope(|s| {
        let handles: Vec<_> = bed
            .nodes
            .iter()
            .map(|node| {
                s.spawn(|| {
                    (
                        node.ip.clone(),
                        node.sh("pig-install apply --role node,etcd"),
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("apply thread"))
            .collect()
    });
    let apply_time = t.elapsed();
    for ((ip, out), node) in results.iter().zip(&bed.nodes) {
        assert!(
            out.status.success(),
            "apply on {ip}: {}{}\netcd journal:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&node.sh("journalctl -u etcd --no-pager -n 40").stdout)
        );
    }

    let all: Vec<String> = ips.iter().map(|ip| format!("https://{ip}:2379")).collect();
    let first = &bed.nodes[0];
    let members = first.ok(&format!("{ETCDCTL} --endpoints={} member list", all[0]));
    assert_eq!(members.lines().count(), 3, "{members}");
    for (i, ip) in ips.iter().enumerate() {
        assert!(
            members.contains(&format!("etcd-{}, https://{ip}:2380", i + 1)),
            "{members}"
        );
    }
    first.ok(&format!(
        "{ETCDCTL} --endpoints={} endpoint health",
        all.join(",")
    ));
    // Peers talk TLS only: a client without a certificate is refused.
    assert!(
        !first
            .sh(&format!(
                "etcdctl --cacert=/etc/etcd/pki/ca.crt --dial-timeout=3s --endpoints={} get x",
                all[1]
            ))
            .status
            .success()
    );
    // Second apply on every node: nothing to do.
    for node in &bed.nodes {
        assert!(
            node.ok("pig-install apply --role node,etcd")
                .starts_with("0 change(s) applied")
        );
    }

    bed.nodes[2].stop();
    let two = format!("{},{}", all[0], all[1]);
    bed.nodes[0].ok(&format!(
        "{ETCDCTL} --endpoints={two} put /pig/quorum still-here"
    ));
    let got = bed.nodes[1].ok(&format!(
        "{ETCDCTL} --endpoints={} get --print-value-only /pig/quorum",
        all[1]
    ));
    assert_eq!(got, "still-here\n");
    eprintln!(
        "figures: rootfs {:.1?}, boots {:?}, parallel apply of 3 nodes {:.1?}",
        bed.rootfs_time,
        bed.nodes.iter().map(|n| n.boot_time).collect::<Vec<_>>(),
        apply_time
    );
}
