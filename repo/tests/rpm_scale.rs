//! 60,000 packages: the writer and the reader stream, so peak memory stays
//! flat however large primary.xml is. Alone in its binary so no other test
//! disturbs the process's memory figures.

use std::fs;
use std::time::Instant;

use pig_repo::rpm::header::{Changelog, Dependency, FileKind, RpmFile, RpmInfo};
use pig_repo::rpm::repodata::{IndexKey, RepodataReader, RepodataWriter};
use pig_repo::rpm::version::{Evr, Op};

const PACKAGES: usize = 60_000;

fn package(i: usize) -> (String, RpmInfo) {
    let name = format!("pkg{i:05}");
    let dep = |n: String| Dependency::versioned(n, Op::Ge, Evr::parse("1.0-1").unwrap());
    let info = RpmInfo {
        name: name.clone(),
        epoch: None,
        version: "1.0".into(),
        release: "1.el9".into(),
        arch: "x86_64".into(),
        summary: format!("Synthetic package {i}"),
        description: "A package that exists to make primary.xml large. ".repeat(8),
        license: Some("MIT".into()),
        build_time: 1_700_000_000,
        installed_size: 4096,
        archive_size: 4096,
        header_range: (4504, 9000),
        provides: (0..8).map(|k| dep(format!("{name}-cap{k}"))).collect(),
        requires: (0..8)
            .map(|k| dep(format!("pkg{:05}-cap{k}", (i + 1) % PACKAGES)))
            .collect(),
        files: (0..12)
            .map(|k| RpmFile {
                path: format!(
                    "/usr/{}/{name}/file{k}",
                    if k % 3 == 0 { "bin" } else { "share" }
                ),
                kind: FileKind::File,
            })
            .collect(),
        changelogs: vec![Changelog {
            author: "Tester <t@example.invalid> - 1.0-1".into(),
            date: 1_700_000_000,
            text: "- built".into(),
        }],
        file_size: 10_000,
        pkgid: format!("{i:064x}"),
        ..RpmInfo::default()
    };
    (format!("Packages/{name}-1.0-1.el9.x86_64.rpm"), info)
}

fn status_kib(field: &str) -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Reset the peak-RSS counter so VmHWM measures only what follows.
fn reset_peak() -> bool {
    fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[test]
fn sixty_thousand_packages_stream_in_flat_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    let rss_before_write = status_kib("VmRSS:");
    if !reset_peak() {
        eprintln!("SKIP: cannot reset peak RSS (/proc/self/clear_refs not writable)");
        return;
    }
    let start = Instant::now();
    let mut writer = RepodataWriter::create(dir, PACKAGES, 1_700_000_000).unwrap();
    let mut last: Option<IndexKey> = None;
    for i in 0..PACKAGES {
        let (href, info) = package(i);
        let key = IndexKey::of(&href);
        assert!(last.as_ref().is_none_or(|l| *l < key));
        writer.add_rpm(&info, &href).unwrap();
        last = Some(key);
    }
    let repomd = writer.finish().unwrap();
    let write_time = start.elapsed();
    let write_growth = status_kib("VmHWM:").saturating_sub(rss_before_write);
    let primary = repomd.record("primary").unwrap();
    let open_kib = primary.open_size.unwrap() / 1024;

    let rss_before_read = status_kib("VmRSS:");
    assert!(reset_peak());
    let start = Instant::now();
    let reader = RepodataReader::open(dir).unwrap();
    let mut count = 0;
    let mut requires = 0;
    for pkg in reader.packages().unwrap() {
        let pkg = pkg.unwrap();
        requires += pkg.deps.requires.len();
        count += 1;
    }
    let read_time = start.elapsed();
    let read_growth = status_kib("VmHWM:").saturating_sub(rss_before_read);

    eprintln!(
        "{PACKAGES} packages: primary.xml {open_kib} KiB open, {} KiB gzip; write {write_time:.2?} (+{write_growth} KiB peak RSS), read {read_time:.2?} (+{read_growth} KiB peak RSS)",
        primary.size / 1024
    );
    assert_eq!(count, PACKAGES);
    assert_eq!(requires, PACKAGES * 8);
    assert!(
        open_kib > 100 * 1024,
        "primary.xml too small to prove anything: {open_kib} KiB"
    );
    // Holding the document (or the package list) would cost far more than
    // this; a streaming reader needs its buffers and one package.
    assert!(
        read_growth < 16 * 1024,
        "reading grew peak RSS by {read_growth} KiB"
    );
    assert!(
        write_growth < 16 * 1024,
        "writing grew peak RSS by {write_growth} KiB"
    );
}
