//! apt-get itself trusts a flat repository signed by our key through
//! `signed-by=` (no `trusted=yes`), through `InRelease` and through
//! `Release` + `Release.gpg`, and refuses it when `signed-by=` names another
//! key.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use pig_repo::signing::SigningKey;
use pig_tests::{have, output};
use sha2::{Digest, Sha256};

const PACKAGE: &str = "pig-signing-test";

fn key(uid: &str) -> SigningKey {
    let created = SystemTime::now() - Duration::from_secs(3600);
    SigningKey::generate(uid, created).unwrap()
}

fn keys() -> &'static (SigningKey, SigningKey) {
    static KEYS: OnceLock<(SigningKey, SigningKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        (
            key("pig repo <repo@example.org>"),
            key("stranger <s@example.org>"),
        )
    })
}

/// A flat repository with one package, its `Packages` and an unsigned
/// `Release`, plus private apt state and configuration directories.
struct Fixture {
    dir: tempfile::TempDir,
    release: String,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let pkg = root.join("pkg");
        fs::create_dir_all(pkg.join("DEBIAN")).unwrap();
        let control = format!(
            "Package: {PACKAGE}\nVersion: 1.0\nArchitecture: all\n\
             Maintainer: pig <pig@example.org>\nDescription: signing test package\n"
        );
        fs::write(pkg.join("DEBIAN/control"), &control).unwrap();
        let repo = root.join("repo");
        fs::create_dir_all(&repo).unwrap();
        let deb_name = format!("{PACKAGE}_1.0_all.deb");
        let deb = repo.join(&deb_name);
        let out = output(
            Command::new("dpkg-deb")
                .args(["--build", "--root-owner-group"])
                .arg(&pkg)
                .arg(&deb),
        );
        assert!(out.status.success());
        let bytes = fs::read(&deb).unwrap();
        let packages = format!(
            "{control}Filename: ./{deb_name}\nSize: {}\nSHA256: {:x}\n",
            bytes.len(),
            Sha256::digest(&bytes)
        );
        fs::write(repo.join("Packages"), &packages).unwrap();
        let date = chrono::Utc::now() - chrono::Duration::minutes(5);
        let release = format!(
            "Origin: pig\nLabel: pig\nSuite: stable\nCodename: pig\nDate: {}\n\
             Architectures: all amd64\nDescription: pig signing test\nSHA256:\n {:x} {} Packages\n",
            date.format("%a, %d %b %Y %H:%M:%S UTC"),
            Sha256::digest(packages.as_bytes()),
            packages.len()
        );
        fs::write(repo.join("Release"), &release).unwrap();
        for sub in [
            "state/lists/partial",
            "cache/archives/partial",
            "etc/sources.list.d",
            "etc/trusted.gpg.d",
            "etc/preferences.d",
        ] {
            fs::create_dir_all(root.join(sub)).unwrap();
        }
        Fixture { dir, release }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Points the repository's `signed-by=` at `key`'s public key.
    fn trust(&self, key: &SigningKey) {
        let asc = self.path("etc/repo-key.asc");
        fs::write(&asc, key.public_armored()).unwrap();
        fs::write(
            self.path("etc/sources.list"),
            format!(
                "deb [signed-by={}] file:{} ./\n",
                asc.display(),
                self.path("repo").display()
            ),
        )
        .unwrap();
    }

    /// apt-get or apt-cache with every directory pointed into the fixture,
    /// so neither the host's sources nor its trusted keys take part.
    fn apt(&self, tool: &str, args: &[&str]) -> Output {
        let root = self.dir.path();
        let option = |name: &str, sub: &str| format!("{name}={}", root.join(sub).display());
        let mut cmd = Command::new(tool);
        cmd.current_dir(root);
        for (name, sub) in [
            ("Dir::Etc::sourcelist", "etc/sources.list"),
            ("Dir::Etc::sourceparts", "etc/sources.list.d"),
            ("Dir::Etc::trusted", "etc/trusted.gpg"),
            ("Dir::Etc::trustedparts", "etc/trusted.gpg.d"),
            ("Dir::Etc::preferencesparts", "etc/preferences.d"),
            ("Dir::State", "state"),
            ("Dir::Cache", "cache"),
        ] {
            cmd.arg("-o").arg(option(name, sub));
        }
        cmd.args(["-o", "APT::Sandbox::User=root", "-o", "Debug::NoLocking=1"])
            .args(["-o", "Acquire::Languages=none"])
            .args(args);
        output(&mut cmd)
    }

    fn update(&self) -> (bool, String) {
        // Start from nothing, so a previous run's lists cannot count.
        let lists = self.path("state/lists");
        fs::remove_dir_all(&lists).unwrap();
        fs::create_dir_all(lists.join("partial")).unwrap();
        let out = self.apt("apt-get", &["update"]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let clean = out.status.success() && !text.contains("W:") && !text.contains("E:");
        (clean, text)
    }
}

fn write(path: &Path, data: &str) {
    fs::write(path, data).unwrap();
}

#[test]
fn apt_trusts_our_inrelease_and_release_gpg_through_signed_by() {
    if !have("apt-get") || !have("dpkg-deb") {
        return;
    }
    let (ours, _) = keys();
    let fixture = Fixture::new();
    let now = SystemTime::now();
    fixture.trust(ours);

    write(
        &fixture.path("repo/InRelease"),
        &ours.clearsign(&fixture.release, now).unwrap(),
    );
    let (clean, log) = fixture.update();
    assert!(clean, "apt-get update with InRelease:\n{log}");
    let out = fixture.apt("apt-cache", &["show", PACKAGE]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Version: 1.0"));
    // apt fetches the package and checks it against the signed index.
    let out = fixture.apt("apt-get", &["download", PACKAGE]);
    assert!(out.status.success());
    assert!(fixture.path(&format!("{PACKAGE}_1.0_all.deb")).exists());

    fs::remove_file(fixture.path("repo/InRelease")).unwrap();
    write(
        &fixture.path("repo/Release.gpg"),
        &ours
            .sign_detached_armored(fixture.release.as_bytes(), now)
            .unwrap(),
    );
    let (clean, log) = fixture.update();
    assert!(clean, "apt-get update with Release.gpg:\n{log}");
}

#[test]
fn apt_refuses_a_repository_signed_by_another_key() {
    if !have("apt-get") || !have("dpkg-deb") {
        return;
    }
    let (ours, stranger) = keys();
    let fixture = Fixture::new();
    write(
        &fixture.path("repo/InRelease"),
        &stranger
            .clearsign(&fixture.release, SystemTime::now())
            .unwrap(),
    );
    fixture.trust(ours);
    let (clean, log) = fixture.update();
    assert!(
        !clean,
        "apt-get update accepted a stranger's signature:\n{log}"
    );
    assert!(log.contains("NO_PUBKEY"), "{log}");
    let out = fixture.apt("apt-cache", &["show", PACKAGE]);
    assert!(!out.status.success(), "the unsigned index must not be used");

    // Our key, but the Release text altered after signing.
    let signed = ours.clearsign(&fixture.release, SystemTime::now()).unwrap();
    write(
        &fixture.path("repo/InRelease"),
        &signed.replace("Suite: stable", "Suite: stolen"),
    );
    let (clean, log) = fixture.update();
    assert!(
        !clean,
        "apt-get update accepted an altered InRelease:\n{log}"
    );
    assert!(log.contains("BADSIG") || log.contains("invalid"), "{log}");
}
