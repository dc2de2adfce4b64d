//! Bundles for the end-to-end tests, made by the real `pig-build` from the
//! machine's Debian mirror and cached in `/var/tmp/pig-testbed/bundles/`,
//! so that the test bed's nodes and the images are built from a pig
//! bundle alone, as on an air-gapped site.
//!
//! A bundle is cached under a key of the recipe, the modules and the
//! `pig-build` binary: a changed builder makes a new bundle; reruns and
//! the other test binaries of one run reuse it (built ~30 s with a warm
//! package cache). Entries appear by rename, so a crash or a concurrent
//! run never leaves a half bundle under a valid name.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// Where cached bundles live.
const CACHE: &str = "/var/tmp/pig-testbed/bundles";

/// The modules of the bundle every end-to-end test shares: what boots a
/// node (`base`, for images) and what the NODE, ETCD and PGSQL roles run.
pub const MODULES: [&str; 4] = ["base", "node", "etcd", "pgsql"];

/// The `SOURCE_DATE_EPOCH` test bundles are built with.
pub const EPOCH: &str = "1764000000";

/// Why no test bundle can be built here, if none can: the bundle comes
/// from the Debian mirror in the host's apt sources.
pub fn missing_mirror() -> Option<String> {
    (!Path::new("/etc/apt/sources.list.d").is_dir())
        .then(|| "no Debian mirror configured to build the bundle from".to_string())
}

/// The workspace's root directory.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// A binary of the workspace (`pig-build`, `pig-install`) from the target
/// directory of the running test, built first if this test run did not.
pub fn workspace_bin(name: &str) -> Result<PathBuf, String> {
    // A test runs as target/<profile>/deps/<test>-<hash>.
    let exe = std::env::current_exe().map_err(|e| format!("locating the test binary: {e}"))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("{}: not in a cargo target directory", exe.display()))?;
    let bin = profile_dir.join(name);
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "pig-build", "-p", "pig-install"])
            .arg("--manifest-path")
            .arg(workspace().join("Cargo.toml"))
            .status()
            .map_err(|e| format!("running cargo build: {e}"))?;
        if !status.success() || !bin.exists() {
            return Err(format!("cargo build did not make {}", bin.display()));
        }
    }
    Ok(bin)
}

/// The sha256 of a file, in hex.
pub fn sha256_file(path: &Path) -> Result<String, String> {
    // Streamed: disk images are gigabytes.
    let mut file =
        std::fs::File::open(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)
        .map_err(|e| format!("reading {}: {e}", path.display()))?;
    Ok(hex::encode(hasher.finalize()))
}

/// A Debian 12 bundle of `modules` (pig-build adds the essential set),
/// from `recipes/d12.yml` with `--allow-missing` (third-party packages
/// are not reachable here). Returns the `.tgz`.
pub fn d12(modules: &[&str]) -> Result<PathBuf, String> {
    let recipe = workspace().join("recipes/d12.yml");
    let pig_build = workspace_bin("pig-build")?;
    let pig_install = workspace_bin("pig-install")?;
    let mut key = Sha256::new();
    key.update(sha256_file(&recipe)?);
    key.update(modules.join(","));
    key.update(sha256_file(&pig_build)?);
    let key = hex::encode(key.finalize());
    let dir = Path::new(CACHE).join(&key[..16]);
    if let Some(tgz) = find_tgz(&dir) {
        return Ok(tgz);
    }
    std::fs::create_dir_all(CACHE).map_err(|e| format!("making {CACHE}: {e}"))?;
    let part = Path::new(CACHE).join(format!(".part-{}-{}", std::process::id(), &key[..16]));
    let _ = std::fs::remove_dir_all(&part);
    std::fs::create_dir_all(&part).map_err(|e| format!("making {}: {e}", part.display()))?;
    // The debug binary is mostly debug info: packing it would take minutes.
    let stripped = part.join("pig-install");
    let status = Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&stripped)
        .arg(&pig_install)
        .status()
        .map_err(|e| format!("running strip: {e}"))?;
    if !status.success() {
        return Err(format!("strip {} failed", pig_install.display()));
    }
    let out = Command::new(&pig_build)
        .args(["bundle", "--allow-missing", "--json", "--recipe"])
        .arg(&recipe)
        .arg("--modules")
        .arg(modules.join(","))
        .arg("--out")
        .arg(&part)
        .arg("--lock")
        .arg(part.join("d12.lock"))
        .arg("--pig-install")
        .arg(&stripped)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .map_err(|e| format!("running {}: {e}", pig_build.display()))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&part);
        return Err(format!(
            "pig-build bundle failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    eprintln!(
        "test bundle for {}: {}",
        modules.join(","),
        String::from_utf8_lossy(&out.stdout).trim()
    );
    // Another test may have made the same bundle meanwhile; either is good.
    if std::fs::rename(&part, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&part);
    }
    find_tgz(&dir).ok_or_else(|| format!("{}: no bundle after pig-build", dir.display()))
}

fn find_tgz(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
}

/// `bundle` unpacked (once) beside it; returns the directory holding
/// `pigsty/`.
pub fn unpacked(bundle: &Path) -> Result<PathBuf, String> {
    let dir = bundle.with_extension("www");
    if dir.join("pigsty/repo_complete").exists() {
        return Ok(dir);
    }
    let part = bundle.with_extension(format!("www.part-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&part);
    std::fs::create_dir_all(&part).map_err(|e| format!("making {}: {e}", part.display()))?;
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(bundle)
        .arg("-C")
        .arg(&part)
        .status()
        .map_err(|e| format!("running tar: {e}"))?;
    if !status.success() {
        let _ = std::fs::remove_dir_all(&part);
        return Err(format!("unpacking {}", bundle.display()));
    }
    if std::fs::rename(&part, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&part);
    }
    Ok(dir)
}

/// A seed from `pig-install seed init` for the qemu guest at `ip`, reduced
/// to the `node` role (one `nodes` group, the inventory's own vars kept),
/// written to `dir/seed.yml`; `pig-install identify` must agree.
pub fn node_only_seed(dir: &Path, ip: &str) -> PathBuf {
    let installer = workspace_bin("pig-install").expect("pig-install");
    let full = dir.join("seed-singleton.yml");
    let _ = std::fs::remove_file(&full);
    crate::run(
        Command::new(&installer)
            .args([
                "seed",
                "init",
                "--template",
                "singleton",
                "--hosts",
                ip,
                "--out",
            ])
            .arg(&full),
    );
    let text = std::fs::read_to_string(&full).expect("reading the seed");
    let start = text.find("  children:\n").expect("children in the seed");
    // all.vars: the first `vars:` indented by exactly two spaces.
    let end = text.find("\n  vars:\n").expect("vars in the seed") + 1;
    let seed_text = format!(
        "{}  children:\n    nodes:\n      hosts:\n        \"{ip}\": {{}}\n{}",
        &text[..start],
        &text[end..]
    );
    // The oltp profile's sysctl settings are applied by a real kernel in a
    // guest (containers skip systemd-sysctl): keep it.
    assert!(seed_text.contains("node_tune: oltp"), "{seed_text}");
    let seed = dir.join("seed.yml");
    std::fs::write(&seed, seed_text).expect("writing the seed");
    let identify = crate::run(
        Command::new(&installer)
            .args(["identify", "--host", ip, "--seed"])
            .arg(&seed),
    );
    assert_eq!(
        String::from_utf8_lossy(&identify.stdout).trim(),
        format!("{ip}: node")
    );
    seed
}
