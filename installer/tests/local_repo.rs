//! End-to-end: `apply --bundle` unpacks the real pig bundle the test bed
//! is made from (built by pig-build from the Debian mirror) under /www,
//! checks it against the digest `seed init --bundle` pinned in the seed,
//! and installs a package the node lacks from it alone: the node has no
//! other network, and apt is pointed at the bundle's sources file only.

mod testbed;

use testbed::Bed;

/// In the bundle (the PGSQL module's closure) but not in the bed's root
/// filesystem, so apply must install it from the unpacked bundle.
const PACKAGE: &str = "pgbadger";

#[test]
fn bundle_packages_install_from_the_local_repo_only() {
    let ip = "10.88.4.10";
    let Some(mut bed) = Bed::create(&[ip]) else {
        return;
    };
    let bundle = std::fs::read(&bed.bundle).unwrap();
    let node = &mut bed.nodes[0];
    // A node without a repository: the bundle must provide it.
    std::fs::remove_dir_all(node.root.join("www")).unwrap();
    node.boot();
    assert!(!node.sh(&format!("command -v {PACKAGE}")).status.success());
    node.install_pig();
    node.put("/root/bundle.tgz", &bundle, 0o644);
    node.ok(&format!(
        "pig-install seed init --hosts {ip} --bundle /root/bundle.tgz --out /root/seed.yml"
    ));
    let seed = node.ok("cat /root/seed.yml").replace(
        "    node_tune: oltp\n",
        &format!("    node_tune: oltp\n    node_default_packages: [{PACKAGE}]\n"),
    );
    node.put("/etc/pig/seed.yml", seed.as_bytes(), 0o600);

    let plan = node.ok("pig-install plan --role node --bundle /root/bundle.tgz");
    assert!(plan.contains(&format!("install {PACKAGE}")), "{plan}");
    node.ok("pig-install apply --role node --bundle /root/bundle.tgz");
    node.ok(&format!("command -v {PACKAGE}"));
    let sources = node.ok("cat /etc/apt/sources.list.d/pigsty.sources");
    assert!(
        sources.contains("Signed-By: /www/pigsty/pigsty-repo-key.pub.asc"),
        "{sources}"
    );
    assert!(!sources.contains("trusted"));
    assert!(
        node.ok("pig-install apply --role node --bundle /root/bundle.tgz")
            .starts_with("0 change(s) applied")
    );
    // Without the bundle the unpacked repository under /www is used.
    assert!(
        node.ok("pig-install plan --role node")
            .contains("0 change(s)")
    );
    // A damaged copy of the bundle is refused before any change.
    node.ok("head -c 1000000 /root/bundle.tgz > /root/damaged.tgz");
    let out = node.sh("pig-install apply --role node --bundle /root/damaged.tgz");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pig.bundle"), "{err}");
}
