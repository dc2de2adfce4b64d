//! `Release` parsing and verification against the machine's real apt lists,
//! and the full Debian `Packages` index through `PackagesReader`.

mod deb_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use deb_support::have;
use pig_repo::deb::packages::PackagesReader;
use pig_repo::deb::release::{HashKind, Release};
use pig_tests::{APT_HELPER, cat_apt_list};

const LISTS: &str = "/var/lib/apt/lists";

/// The signed text of an `InRelease`, armor removed crudely: what lies
/// between the blank line after the armor header and the signature,
/// dash-unescaped. Signature checking is not this module's job.
fn strip_armor(text: &str) -> String {
    let body = text
        .split_once("-----BEGIN PGP SIGNED MESSAGE-----\n")
        .and_then(|(_, rest)| rest.split_once("\n\n"))
        .map(|(_, body)| body)
        .expect("armor header");
    let (body, _) = body
        .split_once("-----BEGIN PGP SIGNATURE-----")
        .expect("signature");
    body.lines()
        .map(|l| l.strip_prefix("- ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn in_releases() -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(LISTS) else {
        return Vec::new();
    };
    let mut v: Vec<_> = dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with("_InRelease"))
        .collect();
    v.sort();
    v
}

#[test]
fn parses_real_in_release_and_verifies_lists() {
    let releases = in_releases();
    if releases.is_empty() || !Path::new(APT_HELPER).exists() {
        eprintln!("SKIP: no InRelease in {LISTS} or no apt-helper (run apt-get update)");
        return;
    }
    let mut verified = 0;
    for path in &releases {
        let input = path.display().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let release = Release::parse(&strip_armor(&text), &input).unwrap_or_else(|e| panic!("{e}"));
        assert!(release.fields.get("Suite").is_some(), "{input}");
        assert!(release.fields.get("Date").is_some(), "{input}");
        assert!(release.files.len() > 10, "{input}");
        assert!(
            release
                .files
                .iter()
                .all(|f| f.hash(HashKind::Sha256).is_some()),
            "{input}"
        );
        if release.fields.get("Acquire-By-Hash") == Some("yes") {
            assert_eq!(release.by_hash_paths().len(), release.files.len());
        }
        // Written back with the kinds it had, it parses to the same thing.
        let kinds: Vec<HashKind> = HashKind::ALL
            .into_iter()
            .filter(|k| release.files.iter().any(|f| f.hash(*k).is_some()))
            .collect();
        assert_eq!(
            Release::parse(&release.write(&kinds), "again").unwrap(),
            release
        );

        // The list files apt fetched under this InRelease.
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let prefix = name.strip_suffix("InRelease").unwrap();
        for entry in std::fs::read_dir(LISTS).unwrap() {
            let file = entry.unwrap().path();
            let fname = file.file_name().unwrap().to_string_lossy().into_owned();
            let Some(rest) = fname.strip_prefix(prefix) else {
                continue;
            };
            if rest == "InRelease" {
                continue;
            }
            let listed = rest.replace('_', "/");
            if release.files.iter().any(|f| f.path == listed) {
                // Stored as fetched (e.g. dep11 .yml.gz).
                release
                    .verify_file(&listed, &std::fs::read(&file).unwrap(), &input)
                    .unwrap();
            } else {
                // Recompressed by apt (lz4): check the uncompressed entry.
                let plain = listed.rsplit_once('.').map_or(listed.as_str(), |(p, _)| p);
                release
                    .verify_file(plain, &cat_apt_list(&file), &input)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            verified += 1;
        }
    }
    assert!(verified > 0, "no list file verified");
    eprintln!(
        "{} InRelease files parsed, {verified} list files verified",
        releases.len()
    );
}

#[test]
fn reads_the_full_debian_packages_index() {
    let Some(list) = std::fs::read_dir(LISTS).ok().and_then(|d| {
        d.filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let n = p.to_string_lossy();
                n.contains("_dists_") && n.contains("_main_binary-") && n.contains("_Packages")
            })
            .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
    }) else {
        eprintln!("SKIP: no Packages list in {LISTS}");
        return;
    };
    if !Path::new(APT_HELPER).exists() || !have("lz4") {
        return;
    }
    let mut child = Command::new(APT_HELPER)
        .arg("cat-file")
        .arg(&list)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let start = Instant::now();
    let mut count = 0usize;
    let mut bytes = 0u64;
    for entry in PackagesReader::new(stdout, &list.display().to_string()) {
        let entry = entry.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            entry.filename().is_some_and(|f| f.starts_with("pool/")),
            "{}",
            entry.name()
        );
        assert_eq!(entry.sha256().map(str::len), Some(64));
        bytes += entry.size().expect("Size");
        count += 1;
    }
    let elapsed = start.elapsed();
    assert!(child.wait().unwrap().success());
    assert!(count > 1000, "{count} stanzas");
    eprintln!(
        "{}: {count} stanzas ({:.1} GB of packages) read in {:.2} s",
        list.display(),
        bytes as f64 / 1e9,
        elapsed.as_secs_f64()
    );
}

#[test]
fn bad_release_errors_name_file_and_place() {
    let good = "Origin: x\nSHA256:\n e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 0 main/Packages\n";
    let r = Release::parse(good, "Release").unwrap();
    let e = r.verify_file("main/Packages", b"x", "Release").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Release: main/Packages: size mismatch: expected 0, got 1"
    );
    let e = r
        .verify_file("contrib/Packages", b"", "Release")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Release: contrib/Packages: not listed in the Release file"
    );

    let bad_hash = good.replace("e3b0", "e3bX");
    let e = Release::parse(&bad_hash, "Release").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Release:3: SHA256: expected 64 hex digits"),
        "{e}"
    );
    let short = good.replace(" 0 main", " main");
    let e = Release::parse(&short, "Release").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Release:3: SHA256: expected `<hash> <size> <path>`"
    );
    let e = Release::parse("Origin x\n", "Release").unwrap_err();
    assert!(e.to_string().starts_with("Release:1: "), "{e}");
}
