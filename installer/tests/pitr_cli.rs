//! `pitr` argument handling and its step list, shown with `--dry-run`
//! (which runs nothing, so these tests cannot touch this machine). The
//! steps' effect on a running cluster needs the PGSQL role and its
//! nspawn test bed.

use std::path::Path;
use std::process::{Command, Output};

fn pig(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pig-install"))
        .args(args)
        .output()
        .expect("running pig-install")
}

fn seed(dir: &Path) -> String {
    let path = dir.join("seed.yml");
    let out = pig(&[
        "seed",
        "init",
        "--template",
        "ha3",
        "--hosts",
        "10.77.0.1,10.77.0.2,10.77.0.3",
        "--out",
        &path.to_string_lossy(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    path.to_string_lossy().into_owned()
}

#[test]
fn dry_run_lists_the_steps_for_the_primary() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed(dir.path());
    let out = pig(&[
        "pitr",
        "--seed",
        &seed,
        "--host",
        "10.77.0.1",
        "--time",
        "2026-11-29 20:15:00+00",
        "--dry-run",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["cluster"], "pg-meta");
    assert_eq!(doc["target"], "time 2026-11-29 20:15:00+00");
    let steps = doc["steps"].as_array().unwrap();
    let kinds: Vec<&str> = steps.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "check", "run", "run", "run", "run", "wait", "run", "run", "run", "run", "run"
        ]
    );
    let restore: Vec<&str> = steps[3]["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        restore,
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            "/usr/bin/pgbackrest",
            "--stanza=pg-meta",
            "--delta",
            "--type=time",
            "--target=2026-11-29 20:15:00+00",
            "--target-action=promote",
            "restore"
        ]
    );
    // PostgreSQL's own tools come from Debian's layout for pg_version 15
    // (seed init's default without a bundle).
    assert_eq!(steps[2]["argv"][4], "/usr/lib/postgresql/15/bin/pg_ctl");
    // The two replicas of the ha3 seed are rebuilt last.
    assert_eq!(
        steps[10]["argv"].as_array().unwrap().last().unwrap(),
        "pg-meta-3"
    );

    let text = pig(&[
        "pitr",
        "--seed",
        &seed,
        "--host",
        "10.77.0.1",
        "--backup",
        "20261129-201500F",
        "--dry-run",
    ]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with("pitr of pg-meta to end of backup 20261129-201500F, steps:\n"));
    assert!(text.contains(
        "\n 4. restore pg-meta to end of backup 20261129-201500F with pgBackRest\n    \
         runuser -u postgres -- /usr/bin/pgbackrest --stanza=pg-meta --delta \
         --set=20261129-201500F --type=immediate --target-action=promote restore\n"
    ));
    // An argument with a space is quoted for the shell.
    assert!(text.contains("-Atc 'SELECT pg_is_in_recovery()'"), "{text}");
}

#[test]
fn bad_targets_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed(dir.path());
    let base = ["pitr", "--seed", &seed, "--host", "10.77.0.1", "--dry-run"];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        pig(&args)
    };
    // No target, or two: clap refuses with its usage status, 2.
    for extra in [&[][..], &["--lsn", "0/1", "--name", "x"]] {
        let out = run(extra);
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert!(out.stdout.is_empty());
    }
    let out = run(&["--time", "2026-11-29 20:15:00"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--time \"2026-11-29 20:15:00\": expected a timestamp with its zone"),
        "{stderr}"
    );
    let out = run(&["--lsn", "3000060"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_fits_80_columns() {
    let out = pig(&["pitr", "--help"]);
    assert!(out.status.success());
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        assert!(line.chars().count() <= 80, "{line}");
    }
}
