//! End-to-end: `apply --bundle` unpacks a bundle laid out as pig-build
//! lays it out (`pigsty/` flat repo, InRelease, `pigsty-repo-key.pub.asc`,
//! `repo_complete`) under /www and installs a package from it alone: the
//! node has no other network, and apt is pointed at the bundle's sources
//! file only. The fixture repo is made here with dpkg-deb, apt-ftparchive
//! and gpg (RSA 3072, as apt's gpgv accepts).

mod testbed;

use std::path::Path;
use std::process::Command;

use testbed::{Bed, seed_init};

fn must(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tool(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A bundle holding one package, `pig-testbed-hello`.
fn make_bundle(dir: &Path) -> std::path::PathBuf {
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(pkg.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(pkg.join("usr/share/pig-testbed-hello")).unwrap();
    std::fs::write(
        pkg.join("DEBIAN/control"),
        "Package: pig-testbed-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: pig <pig@localhost>\nDescription: pig test bed package\n",
    )
    .unwrap();
    std::fs::write(pkg.join("usr/share/pig-testbed-hello/hello"), "hello\n").unwrap();
    let repo = dir.join("pigsty");
    std::fs::create_dir_all(&repo).unwrap();
    must(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "--build"])
            .arg(&pkg)
            .arg(repo.join("pig-testbed-hello_1.0_all.deb")),
    );
    let packages = Command::new("apt-ftparchive")
        .args(["packages", "."])
        .current_dir(&repo)
        .output()
        .unwrap();
    std::fs::write(repo.join("Packages"), packages.stdout).unwrap();
    let release = Command::new("apt-ftparchive")
        .args([
            "-o",
            "APT::FTPArchive::Release::Origin=pigsty",
            "release",
            ".",
        ])
        .current_dir(&repo)
        .output()
        .unwrap();
    std::fs::write(repo.join("Release"), release.stdout).unwrap();
    let home = dir.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    let gpg = |args: &[&str]| {
        let mut c = Command::new("gpg");
        c.arg("--homedir")
            .arg(&home)
            .args(["--batch", "--quiet"])
            .args(args);
        c
    };
    must(&mut gpg(&[
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
        "--quick-gen-key",
        "pig test bed <pig@localhost>",
        "rsa3072",
        "sign",
        "never",
    ]));
    must(
        gpg(&["--clearsign", "--digest-algo", "SHA256", "--output"])
            .arg(repo.join("InRelease"))
            .arg(repo.join("Release")),
    );
    must(
        gpg(&["--armor", "--export", "--output"])
            .arg(repo.join("pigsty-repo-key.pub.asc"))
            .arg("pig@localhost"),
    );
    std::fs::write(repo.join("MANIFEST.json"), "{}\n").unwrap();
    std::fs::write(repo.join("repo_complete"), "").unwrap();
    let bundle = dir.join("pigsty-pkg-test.d12.x86_64.tgz");
    must(
        Command::new("tar")
            .arg("-czf")
            .arg(&bundle)
            .arg("-C")
            .arg(dir)
            .arg("pigsty"),
    );
    bundle
}

#[test]
fn bundle_packages_install_from_the_local_repo_only() {
    for t in ["dpkg-deb", "apt-ftparchive", "gpg"] {
        if !tool(t) {
            eprintln!("skipping: {t} is not installed");
            return;
        }
    }
    let ip = "10.88.4.10";
    let Some(bed) = Bed::start(&[ip]) else {
        return;
    };
    let node = &bed.nodes[0];
    let dir = tempfile::tempdir().unwrap();
    let bundle = make_bundle(dir.path());
    node.install_pig();
    node.put("/root/bundle.tgz", &std::fs::read(&bundle).unwrap(), 0o644);
    let seed = String::from_utf8(seed_init("singleton", &[ip]))
        .unwrap()
        .replace(
            "    node_tune: oltp\n",
            "    node_tune: oltp\n    node_default_packages: [pig-testbed-hello]\n",
        );
    node.put("/etc/pig/seed.yml", seed.as_bytes(), 0o600);

    let plan = node.ok("pig-install plan --role node --bundle /root/bundle.tgz");
    assert!(plan.contains("install pig-testbed-hello"), "{plan}");
    node.ok("pig-install apply --role node --bundle /root/bundle.tgz");
    assert_eq!(node.ok("cat /usr/share/pig-testbed-hello/hello"), "hello\n");
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
}
