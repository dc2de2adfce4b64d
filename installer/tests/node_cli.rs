//! `plan`, `apply` and `status` argument handling that needs no node:
//! refusals exit 2 before reading the machine (checked with `plan`, which
//! only reads, so a wrong acceptance could not change this host), and the
//! help fits 80 columns.

use std::path::Path;
use std::process::{Command, Output};

fn pig(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pig-install"))
        .args(args)
        .output()
        .expect("running pig-install")
}

fn seed(dir: &Path, ip: &str) -> String {
    let path = dir.join("seed.yml");
    let out = pig(&[
        "seed",
        "init",
        "--hosts",
        ip,
        "--out",
        &path.to_string_lossy(),
    ]);
    assert!(out.status.success());
    path.to_string_lossy().into_owned()
}

fn refused(args: &[&str], message: &str) {
    let out = pig(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(message),
        "{args:?}: expected {message:?} in {stderr}"
    );
    assert!(out.stdout.is_empty(), "{args:?} printed a plan");
}

#[test]
fn refusals_exit_2_and_name_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed(dir.path(), "10.77.0.1");
    // 10.77.0.1 is no address of this machine: forced with --host. A
    // node the seed does not list exits 1, as `identify` does.
    for args in [
        &["plan", "--seed", &seed][..],
        &["plan", "--seed", &seed, "--host", "10.77.0.2"],
    ] {
        let out = pig(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("matches no host of the inventory"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());
    }
    refused(
        &[
            "plan",
            "--seed",
            &seed,
            "--host",
            "10.77.0.1",
            "--role",
            "minio",
        ],
        "does not give host 10.77.0.1 the minio role (its roles: node, infra, etcd, pgsql)",
    );
    refused(
        &[
            "plan",
            "--seed",
            &seed,
            "--host",
            "10.77.0.1",
            "--bundle",
            "/nonexistent.tgz",
        ],
        "--bundle /nonexistent.tgz: no such file",
    );
    // A seed made for one bundle refuses any other (or a damaged copy).
    let bundle = dir.path().join("pigsty-pkg-test.tgz");
    std::fs::write(&bundle, b"the bundle this seed was made for").unwrap();
    let digest = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            b"the bundle this seed was made for"
        ))
    );
    // `seed init --bundle` pins the seed to that bundle's digest.
    let pinned = dir.path().join("pinned.yml");
    let out = pig(&[
        "seed",
        "init",
        "--hosts",
        "10.77.0.1",
        "--bundle",
        &bundle.to_string_lossy(),
        // Not a real bundle: no manifest to read the version from.
        "--pg-version",
        "15",
        "--out",
        &pinned.to_string_lossy(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&pinned).unwrap();
    assert!(text.contains(&format!("\n  bundle: {digest}\n")), "{text}");
    std::fs::write(&bundle, b"the bundle this seed was made for, tampered").unwrap();
    refused(
        &[
            "plan",
            "--seed",
            &pinned.to_string_lossy(),
            "--host",
            "10.77.0.1",
            "--bundle",
            &bundle.to_string_lossy(),
        ],
        &format!("but the seed names {digest} (pig.bundle)"),
    );
    // The right bundle passes this check (plan reads the machine only).
    std::fs::write(&bundle, b"the bundle this seed was made for").unwrap();
    let out = pig(&[
        "plan",
        "--seed",
        &pinned.to_string_lossy(),
        "--host",
        "10.77.0.1",
        "--bundle",
        &bundle.to_string_lossy(),
    ]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("pig.bundle"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "all:\n  vars: { node_tune: fast }\n").unwrap();
    refused(
        &[
            "apply",
            "--seed",
            &bad.to_string_lossy(),
            "--host",
            "10.77.0.1",
        ],
        "all.vars.node_tune",
    );
}

#[test]
fn help_fits_80_columns() {
    for cmd in ["plan", "apply", "status"] {
        let out = pig(&[cmd, "--help"]);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("--role"), "{cmd}: {text}");
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{cmd}: {line}");
        }
    }
}
