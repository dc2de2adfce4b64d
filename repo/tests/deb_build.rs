//! `DebBuilder` output is a package dpkg accepts and installs, built
//! reproducibly; malformed `.deb` files give errors that name the file and
//! the member, never a panic.

mod deb_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use deb_support::{have, run, stdout, test_control};
use pig_repo::compress::Compression;
use pig_repo::deb::debfile::{DebBuilder, read_deb, read_deb_from};

const LONG_DIR: &str =
    "usr/share/pig/a-directory-name-that-is-quite-long/and-another-one-that-is-long-as-well";

fn sample(compression: Compression) -> DebBuilder {
    let mut b = DebBuilder::new(
        test_control(
            "pig-sample",
            "1.2.3-1",
            "Section: admin\nPriority: optional\nDepends: libc6\n",
        ),
        1_700_000_000,
    );
    b.compression(compression)
        .file("/usr/bin/pig-sample", "#!/bin/sh\necho pig\n", 0o755)
        .file("/etc/pig/sample.conf", "answer = 42\n", 0o644)
        .conffile("/etc/pig/sample.conf")
        .file(
            &format!("{LONG_DIR}/with-a-file-name-long-enough-to-pass-100-bytes.txt"),
            vec![b'x'; 5000],
            0o644,
        )
        .dir("/var/lib/pig-sample")
        .symlink("/usr/bin/pig-sample-link", "pig-sample")
        .symlink(
            "/usr/share/pig/long-link",
            &format!("/{LONG_DIR}/with-a-file-name-long-enough-to-pass-100-bytes.txt"),
        )
        .script(
            "postinst",
            "#!/bin/sh\nset -e\ntouch \"$DPKG_ROOT/var/lib/pig-sample/postinst-ran\"\n",
        );
    b
}

#[test]
fn dpkg_deb_reads_and_dpkg_installs_builder_output() {
    if !have("dpkg-deb") || !have("dpkg") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for c in [
        Compression::Xz,
        Compression::Gzip,
        Compression::Zstd,
        Compression::None,
    ] {
        let deb = tmp.path().join(format!("pig-sample{}.deb", c.extension()));
        sample(c).write_to_path(&deb).unwrap();
        assert_eq!(
            std::fs::metadata(&deb).unwrap().permissions().mode() & 0o777,
            0o644
        );

        let info = stdout(Command::new("dpkg-deb").arg("--info").arg(&deb));
        assert!(info.contains(" Package: pig-sample\n"), "{info}");
        assert!(info.contains(" Installed-Size: 21\n"), "{info}");
        assert!(info.contains("postinst"), "{info}");
        let fields = stdout(Command::new("dpkg-deb").arg("-f").arg(&deb));
        assert_eq!(read_deb(&deb).unwrap().control.to_string(), fields);

        let contents = stdout(Command::new("dpkg-deb").arg("--contents").arg(&deb));
        for want in [
            "drwxr-xr-x root/root         0 2023-11-14 22:13 ./\n",
            "-rwxr-xr-x root/root        19 2023-11-14 22:13 ./usr/bin/pig-sample\n",
            "lrwxrwxrwx root/root         0 2023-11-14 22:13 ./usr/bin/pig-sample-link -> pig-sample\n",
            "/with-a-file-name-long-enough-to-pass-100-bytes.txt\n",
            "./usr/share/pig/long-link -> /usr/share/pig/a-directory-name",
            "drwxr-xr-x root/root         0 2023-11-14 22:13 ./var/lib/pig-sample/\n",
        ] {
            assert!(contents.contains(want), "{want:?} not in:\n{contents}");
        }
        let listed: Vec<_> = contents
            .lines()
            .map(|l| l.split_whitespace().nth(5).unwrap())
            .collect();
        let mut sorted = listed.clone();
        sorted.sort();
        assert_eq!(listed, sorted, "entries are sorted");
    }

    // Install into a throwaway root; scripts run unchrooted with DPKG_ROOT set.
    let root = tmp.path().join("root");
    for d in [
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "var/lib/dpkg/triggers",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    run(Command::new("dpkg")
        .arg(format!("--root={}", root.display()))
        .args([
            "--force-not-root",
            "--force-script-chrootless",
            "--force-depends",
            "--log=/dev/null",
            "-i",
        ])
        .arg(tmp.path().join("pig-sample.xz.deb")));
    assert_eq!(
        std::fs::read_to_string(root.join("usr/bin/pig-sample")).unwrap(),
        "#!/bin/sh\necho pig\n"
    );
    let mode = std::fs::metadata(root.join("usr/bin/pig-sample"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    assert_eq!(
        std::fs::read_link(root.join("usr/bin/pig-sample-link")).unwrap(),
        Path::new("pig-sample")
    );
    assert!(
        root.join("var/lib/pig-sample/postinst-ran").exists(),
        "postinst ran"
    );
    let status = stdout(
        Command::new("dpkg")
            .arg(format!("--root={}", root.display()))
            .args(["-s", "pig-sample"]),
    );
    assert!(
        status.contains("Status: install ok installed\n"),
        "{status}"
    );
    assert!(
        status.contains("Conffiles:\n /etc/pig/sample.conf "),
        "{status}"
    );
    // dpkg checks what it installed against our md5sums.
    run(Command::new("dpkg")
        .arg(format!("--root={}", root.display()))
        .args(["--verify", "pig-sample"]));
}

#[test]
fn builds_are_reproducible_and_order_independent() {
    let a = sample(Compression::Xz).build().unwrap();
    assert_eq!(a, sample(Compression::Xz).build().unwrap());
    let mut b = DebBuilder::new(
        test_control(
            "pig-sample",
            "1.2.3-1",
            "Section: admin\nPriority: optional\nDepends: libc6\n",
        ),
        1_700_000_000,
    );
    b.script(
        "postinst",
        "#!/bin/sh\nset -e\ntouch \"$DPKG_ROOT/var/lib/pig-sample/postinst-ran\"\n",
    )
    .symlink(
        "/usr/share/pig/long-link",
        &format!("/{LONG_DIR}/with-a-file-name-long-enough-to-pass-100-bytes.txt"),
    )
    .symlink("usr/bin/pig-sample-link", "pig-sample")
    .dir("var/lib/pig-sample/")
    .file(
        &format!("./{LONG_DIR}/with-a-file-name-long-enough-to-pass-100-bytes.txt"),
        vec![b'x'; 5000],
        0o644,
    )
    .conffile("etc/pig/sample.conf")
    .file("etc/pig/sample.conf", "answer = 42\n", 0o644)
    .file("usr/bin/pig-sample", "#!/bin/sh\necho pig\n", 0o755);
    assert_eq!(a, b.build().unwrap());
}

#[test]
fn every_truncation_is_an_error_naming_the_file() {
    for c in [
        Compression::Xz,
        Compression::Gzip,
        Compression::Zstd,
        Compression::None,
    ] {
        let mut b = DebBuilder::new(test_control("tiny", "1", ""), 0);
        b.compression(c).file("/usr/share/tiny", "tiny\n", 0o644);
        let deb = b.build().unwrap();
        read_deb_from(deb.as_slice(), "tiny.deb").unwrap();
        for len in 0..deb.len() {
            let e = read_deb_from(&deb[..len], "tiny.deb")
                .expect_err(&format!("{c:?}: prefix of {len} bytes accepted"));
            let msg = e.to_string();
            assert!(msg.starts_with("tiny.deb: "), "{msg}");
            assert!(
                msg.contains("truncated") || msg.contains("magic") || msg.contains("missing"),
                "{c:?} {len}: {msg}"
            );
        }
        eprintln!("{c:?}: all {} prefixes rejected", deb.len());
    }
    let e = read_deb_from(&sample(Compression::Xz).build().unwrap()[..300], "x.deb").unwrap_err();
    assert_eq!(e.to_string(), "x.deb: control.tar.xz: truncated");
}

/// Split an ar archive into (header, data-with-padding) members.
fn ar_members(deb: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 8;
    while at < deb.len() {
        let header = deb[at..at + 60].to_vec();
        let size: usize = std::str::from_utf8(&header[48..58])
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let end = at + 60 + size + size % 2;
        out.push((header, deb[at + 60..end].to_vec()));
        at = end;
    }
    out
}

fn ar_join(members: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (h, d) in members {
        out.extend_from_slice(h);
        out.extend_from_slice(d);
    }
    out
}

#[test]
fn malformed_debs_are_rejected_with_the_place() {
    let deb = sample(Compression::Xz).build().unwrap();
    let m = ar_members(&deb);
    assert_eq!(m.len(), 3);

    let swapped = ar_join(&[m[1].clone(), m[0].clone(), m[2].clone()]);
    let e = read_deb_from(swapped.as_slice(), "x.deb").unwrap_err();
    assert_eq!(
        e.to_string(),
        "x.deb: control.tar.xz: expected debian-binary as the first member"
    );

    let swapped = ar_join(&[m[0].clone(), m[2].clone(), m[1].clone()]);
    let e = read_deb_from(swapped.as_slice(), "x.deb").unwrap_err();
    assert_eq!(
        e.to_string(),
        "x.deb: data.tar.xz: expected a control.tar{,.gz,.xz,.zst} member here"
    );

    let no_data = ar_join(&m[..2]);
    let e = read_deb_from(no_data.as_slice(), "x.deb").unwrap_err();
    assert_eq!(e.to_string(), "x.deb: data.tar: missing member");

    // Members starting with `_` are skipped, as dpkg does.
    let mut extra = m[0].0.clone();
    extra[..16].copy_from_slice(b"_extra          ");
    let with_extra = ar_join(&[
        m[0].clone(),
        (extra, m[0].1.clone()),
        m[1].clone(),
        m[2].clone(),
    ]);
    read_deb_from(with_extra.as_slice(), "x.deb").unwrap();

    let e = read_deb_from(&b"PK\x03\x04 not a deb"[..], "x.deb").unwrap_err();
    assert!(e.to_string().starts_with("x.deb: ar header: "), "{e}");

    // A control file with a broken line, in an uncompressed control.tar
    // (tar checksums cover headers only, so the edit keeps the tar valid).
    let plain = sample(Compression::None).build().unwrap();
    let at = plain.windows(11).position(|w| w == b"Maintainer:").unwrap();
    let mut broken = plain.clone();
    broken[at + 10] = b' ';
    let e = read_deb_from(broken.as_slice(), "x.deb").unwrap_err();
    assert_eq!(
        e.to_string(),
        "x.deb: control.tar: control:4: expected `Name: value`, found \"Maintainer  pig tests <pig@example.invalid>\""
    );
    // Garbage inside the compressed control member.
    let mut garbled = m.clone();
    let len = garbled[1].1.len();
    garbled[1].1[len / 2..len / 2 + 8].copy_from_slice(b"GARBAGE!");
    let e = read_deb_from(ar_join(&garbled).as_slice(), "x.deb").unwrap_err();
    assert!(e.to_string().starts_with("x.deb: control.tar.xz: "), "{e}");
}

#[test]
fn corrupting_any_byte_never_panics() {
    for c in [Compression::None, Compression::Xz] {
        let mut b = DebBuilder::new(test_control("tiny", "1", ""), 0);
        b.compression(c).file("/usr/share/tiny", "tiny\n", 0o644);
        let deb = b.build().unwrap();
        let mut errors = 0;
        for at in 0..deb.len() {
            for byte in [0x00, 0xff, b'7'] {
                let mut bad = deb.clone();
                bad[at] = byte;
                if let Err(e) = read_deb_from(bad.as_slice(), "tiny.deb") {
                    assert!(e.to_string().starts_with("tiny.deb"), "{e}");
                    errors += 1;
                }
            }
        }
        eprintln!(
            "{c:?}: {} corruptions, {errors} rejected, no panic",
            deb.len() * 3
        );
    }
}
