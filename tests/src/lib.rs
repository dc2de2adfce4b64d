//! Support shared by pig's integration tests (the tests themselves live in
//! each crate's `tests/` and in `tests/tests/`): running the real tools and
//! reading the machine's apt lists.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where apt keeps the indexes `apt-get update` fetched.
pub const APT_LISTS: &str = "/var/lib/apt/lists";
/// apt's helper that reads a list whatever compression apt stored it with.
pub const APT_HELPER: &str = "/usr/lib/apt/apt-helper";

/// Whether `tool` is on PATH; when it is not, prints why the calling test
/// is skipped.
pub fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("SKIP: {tool} is not installed (scripts/bootstrap installs it)");
    }
    found
}

/// Run `cmd`, failing the test with its output if it does not succeed.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Run `cmd` and log what it printed, whatever its exit status: for tests
/// that look at failures too.
pub fn output(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    eprintln!(
        "{cmd:?}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// [`run`], returning stdout as text.
pub fn run_stdout(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&run(cmd).stdout).into_owned()
}

/// The files in [`APT_LISTS`] whose names contain `marker` (`_Packages`,
/// `InRelease`), sorted.
pub fn apt_lists(marker: &str) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(APT_LISTS) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(marker) && !n.ends_with(".diff_Index"))
        })
        .collect();
    files.sort();
    files
}

/// The bytes of an apt list, decompressed by apt itself.
pub fn cat_apt_list(path: &Path) -> Vec<u8> {
    let out = Command::new(APT_HELPER)
        .arg("cat-file")
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("running {APT_HELPER}: {e}"));
    assert!(
        out.status.success(),
        "apt-helper cat-file {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub mod testbundle;

/// The first of `tools` that is not on PATH, as the reason a test cannot
/// run here; `None` when all are.
pub fn missing_tool(tools: &[&str]) -> Option<String> {
    tools.iter().find_map(|tool| {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        (!found).then(|| format!("{tool} is not installed"))
    })
}

/// Why an image test cannot run here: the first of `tools` not on PATH,
/// else the first of `paths` that does not exist (each with the Debian
/// package that provides it); `None` when all are there.
pub fn missing_prerequisite(tools: &[&str], paths: &[(&str, &str)]) -> Option<String> {
    missing_tool(tools).or_else(|| {
        paths.iter().find_map(|(path, package)| {
            (!Path::new(path).exists()).then(|| format!("{path} is missing (package {package})"))
        })
    })
}

/// The working directory of a fixture that several tests share, made
/// empty at the start; the last of its `users` to call [`Self::release`]
/// removes it, so that a test run does not keep every image it built until
/// the end (a failed test keeps it, to look at).
pub struct FixtureDir {
    path: PathBuf,
    users: std::sync::atomic::AtomicUsize,
}

impl FixtureDir {
    /// `CARGO_TARGET_TMPDIR`-style `path`, emptied, for `users` tests.
    pub fn new(path: PathBuf, users: usize) -> FixtureDir {
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        FixtureDir {
            path,
            users: users.into(),
        }
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One user is done with the directory.
    pub fn release(&self) {
        if self.users.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The start of an image test's fixture: `None` (printing why) when
/// `missing` says the test cannot run here; else the fixture's directory
/// `dir` for `users` tests and the shared d12 test bundle.
pub fn image_fixture(
    missing: Option<String>,
    dir: PathBuf,
    users: usize,
) -> Option<(FixtureDir, PathBuf)> {
    if let Some(why) = missing {
        eprintln!("skipping: {why}");
        return None;
    }
    let dir = FixtureDir::new(dir, users);
    let bundle = testbundle::d12(&testbundle::MODULES)
        .unwrap_or_else(|e| panic!("no bundle for the image: {e}"));
    Some((dir, bundle))
}

/// The GRUB and OVMF files every disk and ISO image test needs.
pub const BOOT_FIRMWARE_FILES: [(&str, &str); 3] = [
    ("/usr/lib/grub/i386-pc", "grub-pc-bin"),
    ("/usr/lib/grub/x86_64-efi", "grub-efi-amd64-bin"),
    ("/usr/share/OVMF", "ovmf"),
];

/// `pig-build image --json --kind KIND ARGS… --out OUT` at the tests'
/// `SOURCE_DATE_EPOCH`: prints what was built and how long it took, and
/// returns the JSON summary.
pub fn image_build(pig_build: &Path, kind: &str, args: &[&OsStr], out: &Path) -> serde_json::Value {
    let started = std::time::Instant::now();
    let output = run(Command::new(pig_build)
        .args(["image", "--json", "--kind", kind])
        .args(args)
        .arg("--out")
        .arg(out)
        .env("SOURCE_DATE_EPOCH", testbundle::EPOCH));
    let summary: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("image --json prints JSON");
    assert_eq!(summary["kind"], kind, "{summary}");
    eprintln!(
        "{kind} image {}: {} bytes, {} allocated, built in {:.1} s (rootfs {} s, cached {}, \
         image {} s)",
        out.display(),
        summary["size_bytes"],
        summary["allocated_bytes"],
        started.elapsed().as_secs_f64(),
        summary["rootfs_seconds"],
        summary["rootfs_cached"],
        summary["disk_seconds"]
    );
    summary
}

/// `pig-build image check --json` of `image` under `firmware`: it must
/// report status ok, and the console must carry pig-install's own record of
/// the applied seed (logged after it wrote result.json). Prints the boot
/// time; returns the report.
pub fn first_boot_check(
    pig_build: &Path,
    image: &Path,
    firmware: &str,
    timeout: &str,
) -> serde_json::Value {
    let started = std::time::Instant::now();
    let out = Command::new(pig_build)
        .args([
            "image",
            "check",
            "--json",
            "--firmware",
            firmware,
            "--timeout",
            timeout,
        ])
        .arg(image)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", pig_build.display()));
    assert!(
        out.status.success(),
        "{firmware} check of {} failed: {}\n{}",
        image.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("image check --json prints JSON");
    assert_eq!(report["status"], "ok");
    let console = report["console_tail"].as_str().unwrap_or_default();
    assert!(
        console.contains("first boot: ok,")
            && console.contains("/var/lib/pig/firstboot/result.json"),
        "{console}"
    );
    eprintln!(
        "{firmware} boot of {}: first boot complete (node role applied) after {:.1} s \
         ({:.1} s with qemu start and stop)",
        image.display(),
        report["seconds"].as_f64().unwrap_or_default(),
        started.elapsed().as_secs_f64()
    );
    report
}
