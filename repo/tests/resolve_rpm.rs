//! The resolver on RPM repodata against dnf: a fixture repository built with
//! rpmbuild and indexed with createrepo_c, each wanted set resolved by pig
//! and by `dnf install --assumeno` into an empty root, and the package sets
//! compared exactly (name, version, architecture).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use pig_repo::resolve::{ResolveError, ResolveOptions, Universe, resolve};
use pig_repo::rpm::repodata::RepodataReader;
use pig_tests::{have, run};

/// (file stem, spec body after the name/version lines, rpmbuild target).
/// Covers: versioned requires picking the newer of two versions, a
/// constraint without release, a file require, a virtual provide, an
/// unversioned provide against a versioned require, an epoch, noarch, an
/// i686 build that must be ignored, `(a or b)` rich dependencies, a
/// conditional rich dependency pig refuses, and a broken chain.
const SPECS: &[(&str, &str, &str)] = &[
    (
        "fx-app",
        "Version: 1.0\nRelease: 1\nRequires: fx-lib >= 2.0\nRequires: /usr/bin/fx-tool\n\
         Requires: fx-virtual >= 3\nRequires: (fx-a or fx-b)\n",
        "x86_64",
    ),
    ("fx-lib-1", "Version: 1.0\nRelease: 1\n", "x86_64"),
    (
        "fx-lib-2",
        "Version: 2.1\nRelease: 1\nRequires: fx-common = 2.1\n",
        "x86_64",
    ),
    (
        "fx-common",
        "Version: 2.1\nRelease: 3\nBuildArch: noarch\n",
        "x86_64",
    ),
    (
        "fx-tools",
        "Version: 1.0\nRelease: 1\nBuildArch: noarch\n",
        "x86_64",
    ),
    (
        "fx-prov",
        "Version: 1.0\nRelease: 1\nProvides: fx-virtual = 3.5\n",
        "x86_64",
    ),
    (
        "fx-a",
        "Version: 1.0\nRelease: 1\nBuildArch: noarch\n",
        "x86_64",
    ),
    (
        "fx-b",
        "Version: 1.0\nRelease: 1\nBuildArch: noarch\n",
        "x86_64",
    ),
    ("fx-epoch", "Epoch: 1\nVersion: 0.5\nRelease: 2\n", "x86_64"),
    (
        "fx-needs-epoch",
        "Version: 1.0\nRelease: 1\nRequires: fx-epoch >= 1:0.1\nBuildArch: noarch\n",
        "x86_64",
    ),
    (
        "fx-unversioned",
        "Version: 1.0\nRelease: 1\nProvides: fx-cap\n",
        "x86_64",
    ),
    (
        "fx-capuser",
        "Version: 1.0\nRelease: 1\nRequires: fx-cap >= 5\n",
        "x86_64",
    ),
    (
        "fx-lonely",
        "Version: 1.0\nRelease: 1\nRequires: (fx-missing or fx-b >= 1.0)\n",
        "x86_64",
    ),
    ("fx-multi-64", "Version: 1.0\nRelease: 1\n", "x86_64"),
    ("fx-multi-32", "Version: 9.0\nRelease: 1\n", "i686"),
    (
        "fx-broken",
        "Version: 1.0\nRelease: 1\nRequires: fx-missing >= 2\n",
        "x86_64",
    ),
    (
        "fx-cond",
        "Version: 1.0\nRelease: 1\nRequires: (fx-a if fx-b)\n",
        "x86_64",
    ),
    (
        "fx-top",
        "Version: 1.0\nRelease: 1\nRequires: fx-broken\n",
        "x86_64",
    ),
];

/// The package name of a fixture (`fx-lib-2` and `fx-multi-32` are second
/// builds of `fx-lib` and `fx-multi`).
fn package_name(stem: &str) -> &str {
    match stem {
        "fx-lib-1" | "fx-lib-2" => "fx-lib",
        "fx-multi-64" | "fx-multi-32" => "fx-multi",
        other => other,
    }
}

fn spec(stem: &str, body: &str) -> String {
    let install = if stem == "fx-tools" {
        "mkdir -p %{buildroot}/usr/bin\necho t > %{buildroot}/usr/bin/fx-tool\n"
    } else {
        ""
    };
    let files = if stem == "fx-tools" {
        "/usr/bin/fx-tool\n"
    } else {
        ""
    };
    format!(
        "Name: {}\n{body}Summary: fixture\nLicense: MIT\n\n%description\nFixture.\n\n\
         %install\n{install}\n%files\n{files}",
        package_name(stem)
    )
}

/// Build every fixture and index the repository with createrepo_c.
fn fixture_repo(work: &Path) -> PathBuf {
    let top = work.join("rpmbuild");
    let repo = work.join("repo");
    fs::create_dir_all(&repo).unwrap();
    for (stem, body, target) in SPECS {
        let path = work.join(format!("{stem}.spec"));
        fs::write(&path, spec(stem, body)).unwrap();
        run(Command::new("rpmbuild")
            .arg("-bb")
            .arg("--quiet")
            .args(["--target", target])
            .arg("--define")
            .arg(format!("_topdir {}", top.display()))
            .args(["--define", "debug_package %{nil}"])
            .arg("--define")
            .arg(format!("_rpmdir {}", repo.display()))
            .arg(&path));
    }
    run(Command::new("createrepo_c")
        .args(["--no-database", "--quiet"])
        .arg(&repo));
    repo
}

/// A repository for both resolvers: name, directory, recipe priority
/// (higher preferred).
type Repo<'a> = (&'a str, &'a Path, i32);

fn universe(repos: &[Repo]) -> Universe {
    let mut u = Universe::new_rpm("x86_64");
    for (name, dir, priority) in repos {
        let id = u.add_repo(name, *priority);
        for p in RepodataReader::open(dir).unwrap().packages().unwrap() {
            u.add_rpm(id, &p.unwrap()).unwrap();
        }
    }
    u
}

type Set = BTreeSet<(String, String, String)>;

fn pig(u: &Universe, wanted: &[&str]) -> Result<Set, ResolveError> {
    let wanted: Vec<String> = wanted.iter().map(|w| w.to_string()).collect();
    let closure = resolve(u, &wanted, &ResolveOptions::default())?;
    Ok(closure
        .packages
        .into_iter()
        .map(|s| (s.name, s.version, s.arch))
        .collect())
}

/// dnf's transaction for `wanted` in an empty root, or its error text.
/// dnf's `priority=` runs the other way: lower is preferred.
fn dnf(work: &Path, repos: &[Repo], wanted: &[&str]) -> Result<Set, String> {
    let root = work.join("root");
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).unwrap();
    let mut cmd = Command::new("dnf");
    cmd.arg(format!("--installroot={}", root.display())).args([
        "--releasever=9",
        "--disablerepo=*",
        "--nogpgcheck",
    ]);
    for (name, dir, priority) in repos {
        cmd.arg(format!("--repofrompath={name},file://{}", dir.display()))
            .arg(format!("--setopt={name}.priority={}", 1000 - priority));
    }
    let out = cmd
        .args([
            "--setopt=install_weak_deps=False",
            "--setopt=reposdir=/nonexistent",
            "--assumeno",
            "install",
        ])
        .args(wanted)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut set = Set::new();
    let mut in_list = false;
    for line in stdout.lines() {
        if line.starts_with("Installing") && line.ends_with(':') {
            in_list = true;
            continue;
        }
        if !line.starts_with(' ') {
            in_list = false;
            continue;
        }
        if in_list
            && let [name, arch, version, ..] = line.split_whitespace().collect::<Vec<_>>()[..]
        {
            set.insert((name.to_string(), version.to_string(), arch.to_string()));
        }
    }
    if set.is_empty() {
        Err(format!("{stdout}\n{stderr}"))
    } else {
        Ok(set)
    }
}

fn names(set: &Set) -> Vec<&str> {
    set.iter().map(|(n, _, _)| n.as_str()).collect()
}

#[test]
fn closures_equal_dnf() {
    if !["rpmbuild", "createrepo_c", "dnf"].iter().all(|t| have(t)) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let repo = fixture_repo(work);
    let u = universe(&[("fx", &repo, 500)]);
    assert_eq!(u.len(), SPECS.len());

    let cases: &[(&[&str], &[&str])] = &[
        (
            &["fx-app"],
            &[
                "fx-a",
                "fx-app",
                "fx-common",
                "fx-lib",
                "fx-prov",
                "fx-tools",
            ],
        ),
        (
            &["fx-needs-epoch", "fx-capuser"],
            &["fx-capuser", "fx-epoch", "fx-needs-epoch", "fx-unversioned"],
        ),
        (&["fx-lonely"], &["fx-b", "fx-lonely"]),
        (&["fx-multi"], &["fx-multi"]),
        (
            &["fx-b", "fx-app"],
            // A wanted fx-b already satisfies `(fx-a or fx-b)`.
            &[
                "fx-app",
                "fx-b",
                "fx-common",
                "fx-lib",
                "fx-prov",
                "fx-tools",
            ],
        ),
    ];
    for (wanted, expected) in cases {
        let ours = pig(&u, wanted).unwrap_or_else(|e| panic!("{wanted:?}: {e}"));
        let theirs = dnf(work, &[("fx", &repo, 500)], wanted)
            .unwrap_or_else(|e| panic!("dnf {wanted:?}: {e}"));
        assert_eq!(ours, theirs, "{wanted:?}");
        assert_eq!(names(&ours), *expected, "{wanted:?}");
    }
    let app = pig(&u, &["fx-app"]).unwrap();
    assert!(app.contains(&("fx-lib".into(), "2.1-1".into(), "x86_64".into())));
    assert!(app.contains(&("fx-common".into(), "2.1-3".into(), "noarch".into())));
    let epoch = pig(&u, &["fx-needs-epoch"]).unwrap();
    assert!(epoch.contains(&("fx-epoch".into(), "1:0.5-2".into(), "x86_64".into())));
    let multi = pig(&u, &["fx-multi"]).unwrap();
    assert!(multi.contains(&("fx-multi".into(), "1.0-1".into(), "x86_64".into())));
}

#[test]
fn broken_chain_is_named_and_dnf_agrees() {
    if !["rpmbuild", "createrepo_c", "dnf"].iter().all(|t| have(t)) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let repo = fixture_repo(work);
    let u = universe(&[("fx", &repo, 500)]);
    match pig(&u, &["fx-top"]) {
        Err(ResolveError::Unsatisfiable {
            chain,
            dependency,
            candidates,
        }) => {
            assert_eq!(chain, ["fx-top", "fx-broken"]);
            assert!(dependency.starts_with("fx-missing"), "{dependency}");
            assert!(candidates.is_empty());
        }
        other => panic!("expected an unsatisfiable chain, got {other:?}"),
    }
    let err = dnf(work, &[("fx", &repo, 500)], &["fx-top"]).unwrap_err();
    assert!(err.contains("nothing provides fx-missing"), "{err}");
}

#[test]
fn conditional_rich_dependency_is_named_in_the_error() {
    if !["rpmbuild", "createrepo_c"].iter().all(|t| have(t)) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = fixture_repo(tmp.path());
    let u = universe(&[("fx", &repo, 500)]);
    match pig(&u, &["fx-cond"]) {
        Err(ResolveError::Unsatisfiable {
            chain, dependency, ..
        }) => {
            assert_eq!(chain, ["fx-cond"]);
            assert_eq!(dependency, "(fx-a if fx-b)");
        }
        other => panic!("expected the rich dependency to be refused, got {other:?}"),
    }
}

/// A higher recipe priority wins over a newer version elsewhere, as a lower
/// dnf `priority=` does; equal priorities take the best version.
#[test]
fn repository_priority_matches_dnf() {
    if !["rpmbuild", "createrepo_c", "dnf"].iter().all(|t| have(t)) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let repo = fixture_repo(work);
    let old = work.join("old");
    fs::create_dir_all(&old).unwrap();
    fs::copy(
        repo.join("x86_64/fx-lib-1.0-1.x86_64.rpm"),
        old.join("fx-lib-1.0-1.x86_64.rpm"),
    )
    .unwrap();
    run(Command::new("createrepo_c")
        .args(["--no-database", "--quiet"])
        .arg(&old));
    for (old_priority, version) in [(600, "1.0-1"), (500, "2.1-1"), (400, "2.1-1")] {
        let repos: [Repo; 2] = [("fx", &repo, 500), ("old", &old, old_priority)];
        let ours = pig(&universe(&repos), &["fx-lib"]).unwrap();
        let theirs = dnf(work, &repos, &["fx-lib"]).unwrap();
        assert_eq!(ours, theirs, "old repo at {old_priority}");
        assert!(
            ours.iter().any(|(n, v, _)| n == "fx-lib" && v == version),
            "old repo at {old_priority}: {ours:?}"
        );
    }
}
