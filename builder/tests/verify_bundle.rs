//! `verify_bundle` against a real bundle: Debian's minbase closure plus
//! `hello` and `jq` from the machine's mirror, indexed and signed with
//! pig_repo, laid out with `bundle_layout` and packed with `pack_dir`.
//! The closure proof runs the real mmdebstrap in a network namespace.
//!
//! The packages are fetched once with mmdebstrap and cached under
//! /var/tmp/pig-test-minbase/<hash of suite and package list>/.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use pig_build::bundle_layout::{
    self, BundleKind, INRELEASE, MANIFEST, MANIFEST_FORMAT, Manifest, ManifestPackage, PACKAGES,
    PACKAGES_GZ, PUBLIC_KEY, RELEASE, RELEASE_GPG, REPO_COMPLETE, TOP_DIR,
};
use pig_build::verify::{CheckStatus, VerifyOptions, VerifyReport, closure_command, verify_bundle};
use pig_repo::compress::Compression;
use pig_repo::deb::control::Paragraph;
use pig_repo::deb::debfile::scan_deb;
use pig_repo::deb::packages::{index_entry, write_packages};
use pig_repo::deb::release::{HashKind, Release};
use pig_repo::signing::SigningKey;
use pig_tests::have;
use sha2::{Digest, Sha256};

/// Packages beyond minbase: `hello` (libc only) and `jq`, whose
/// dependencies libjq1 and libonig5 are outside minbase, so removing one
/// breaks exactly one module.
const EXTRA: [&str; 2] = ["hello", "jq"];
const CACHE: &str = "/var/tmp/pig-test-minbase";
/// Fixed bundle date: a day ago, rounded, so signatures made now are newer
/// than the key and the Release date is in the past.
fn source_date_epoch() -> i64 {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    (now - 86_400) / 3600 * 3600
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    let root = String::from_utf8_lossy(&out.stdout).trim() == "0";
    if !root {
        eprintln!("skipping: mmdebstrap --mode=root and unshare --net need root");
    }
    root
}

/// The host's Debian mirror: (URI, first suite, Signed-By) of the first
/// deb822 source offering `main`, read from /etc/apt/sources.list.d/.
fn host_mirror() -> Option<(String, String, String)> {
    let mut files: Vec<PathBuf> = fs::read_dir("/etc/apt/sources.list.d")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sources"))
        .collect();
    files.sort();
    for file in files {
        let text = fs::read_to_string(&file).ok()?;
        for stanza in text.split("\n\n") {
            let field = |name: &str| {
                stanza.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case(name)
                        .then(|| v.trim().to_string())
                })
            };
            let (Some(uri), Some(suites), Some(components)) =
                (field("URIs"), field("Suites"), field("Components"))
            else {
                continue;
            };
            if !components.split_whitespace().any(|c| c == "main") {
                continue;
            }
            let uri = uri.split_whitespace().next()?.to_string();
            let suite = suites.split_whitespace().next()?.to_string();
            let signed_by = field("Signed-By")
                .unwrap_or_else(|| "/usr/share/keyrings/debian-archive-keyring.gpg".into());
            return Some((uri, suite, signed_by));
        }
    }
    None
}

/// Directory of the minbase + EXTRA `.deb` files, downloaded once.
fn minbase_debs() -> Option<&'static Path> {
    static DEBS: OnceLock<Option<PathBuf>> = OnceLock::new();
    DEBS.get_or_init(|| {
        if !have("mmdebstrap") || !have("unshare") || !is_root() {
            return None;
        }
        let Some((uri, suite, signed_by)) = host_mirror() else {
            eprintln!("skipping: no Debian source with main in /etc/apt/sources.list.d");
            return None;
        };
        let key = format!("{suite} minbase {}", EXTRA.join(","));
        let hash = hex::encode(Sha256::digest(key.as_bytes()));
        let dir = Path::new(CACHE).join(&hash[..16]);
        if dir.join("complete").is_file() {
            return Some(dir);
        }
        fs::create_dir_all(CACHE).unwrap();
        let started = Instant::now();
        let root = tempfile::tempdir_in(CACHE).unwrap();
        let out = Command::new("mmdebstrap")
            .args(["--variant=minbase", "--mode=root"])
            .arg("--skip=cleanup/apt/cache,essential/unlink")
            .arg(format!("--include={}", EXTRA.join(",")))
            .arg(&suite)
            .arg(root.path().join("root"))
            .arg(format!("deb [signed-by={signed_by}] {uri} {suite} main"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mmdebstrap: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let staging = root.path().join("debs");
        fs::create_dir(&staging).unwrap();
        let archives = root.path().join("root/var/cache/apt/archives");
        let mut names = Vec::new();
        for e in fs::read_dir(&archives).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "deb") {
                let name = p.file_name().unwrap().to_owned();
                fs::copy(&p, staging.join(&name)).unwrap();
                names.push(name.to_string_lossy().into_owned());
            }
        }
        names.sort();
        fs::write(staging.join("complete"), names.join("\n")).unwrap();
        let _ = fs::remove_dir_all(&dir);
        fs::rename(&staging, &dir).unwrap();
        eprintln!(
            "fetched {} packages for the fixture in {:.1}s",
            names.len(),
            started.elapsed().as_secs_f64()
        );
        Some(dir)
    })
    .as_deref()
}

fn signing_key(uid: &str) -> SigningKey {
    SigningKey::generate(uid, SystemTime::now() - Duration::from_secs(3600)).unwrap()
}

fn repo_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| signing_key("pig test repository <repo@example.org>"))
}

fn stranger_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| signing_key("stranger <s@example.org>"))
}

/// A bundle tree under construction: `<tmp>/pigsty/`.
struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    /// The packages of `debs` (pool-style names) and nothing else.
    fn with_packages(debs: &Path) -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join(TOP_DIR);
        fs::create_dir(&tree).unwrap();
        for e in fs::read_dir(debs).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "deb") {
                let scanned = scan_deb(&p).unwrap();
                let c = &scanned.deb.control;
                let version = c.get("Version").unwrap();
                let version = version.split_once(':').map_or(version, |(_, v)| v);
                let name = format!(
                    "{}_{version}_{}.deb",
                    c.get("Package").unwrap(),
                    c.get("Architecture").unwrap()
                );
                fs::copy(&p, tree.join(name)).unwrap();
            }
        }
        Tree { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join(TOP_DIR)
    }

    fn deb(&self, package: &str) -> PathBuf {
        let prefix = format!("{package}_");
        fs::read_dir(self.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&prefix)
            })
            .unwrap_or_else(|| panic!("no {package} in the fixture"))
    }

    /// Indexes, signs and describes the packages present, as `bundle`
    /// does: Packages(.gz), Release, InRelease, Release.gpg, the public
    /// key, MANIFEST.json, SHA256SUMS and, last, repo_complete.
    fn finish(&self, key: &SigningKey, modules: &BTreeMap<String, Vec<String>>) {
        let tree = self.path();
        let _ = fs::remove_file(tree.join(REPO_COMPLETE));
        let mut debs: Vec<PathBuf> = fs::read_dir(&tree)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "deb"))
            .collect();
        debs.sort();
        let mut stanzas: Vec<Paragraph> = Vec::new();
        let mut packages = Vec::new();
        for p in &debs {
            let s = scan_deb(p).unwrap();
            let filename = p.file_name().unwrap().to_string_lossy().into_owned();
            stanzas.push(index_entry(&s.deb, &filename, s.size, &s.md5, &s.sha256));
            let c = &s.deb.control;
            packages.push(ManifestPackage {
                name: c.get("Package").unwrap().to_string(),
                version: c.get("Version").unwrap().to_string(),
                arch: c.get("Architecture").unwrap().to_string(),
                filename,
                size: s.size,
                sha256: s.sha256.clone(),
            });
        }
        let index = write_packages(&stanzas);
        let gz = Compression::Gzip.compress(index.as_bytes()).unwrap();
        fs::write(tree.join(PACKAGES), &index).unwrap();
        fs::write(tree.join(PACKAGES_GZ), &gz).unwrap();

        let mut fields = Paragraph::new();
        for (name, value) in [
            ("Origin", "pig"),
            ("Label", "pig"),
            // Not mmdebstrap's suite argument: verify must read it here.
            ("Suite", "pigsty-test"),
            ("Codename", "pigsty-test"),
            ("Architectures", "amd64 all"),
            ("Description", "pig verify test bundle"),
        ] {
            fields.set(name, value);
        }
        let mut release = Release::for_files(
            fields,
            [
                (PACKAGES.to_string(), index.into_bytes()),
                (PACKAGES_GZ.to_string(), gz),
            ],
        );
        release.set_date(source_date_epoch());
        let release = release.write(&[HashKind::Sha256]);
        let now = SystemTime::now() - Duration::from_secs(60);
        fs::write(tree.join(RELEASE), &release).unwrap();
        fs::write(tree.join(INRELEASE), key.clearsign(&release, now).unwrap()).unwrap();
        fs::write(
            tree.join(RELEASE_GPG),
            key.sign_detached_armored(release.as_bytes(), now).unwrap(),
        )
        .unwrap();
        fs::write(tree.join(PUBLIC_KEY), key.public_armored()).unwrap();
        Manifest {
            format: MANIFEST_FORMAT,
            name: "pigsty".into(),
            version: "v0.0.1".into(),
            os: "d12".into(),
            arch: "amd64".into(),
            kind: BundleKind::Deb,
            source_date_epoch: source_date_epoch(),
            key_fingerprint: key.fingerprint(),
            public_key: PUBLIC_KEY.into(),
            modules: modules.clone(),
            packages,
            missing: Vec::new(),
            pig_version: env!("CARGO_PKG_VERSION").into(),
        }
        .save(&tree.join(MANIFEST))
        .unwrap();
        bundle_layout::write_sha256sums(&tree).unwrap();
        fs::write(tree.join(REPO_COMPLETE), b"").unwrap();
    }

    /// Packs the tree as `<tmp>/<name>`, as `bundle` does.
    fn pack(&self, name: &str) -> PathBuf {
        let out = self.dir.path().join(name);
        pig_build::pack::pack_dir(&self.path(), TOP_DIR, &out, source_date_epoch() as u64).unwrap();
        out
    }

    fn edit(&self, name: &str, f: impl FnOnce(String) -> String) {
        let path = self.path().join(name);
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, f(text)).unwrap();
    }
}

fn modules() -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([
        ("base".to_string(), vec!["hello".to_string()]),
        ("tools".to_string(), vec!["jq".to_string()]),
    ])
}

fn no_install() -> VerifyOptions {
    VerifyOptions {
        install: false,
        ..VerifyOptions::default()
    }
}

fn run_verify(bundle: &Path, opts: &VerifyOptions) -> VerifyReport {
    let started = Instant::now();
    let report = verify_bundle(bundle, opts).unwrap();
    eprintln!(
        "{report}\n(verify_bundle took {:.1}s)",
        started.elapsed().as_secs_f64()
    );
    report
}

fn status(report: &VerifyReport, check: &str) -> CheckStatus {
    report
        .checks
        .iter()
        .find(|c| c.name == check)
        .unwrap_or_else(|| panic!("no {check} check in {report:?}"))
        .status
}

/// Asserts the report failed with one problem containing every piece.
fn assert_problem(report: &VerifyReport, pieces: &[&str]) {
    assert!(!report.ok(), "verified but should not have:\n{report}");
    assert!(
        report
            .problems
            .iter()
            .any(|p| pieces.iter().all(|piece| p.contains(piece))),
        "no problem containing {pieces:?} in:\n{report}"
    );
}

#[test]
fn a_good_bundle_verifies_and_installs_offline_module_by_module() {
    let Some(debs) = minbase_debs() else { return };
    let started = Instant::now();
    let tree = Tree::with_packages(debs);
    tree.finish(repo_key(), &modules());
    let bundle = tree.pack("pigsty-pkg-v0.0.1.d12.amd64.tgz");
    eprintln!(
        "fixture bundle ({} bytes) built in {:.1}s",
        fs::metadata(&bundle).unwrap().len(),
        started.elapsed().as_secs_f64()
    );

    let report = run_verify(&bundle, &VerifyOptions::default());
    assert!(report.ok(), "{report}");
    for check in ["extract", "layout", "signature", "hashes", "closure"] {
        assert_eq!(status(&report, check), CheckStatus::Passed, "{check}");
    }
    assert_eq!(
        report.key_fingerprint.as_deref(),
        Some(repo_key().fingerprint().as_str())
    );
    assert!(report.counts.package_files >= 60, "{:?}", report.counts);
    assert_eq!(report.counts.package_files, report.counts.packages);
    assert_eq!(report.counts.sha256sums_files, report.counts.packages + 7);
    let installed: Vec<(&str, bool)> = report
        .modules
        .iter()
        .map(|m| (m.module.as_str(), m.ok))
        .collect();
    assert_eq!(installed, [("base", true), ("tools", true)]);
    let closure = report.checks.iter().find(|c| c.name == "closure").unwrap();
    assert!(
        closure.detail.ends_with("suite pigsty-test"),
        "{}",
        closure.detail
    );

    // The JSON form carries the same facts.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["checks"][4]["status"], "passed");
    assert_eq!(json["modules"][1]["module"], "tools");

    // With the key given explicitly, and every module in one run.
    let key_file = tree.dir.path().join("trusted.asc");
    fs::write(&key_file, repo_key().public_armored()).unwrap();
    let report = run_verify(
        &bundle,
        &VerifyOptions {
            key: Some(key_file),
            install: true,
            all_at_once: true,
        },
    );
    assert!(report.ok(), "{report}");
    assert_eq!(report.modules.len(), 1);
    assert_eq!(report.modules[0].module, "all");
    assert_eq!(report.modules[0].packages, ["hello", "jq"]);
}

#[test]
fn the_closure_namespace_has_no_network() {
    let Some(_) = minbase_debs() else { return };
    let Some((uri, suite, signed_by)) = host_mirror() else {
        return;
    };
    // Only a loopback, and it is down: no route at all (the kernel prints
    // not even the header of an empty IPv4 routing table).
    let read = |file: &str| {
        let out = Command::new("unshare")
            .args(["--net", "--", "cat", file])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let routes = read("/proc/net/route");
    assert!(
        routes.lines().all(|l| l.starts_with("Iface")),
        "routes in the namespace:\n{routes}"
    );
    // IPv6 keeps the kernel's built-in reject routes on lo (RTF_REJECT,
    // 0x0200, in the flags column): they refuse, they do not route.
    let routes6 = read("/proc/net/ipv6_route");
    for line in routes6.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let flags = fields.get(8).and_then(|f| u32::from_str_radix(f, 16).ok());
        assert!(
            flags.is_some_and(|f| f & 0x0200 != 0) && fields.last() == Some(&"lo"),
            "an IPv6 route that is not a reject route: {line}"
        );
    }
    let dev = read("/proc/net/dev");
    let interfaces: Vec<&str> = dev
        .lines()
        .filter_map(|l| l.split_once(':').map(|(i, _)| i.trim()))
        .collect();
    assert_eq!(interfaces, ["lo"], "{dev}");

    // The very command verify runs, pointed at the mirror that the fixture
    // itself came from, cannot reach it.
    let started = Instant::now();
    let target = tempfile::tempdir().unwrap();
    let out = closure_command(
        &suite,
        &format!("deb [signed-by={signed_by}] {uri} {suite} main"),
        Path::new(&signed_by),
        &["hello".to_string()],
        &target.path().join("root"),
    )
    .output()
    .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "mmdebstrap against {uri} inside the namespace ({:.1}s):\n{log}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        !out.status.success(),
        "mmdebstrap reached the mirror:\n{log}"
    );
    assert!(
        log.contains("Temporary failure resolving")
            || log.contains("Could not resolve")
            || log.contains("unreachable"),
        "not a network failure:\n{log}"
    );
}

#[test]
fn a_module_with_a_missing_dependency_fails_closure_naming_it() {
    let Some(debs) = minbase_debs() else { return };
    let tree = Tree::with_packages(debs);
    fs::remove_file(tree.deb("libonig5")).unwrap();
    tree.finish(repo_key(), &modules());
    let bundle = tree.pack("broken.tgz");

    let report = run_verify(&bundle, &VerifyOptions::default());
    // Signatures and hashes are fine: the repository is consistent, just
    // not closed.
    assert_eq!(status(&report, "signature"), CheckStatus::Passed);
    assert_eq!(status(&report, "hashes"), CheckStatus::Passed);
    assert_eq!(status(&report, "closure"), CheckStatus::Failed);
    let base = &report.modules[0];
    let tools = &report.modules[1];
    assert!(base.ok, "{report}");
    assert!(!tools.ok, "{report}");
    assert!(
        tools.log_tail.iter().any(|l| l.contains("libonig5")),
        "{:?}",
        tools.log_tail
    );
    assert_problem(&report, &["module tools", "Depends: libonig5"]);
    assert!(
        report.problems.iter().all(|p| !p.contains("module base")),
        "{report}"
    );
}

#[test]
fn tampered_bundles_fail_with_precise_messages() {
    let Some(debs) = minbase_debs() else { return };
    let started = Instant::now();
    let tree = Tree::with_packages(debs);
    tree.finish(repo_key(), &modules());
    let good = tree.pack("good.tgz");
    assert!(run_verify(&good, &no_install()).ok());

    // A flipped byte in a package.
    let hello = tree.deb("hello");
    let hello_name = format!("{TOP_DIR}/{}", hello.file_name().unwrap().to_string_lossy());
    let original = fs::read(&hello).unwrap();
    let mut flipped = original.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x01;
    fs::write(&hello, &flipped).unwrap();
    let report = run_verify(&tree.pack("flipped.tgz"), &no_install());
    assert_problem(
        &report,
        &[
            &hello_name,
            "SHA256",
            "pigsty/Packages line",
            "(hello) says",
        ],
    );
    assert_problem(
        &report,
        &[&hello_name, "SHA-256 mismatch with pigsty/SHA256SUMS"],
    );
    assert_eq!(status(&report, "signature"), CheckStatus::Passed);
    assert_eq!(status(&report, "closure"), CheckStatus::Skipped);
    fs::write(&hello, &original).unwrap();

    // A removed package.
    fs::remove_file(&hello).unwrap();
    let report = run_verify(&tree.pack("removed.tgz"), &no_install());
    assert_problem(
        &report,
        &[&hello_name, "missing, but listed in pigsty/Packages line"],
    );
    fs::write(&hello, &original).unwrap();

    // An edited Packages (hashes in Release no longer match).
    let packages = fs::read_to_string(tree.path().join(PACKAGES)).unwrap();
    tree.edit(PACKAGES, |t| {
        t.replacen("Priority: optional", "Priority: required", 1)
    });
    let report = run_verify(&tree.pack("packages.tgz"), &no_install());
    assert_problem(&report, &["pigsty/Packages", "SHA256 mismatch"]);
    fs::write(tree.path().join(PACKAGES), &packages).unwrap();

    // An unlisted package slipped in.
    fs::write(tree.path().join("extra_1.0_all.deb"), b"!<arch>\n").unwrap();
    let report = run_verify(&tree.pack("unlisted.tgz"), &no_install());
    assert_problem(
        &report,
        &["pigsty/extra_1.0_all.deb: not listed in pigsty/Packages"],
    );
    fs::remove_file(tree.path().join("extra_1.0_all.deb")).unwrap();

    // Signed by a different key than the one shipped.
    let inrelease = fs::read_to_string(tree.path().join(INRELEASE)).unwrap();
    let release = fs::read_to_string(tree.path().join(RELEASE)).unwrap();
    let now = SystemTime::now() - Duration::from_secs(60);
    fs::write(
        tree.path().join(INRELEASE),
        stranger_key().clearsign(&release, now).unwrap(),
    )
    .unwrap();
    let report = run_verify(&tree.pack("stranger.tgz"), &no_install());
    assert_problem(&report, &["pigsty/InRelease"]);
    assert_eq!(status(&report, "signature"), CheckStatus::Failed);
    fs::write(tree.path().join(INRELEASE), &inrelease).unwrap();

    // Re-signed consistently by another key (key file, manifest and sums
    // all updated): only a key given by the operator catches it.
    let resigned = Tree::with_packages(debs);
    resigned.finish(stranger_key(), &modules());
    let resigned = resigned.pack("resigned.tgz");
    let key_file = tree.dir.path().join("trusted.asc");
    fs::write(&key_file, repo_key().public_armored()).unwrap();
    let report = run_verify(
        &resigned,
        &VerifyOptions {
            key: Some(key_file),
            ..no_install()
        },
    );
    assert_problem(
        &report,
        &["trusted.asc: holds key(s)", &stranger_key().fingerprint()],
    );
    assert_problem(&report, &["pigsty/InRelease"]);

    // The manifest names another key than the one shipped.
    tree.edit(MANIFEST, |t| {
        t.replace(&repo_key().fingerprint(), &stranger_key().fingerprint())
    });
    bundle_layout::write_sha256sums(&tree.path()).unwrap();
    let report = run_verify(&tree.pack("manifest-key.tgz"), &no_install());
    assert_problem(
        &report,
        &[
            "pigsty/pigsty-repo-key.pub.asc: holds key(s)",
            "MANIFEST.json says",
        ],
    );
    tree.finish(repo_key(), &modules());

    // No repo_complete marker.
    fs::remove_file(tree.path().join(REPO_COMPLETE)).unwrap();
    let report = run_verify(&tree.pack("incomplete.tgz"), &no_install());
    assert_problem(&report, &["pigsty/repo_complete: missing"]);
    assert_eq!(status(&report, "layout"), CheckStatus::Failed);
    assert_eq!(status(&report, "signature"), CheckStatus::Skipped);
    eprintln!("tamper cases took {:.1}s", started.elapsed().as_secs_f64());
}

/// A gzip-compressed tar holding the entries written by `f`, whose names
/// are set byte for byte, bypassing the tar crate's own path checks.
fn raw_tarball(dir: &Path, entries: &[(&str, tar::EntryType, &str)]) -> PathBuf {
    let mut data = Vec::new();
    {
        let mut builder = tar::Builder::new(&mut data);
        for (name, kind, link) in entries {
            let mut header = tar::Header::new_old();
            let body: &[u8] = if *kind == tar::EntryType::Regular {
                b"x"
            } else {
                b""
            };
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
            header.set_entry_type(*kind);
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append(&header, body).unwrap();
        }
        builder.finish().unwrap();
    }
    let out = dir.join("evil.tgz");
    let mut gz =
        flate2::write::GzEncoder::new(fs::File::create(&out).unwrap(), flate2::Compression::fast());
    gz.write_all(&data).unwrap();
    gz.finish().unwrap();
    out
}

#[test]
fn unsafe_tar_entries_are_refused_before_anything_lands_outside() {
    use tar::EntryType::{Directory, Regular, Symlink};
    let dir = tempfile::tempdir().unwrap();
    let victim = "pig-verify-escape-test";
    for (entries, want) in [
        (
            vec![
                ("pigsty/", Directory, ""),
                ("pigsty/../../pig-verify-escape-test", Regular, ""),
            ],
            "`..` in the path refused",
        ),
        (
            vec![("../pig-verify-escape-test", Regular, "")],
            "`..` in the path refused",
        ),
        (
            vec![("/tmp/pig-verify-escape-test", Regular, "")],
            "absolute path refused",
        ),
        (vec![("etc/passwd", Regular, "")], "not under pigsty/"),
        (
            vec![
                ("pigsty/", Directory, ""),
                ("pigsty/link", Symlink, "../../etc"),
            ],
            "link to \"../../etc\" points outside pigsty/",
        ),
        (
            vec![("pigsty/", Directory, ""), ("pigsty/abs", Symlink, "/etc")],
            "link to \"/etc\" points outside pigsty/",
        ),
    ] {
        let bundle = raw_tarball(dir.path(), &entries);
        let e = format!("{:#}", verify_bundle(&bundle, &no_install()).unwrap_err());
        assert!(
            e.contains("evil.tgz: entry") && e.contains(want),
            "{entries:?}: {e}"
        );
        assert!(!Path::new("/tmp").join(victim).exists());
        assert!(!std::env::temp_dir().join(victim).exists());
    }
}

#[test]
fn rpm_bundle_without_repodata_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join(TOP_DIR);
    fs::create_dir(&tree).unwrap();
    Manifest {
        format: MANIFEST_FORMAT,
        name: "pigsty".into(),
        version: "v0.0.1".into(),
        os: "el9".into(),
        arch: "x86_64".into(),
        kind: BundleKind::Rpm,
        source_date_epoch: 0,
        key_fingerprint: String::new(),
        public_key: PUBLIC_KEY.into(),
        modules: BTreeMap::new(),
        packages: Vec::new(),
        missing: Vec::new(),
        pig_version: env!("CARGO_PKG_VERSION").into(),
    }
    .save(&tree.join(MANIFEST))
    .unwrap();
    fs::write(tree.join(REPO_COMPLETE), b"").unwrap();
    let bundle = dir.path().join("pigsty-pkg-v0.0.1.el9.x86_64.tgz");
    pig_build::pack::pack_dir(&tree, TOP_DIR, &bundle, 0).unwrap();
    let report = run_verify(&bundle, &VerifyOptions::default());
    assert_problem(
        &report,
        &[
            "missing from the bundle",
            "pigsty/repodata/repomd.xml",
            "pigsty/repodata/repomd.xml.asc",
        ],
    );
    assert_eq!(status(&report, "layout"), CheckStatus::Failed);
    assert_eq!(status(&report, "closure"), CheckStatus::Skipped);
}
