//! `pig-build resolve` on an EL9-like recipe: a fixture RPM repository built
//! with rpmbuild and indexed and signed by `pig-build repo index --sign-key`,
//! reached through a `file://` mirror. Checks the closure, the lock (EVR
//! versions, location hrefs, sha256 of the real files), the signature check
//! of `repomd.xml`, and the chain named for an unsatisfiable require.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pig_build::lock::Lock;
use pig_tests::{have, run};
use serde_json::Value;
use sha2::{Digest, Sha256};

const PIG: &str = env!("CARGO_BIN_EXE_pig-build");

/// (spec file stem, package name, header lines, rpmbuild target).
const SPECS: &[(&str, &str, &str, &str)] = &[
    (
        "app",
        "fx-app",
        "Version: 1.0\nRelease: 1.el9\nRequires: fx-lib >= 2.0\nRequires: /usr/bin/fx-tool\n\
         Requires: (fx-a or fx-b)\n",
        "x86_64",
    ),
    ("lib1", "fx-lib", "Version: 1.0\nRelease: 1.el9\n", "x86_64"),
    (
        "lib2",
        "fx-lib",
        "Epoch: 1\nVersion: 2.1\nRelease: 1.el9\nRequires: fx-common = 2.1\n",
        "x86_64",
    ),
    (
        "common",
        "fx-common",
        "Version: 2.1\nRelease: 3.el9\nBuildArch: noarch\n",
        "x86_64",
    ),
    (
        "tools",
        "fx-tools",
        "Version: 1.0\nRelease: 1.el9\nBuildArch: noarch\n",
        "x86_64",
    ),
    (
        "a",
        "fx-a",
        "Version: 1.0\nRelease: 1.el9\nBuildArch: noarch\n",
        "x86_64",
    ),
    (
        "b",
        "fx-b",
        "Version: 1.0\nRelease: 1.el9\nBuildArch: noarch\n",
        "x86_64",
    ),
    (
        "broken",
        "fx-broken",
        "Version: 1.0\nRelease: 1.el9\nRequires: fx-missing >= 2\n",
        "x86_64",
    ),
    (
        "top",
        "fx-top",
        "Version: 1.0\nRelease: 1.el9\nRequires: fx-broken\n",
        "x86_64",
    ),
];

/// Build the fixtures into `repo` (rpmbuild's `<arch>/` layout).
fn build_rpms(work: &Path, repo: &Path) {
    for (stem, name, header, target) in SPECS {
        let (install, files) = if *name == "fx-tools" {
            (
                "mkdir -p %{buildroot}/usr/bin\necho t > %{buildroot}/usr/bin/fx-tool\n",
                "/usr/bin/fx-tool\n",
            )
        } else {
            ("", "")
        };
        let spec = format!(
            "Name: {name}\n{header}Summary: fixture\nLicense: MIT\n\n%description\nFixture.\n\n\
             %install\n{install}\n%files\n{files}"
        );
        let path = work.join(format!("{stem}.spec"));
        fs::write(&path, spec).unwrap();
        run(Command::new("rpmbuild")
            .args(["-bb", "--quiet", "--target", target])
            .arg("--define")
            .arg(format!("_topdir {}", work.join("rpmbuild").display()))
            .args(["--define", "debug_package %{nil}"])
            .arg("--define")
            .arg(format!("_rpmdir {}", repo.display()))
            .arg(&path));
    }
}

/// `pig-build repo index DIR --sign-key KEY`: a generated key, its public
/// half at `KEY.pub.asc`.
fn index(dir: &Path, key: &Path) {
    run(Command::new(PIG)
        .args(["repo", "index", "--sign-key"])
        .arg(key)
        .arg(dir)
        .env("SOURCE_DATE_EPOCH", "1700000000"));
}

struct Fixture {
    _tmp: tempfile::TempDir,
    work: PathBuf,
    repo: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let work = tmp.path().to_path_buf();
        let repo = work.join("mirror/el9/fx");
        fs::create_dir_all(&repo).unwrap();
        build_rpms(&work, &repo);
        index(&repo, &work.join("repo-key.asc"));
        Fixture {
            _tmp: tmp,
            work,
            repo,
        }
    }

    /// Write a recipe with `modules` (YAML lines) trusting `keyring`.
    fn recipe(&self, name: &str, keyring: &str, modules: &str) -> PathBuf {
        let path = self.work.join(format!("{name}.yml"));
        fs::write(
            &path,
            format!(
                "os: el9\narch: x86_64\nversion: v0.0.1\nkind: rpm\nupstream:\n\
                 \x20 - name: fx\n    kind: rpm\n    baseurl: ${{mirror.fixture}}/el9/fx\n\
                 \x20   keyring: {keyring}\n    priority: 500\nmodules:\n{modules}"
            ),
        )
        .unwrap();
        path
    }

    fn resolve(&self, recipe: &Path) -> Output {
        Command::new(PIG)
            .args(["resolve", "--json", "--recipe"])
            .arg(recipe)
            .arg("--mirror")
            .arg(format!(
                "fixture=file://{}",
                self.work.join("mirror").display()
            ))
            .arg("--cache")
            .arg(self.work.join("cache"))
            .output()
            .unwrap()
    }
}

fn tools() -> bool {
    have("rpmbuild")
}

#[test]
fn el9_recipe_resolves_to_closure_and_lock() {
    if !tools() {
        return;
    }
    let fx = Fixture::new();
    let recipe = fx.recipe(
        "fixture",
        "repo-key.pub.asc",
        "  app: [fx-app]\n  common: [fx-common]\n",
    );
    let out = fx.resolve(&recipe);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["modules"]["app"], 5, "{report:#}");
    assert_eq!(report["modules"]["common"], 1, "{report:#}");
    assert!(report["modules"].get("essential").is_none(), "{report:#}");

    let lock = Lock::load(&fx.work.join("fixture.lock")).unwrap();
    let got: Vec<(&str, &str, &str)> = lock
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.arch.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("fx-a", "1.0-1.el9", "noarch"),
            ("fx-app", "1.0-1.el9", "x86_64"),
            ("fx-common", "2.1-3.el9", "noarch"),
            ("fx-lib", "1:2.1-1.el9", "x86_64"),
            ("fx-tools", "1.0-1.el9", "noarch"),
        ]
    );
    for p in &lock.packages {
        let file = fx.repo.join(&p.filename);
        let bytes = fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(p.size, bytes.len() as u64, "{}", p.filename);
        assert_eq!(
            p.sha256,
            hex::encode(Sha256::digest(&bytes)),
            "{}",
            p.filename
        );
        assert_eq!(p.origin, "fx");
    }
    let common = lock
        .packages
        .iter()
        .find(|p| p.name == "fx-common")
        .unwrap();
    assert_eq!(common.filename, "noarch/fx-common-2.1-3.el9.noarch.rpm");
    assert_eq!(common.modules, ["app", "common"]);
    assert_eq!(report["packages"].as_array().unwrap().len(), 5);
}

#[test]
fn unsatisfiable_require_names_the_chain() {
    if !tools() {
        return;
    }
    let fx = Fixture::new();
    let recipe = fx.recipe("broken", "repo-key.pub.asc", "  top: [fx-top]\n");
    let out = fx.resolve(&recipe);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("module top"), "{stderr}");
    assert!(
        stderr.contains("fx-top → fx-broken → fx-missing"),
        "{stderr}"
    );
}

#[test]
fn repomd_signed_by_another_key_is_refused() {
    if !tools() {
        return;
    }
    let fx = Fixture::new();
    // A second repository only to make a second key.
    let other = fx.work.join("other");
    fs::create_dir_all(&other).unwrap();
    fs::copy(
        fx.repo.join("noarch/fx-a-1.0-1.el9.noarch.rpm"),
        other.join("fx-a.rpm"),
    )
    .unwrap();
    index(&other, &fx.work.join("other-key.asc"));
    let recipe = fx.recipe("wrongkey", "other-key.pub.asc", "  app: [fx-app]\n");
    let out = fx.resolve(&recipe);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("repomd.xml"), "{stderr}");
    assert!(stderr.contains("does not verify"), "{stderr}");
    assert!(!fx.work.join("wrongkey.lock").exists());
}

#[test]
fn unsigned_repomd_is_accepted_with_a_warning_and_missing_keyring_refused() {
    if !tools() {
        return;
    }
    let fx = Fixture::new();
    fs::remove_file(fx.repo.join("repodata/repomd.xml.asc")).unwrap();
    let recipe = fx.recipe("unsigned", "repo-key.pub.asc", "  app: [fx-app]\n");
    let out = fx.resolve(&recipe);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("repomd.xml is not signed"), "{stderr}");

    let recipe = fx.recipe("nokey", "absent-key.asc", "  app: [fx-app]\n");
    let out = fx.resolve(&recipe);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("absent-key.asc"), "{stderr}");
}
