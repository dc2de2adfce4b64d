//! `pig-build bundle` and `pig-build verify` for an RPM recipe, end to end
//! with the real tools: fixture packages built with rpmbuild, indexed with
//! createrepo_c, their `repomd.xml` signed, served over loopback HTTP by a
//! server this file runs; the bundle verified by dnf installing each module
//! into an empty root with the network cut; its pig-install .rpm installed
//! with `rpm --root` and run; two builds compared byte for byte; tampered
//! and incomplete inputs named.
//!
//! The fixture packages are noarch and need no glibc or shell (their only
//! scriptlet is Lua, which rpm runs itself), so they install into an empty
//! root.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, UNIX_EPOCH};

use pig_build::bundle_layout::{MANIFEST, Manifest, TOP_DIR, write_sha256sums};
use pig_build::verify::extract_bundle;
use pig_repo::signing::SigningKey;
use pig_tests::{have, run};
use serde_json::Value;

const PIG: &str = env!("CARGO_BIN_EXE_pig-build");
const EPOCH: &str = "1764000000";

/// (package name, spec header lines, %install script, %files list, extra
/// sections).
const SPECS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "fx-filesystem",
        "Version: 1.0\nRelease: 1.el9\n",
        "mkdir -p %{buildroot}/etc/fx %{buildroot}/usr/bin %{buildroot}/usr/share/fx\n",
        "%dir /etc/fx\n%dir /usr/share/fx\n",
        "",
    ),
    (
        "fx-setup",
        "Version: 2.0\nRelease: 1.el9\nRequires: fx-filesystem\n",
        "mkdir -p %{buildroot}/etc/fx\necho 'node=fixture' > %{buildroot}/etc/fx/setup.conf\n",
        "%config(noreplace) /etc/fx/setup.conf\n",
        "",
    ),
    (
        "fx-app",
        "Version: 1.0\nRelease: 1.el9\nRequires: fx-lib >= 2.0\nRequires: /usr/bin/fx-tool\n\
         Requires: (fx-a or fx-b)\nRequires: fx-filesystem\n",
        "mkdir -p %{buildroot}/usr/share/fx\necho app > %{buildroot}/usr/share/fx/app\n",
        "/usr/share/fx/app\n",
        "",
    ),
    ("fx-lib", "Version: 1.0\nRelease: 1.el9\n", "", "", ""),
    (
        "fx-lib",
        "Epoch: 1\nVersion: 2.1\nRelease: 1.el9\nRequires: fx-common = 2.1\n",
        "",
        "",
        "",
    ),
    ("fx-common", "Version: 2.1\nRelease: 3.el9\n", "", "", ""),
    (
        "fx-tools",
        "Version: 1.0\nRelease: 1.el9\nRequires: fx-filesystem\n",
        // Data, not a script: no shebang, so rpmbuild adds no /bin/sh.
        "mkdir -p %{buildroot}/usr/bin\necho tool > %{buildroot}/usr/bin/fx-tool\n",
        "%attr(0644,root,root) /usr/bin/fx-tool\n",
        "",
    ),
    ("fx-a", "Version: 1.0\nRelease: 1.el9\n", "", "", ""),
    ("fx-b", "Version: 1.0\nRelease: 1.el9\n", "", "", ""),
    (
        "fx-server",
        "Version: 3.0\nRelease: 1.el9\nProvides: fx-service = 3.0\nRequires: fx-setup\n",
        "",
        "",
        "%post -p <lua>\nprint(\"fx-server configured\")\n",
    ),
    (
        "fx-client",
        "Version: 3.0\nRelease: 1.el9\nRequires: fx-service >= 3\n",
        "",
        "",
        "",
    ),
    ("fx-unwanted", "Version: 1.0\nRelease: 1.el9\n", "", "", ""),
];

/// A static file server on loopback for one directory, one thread per
/// connection, `Connection: close`. It lives as long as the test process.
fn serve(root: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let root = root.clone();
            std::thread::spawn(move || answer(stream, &root));
        }
    });
    format!("http://{addr}")
}

fn answer(mut stream: TcpStream, root: &Path) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    let mut parts = request.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let file = (!path.contains(".."))
        .then(|| root.join(path.trim_start_matches('/')))
        .filter(|p| p.is_file())
        .and_then(|p| fs::read(p).ok());
    let _ = match file {
        Some(body) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream
                .write_all(head.as_bytes())
                .and_then(|()| match method {
                    "HEAD" => Ok(()),
                    _ => stream.write_all(&body),
                })
        }
        None => stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    };
}

struct Fixture {
    _tmp: tempfile::TempDir,
    work: PathBuf,
    /// The upstream repository's root (served as `/el9/fx`).
    upstream: PathBuf,
    mirror_url: String,
    recipe: PathBuf,
    /// The bundle's signing key (generated by the first build).
    key: PathBuf,
    pig_install: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let work = tmp.path().to_path_buf();
        let served = work.join("mirror");
        let upstream = served.join("el9/fx");
        fs::create_dir_all(&upstream).unwrap();
        for (i, (name, header, install, files, extra)) in SPECS.iter().enumerate() {
            let spec = format!(
                "Name: {name}\n{header}BuildArch: noarch\nSummary: fixture\nLicense: MIT\n\n\
                 %description\nFixture.\n\n%install\n{install}\n%files\n{files}\n{extra}"
            );
            let path = work.join(format!("{i}.spec"));
            fs::write(&path, spec).unwrap();
            run(Command::new("rpmbuild")
                .args(["-bb", "--quiet"])
                .arg("--define")
                .arg(format!("_topdir {}", work.join("rpmbuild").display()))
                .arg("--define")
                .arg(format!("_rpmdir {}", upstream.display()))
                .arg(&path));
        }
        run(Command::new("createrepo_c")
            .args(["--quiet", "--no-database"])
            .arg(&upstream));
        // The upstream signs its metadata with a key of its own.
        let created = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let upstream_key = SigningKey::generate("fixture upstream", created).unwrap();
        let repomd = fs::read(upstream.join("repodata/repomd.xml")).unwrap();
        let signature = upstream_key
            .sign_detached_armored(&repomd, created)
            .unwrap();
        fs::write(upstream.join("repodata/repomd.xml.asc"), signature).unwrap();
        let recipe = work.join("el9-fixture.yml");
        fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/el9-fixture.yml"),
            &recipe,
        )
        .unwrap();
        fs::write(
            work.join("fixture-key.pub.asc"),
            upstream_key.public_armored(),
        )
        .unwrap();
        Fixture {
            _tmp: tmp,
            key: work.join("bundle-key.asc"),
            pig_install: pig_install(&work),
            mirror_url: serve(served),
            work,
            upstream,
            recipe,
        }
    }

    /// `pig-build bundle` of `recipe` into `out` with `extra` arguments.
    fn bundle(&self, recipe: &Path, out: &str, cache: &str, extra: &[&str]) -> Output {
        Command::new(PIG)
            .arg("bundle")
            .arg("--recipe")
            .arg(recipe)
            .arg("--mirror")
            .arg(format!("fixture={}", self.mirror_url))
            .arg("--json")
            .arg("--out")
            .arg(self.work.join(out))
            .arg("--sign-key")
            .arg(&self.key)
            .arg("--lock")
            .arg(self.work.join("el9-fixture.lock"))
            .arg("--cache")
            .arg(self.work.join(cache))
            .arg("--pig-install")
            .arg(&self.pig_install)
            .args(extra)
            .env("SOURCE_DATE_EPOCH", EPOCH)
            .output()
            .unwrap()
    }

    fn bundle_ok(&self, out: &str, cache: &str, extra: &[&str]) -> Value {
        let output = self.bundle(&self.recipe, out, cache, extra);
        assert!(
            output.status.success(),
            "pig-build bundle failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

/// The pig-install binary cargo built beside pig-build, without its debug
/// information (a tenth of the size, so packing it takes seconds, not
/// minutes), copied into `dir`.
fn pig_install(dir: &Path) -> PathBuf {
    let path = Path::new(PIG).with_file_name("pig-install");
    assert!(
        path.is_file(),
        "{} is missing: build it first (cargo build -p pig-install)",
        path.display()
    );
    let stripped = dir.join("pig-install");
    run(Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&stripped)
        .arg(&path));
    stripped
}

/// `pig-build verify --json BUNDLE [extra]`: whether it passed, and its
/// report.
fn verify(bundle: &Path, extra: &[&str]) -> (bool, Value) {
    let out = Command::new(PIG)
        .args(["verify", "--json"])
        .args(extra)
        .arg(bundle)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify printed no report ({e}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), report)
}

fn problems(report: &Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

/// Extract `bundle` into a new directory under `work`, let `change` alter
/// the tree, and pack it again as `name`.
fn repack(work: &Path, bundle: &Path, name: &str, change: impl FnOnce(&Path)) -> PathBuf {
    let dir = work.join(format!("{name}.d"));
    fs::create_dir(&dir).unwrap();
    extract_bundle(bundle, &dir).unwrap();
    let tree = dir.join(TOP_DIR);
    change(&tree);
    let out = work.join(name);
    pig_build::pack::pack_dir(&tree, TOP_DIR, &out, 0).unwrap();
    out
}

fn tools() -> bool {
    ["rpmbuild", "createrepo_c", "dnf", "rpm", "unshare", "strip"]
        .iter()
        .all(|t| have(t))
}

#[test]
fn el9_bundle_builds_verifies_installs_and_rebuilds_byte_identical() {
    if !tools() {
        return;
    }
    let fx = Fixture::new();
    let first = fx.bundle_ok("a", "cache", &[]);
    let tgz = PathBuf::from(first["bundle"].as_str().unwrap());
    assert!(
        tgz.ends_with("a/pigsty-pkg-v0.0.1.el9.x86_64.tgz"),
        "{}",
        tgz.display()
    );
    // The 9 fixture packages of the closure (not fx-lib 1.0, fx-b or
    // fx-unwanted) and pig-install.
    assert_eq!(first["packages"], 10, "{first:#}");

    let (ok, report) = verify(&tgz, &[]);
    assert!(ok, "pig-build verify failed: {report:#}");
    for module in ["app", "base", "pig", "server"] {
        let m = report["modules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["module"] == module)
            .unwrap_or_else(|| panic!("module {module} not installed: {report:#}"));
        assert_eq!(m["ok"], true, "{m:#}");
        eprintln!("module {module}: dnf installed it in {} s", m["seconds"]);
    }
    let checks = report["checks"].as_array().unwrap();
    assert!(
        checks.iter().all(|c| c["status"] == "passed"),
        "{checks:#?}"
    );
    assert_eq!(report["counts"]["package_files"], 10, "{report:#}");

    // The bundle's own package of the installer installs with rpm alone
    // and runs.
    let tree = fx.work.join("extracted");
    fs::create_dir(&tree).unwrap();
    extract_bundle(&tgz, &tree).unwrap();
    let manifest = Manifest::load(&tree.join(TOP_DIR).join(MANIFEST)).unwrap();
    let own = manifest
        .packages
        .iter()
        .find(|p| p.name == "pig-install")
        .unwrap();
    assert_eq!(own.arch, "x86_64");
    assert!(own.filename.ends_with(".x86_64.rpm"), "{}", own.filename);
    let root = fx.work.join("rpm-root");
    fs::create_dir(&root).unwrap();
    run(Command::new("rpm")
        .arg("--root")
        .arg(&root)
        .args(["-i", "--nodeps"])
        .arg(tree.join(TOP_DIR).join(&own.filename)));
    let version = run(Command::new(root.join("usr/bin/pig-install")).arg("--version"));
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(
        version.contains(env!("CARGO_PKG_VERSION")),
        "pig-install --version said {version:?}"
    );

    // A rebuild from the lock, from the cache, is the same bytes.
    let second = fx.bundle_ok("b", "cache", &["--locked"]);
    assert_eq!(second["downloaded_bytes"], 0, "{second:#}");
    let a = fs::read(&tgz).unwrap();
    let b = fs::read(second["bundle"].as_str().unwrap()).unwrap();
    assert!(a == b, "two builds of the same lock differ");
    eprintln!(
        "bundle: {} packages, {} bytes; first build {} s, rebuild {} s; verify {} s",
        first["packages"],
        first["bundle_bytes"],
        first["seconds"],
        second["seconds"],
        report["seconds"]
    );

    // One flipped byte in a package is named, by the primary.xml checksum
    // and by SHA256SUMS, and nothing is installed from it.
    let app = manifest
        .packages
        .iter()
        .find(|p| p.name == "fx-app")
        .unwrap()
        .filename
        .clone();
    let tampered = repack(&fx.work, &tgz, "tampered.tgz", |tree| {
        let path = tree.join(&app);
        let mut bytes = fs::read(&path).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 0x01;
        fs::write(&path, bytes).unwrap();
    });
    let (ok, report) = verify(&tampered, &[]);
    assert!(!ok, "a tampered package verified: {report:#}");
    let found = problems(&report);
    let named = format!("{TOP_DIR}/{app}");
    assert!(
        found
            .iter()
            .any(|p| p.starts_with(&named) && p.contains("SHA256") && p.contains("primary.xml")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains(&named) && p.contains("SHA256SUMS")),
        "{found:#?}"
    );
    assert_eq!(report["checks"][4]["status"], "skipped", "{report:#}");

    // repomd.xml signed by another key is refused.
    let stranger = SigningKey::generate("stranger", UNIX_EPOCH + Duration::from_secs(1)).unwrap();
    let resigned = repack(&fx.work, &tgz, "resigned.tgz", |tree| {
        let repomd = fs::read(tree.join("repodata/repomd.xml")).unwrap();
        let sig = stranger
            .sign_detached_armored(&repomd, UNIX_EPOCH + Duration::from_secs(2))
            .unwrap();
        fs::write(tree.join("repodata/repomd.xml.asc"), sig).unwrap();
        write_sha256sums(tree).unwrap();
    });
    let (ok, report) = verify(&resigned, &["--no-install"]);
    assert!(!ok, "a foreign signature verified: {report:#}");
    assert!(
        problems(&report)
            .iter()
            .any(|p| p.contains("pigsty/repodata/repomd.xml")),
        "{report:#}"
    );
    assert_eq!(report["checks"][2]["status"], "failed", "{report:#}");

    // A module whose package is not in the bundle fails the dnf install
    // (signatures and hashes still pass): the closure check can fail, and
    // names the module.
    let ghost = repack(&fx.work, &tgz, "ghost.tgz", |tree| {
        let path = tree.join(MANIFEST);
        let mut manifest = Manifest::load(&path).unwrap();
        manifest
            .modules
            .insert("ghost".into(), vec!["fx-ghost".into()]);
        manifest.save(&path).unwrap();
        write_sha256sums(tree).unwrap();
    });
    let (ok, report) = verify(&ghost, &[]);
    assert!(!ok, "a module with an absent package verified: {report:#}");
    let found = problems(&report);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("module ghost:") && p.contains("fx-ghost")),
        "{found:#?}"
    );
    assert_eq!(found.len(), 1, "only the ghost module fails: {found:#?}");
}

#[test]
fn missing_packages_upstream_are_named() {
    if !tools() {
        return;
    }
    let fx = Fixture::new();
    // A recipe package no upstream has.
    let wanting = fx.work.join("wanting.yml");
    let text = fs::read_to_string(&fx.recipe).unwrap();
    fs::write(
        &wanting,
        text.replace("app: [fx-app]", "app: [fx-app, fx-absent]"),
    )
    .unwrap();
    let out = fx.bundle(&wanting, "w", "cache", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "bundle built without fx-absent");
    assert!(stderr.contains("fx-absent"), "{stderr}");

    // A locked package that has since gone from the upstream.
    run(Command::new(PIG)
        .args(["resolve", "--recipe"])
        .arg(&fx.recipe)
        .arg("--mirror")
        .arg(format!("fixture={}", fx.mirror_url))
        .arg("--lock")
        .arg(fx.work.join("el9-fixture.lock"))
        .arg("--cache")
        .arg(fx.work.join("cache")));
    let common = fs::read_dir(fx.upstream.join("noarch"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("fx-common-")
        })
        .unwrap();
    fs::remove_file(&common).unwrap();
    let out = fx.bundle(&fx.recipe, "c", "empty-cache", &["--locked"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "bundle built without fx-common");
    let name = common.file_name().unwrap().to_string_lossy().to_string();
    assert!(stderr.contains(&name), "{stderr}");
    let left: Vec<_> = fs::read_dir(fx.work.join("c"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.iter().all(|n| !n.to_string_lossy().ends_with(".tgz")),
        "a failed build left {left:?}"
    );
}
