//! Shared fixtures for the RPM tests: spec files built with the real
//! rpmbuild, and helpers to run createrepo_c, dnf and rpm.

#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use pig_repo::rpm::header::read_rpm;
use pig_repo::rpm::repodata::{IndexKey, RepodataWriter};
pub use pig_tests::run_stdout as run;

/// The revision and timestamp every fixture repository gets.
pub const REVISION: i64 = 1_700_000_000;

/// Fixture packages: epochs, versioned and file requires, `Requires(pre)`,
/// shell and lua scriptlets, weak dependencies, file provides, config,
/// ghost and directory entries, UTF-8 text and changelogs with equal dates;
/// noarch and x86_64. `pig-delta` and `pig-gamma` need nothing outside the
/// repository, so dnf can install them into an empty root.
pub const SPECS: &[(&str, &str)] = &[
    (
        "alpha",
        r#"Name: pig-alpha
Epoch: 2
Version: 1.0^git1
Release: 3.el9
Summary: Alpha <test> & "quotes"
License: MIT
URL: https://example.invalid/alpha
BuildArch: noarch
Requires: pig-beta >= 1:0.5-1
Requires(pre): pig-beta
Requires: /usr/bin/pig-beta
Provides: alpha-cap = 2.0
Recommends: pig-gamma
Conflicts: old-alpha < 1.0
Obsoletes: older-alpha <= 0.9

%description
Alpha package — with UTF-8 (Ondřej, café) and
a second line & <tags>.

%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/etc/alpha %{buildroot}/usr/share/alpha
echo hi > %{buildroot}/usr/bin/alpha
echo x > %{buildroot}/etc/alpha/alpha.conf
echo y > %{buildroot}/usr/share/alpha/data

%pre
echo pre

%post
echo post

%files
/usr/bin/alpha
%config(noreplace) /etc/alpha/alpha.conf
%dir /usr/share/alpha
/usr/share/alpha/data
%ghost /var/log/alpha.log

%changelog
* Tue Jan 03 2023 José Tester <j@example.invalid> - 2:1.0^git1-3
- third entry
* Mon Jan 02 2023 Ondřej Tester <o@example.invalid> - 2:1.0^git1-2
- second entry
* Mon Jan 02 2023 Tester <t@example.invalid> - 1.0-2
- same day
* Sun Jan 01 2023 Tester <t@example.invalid> - 1.0-1
- first & <entry>
"#,
    ),
    (
        "beta",
        r#"Name: pig-beta
Version: 0.5
Release: 1
Epoch: 1
Summary: Beta
License: MIT
BuildArch: x86_64
Suggests: pig-delta
Enhances: pig-alpha
Supplements: pig-alpha
Recommends: pig-epsilon > 1
Provides: /usr/bin/pig-beta
Provides: beta-virtual(x86-64) = 0.5

%description
Beta é.

%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/lib/beta
echo hi > %{buildroot}/usr/bin/pig-beta
echo lib > %{buildroot}/usr/lib/beta/lib.txt

%files
/usr/bin/pig-beta
/usr/lib/beta
"#,
    ),
    (
        "gamma",
        r#"Name: pig-gamma
Version: 1.2
Release: 1
Summary: Gamma, installable into an empty root
License: Apache-2.0
BuildArch: noarch
Provides: gamma-cap
Obsoletes: pig-old-gamma < 1.0

%description
Gamma.

%install
mkdir -p %{buildroot}/opt/gamma
echo g > %{buildroot}/opt/gamma/gamma.txt

%post -p <lua>
print("gamma installed")

%files
/opt/gamma
"#,
    ),
    (
        "delta",
        r#"Name: pig-delta
Version: 3.0~rc1
Release: 2
Summary: Delta, needs a version of gamma
License: GPL-2.0-or-later
BuildArch: x86_64
Requires: pig-gamma >= 1.1
Requires: gamma-cap

%description
Delta.

%install
mkdir -p %{buildroot}/opt/delta/sbin
echo d > %{buildroot}/opt/delta/sbin/delta

%files
/opt/delta
"#,
    ),
];

/// Build the fixture specs with rpmbuild under `work`; returns the `.rpm`
/// files, sorted by path.
pub fn build_fixtures(work: &Path) -> Vec<PathBuf> {
    let top = work.join("rpmbuild");
    fs::create_dir_all(&top).unwrap();
    for (name, spec) in SPECS {
        let path = work.join(format!("{name}.spec"));
        fs::write(&path, spec).unwrap();
        run(Command::new("rpmbuild")
            .arg("-bb")
            .arg("--define")
            .arg(format!("_topdir {}", top.display()))
            .arg("--define")
            .arg("_buildhost pig-test")
            .arg(&path));
    }
    let mut rpms: Vec<PathBuf> = walk(&top.join("RPMS"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rpm"))
        .collect();
    rpms.sort();
    rpms
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Lay the packages out in a repository directory: alpha in a
/// subdirectory (so ordering by file name, not path, is exercised), the
/// rest at the top. Each file's mtime is set to its build time, which is
/// what pig records as `time file`. Returns the location hrefs.
pub fn make_repo(dir: &Path, rpms: &[PathBuf]) -> Vec<String> {
    let mut hrefs = Vec::new();
    for rpm in rpms {
        let name = rpm.file_name().unwrap().to_str().unwrap();
        let href = if name.starts_with("pig-alpha") {
            format!("sub/{name}")
        } else {
            name.to_string()
        };
        let dest = dir.join(&href);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::copy(rpm, &dest).unwrap();
        let info = read_rpm(&dest).unwrap();
        run(Command::new("touch")
            .arg("-d")
            .arg(format!("@{}", info.build_time))
            .arg(&dest));
        hrefs.push(href);
    }
    hrefs
}

/// Index with createrepo_c's defaults (plus a fixed revision and timestamp).
pub fn createrepo_c(dir: &Path) {
    run(Command::new("createrepo_c")
        .args(["--no-database", "--quiet", "--revision"])
        .arg(REVISION.to_string())
        .arg("--set-timestamp-to-revision")
        .arg(dir));
}

/// Index with pig's writer.
pub fn pig_index(dir: &Path, hrefs: &[String]) {
    let mut sorted: Vec<&String> = hrefs.iter().collect();
    sorted.sort_by_key(|h| IndexKey::of(h));
    let mut w = RepodataWriter::create(dir, sorted.len(), REVISION).unwrap();
    for href in sorted {
        let info = read_rpm(&dir.join(href)).unwrap();
        w.add_rpm(&info, href).unwrap();
    }
    w.finish().unwrap();
}

/// Decompressed contents of the repodata document of `kind`.
pub fn document(dir: &Path, kind: &str) -> String {
    let repodata = dir.join("repodata");
    for e in fs::read_dir(&repodata).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(&format!("-{kind}.xml.gz")) {
            let bytes = fs::read(e.path()).unwrap();
            let open = pig_repo::compress::decompress_auto(&bytes).unwrap();
            return String::from_utf8(open).unwrap();
        }
    }
    panic!("no {kind} document in {}", repodata.display());
}

/// Whether every tool is installed; if not, says which is missing so the
/// skipped test explains itself.
pub fn have_tools(tools: &[&str]) -> bool {
    tools.iter().all(|t| pig_tests::have(t))
}
