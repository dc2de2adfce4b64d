//! Real Debian packages: control and md5sums read by pig equal what
//! `dpkg-deb` reports, and `index_entry` is byte-identical to
//! `apt-ftparchive packages`.

mod deb_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use deb_support::{deb_files, have, run, stdout, test_control};
use pig_repo::compress::Compression;
use pig_repo::deb::debfile::{DebBuilder, read_deb, scan_deb};
use pig_repo::deb::packages::{index_entry, write_packages};

/// Packages of the machine's configured Debian release: all three control
/// compressions dpkg can meet in the wild are covered by the built ones
/// below, varied control fields (Multi-Arch, Pre-Depends, Essential,
/// Built-Using, conffiles, long descriptions) by these.
const PACKAGES: &[&str] = &[
    "hello",
    "sl",
    "cowsay",
    "jq",
    "libjq1",
    "libonig5",
    "tree",
    "less",
    "nano",
    "file",
    "libmagic1",
    "libmagic-mgc",
    "curl",
    "libcurl4",
    "ca-certificates",
    "netbase",
    "adduser",
    "sensible-utils",
    "debianutils",
    "gzip",
    "sed",
    "grep",
    "xz-utils",
    "zstd",
    "lz4",
    "bzip2",
    "libbz2-1.0",
    "liblz4-1",
    "libzstd1",
    "patch",
    "make",
    "m4",
    "postgresql-common",
    "python3-six",
    "init-system-helpers",
    "dpkg",
    "tzdata",
    "fonts-dejavu-core",
    "libpq5",
    "postgresql-client-common",
    "lsof",
    "procps",
    "cron",
    "logrotate",
    "rsync",
];

/// A directory with the downloaded packages plus a few built here with
/// dpkg-deb (every compression) and with pig's own builder; `None` when
/// the tools or the mirror are unavailable.
fn fixture() -> Option<&'static Path> {
    static DIR: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();
    DIR.get_or_init(|| {
        if !have("dpkg-deb") || !have("apt-get") || !have("apt-ftparchive") {
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let dl = Command::new("apt-get")
            .args(["download", "-q", "-o", "APT::Sandbox::User=root"])
            .args(PACKAGES)
            .current_dir(dir.path())
            .output()
            .expect("run apt-get download");
        if !dl.status.success() {
            eprintln!(
                "SKIP: apt-get download failed (no mirror reachable?): {}",
                String::from_utf8_lossy(&dl.stderr)
            );
            return None;
        }
        build_with_dpkg_deb(dir.path());
        for (i, c) in [Compression::Xz, Compression::Gzip, Compression::Zstd]
            .into_iter()
            .enumerate()
        {
            // No Section/Priority on the first: apt-ftparchive then drops them.
            let extra = if i == 0 {
                ""
            } else {
                "Section: misc\nPriority: optional\nX-Pig-Custom: yes\n"
            };
            let mut b = DebBuilder::new(
                test_control(&format!("pig-built{i}"), "1.0", extra),
                1_700_000_000,
            );
            b.compression(c)
                .file("/usr/share/doc/pig/README", "hello\n", 0o644);
            b.write_to_path(&dir.path().join(format!("pig-built{i}_1.0_all.deb")))
                .expect("write built deb");
        }
        Some(dir)
    })
    .as_ref()
    .map(|d| d.path())
}

fn build_with_dpkg_deb(dir: &Path) {
    for z in ["gzip", "xz", "zstd", "none"] {
        let tree = tempfile::tempdir().expect("tempdir");
        let debian = tree.path().join("DEBIAN");
        std::fs::create_dir_all(&debian).unwrap();
        std::fs::create_dir_all(tree.path().join("etc")).unwrap();
        std::fs::write(tree.path().join("etc/pig-dpkg.conf"), "x=1\n").unwrap();
        std::fs::write(debian.join("conffiles"), "/etc/pig-dpkg.conf\n").unwrap();
        std::fs::write(
            debian.join("control"),
            format!(
                "Package: pig-dpkg-{z}\nVersion: 2:1.0~rc1-1\nArchitecture: amd64\nMaintainer: pig <pig@example.invalid>\n\
                 Section: misc\nPriority: optional\nDepends: libc6 (>= 2.34) | hello\nDescription: built by dpkg-deb -Z{z}\n long\n .\n text\n"
            ),
        )
        .unwrap();
        std::fs::write(
            debian.join("md5sums"),
            "0e0c4f2c1f6da8bd8c5dcdf4b4e4f1c0  etc/pig-dpkg.conf\n",
        )
        .unwrap();
        run(Command::new("dpkg-deb")
            .args(["--root-owner-group", &format!("-Z{z}"), "--build"])
            .arg(tree.path())
            .arg(dir.join(format!("pig-dpkg-{z}_1.0_amd64.deb"))));
    }
}

#[test]
fn control_and_md5sums_match_dpkg_deb() {
    let Some(dir) = fixture() else { return };
    let debs = deb_files(dir);
    assert!(debs.len() >= PACKAGES.len(), "{} debs", debs.len());
    let mut with_md5sums = 0;
    for path in &debs {
        let deb = read_deb(path).unwrap_or_else(|e| panic!("{e}"));
        let expected = stdout(Command::new("dpkg-deb").arg("-f").arg(path));
        assert_eq!(deb.control.to_string(), expected, "{}", path.display());

        let listing = stdout(Command::new("dpkg-deb").arg("-I").arg(path));
        if deb.control_files.iter().any(|f| f == "md5sums") {
            with_md5sums += 1;
            let expected = stdout(Command::new("dpkg-deb").arg("-I").arg(path).arg("md5sums"));
            let ours: String = deb
                .md5sums
                .iter()
                .map(|(p, m)| format!("{m}  {p}\n"))
                .collect();
            assert_eq!(ours, expected, "{}", path.display());
        }
        // Lines like `  1362 bytes,    35 lines   *  postinst   #!/bin/sh`.
        let mut listed: Vec<&str> = listing
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace().skip_while(|w| *w != "lines").skip(1);
                let word = words.next()?;
                if word == "*" {
                    words.next()
                } else {
                    Some(word)
                }
            })
            .collect();
        listed.sort();
        let mut ours = deb.control_files.clone();
        ours.sort();
        assert_eq!(ours, listed, "{}", path.display());

        let scanned = scan_deb(path).unwrap();
        assert_eq!(scanned.deb, deb);
        assert_eq!(scanned.size, std::fs::metadata(path).unwrap().len());
        let sha = stdout(Command::new("sha256sum").arg(path));
        let md5 = stdout(Command::new("md5sum").arg(path));
        assert_eq!(Some(scanned.sha256.as_str()), sha.split(' ').next());
        assert_eq!(Some(scanned.md5.as_str()), md5.split(' ').next());
    }
    assert!(with_md5sums > 30);
    eprintln!(
        "checked {} .deb files ({with_md5sums} with md5sums) against dpkg-deb",
        debs.len()
    );
}

#[test]
fn index_entries_are_byte_identical_to_apt_ftparchive() {
    let Some(dir) = fixture() else { return };
    let out = stdout(
        Command::new("apt-ftparchive")
            .args([
                "-o",
                "APT::FTPArchive::SHA1=false",
                "-o",
                "APT::FTPArchive::SHA512=false",
            ])
            .args(["packages", "."])
            .current_dir(dir),
    );
    let theirs: BTreeMap<String, String> = out
        .split_inclusive("\n\n")
        .map(|s| {
            let file = s
                .lines()
                .find_map(|l| l.strip_prefix("Filename: "))
                .expect("stanza has Filename")
                .to_string();
            (file, s.to_string())
        })
        .collect();
    let debs: Vec<PathBuf> = deb_files(dir);
    assert_eq!(theirs.len(), debs.len());
    for path in &debs {
        let s = scan_deb(path).unwrap();
        let filename = format!("./{}", path.file_name().unwrap().to_str().unwrap());
        let ours = write_packages(&[index_entry(&s.deb, &filename, s.size, &s.md5, &s.sha256)]);
        assert_eq!(Some(&ours), theirs.get(&filename), "{filename}");
    }
    eprintln!("{} stanzas byte-identical to apt-ftparchive", debs.len());
}
