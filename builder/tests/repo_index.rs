//! `pig-build repo index` against the real clients: apt-get with `signed-by=`
//! and dnf with `repo_gpgcheck=1` install from repositories pig wrote.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use pig_tests::{have, run};
use serde_json::Value;

const PIG: &str = env!("CARGO_BIN_EXE_pig-build");

/// `pig-build repo index DIR --sign-key KEY --json`, parsed.
fn index(dir: &Path, key: &Path) -> Value {
    let out = run(Command::new(PIG)
        .args(["repo", "index", "--json", "--sign-key"])
        .arg(key)
        .arg(dir)
        .env("SOURCE_DATE_EPOCH", "1700000000"));
    serde_json::from_slice(&out.stdout).expect("--json prints JSON")
}

/// Build `name_version_all.deb` in `dir` with dpkg-deb.
fn build_deb(dir: &Path, name: &str, version: &str, depends: Option<&str>) -> PathBuf {
    let tree = tempfile::tempdir().unwrap();
    fs::create_dir_all(tree.path().join("DEBIAN")).unwrap();
    fs::create_dir_all(tree.path().join(format!("usr/share/{name}"))).unwrap();
    fs::write(
        tree.path().join(format!("usr/share/{name}/README")),
        format!("{name} {version}\n"),
    )
    .unwrap();
    let mut control = format!(
        "Package: {name}\nVersion: {version}\nArchitecture: all\n\
         Maintainer: pig tests <pig@example.invalid>\n"
    );
    if let Some(d) = depends {
        control.push_str(&format!("Depends: {d}\n"));
    }
    control.push_str("Description: pig test package\n a package built by a test\n");
    fs::write(tree.path().join("DEBIAN/control"), control).unwrap();
    let out = dir.join(format!("{name}_{version}_all.deb"));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(tree.path())
        .arg(&out));
    out
}

/// An empty root that apt-get installs into without chroot: apt reads only
/// `ROOT/etc/apt`, dpkg writes under ROOT.
struct AptRoot {
    root: tempfile::TempDir,
}

impl AptRoot {
    fn new(source_line: &str) -> AptRoot {
        let root = tempfile::tempdir().unwrap();
        for d in [
            "etc/apt/sources.list.d",
            "etc/apt/apt.conf.d",
            "etc/apt/preferences.d",
            "var/lib/dpkg/updates",
            "var/lib/dpkg/info",
            "var/lib/apt/lists/partial",
            "var/cache/apt/archives/partial",
            "var/log/apt",
        ] {
            fs::create_dir_all(root.path().join(d)).unwrap();
        }
        fs::write(root.path().join("var/lib/dpkg/status"), "").unwrap();
        fs::write(
            root.path().join("etc/apt/sources.list"),
            format!("{source_line}\n"),
        )
        .unwrap();
        AptRoot { root }
    }

    fn apt_get(&self, args: &[&str]) -> Command {
        let r = self.root.path().display();
        let mut cmd = Command::new("apt-get");
        for o in [
            format!("Dir={r}"),
            format!("Dir::State::status={r}/var/lib/dpkg/status"),
            // only the key in signed-by= may vouch for the repository
            "Dir::Etc::trusted=/dev/null".to_string(),
            "Dir::Etc::trustedparts=/nonexistent".to_string(),
            format!("DPkg::Options::=--root={r}"),
            format!("DPkg::Options::=--admindir={r}/var/lib/dpkg"),
            "DPkg::Options::=--force-script-chrootless".to_string(),
            "DPkg::Options::=--force-not-root".to_string(),
            "Debug::NoLocking=1".to_string(),
            "APT::Sandbox::User=root".to_string(),
        ] {
            cmd.arg("-o").arg(o);
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    }

    fn installed(&self) -> String {
        fs::read_to_string(self.root.path().join("var/lib/dpkg/status")).unwrap()
    }
}

#[test]
fn apt_get_installs_from_signed_repo() {
    if !have("apt-get") || !have("dpkg-deb") {
        return;
    }
    let repo = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    build_deb(repo.path(), "pig-hello", "1.0-1", Some("pig-base (>= 2.0)"));
    build_deb(repo.path(), "pig-base", "2.1-1", None);
    build_deb(repo.path(), "pig-base", "1.0-1", None);
    let key = keys.path().join("repo-key.asc");
    let summary = index(repo.path(), &key);
    assert_eq!(summary["debs"], 3);
    assert_eq!(summary["scanned"], 3);
    assert!(summary["signed_by"].as_str().is_some_and(|f| f.len() == 40));
    let public = keys.path().join("repo-key.pub.asc");
    assert!(public.exists(), "public key written beside the secret key");
    for f in [
        "Packages",
        "Packages.gz",
        "Release",
        "InRelease",
        "Release.gpg",
    ] {
        assert!(repo.path().join(f).exists(), "{f} written");
    }

    let source = format!(
        "deb [signed-by={}] file:{} ./",
        public.display(),
        repo.path().display()
    );
    let root = AptRoot::new(&source);
    run(&mut root.apt_get(&["update"]));
    run(&mut root.apt_get(&["install", "-y", "pig-hello"]));
    let status = root.installed();
    assert!(status.contains("Package: pig-hello\nStatus: install ok installed"));
    // the dependency resolved to the newest pig-base
    assert!(status.contains("Package: pig-base\nStatus: install ok installed"));
    assert!(status.contains("Version: 2.1-1"), "{status}");
    assert!(root.root.path().join("usr/share/pig-hello/README").exists());

    // The same repository with another key in signed-by= is refused.
    let other_keys = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    build_deb(empty.path(), "pig-other", "1", None);
    index(empty.path(), &other_keys.path().join("k.asc"));
    let source = format!(
        "deb [signed-by={}] file:{} ./",
        other_keys.path().join("k.pub.asc").display(),
        repo.path().display()
    );
    let root = AptRoot::new(&source);
    let out = root.apt_get(&["update"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("NO_PUBKEY") || stderr.contains("not signed"),
        "apt-get update accepted a repository signed by another key: {stderr}"
    );
    let out = root
        .apt_get(&["install", "-y", "pig-hello"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "installed from an unverified repo");
}

#[test]
fn reindex_reuses_unchanged_packages_and_follows_changes() {
    if !have("dpkg-deb") {
        return;
    }
    let repo = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("k.asc");
    let a = build_deb(repo.path(), "pig-a", "1", None);
    build_deb(repo.path(), "pig-b", "1", None);
    index(repo.path(), &key);
    let first = fs::read(repo.path().join("InRelease")).unwrap();

    let again = index(repo.path(), &key);
    assert_eq!(again["scanned"], 0);
    assert_eq!(again["reused"], 2);
    assert_eq!(
        fs::read(repo.path().join("InRelease")).unwrap(),
        first,
        "same packages, key and SOURCE_DATE_EPOCH give the same signed index"
    );

    fs::remove_file(&a).unwrap();
    build_deb(repo.path(), "pig-c", "1", None);
    let changed = index(repo.path(), &key);
    assert_eq!(changed["scanned"], 1);
    assert_eq!(changed["reused"], 1);
    let packages = fs::read_to_string(repo.path().join("Packages")).unwrap();
    assert!(!packages.contains("Package: pig-a\n"));
    assert!(packages.contains("Package: pig-b\n") && packages.contains("Package: pig-c\n"));
}

#[test]
fn broken_package_is_named_and_old_index_kept() {
    if !have("dpkg-deb") {
        return;
    }
    let repo = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("k.asc");
    let good = build_deb(repo.path(), "pig-good", "1", None);
    index(repo.path(), &key);
    let before = fs::read(repo.path().join("Packages")).unwrap();

    let bytes = fs::read(&good).unwrap();
    fs::write(
        repo.path().join("pig-cut_1_all.deb"),
        &bytes[..bytes.len() / 2],
    )
    .unwrap();
    fs::write(repo.path().join("junk.rpm"), b"not an rpm at all").unwrap();
    let out = Command::new(PIG)
        .args(["repo", "index", "--sign-key"])
        .arg(&key)
        .arg(repo.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pig-cut_1_all.deb"), "{stderr}");
    assert!(stderr.contains("junk.rpm"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(fs::read(repo.path().join("Packages")).unwrap(), before);
}

#[test]
fn bad_arguments_exit_2_and_missing_directory_is_named() {
    let out = Command::new(PIG)
        .args(["repo", "index", "--no-such-flag", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(PIG)
        .args(["repo", "index", "/nonexistent/pig-repo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/pig-repo"));
}

/// Build a binary RPM with rpmbuild; returns its path.
fn build_rpm(topdir: &Path, name: &str, version: &str, requires: Option<&str>) -> PathBuf {
    let requires = requires
        .map(|r| format!("Requires: {r}\n"))
        .unwrap_or_default();
    let spec = format!(
        "Name: {name}\nVersion: {version}\nRelease: 1\nSummary: pig test package\n\
         License: Apache-2.0\nBuildArch: noarch\n{requires}\n\
         %description\nA package built by a pig test.\n\n\
         %install\nmkdir -p %{{buildroot}}/usr/share/{name}\n\
         echo {name} > %{{buildroot}}/usr/share/{name}/README\n\n\
         %files\n/usr/share/{name}/README\n"
    );
    let spec_path = topdir.join(format!("{name}.spec"));
    fs::write(&spec_path, spec).unwrap();
    run(Command::new("rpmbuild")
        .arg("-bb")
        .arg("--define")
        .arg(format!("_topdir {}", topdir.display()))
        .arg("--define")
        .arg("_build_id_links none")
        .arg(&spec_path));
    topdir.join(format!("RPMS/noarch/{name}-{version}-1.noarch.rpm"))
}

fn dnf(installroot: &Path, repo: &Path, public_key: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("dnf");
    cmd.arg("-y")
        .arg("-q")
        .arg(format!("--installroot={}", installroot.display()))
        .arg("--releasever=9")
        .arg("--disablerepo=*")
        .arg(format!("--repofrompath=pig,file://{}", repo.display()))
        .arg("--enablerepo=pig")
        .arg("--setopt=pig.gpgcheck=0")
        .arg("--setopt=pig.repo_gpgcheck=1")
        .arg("--setopt=pig.skip_if_unavailable=False")
        .arg(format!(
            "--setopt=pig.gpgkey=file://{}",
            public_key.display()
        ))
        .arg("--setopt=reposdir=/nonexistent")
        .args(args);
    cmd
}

#[test]
fn dnf_installs_from_signed_repodata() {
    if !have("rpmbuild") || !have("dnf") {
        return;
    }
    let top = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    for (name, req) in [("pig-rhello", Some("pig-rbase >= 2")), ("pig-rbase", None)] {
        let rpm = build_rpm(top.path(), name, "2.0", req);
        fs::copy(&rpm, repo.path().join(rpm.file_name().unwrap())).unwrap();
    }
    let key = keys.path().join("repo-key.asc");
    let summary = index(repo.path(), &key);
    assert_eq!(summary["rpms"], 2);
    assert!(repo.path().join("repodata/repomd.xml.asc").exists());
    let public = keys.path().join("repo-key.pub.asc");

    let root = tempfile::tempdir().unwrap();
    run(&mut dnf(
        root.path(),
        repo.path(),
        &public,
        &["install", "pig-rhello"],
    ));
    let q = run(Command::new("rpm")
        .arg(format!("--root={}", root.path().display()))
        .args(["-q", "pig-rhello", "pig-rbase"]));
    let q = String::from_utf8_lossy(&q.stdout);
    assert!(
        q.contains("pig-rhello-2.0-1.noarch") && q.contains("pig-rbase-2.0-1.noarch"),
        "{q}"
    );

    // A signature by another key fails repo_gpgcheck.
    let other = tempfile::tempdir().unwrap();
    let o = tempfile::tempdir().unwrap();
    build_rpm(top.path(), "pig-rother", "1", None);
    fs::copy(
        top.path().join("RPMS/noarch/pig-rother-1-1.noarch.rpm"),
        o.path().join("pig-rother-1-1.noarch.rpm"),
    )
    .unwrap();
    index(o.path(), &other.path().join("k.asc"));
    let root = tempfile::tempdir().unwrap();
    let out = dnf(
        root.path(),
        repo.path(),
        &other.path().join("k.pub.asc"),
        &["install", "pig-rhello"],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("GPG signature verification error"),
        "dnf accepted repodata signed by another key: {stderr}"
    );
}
