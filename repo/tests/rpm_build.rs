//! build_rpm: deterministic packages that rpm itself accepts, installs and
//! describes as specified.

mod rpm_common;

use std::fs;
use std::process::Command;

use pig_repo::rpm::header::{
    Dependency, FileKind, RpmSpec, SpecEntry, SpecScripts, build_rpm, read_rpm,
};
use pig_repo::rpm::version::{Evr, Op};
use rpm_common::run;

fn spec() -> RpmSpec {
    let mut pre = Dependency::any("/bin/sh");
    pre.pre = true;
    RpmSpec {
        name: "pig".into(),
        epoch: Some(1),
        version: "0.1.0~rc1".into(),
        release: "1".into(),
        arch: "x86_64".into(),
        summary: "PostgreSQL appliance builder".into(),
        description: "pig builds air-gapped PostgreSQL appliances.".into(),
        license: "Apache-2.0".into(),
        url: Some("https://example.invalid/pig".into()),
        vendor: Some("pig".into()),
        packager: None,
        build_time: 1_700_000_000,
        build_host: "pig".into(),
        files: vec![
            SpecEntry {
                path: "/usr/bin/pig-install".into(),
                bytes: b"#!/bin/sh\necho pig\n".to_vec(),
                mode: 0o755,
                config: false,
            },
            SpecEntry {
                path: "/etc/pig/pig.yml".into(),
                bytes: b"role: node\n".to_vec(),
                mode: 0o640,
                config: true,
            },
        ],
        dirs: vec![("/var/lib/pig".into(), 0o750)],
        symlinks: vec![("/usr/bin/pig".into(), "pig-install".into())],
        requires: vec![
            Dependency::versioned("systemd", Op::Ge, Evr::parse("239").unwrap()),
            pre,
        ],
        provides: vec![Dependency::versioned(
            "pig-appliance",
            Op::Eq,
            Evr::parse("0.1").unwrap(),
        )],
        conflicts: vec![],
        obsoletes: vec![Dependency::versioned(
            "pig-legacy",
            Op::Lt,
            Evr::parse("0.1").unwrap(),
        )],
        scripts: SpecScripts {
            post: Some("echo pig installed\n".into()),
            ..SpecScripts::default()
        },
    }
}

#[test]
fn same_spec_same_bytes_and_rpm_agrees() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a.rpm");
    let b = tmp.path().join("b.rpm");
    build_rpm(&spec(), &a).unwrap();
    build_rpm(&spec(), &b).unwrap();
    assert_eq!(
        fs::read(&a).unwrap(),
        fs::read(&b).unwrap(),
        "build is not deterministic"
    );
    // No temporary files left beside the output.
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 2);

    let info = read_rpm(&a).unwrap();
    assert_eq!(info.nevra(), "pig-1:0.1.0~rc1-1.x86_64");
    assert_eq!(info.build_time, 1_700_000_000);
    let paths: Vec<(&str, FileKind)> = info
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.kind))
        .collect();
    assert!(
        paths.contains(&("/var/lib/pig", FileKind::Dir)),
        "{paths:?}"
    );
    assert!(
        paths.contains(&("/usr/bin/pig-install", FileKind::File)),
        "{paths:?}"
    );
    assert!(info.requires.iter().any(|d| d.name == "/bin/sh" && d.pre));

    if !rpm_common::have_tools(&["rpm"]) {
        return;
    }
    // rpm checks the header and payload digests.
    let checked = run(Command::new("rpm").args(["-K", "--nosignature"]).arg(&a));
    assert!(checked.contains("digests OK"), "{checked}");
    let q = |args: &[&str]| run(Command::new("rpm").arg("-qp").args(args).arg(&a));
    assert_eq!(
        q(&[
            "--qf",
            "%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH} %{BUILDHOST}"
        ]),
        "pig 1 0.1.0~rc1 1 x86_64 pig"
    );
    let requires = q(&["--requires"]);
    assert!(requires.contains("systemd >= 239"), "{requires}");
    assert!(requires.contains("/bin/sh"), "{requires}");
    assert!(q(&["--provides"]).contains("pig-appliance = 0.1"));
    assert!(q(&["--obsoletes"]).contains("pig-legacy < 0.1"));
    assert!(q(&["--scripts"]).contains("echo pig installed"));
    let list = q(&["-lv"]);
    assert!(list.contains("/usr/bin/pig -> pig-install"), "{list}");
    assert!(
        list.contains("-rwxr-xr-x") && list.contains("/usr/bin/pig-install"),
        "{list}"
    );
    let config = q(&["-c"]);
    assert_eq!(config.trim(), "/etc/pig/pig.yml");
    let dump = q(&["--dump"]);
    assert!(
        dump.lines().all(|l| l.contains(" 1700000000 ")),
        "mtimes not fixed:\n{dump}"
    );

    // And installs: files land with their modes, link and config intact.
    let root = tmp.path().join("root");
    run(Command::new("rpm")
        .arg(format!("--root={}", root.display()))
        .args(["-i", "--nodeps", "--noscripts", "--nosignature"])
        .arg(&a));
    assert_eq!(
        fs::read(root.join("usr/bin/pig-install")).unwrap(),
        b"#!/bin/sh\necho pig\n"
    );
    assert_eq!(
        fs::read_link(root.join("usr/bin/pig")).unwrap().to_str(),
        Some("pig-install")
    );
    assert!(root.join("var/lib/pig").is_dir());
}
