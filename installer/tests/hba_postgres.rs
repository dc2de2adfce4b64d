//! The rendered pg_hba.conf against a real PostgreSQL: the server loads
//! it without a single rule error, and its first-match order does what
//! Pigsty's default rules promise for the admin user (TLS required from
//! anywhere outside the intranet, right password only).
//!
//! Needs root, a `postgres` user and a PostgreSQL server under
//! /usr/lib/postgresql (package postgresql); without them the test says
//! why and returns.

use std::os::unix::fs::chown;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pig_install::roles::Context;
use pig_install::roles::pgsql::hba;
use pig_install::seed::init::{self, Template};
use pig_install::seed::{LoadOptions, Seed};

fn server_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("postgres").exists() && b.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

fn uid_gid(user: &str) -> Option<(u32, u32)> {
    let out = Command::new("id").args(["-u", user]).output().ok()?;
    let gid = Command::new("id").args(["-g", user]).output().ok()?;
    let num = |o: &Output| String::from_utf8_lossy(&o.stdout).trim().parse().ok();
    Some((num(&out)?, num(&gid)?))
}

fn as_postgres(args: &[&str]) -> Output {
    Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .args(args)
        .output()
        .expect("running runuser")
}

fn psql(bin: &Path, conn: &str, password: Option<&str>, sql: &str) -> Output {
    let mut cmd = Command::new(bin.join("psql"));
    cmd.args(["-X", "-Atc", sql, conn]);
    match password {
        Some(p) => cmd.env("PGPASSWORD", p),
        None => cmd.env_remove("PGPASSWORD"),
    };
    cmd.output().expect("running psql")
}

#[test]
fn postgres_loads_the_rules_and_enforces_them() {
    let Some(bin) = server_bin() else {
        eprintln!("skipped: no PostgreSQL server under /usr/lib/postgresql");
        return;
    };
    let Some((uid, gid)) = uid_gid("postgres") else {
        eprintln!("skipped: no postgres user");
        return;
    };
    let me = Command::new("id").arg("-u").output().expect("running id");
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        eprintln!("skipped: needs root to run the server as postgres");
        return;
    }

    // The singleton seed with one business rule added.
    let text = init::render(
        Template::Singleton,
        &["10.77.0.1".parse().unwrap()],
        None,
        15,
    )
    .unwrap();
    let text = text.replacen(
        "        pg_cluster: pg-meta\n",
        "        pg_cluster: pg-meta\n        pg_hba_rules:\n          \
         - { user: dbuser_app, db: postgres, addr: localhost, auth: pwd, title: app, order: 50 }\n",
        1,
    );
    let seed = Seed::from_str_with(&text, "seed.yml", LoadOptions::default()).unwrap();
    let host = seed.host("10.77.0.1".parse().unwrap()).unwrap();
    let ctx = Context {
        seed: &seed,
        host,
        bundle: None,
        local_repo: false,
        machine: None,
    };
    let rules = hba::pg_hba_conf(&ctx).unwrap();
    let rule_lines = rules
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count();

    let dir = tempfile::Builder::new()
        .prefix("pig-hba-")
        .tempdir_in("/tmp")
        .unwrap();
    let root = dir.path();
    chown(root, Some(uid), Some(gid)).unwrap();
    let data = root.join("data");
    let hba_file = root.join("pg_hba.conf");
    std::fs::write(&hba_file, &rules).unwrap();
    let ca = init::generate_ca("localhost").unwrap();
    std::fs::write(root.join("server.crt"), &ca.cert).unwrap();
    std::fs::write(root.join("server.key"), &ca.key).unwrap();
    for f in ["pg_hba.conf", "server.crt", "server.key"] {
        chown(root.join(f), Some(uid), Some(gid)).unwrap();
    }
    std::fs::set_permissions(
        root.join("server.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let out = as_postgres(&[
        &s(&bin.join("initdb")),
        "-D",
        &s(&data),
        "-U",
        "postgres",
        "-A",
        "peer",
        "--no-sync",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = 20000 + std::process::id() % 20000;
    let options = format!(
        "-c hba_file={} -c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={} \
         -c ssl=on -c ssl_cert_file={} -c ssl_key_file={} -c password_encryption=scram-sha-256",
        s(&hba_file),
        s(root),
        s(&root.join("server.crt")),
        s(&root.join("server.key")),
    );
    let log = root.join("postgres.log");
    let out = as_postgres(&[
        &s(&bin.join("pg_ctl")),
        "-D",
        &s(&data),
        "-o",
        &options,
        "-l",
        &s(&log),
        "-w",
        "start",
    ]);
    let started = out.status.success();
    let check = || -> Result<(), String> {
        if !started {
            return Err(format!(
                "server did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ));
        }
        let socket = format!("host={} port={port} dbname=postgres", s(root));
        // The dbsu reaches the server over the socket by ident (peer).
        let q = as_postgres(&[
            &s(&bin.join("psql")),
            "-X",
            "-Atc",
            "SELECT count(*), count(error) FROM pg_hba_file_rules; \
             CREATE ROLE dbuser_dba SUPERUSER LOGIN PASSWORD 'Adm1n.pw'; \
             CREATE ROLE dbuser_app LOGIN PASSWORD 'App.pw'",
            &socket,
        ]);
        let stdout = String::from_utf8_lossy(&q.stdout);
        if !q.status.success() {
            return Err(format!(
                "dbsu query: {}",
                String::from_utf8_lossy(&q.stderr)
            ));
        }
        if stdout.lines().next() != Some(&format!("{rule_lines}|0")) {
            return Err(format!(
                "pg_hba_file_rules: {stdout} (expected {rule_lines} rules, 0 errors)"
            ));
        }
        let tcp = |user: &str, ssl: &str| {
            format!("host=127.0.0.1 port={port} dbname=postgres user={user} sslmode={ssl}")
        };
        let ok = |o: &Output| o.status.success();
        // Admin from 127.0.0.1: only the `world` rule matches, and it is hostssl.
        let plain = psql(
            &bin,
            &tcp("dbuser_dba", "disable"),
            Some("Adm1n.pw"),
            "SELECT 1",
        );
        if ok(&plain) || !String::from_utf8_lossy(&plain.stderr).contains("no pg_hba.conf entry") {
            return Err(format!(
                "admin without TLS: {}",
                String::from_utf8_lossy(&plain.stderr)
            ));
        }
        if !ok(&psql(
            &bin,
            &tcp("dbuser_dba", "require"),
            Some("Adm1n.pw"),
            "SELECT 1",
        )) {
            return Err("admin over TLS with the right password was refused".into());
        }
        let wrong = psql(
            &bin,
            &tcp("dbuser_dba", "require"),
            Some("wrong"),
            "SELECT 1",
        );
        if ok(&wrong)
            || !String::from_utf8_lossy(&wrong.stderr).contains("password authentication failed")
        {
            return Err(format!(
                "admin wrong password: {}",
                String::from_utf8_lossy(&wrong.stderr)
            ));
        }
        // The seed's own rule (order 50) lets the app user in from localhost.
        if !ok(&psql(
            &bin,
            &tcp("dbuser_app", "disable"),
            Some("App.pw"),
            "SELECT 1",
        )) {
            return Err("app user from localhost with its password was refused".into());
        }
        Ok(())
    };
    let result = check();
    let _ = as_postgres(&[
        &s(&bin.join("pg_ctl")),
        "-D",
        &s(&data),
        "-m",
        "immediate",
        "-w",
        "stop",
    ]);
    result.unwrap();
}
