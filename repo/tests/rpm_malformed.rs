//! Damaged input: truncated and garbage `.rpm` files, broken XML, wrong
//! checksums. Every case is an error naming the file and the place, never a
//! panic.

mod rpm_common;

use std::fs;
use std::io::Write;

use pig_repo::rpm::header::{read_rpm, read_rpm_from};
use pig_repo::rpm::repodata::RepodataReader;
use rpm_common::*;

#[test]
fn truncated_rpms_are_errors_naming_file_and_part() {
    if !have_tools(&["rpmbuild"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let rpms = build_fixtures(tmp.path());
    let bytes = fs::read(&rpms[0]).unwrap();
    let full = read_rpm_from(&bytes[..], "whole.rpm").unwrap();
    assert_eq!(full.file_size, bytes.len() as u64);
    let mut lengths: Vec<usize> = (0..600).collect();
    lengths.extend((600..bytes.len()).step_by(37));
    lengths.push(bytes.len() - 1);
    for &len in &lengths {
        let err = read_rpm_from(&bytes[..len], "cut.rpm")
            .expect_err(&format!(
                "prefix of {len} of {} bytes accepted",
                bytes.len()
            ))
            .to_string();
        assert!(err.starts_with("cut.rpm: "), "{err}");
        let part = if len < 96 {
            "lead"
        } else if (len as u64) < full.header_range.1 {
            "header"
        } else {
            "payload"
        };
        assert!(err.contains(part), "prefix {len}: {err}");
    }
    eprintln!(
        "{} truncations of a {}-byte rpm rejected",
        lengths.len(),
        bytes.len()
    );

    // Flipped bytes anywhere: an error or a (different) result, never a panic.
    let mut damaged = bytes.clone();
    for i in (0..bytes.len()).step_by(13) {
        damaged[i] ^= 0xff;
        let _ = read_rpm_from(&damaged[..], "flipped.rpm");
        damaged[i] ^= 0xff;
    }

    let path = tmp.path().join("garbage.rpm");
    fs::write(&path, b"this is not an rpm at all, but long enough to have a lead....................................................").unwrap();
    let err = read_rpm(&path).unwrap_err().to_string();
    assert!(err.contains("garbage.rpm") && err.contains("lead"), "{err}");
}

fn indexed_repo() -> Option<(tempfile::TempDir, std::path::PathBuf)> {
    if !have_tools(&["rpmbuild"]) {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let rpms = build_fixtures(tmp.path());
    let dir = tmp.path().join("repo");
    let hrefs = make_repo(&dir, &rpms);
    pig_index(&dir, &hrefs);
    Some((tmp, dir))
}

fn primary_path(dir: &std::path::Path) -> std::path::PathBuf {
    let reader = RepodataReader::open(dir).unwrap();
    dir.join(&reader.repomd().record("primary").unwrap().location_href)
}

fn write_gz(path: &std::path::Path, text: &str) {
    let mut enc =
        flate2::write::GzEncoder::new(fs::File::create(path).unwrap(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
}

#[test]
fn bad_xml_names_document_and_element() {
    let Some((_tmp, dir)) = indexed_repo() else {
        return;
    };
    let primary = primary_path(&dir);
    let name = primary.file_name().unwrap().to_string_lossy().into_owned();
    let good = document(&dir, "primary");

    let cases = [
        // Missing epoch on the third package's version.
        (
            {
                let mut n = 0;
                good.split("<version epoch=\"")
                    .enumerate()
                    .map(|(i, part)| {
                        n += 1;
                        if i == 0 {
                            part.to_string()
                        } else if i == 3 {
                            format!("<version x=\"{part}")
                        } else {
                            format!("<version epoch=\"{part}")
                        }
                    })
                    .collect::<String>()
            },
            "package[3]/version: missing attribute epoch",
        ),
        (good.replacen("</name>", "</nam>", 1), "package[1]/name"),
        (
            {
                let second_end = good.match_indices("</package>").nth(1).unwrap().0;
                good[..second_end].to_string()
            },
            "package[2]: document ends early (truncated)",
        ),
        (good[..good.len() / 2].to_string(), "malformed XML"),
        (
            good.replacen("<size package=\"", "<size package=\"x", 1),
            "package[1]/size: attribute package",
        ),
        (
            good.replacen("flags=\"GE\"", "flags=\"XX\"", 1),
            "rpm:entry: attribute flags",
        ),
    ];
    for (text, want) in cases {
        write_gz(&primary, &text);
        let reader = RepodataReader::open(&dir).unwrap();
        let err = reader
            .packages()
            .unwrap()
            .find_map(Result::err)
            .expect("damaged primary read without error")
            .to_string();
        assert!(err.starts_with(&format!("{name}: ")), "{err}");
        assert!(err.contains(want), "want {want:?} in {err}");
        // The checksum in repomd no longer matches either.
        let err = reader.verify_all().unwrap_err().to_string();
        assert!(err.contains(&name), "{err}");
    }
}

#[test]
fn wrong_checksums_and_sizes_in_repomd_are_reported() {
    let Some((_tmp, dir)) = indexed_repo() else {
        return;
    };
    let repomd_path = dir.join("repodata/repomd.xml");
    let original = fs::read_to_string(&repomd_path).unwrap();
    let reader = RepodataReader::open(&dir).unwrap();
    reader.verify_all().unwrap();
    let filelists = reader.repomd().record("filelists").unwrap().clone();
    let file = filelists
        .location_href
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();

    let tweak = |from: &str, to: &str, want: &str| {
        fs::write(&repomd_path, original.replacen(from, to, 1)).unwrap();
        let err = RepodataReader::open(&dir)
            .unwrap()
            .verify_all()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&file) && err.contains(want),
            "want {want:?}: {err}"
        );
    };
    let mut wrong = filelists.checksum.clone();
    wrong.replace_range(0..4, "0000");
    tweak(
        &format!(">{}<", filelists.checksum),
        &format!(">{wrong}<"),
        "checksum",
    );
    tweak(
        &format!("<size>{}</size>", filelists.size),
        &format!("<size>{}</size>", filelists.size + 1),
        "size",
    );
    let open = filelists.open_checksum.clone().unwrap();
    tweak(
        &format!(">{open}<"),
        &format!(">{}<", "1".repeat(64)),
        "open-checksum",
    );

    fs::write(&repomd_path, original.replacen("<size>", "<size>x", 1)).unwrap();
    let err = RepodataReader::open(&dir)
        .err()
        .expect("bad size accepted")
        .to_string();
    assert!(err.starts_with("repomd.xml: data[primary]/size"), "{err}");

    fs::write(&repomd_path, &original[..original.len() / 2]).unwrap();
    let err = RepodataReader::open(&dir)
        .err()
        .expect("truncated repomd accepted")
        .to_string();
    assert!(err.starts_with("repomd.xml: "), "{err}");
}
