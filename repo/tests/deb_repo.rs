//! A flat repository written with pig's `Packages` and `Release` code is
//! accepted by the real apt-get: `update`, dependency resolution and
//! download, and a tampered index is refused by apt and by pig alike.

mod deb_support;

use std::path::Path;
use std::process::Command;

use deb_support::{have, run, test_control};
use pig_repo::compress::Compression;
use pig_repo::deb::control;
use pig_repo::deb::debfile::{DebBuilder, scan_deb};
use pig_repo::deb::packages::{index_entry, read_packages, write_packages};
use pig_repo::deb::release::{HashKind, Release};

/// Write `pig-a` (depends on `pig-b`) and `pig-b` with Packages,
/// Packages.gz and Release into `repo`.
fn write_repo(repo: &Path) -> Release {
    std::fs::create_dir_all(repo.join("pool")).unwrap();
    let mut a = DebBuilder::new(
        test_control("pig-a", "1.0-1", "Depends: pig-b (>= 2)\n"),
        1_700_000_000,
    );
    a.file("/usr/share/pig-a/data", "a\n", 0o644);
    let mut b = DebBuilder::new(test_control("pig-b", "2.0-1", ""), 1_700_000_000);
    b.file("/usr/share/pig-b/data", "b\n", 0o644);
    let mut stanzas = Vec::new();
    for (builder, name) in [(a, "pig-a_1.0-1_all.deb"), (b, "pig-b_2.0-1_all.deb")] {
        let path = repo.join("pool").join(name);
        builder.write_to_path(&path).unwrap();
        let s = scan_deb(&path).unwrap();
        stanzas.push(index_entry(
            &s.deb,
            &format!("pool/{name}"),
            s.size,
            &s.md5,
            &s.sha256,
        ));
    }
    let packages = write_packages(&stanzas).into_bytes();
    let packages_gz = Compression::Gzip.compress(&packages).unwrap();
    std::fs::write(repo.join("Packages"), &packages).unwrap();
    std::fs::write(repo.join("Packages.gz"), &packages_gz).unwrap();
    let fields = control::parse_one(
        "Origin: pig\nLabel: pig\nSuite: stable\nCodename: pig\nArchitectures: amd64 all\n\
         Description: pig test repository\n",
        "fields",
    )
    .unwrap();
    let mut release = Release::for_files(
        fields,
        [
            ("Packages".to_string(), packages),
            ("Packages.gz".to_string(), packages_gz),
        ],
    );
    release.set_date(1_700_000_000);
    std::fs::write(
        repo.join("Release"),
        release.write(&[HashKind::Md5, HashKind::Sha256]),
    )
    .unwrap();
    release
}

/// apt-get confined to `root`: its own sources, lists, cache and an empty
/// dpkg status, so the host's apt state is neither read nor changed.
fn apt_get(root: &Path) -> Command {
    let mut c = Command::new("apt-get");
    let o = |k: &str, v: &Path| format!("{k}={}", v.display());
    c.args([
        "-q",
        "-o",
        "APT::Sandbox::User=root",
        "-o",
        "Debug::NoLocking=1",
    ])
    .args(["-o", &o("Dir", root)])
    .args(["-o", "Dir::Bin::Methods=/usr/lib/apt/methods"])
    .args(["-o", "Dir::Bin::dpkg=/usr/bin/dpkg"])
    .args([
        "-o",
        &o("Dir::State::status", &root.join("var/lib/dpkg/status")),
    ])
    .args(["-o", "APT::Architecture=amd64"])
    .env("DEBIAN_FRONTEND", "noninteractive");
    c
}

fn apt_root(tmp: &Path, repo: &Path) -> std::path::PathBuf {
    let root = tmp.join("aptroot");
    for d in [
        "etc/apt/apt.conf.d",
        "etc/apt/preferences.d",
        "etc/apt/sources.list.d",
        "var/lib/apt/lists/partial",
        "var/cache/apt/archives/partial",
        "var/lib/dpkg",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    std::fs::write(
        root.join("etc/apt/sources.list"),
        format!("deb [trusted=yes] copy:{} ./\n", repo.display()),
    )
    .unwrap();
    root
}

#[test]
fn apt_get_updates_and_downloads_from_flat_repo() {
    if !have("apt-get") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let release = write_repo(&repo);
    let root = apt_root(tmp.path(), &repo);

    let text = std::fs::read_to_string(repo.join("Release")).unwrap();
    assert!(
        text.contains("Date: Tue, 14 Nov 2023 22:13:20 UTC\n"),
        "{text}"
    );
    for f in ["Packages", "Packages.gz"] {
        release
            .verify_file(f, &std::fs::read(repo.join(f)).unwrap(), "Release")
            .unwrap();
    }
    assert_eq!(read_packages(&repo.join("Packages.gz")).unwrap().len(), 2);

    run(apt_get(&root).arg("update"));
    let out = run(apt_get(&root).args(["install", "-y", "--download-only", "pig-a"]));
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("pig-b"),
        "pig-b pulled in as a dependency:\n{log}"
    );
    for deb in ["pig-a_1.0-1_all.deb", "pig-b_2.0-1_all.deb"] {
        let got = std::fs::read(root.join("var/cache/apt/archives").join(deb)).unwrap();
        assert_eq!(got, std::fs::read(repo.join("pool").join(deb)).unwrap());
    }
}

#[test]
fn tampered_index_is_refused_by_apt_and_by_pig() {
    if !have("apt-get") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    write_repo(&repo);
    let root = apt_root(tmp.path(), &repo);
    let text = std::fs::read_to_string(repo.join("Release")).unwrap();
    let release = Release::parse(&text, "Release").unwrap();
    // Same size, one byte different: only the hash can tell.
    let mut packages = std::fs::read(repo.join("Packages")).unwrap();
    let at = packages.windows(5).position(|w| w == b"pig-b").unwrap();
    packages[at + 4] = b'c';
    std::fs::write(repo.join("Packages"), &packages).unwrap();
    std::fs::remove_file(repo.join("Packages.gz")).unwrap();

    let e = release
        .verify_file("Packages", &packages, "Release")
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Release: Packages: SHA256 mismatch: expected "),
        "{e}"
    );

    let out = apt_get(&root).arg("update").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Hash Sum mismatch") || err.contains("File has unexpected size"),
        "apt accepted a tampered index:\n{err}"
    );
}
