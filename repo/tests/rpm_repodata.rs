//! pig's repodata against createrepo_c's and dnf, with real RPMs built by
//! rpmbuild.

mod rpm_common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use pig_repo::rpm::header::{Dependency, RpmFile, read_rpm};
use pig_repo::rpm::repodata::{RepodataReader, RepodataWriter, indexed_dependencies};
use rpm_common::*;

struct Fixture {
    _tmp: tempfile::TempDir,
    /// Indexed by createrepo_c.
    theirs: std::path::PathBuf,
    /// Indexed by pig.
    ours: std::path::PathBuf,
    hrefs: Vec<String>,
}

fn fixture() -> Option<Fixture> {
    if !have_tools(&["rpmbuild", "createrepo_c"]) {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let rpms = build_fixtures(tmp.path());
    assert_eq!(rpms.len(), SPECS.len());
    let theirs = tmp.path().join("theirs");
    let ours = tmp.path().join("ours");
    let hrefs = make_repo(&theirs, &rpms);
    make_repo(&ours, &rpms);
    createrepo_c(&theirs);
    pig_index(&ours, &hrefs);
    Some(Fixture {
        _tmp: tmp,
        theirs,
        ours,
        hrefs,
    })
}

/// repomd.xml with the values that must differ (the gzip streams are
/// compressed by different zlib builds) blanked out.
fn normalised_repomd(dir: &Path) -> String {
    fs::read_to_string(dir.join("repodata/repomd.xml"))
        .unwrap()
        .lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with("<checksum ") || t.starts_with("<location ") || t.starts_with("<size>")
            {
                format!("{}<compressed-file-detail/>", &l[..l.len() - t.len()])
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn xml_is_byte_identical_to_createrepo_c() {
    let Some(f) = fixture() else { return };
    for kind in ["primary", "filelists", "other"] {
        let theirs = document(&f.theirs, kind);
        let ours = document(&f.ours, kind);
        if theirs != ours {
            for (i, (a, b)) in theirs.lines().zip(ours.lines()).enumerate() {
                if a != b {
                    panic!(
                        "{kind}.xml differs at line {}:\ncreaterepo_c: {a}\npig:          {b}",
                        i + 1
                    );
                }
            }
            panic!(
                "{kind}.xml differs in length: {} vs {}",
                theirs.len(),
                ours.len()
            );
        }
        eprintln!("{kind}.xml: {} bytes identical", ours.len());
    }
    assert_eq!(normalised_repomd(&f.theirs), normalised_repomd(&f.ours));
}

fn dnf(cache: &Path, repo: &Path) -> Command {
    let mut c = Command::new("dnf");
    c.arg("-q")
        .arg("-y")
        .arg(format!("--repofrompath=pig,{}", repo.display()))
        .arg("--repo=pig")
        .arg("--nogpgcheck")
        .arg("--releasever=9")
        .arg("--setopt=reposdir=/nonexistent")
        .arg(format!("--setopt=cachedir={}", cache.display()))
        .arg("--setopt=install_weak_deps=False")
        .arg("--setopt=keepcache=False")
        .arg("--disableplugin=*");
    c
}

fn repoquery(cache: &Path, repo: &Path, hrefs: &[String]) -> String {
    let mut out = run(dnf(cache, repo)
        .arg("repoquery")
        .arg("--qf")
        .arg("%{name} %{epoch} %{version} %{release} %{arch} %{location}"));
    for href in hrefs {
        let name = href.rsplit('/').next().unwrap().trim_end_matches(".rpm");
        for what in [
            "--requires",
            "--provides",
            "--conflicts",
            "--obsoletes",
            "--recommends",
            "--suggests",
            "--supplements",
            "--enhances",
        ] {
            out.push_str(&format!("== {name} {what}\n"));
            out.push_str(&run(dnf(cache, repo).arg("repoquery").arg(what).arg(name)));
        }
        out.push_str(&format!("== {name} --list\n"));
        out.push_str(&run(dnf(cache, repo)
            .arg("repoquery")
            .arg("--list")
            .arg(name)));
    }
    out
}

#[test]
fn dnf_installs_from_pig_repodata_and_sees_what_createrepo_c_gives() {
    let Some(f) = fixture() else { return };
    if !have_tools(&["dnf", "rpm"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let theirs = repoquery(&tmp.path().join("cache-theirs"), &f.theirs, &f.hrefs);
    let ours = repoquery(&tmp.path().join("cache-ours"), &f.ours, &f.hrefs);
    assert!(ours.contains("pig-alpha 2 1.0^git1 3.el9 noarch"), "{ours}");
    assert!(ours.contains("pig-beta >= 1:0.5-1"), "{ours}");
    assert_eq!(theirs, ours);
    eprintln!("repoquery output identical: {} lines", ours.lines().count());

    let root = tmp.path().join("root");
    run(dnf(&tmp.path().join("cache-install"), &f.ours)
        .arg(format!("--installroot={}", root.display()))
        .arg("install")
        .arg("pig-delta"));
    let installed = run(Command::new("rpm")
        .arg(format!("--root={}", root.display()))
        .args(["-qa", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}\n"]));
    let mut installed: Vec<&str> = installed.lines().collect();
    installed.sort();
    assert_eq!(installed, ["pig-delta-3.0~rc1-2", "pig-gamma-1.2-1"]);
    assert!(root.join("opt/delta/sbin/delta").is_file());
    assert!(root.join("opt/gamma/gamma.txt").is_file());
}

/// A dependency as repodata can express it (name, operator, epoch-version-
/// release when versioned, pre), for comparing sources.
type DepKey = (
    String,
    Option<String>,
    Option<(u32, String, Option<String>)>,
    bool,
);

fn keys(list: &[Dependency]) -> Vec<DepKey> {
    list.iter()
        .map(|d| {
            (
                d.name.clone(),
                d.op.map(|o| o.repodata_flag().to_string()),
                d.op.and(d.evr.as_ref())
                    .map(|e| (e.epoch_or_zero(), e.version.clone(), e.release.clone())),
                d.pre,
            )
        })
        .collect()
}

#[test]
fn reader_reads_createrepo_c_repodata_without_loss() {
    let Some(f) = fixture() else { return };
    for dir in [&f.theirs, &f.ours] {
        let reader = RepodataReader::open(dir).unwrap();
        reader.verify_all().unwrap();
        let mut infos = BTreeMap::new();
        for href in &f.hrefs {
            let info = read_rpm(&dir.join(href)).unwrap();
            infos.insert(info.pkgid.clone(), (href.clone(), info));
        }
        let mut seen = 0;
        for pkg in reader.packages().unwrap() {
            let pkg = pkg.unwrap();
            let (href, info) = &infos[&pkg.checksum];
            seen += 1;
            assert_eq!(
                (&pkg.name, pkg.epoch, &pkg.version, &pkg.release, &pkg.arch),
                (
                    &info.name,
                    info.epoch.unwrap_or(0),
                    &info.version,
                    &info.release,
                    &info.arch
                )
            );
            assert_eq!(&pkg.location_href, href);
            assert_eq!(pkg.size, info.file_size);
            assert_eq!(pkg.header_range, info.header_range, "{}", info.name);
            assert_eq!(pkg.installed_size, info.installed_size);
            assert_eq!(pkg.archive_size, info.archive_size, "{}", info.name);
            assert_eq!(pkg.summary, info.summary);
            assert_eq!(pkg.description, info.description);
            assert_eq!(pkg.build_time, info.build_time);
            let want = indexed_dependencies(info);
            for (got, want, what) in [
                (&pkg.deps.provides, &want.provides, "provides"),
                (&pkg.deps.requires, &want.requires, "requires"),
                (&pkg.deps.conflicts, &want.conflicts, "conflicts"),
                (&pkg.deps.obsoletes, &want.obsoletes, "obsoletes"),
                (&pkg.deps.suggests, &want.suggests, "suggests"),
                (&pkg.deps.enhances, &want.enhances, "enhances"),
                (&pkg.deps.recommends, &want.recommends, "recommends"),
                (&pkg.deps.supplements, &want.supplements, "supplements"),
            ] {
                assert_eq!(keys(got), keys(want), "{} {what}", info.name);
            }
            let primary: Vec<&RpmFile> = info
                .files
                .iter()
                .filter(|f| pig_repo::rpm::header::is_primary_file(&f.path))
                .collect();
            assert_eq!(pkg.files.iter().collect::<Vec<_>>(), primary);
        }
        assert_eq!(seen, f.hrefs.len());
        let mut lists = 0;
        for files in reader.filelists().unwrap() {
            let files = files.unwrap();
            assert_eq!(files.files, infos[&files.pkgid].1.files);
            lists += 1;
        }
        assert_eq!(lists, f.hrefs.len());
    }
}

#[test]
fn reader_streams_xz_and_zstd_documents() {
    let Some(f) = fixture() else { return };
    // xz as createrepo_c writes it.
    let xz = f.theirs.parent().unwrap().join("xz");
    make_repo(
        &xz,
        &f.hrefs.iter().map(|h| f.theirs.join(h)).collect::<Vec<_>>(),
    );
    run(Command::new("createrepo_c")
        .args(["--no-database", "--quiet", "--general-compress-type=xz"])
        .arg(&xz));
    // zstd: pig's primary recompressed, repomd.xml rewritten to match.
    let repomd_path = f.ours.join("repodata/repomd.xml");
    let reader = RepodataReader::open(&f.ours).unwrap();
    let old = reader.repomd().record("primary").unwrap().clone();
    let packed = pig_repo::compress::Compression::Zstd
        .compress(document(&f.ours, "primary").as_bytes())
        .unwrap();
    fs::write(f.ours.join("repodata/primary.xml.zst"), &packed).unwrap();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&packed))
    };
    let text = fs::read_to_string(&repomd_path)
        .unwrap()
        .replace(&old.location_href, "repodata/primary.xml.zst")
        .replace(&format!(">{}<", old.checksum), &format!(">{sha}<"))
        .replace(
            &format!("<size>{}</size>", old.size),
            &format!("<size>{}</size>", packed.len()),
        );
    fs::write(&repomd_path, text).unwrap();

    for dir in [&xz, &f.ours] {
        let reader = RepodataReader::open(dir).unwrap();
        reader.verify_all().unwrap();
        let names: Vec<String> = reader
            .packages()
            .unwrap()
            .map(|p| p.unwrap().name)
            .collect();
        assert_eq!(
            names,
            ["pig-alpha", "pig-beta", "pig-delta", "pig-gamma"],
            "{}",
            dir.display()
        );
        assert_eq!(reader.filelists().unwrap().count(), 4);
    }
}

#[test]
fn reindexing_swaps_whole_repodata_and_abandoning_changes_nothing() {
    let Some(f) = fixture() else { return };
    let listing = |dir: &Path| {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = listing(&f.ours.join("repodata"));
    let info = read_rpm(&f.ours.join(&f.hrefs[0])).unwrap();

    // Abandoned: dropped unfinished, or out of order, or short of packages.
    {
        let mut w = RepodataWriter::create(&f.ours, 2, REVISION).unwrap();
        w.add_rpm(&info, "b.rpm").unwrap();
        let err = w.add_rpm(&info, "a.rpm").unwrap_err().to_string();
        assert!(err.contains("IndexKey order"), "{err}");
        let err = w.finish().unwrap_err().to_string();
        assert!(err.contains("2 packages announced, 1 added"), "{err}");
    }
    assert_eq!(listing(&f.ours.join("repodata")), before);
    assert!(!f.ours.join("repodata.pig-new").exists());

    // Reindexed with fewer packages: the old documents are gone with it.
    let mut w = RepodataWriter::create(&f.ours, 1, REVISION + 1).unwrap();
    w.add_rpm(&info, &f.hrefs[0]).unwrap();
    let repomd = w.finish().unwrap();
    let after = listing(&f.ours.join("repodata"));
    assert_eq!(after.len(), 4, "{after:?}");
    assert!(
        before
            .iter()
            .all(|n| n == "repomd.xml" || !after.contains(n))
    );
    assert_eq!(
        listing(&f.ours)
            .iter()
            .filter(|n| n.starts_with("repodata"))
            .count(),
        1
    );
    assert_eq!(repomd.revision, (REVISION + 1).to_string());
    let reader = RepodataReader::open(&f.ours).unwrap();
    reader.verify_all().unwrap();
    assert_eq!(reader.packages().unwrap().count(), 1);
}
