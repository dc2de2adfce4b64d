//! The pig-install binary: `seed init` → `seed check` round trips, file
//! mode, the CA as openssl reads it, `identify`, exit codes and help width.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use pig_install::seed::Seed;

fn pig(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pig-install"))
        .args(args)
        .output()
        .expect("run pig-install")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn init(dir: &Path, name: &str, extra: &[&str]) -> std::path::PathBuf {
    let out = dir.join(name);
    let mut args = vec!["seed", "init", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = pig(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    out
}

/// `seed check SEED --packages LIST`.
fn check_against(seed: &Path, packages: &Path) -> Output {
    pig(&[
        "seed",
        "check",
        seed.to_str().unwrap(),
        "--packages",
        packages.to_str().unwrap(),
    ])
}

#[test]
fn init_then_check_round_trips_for_both_templates() {
    let dir = tempfile::tempdir().unwrap();
    let one = init(dir.path(), "one.yml", &["--hosts", "192.168.50.7"]);
    let o = pig(&["seed", "check", one.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("192.168.50.7    roles: node, infra, etcd, pgsql"),
        "{out}"
    );
    assert!(
        out.contains("pgsql pg-meta: 192.168.50.7 (seq 1, primary)"),
        "{out}"
    );

    let three = init(
        dir.path(),
        "three.yml",
        &["--template", "ha3", "--hosts", "10.1.0.1,10.1.0.2,10.1.0.3"],
    );
    let o = pig(&["seed", "check", three.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let members = &report["pg_clusters"][0]["members"];
    assert_eq!(members.as_array().unwrap().len(), 3);
    assert_eq!(members[0]["pg_role"], "primary");
    assert_eq!(members[2]["pg_role"], "replica");
    assert_eq!(report["etcd"].as_array().unwrap().len(), 3);
    assert_eq!(report["infra"][0]["ip"], "10.1.0.1");

    // the library reads it too, without the insecure flag, and every
    // generated credential is long and unique
    let seed = Seed::load(&three).unwrap();
    let secrets = seed.pig().secrets();
    assert!(secrets.len() >= 9, "{secrets:?}");
    for (name, value) in secrets {
        assert!(value.len() >= 24, "{name}: {value}");
    }
    let mut values: Vec<&String> = secrets.iter().map(|(_, v)| v).collect();
    values.sort();
    values.dedup();
    assert_eq!(values.len(), secrets.len());
}

#[test]
fn init_writes_0600_fresh_secrets_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let a = init(dir.path(), "a.yml", &[]);
    let b = init(dir.path(), "b.yml", &[]);
    let mode = std::fs::metadata(&a).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (sa, sb) = (Seed::load(&a).unwrap(), Seed::load(&b).unwrap());
    for ((name, va), (_, vb)) in sa.pig().secrets().iter().zip(sb.pig().secrets()) {
        assert_ne!(va, vb, "{name} repeated across two inits");
    }
    assert_ne!(sa.pig().ca, sb.pig().ca);

    let before = std::fs::read(&a).unwrap();
    let o = pig(&["seed", "init", "--out", a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("pass --force"), "{}", text(&o));
    assert_eq!(std::fs::read(&a).unwrap(), before);
    let o = pig(&["seed", "init", "--out", a.to_str().unwrap(), "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_ne!(std::fs::read(&a).unwrap(), before);
    // no temporary files left beside it
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);

    let o = pig(&[
        "seed",
        "init",
        "--out",
        "x.yml",
        "--template",
        "ha3",
        "--hosts",
        "10.0.0.1",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("needs 3 host address(es), got 1"),
        "{}",
        text(&o)
    );
}

#[test]
fn ca_is_a_ca_for_openssl() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipping: openssl not installed (apt-get install openssl)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = init(dir.path(), "seed.yml", &[]);
    let seed = Seed::load(&path).unwrap();
    let ca = seed.pig().ca.clone().expect("seed init writes a CA");
    let cert = dir.path().join("ca.crt");
    std::fs::write(&cert, &ca.cert).unwrap();
    let o = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&cert)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("CA:TRUE"), "{out}");
    assert!(out.contains("Certificate Sign"), "{out}");
    assert!(
        out.contains("CN=pigsty-ca") || out.contains("CN = pigsty-ca"),
        "{out}"
    );
    assert!(out.contains("prime256v1") || out.contains("P-256"), "{out}");

    // ten years of validity
    let o = Command::new("openssl")
        .args(["x509", "-noout", "-checkend"])
        .arg((9 * 365 * 86400).to_string())
        .arg("-in")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(o.status.success(), "expires within 9 years: {}", text(&o));

    // the key is the certificate's key
    let key = dir.path().join("ca.key");
    std::fs::write(&key, &ca.key).unwrap();
    let pubkey = |args: &[&str], file: &Path| {
        let o = Command::new("openssl")
            .args(args)
            .arg(file)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        o.stdout
    };
    assert_eq!(
        pubkey(&["x509", "-noout", "-pubkey", "-in"], &cert),
        pubkey(&["pkey", "-pubout", "-in"], &key)
    );
    // self-signed and verifies against itself
    let o = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(&cert)
        .arg(&cert)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn check_exit_codes_and_packages() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "all:\n  vars:\n    pg_clustr: x\n").unwrap();
    let o = pig(&["seed", "check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(
            "bad.yml:3: all.vars.pg_clustr: unknown parameter (did you mean pg_cluster?)"
        ),
        "{}",
        text(&o)
    );
    let o = pig(&[
        "seed",
        "check",
        dir.path().join("absent.yml").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = pig(&["seed", "check", "--no-such-flag"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    // Pigsty's default version, absent from Debian 12's packages.
    let seed = init(dir.path(), "seed.yml", &["--pg-version", "18"]);
    let packages = dir.path().join("packages.txt");
    std::fs::write(
        &packages,
        "postgresql-15\npatroni\npgbouncer\npgbackrest\nhaproxy\netcd-server\n",
    )
    .unwrap();
    let o = check_against(&seed, &packages);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o)
            .contains("MISSING pg_version 18 (all.vars.pg_version): bundle has PostgreSQL 15 only"),
        "{}",
        text(&o)
    );
    // seed init's own default is the version the package list has.
    let seed = init(dir.path(), "debian.yml", &[]);
    let o = check_against(&seed, &packages);
    assert!(
        text(&o).contains("ok      pg_version 15: present"),
        "{}",
        text(&o)
    );
}

#[test]
fn identify_forced_host_and_no_match() {
    let dir = tempfile::tempdir().unwrap();
    let seed = init(dir.path(), "seed.yml", &["--template", "ha3"]);
    let o = pig(&[
        "identify",
        "--seed",
        seed.to_str().unwrap(),
        "--host",
        "10.10.10.11",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "10.10.10.11 (pg-meta-2): node, etcd, pgsql\n"
    );
    let o = pig(&[
        "identify",
        "--seed",
        seed.to_str().unwrap(),
        "--host",
        "10.10.10.99",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("matches no host of the inventory; its hosts are: 10.10.10.10 (pg-meta-1), 10.10.10.11 (pg-meta-2), 10.10.10.12 (pg-meta-3)"),
        "{}",
        text(&o)
    );
    // this machine is none of the sandbox addresses
    let o = pig(&["identify", "--seed", seed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("its hosts are:"), "{}", text(&o));
}

#[test]
fn help_fits_80_columns() {
    for args in [
        &["--help"][..],
        &["seed", "--help"],
        &["seed", "init", "--help"],
        &["seed", "check", "--help"],
        &["identify", "--help"],
    ] {
        let o = pig(args);
        assert!(o.status.success(), "{}", text(&o));
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            assert!(line.chars().count() <= 80, "{args:?}: {line}");
        }
    }
}

#[test]
fn init_pg_version_from_flag_bundle_or_debian_default() {
    let dir = tempfile::tempdir().unwrap();
    let version = |path: &Path| {
        let text = std::fs::read_to_string(path).unwrap();
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("pg_version:"))
            .unwrap_or_else(|| panic!("no pg_version in\n{text}"));
        line.trim().to_string()
    };
    let plain = init(dir.path(), "plain.yml", &[]);
    assert_eq!(version(&plain), "pg_version: 15");
    assert!(
        std::fs::read_to_string(&plain)
            .unwrap()
            .contains("\n    pgbouncer_sslmode: prefer\n")
    );
    let flag = init(dir.path(), "flag.yml", &["--pg-version", "17"]);
    assert_eq!(version(&flag), "pg_version: 17");

    // A bundle as the builder packs it (tar + gzip, pigsty/MANIFEST.json).
    let tree = dir.path().join("tree/pigsty");
    std::fs::create_dir_all(&tree).unwrap();
    let manifest = serde_json::json!({
        "format": 1,
        "packages": [
            { "name": "postgresql-client-17", "version": "17.2-1" },
            { "name": "postgresql-16", "version": "16.6-1" },
            { "name": "postgresql-15", "version": "15.10-0+deb12u1" },
            { "name": "postgresql-common", "version": "248" },
        ],
    });
    std::fs::write(tree.join("MANIFEST.json"), manifest.to_string()).unwrap();
    let bundle = dir.path().join("pigsty-pkg-test.tgz");
    let o = Command::new("tar")
        .arg("-czf")
        .arg(&bundle)
        .arg("-C")
        .arg(dir.path().join("tree"))
        .arg("pigsty")
        .output()
        .expect("run tar");
    assert!(o.status.success(), "{}", text(&o));
    let bundled = init(
        dir.path(),
        "bundled.yml",
        &["--bundle", bundle.to_str().unwrap()],
    );
    assert_eq!(version(&bundled), "pg_version: 16");
    let o = pig(&["seed", "check", bundled.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Not a tarball: refused, naming the file.
    let junk = dir.path().join("junk.tgz");
    std::fs::write(&junk, b"not a bundle").unwrap();
    let out = dir.path().join("junk.yml");
    let o = pig(&[
        "seed",
        "init",
        "--bundle",
        junk.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("junk.tgz"), "{}", text(&o));
}
