//! The nspawn test bed: real Debian 12 nodes booted with
//! `systemd-nspawn --boot --register=no --keep-unit`, each on an overlay
//! of one cached root filesystem, networked through a bridge that lives in
//! a private "hub" network namespace (the host's own network is never
//! touched), torn down in `Drop` even when a test panics.
//!
//! Commands run inside a node with `nsenter -t <leader> -a`: the leader is
//! the node's systemd (PID 1 inside, a direct child of systemd-nspawn),
//! and entering all of its namespaces gives the node's mounts, network and
//! host name. `--register=no` leaves machined out, so `machinectl` and
//! `systemd-run -M` cannot be used; nsenter needs nothing but the PID.
//! See scripts/testbed/README.md.

#![allow(dead_code)] // each test binary uses a different part of the bed

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static BEDS: AtomicU32 = AtomicU32::new(0);

/// Why the bed cannot run here, or `None` when it can.
fn unavailable() -> Option<String> {
    // Root is needed for mounts, namespaces and nspawn.
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next().map(str::to_string))
        })
        .unwrap_or_default();
    if uid != "0" {
        return Some("not root".into());
    }
    for tool in ["systemd-nspawn", "mmdebstrap", "nsenter", "ip"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!("{tool} is not installed"));
        }
    }
    None
}

fn run(argv: &[&str]) -> Output {
    Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", argv.join(" ")))
}

fn must(argv: &[&str]) {
    let out = run(argv);
    assert!(
        out.status.success(),
        "{} failed: {}",
        argv.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The cached root filesystem, made from a pig bundle alone; and the
/// bundle.
fn lower_dir() -> Result<(PathBuf, PathBuf, Duration), String> {
    let start = Instant::now();
    let bundle = pig_tests::testbundle::d12(&pig_tests::testbundle::MODULES)?;
    let www = pig_tests::testbundle::unpacked(&bundle)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/testbed/rootfs.sh");
    let out = Command::new(&script)
        .arg(&www)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed", script.display()));
    }
    let lower = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    Ok((lower, bundle, start.elapsed()))
}

/// One booted node.
pub struct Node {
    /// Its address on the bed's bridge.
    pub ip: String,
    /// Its root as the host sees it (an overlay mount).
    pub root: PathBuf,
    dir: PathBuf,
    netns: String,
    machine: String,
    cgroups: Vec<PathBuf>,
    nspawn: Option<Child>,
    leader: u32,
    spawned: Instant,
    /// From starting systemd-nspawn to `systemctl is-system-running`
    /// reporting the boot finished (nodes boot in parallel).
    pub boot_time: Duration,
}

/// Nodes on one bridge.
pub struct Bed {
    /// The nodes, in the order of the addresses given.
    pub nodes: Vec<Node>,
    hub: String,
    dir: PathBuf,
    /// How long making or reusing the bundle and the root filesystem took.
    pub rootfs_time: Duration,
    /// The bundle the nodes' root filesystem was made from (its repository
    /// is also under each node's /www/pigsty).
    pub bundle: PathBuf,
}

impl Bed {
    /// Boot one node per address (all in 10.0.0.0/8 test ranges, /24 on
    /// one bridge); `None`, with the reason printed, when this machine
    /// cannot run the bed.
    pub fn start(ips: &[&str]) -> Option<Bed> {
        let mut bed = Bed::create(ips)?;
        for node in &mut bed.nodes {
            node.spawn();
        }
        for node in &mut bed.nodes {
            node.wait_booted();
        }
        Some(bed)
    }

    /// Like [`Bed::start`] but leave the nodes powered off, so files can
    /// go into their roots before their first boot ([`Node::boot`]).
    pub fn create(ips: &[&str]) -> Option<Bed> {
        if let Some(why) = unavailable() {
            eprintln!("skipping: the nspawn test bed cannot run here: {why}");
            return None;
        }
        // With root and the tools present, a bundle or root filesystem that
        // cannot be made is a failure, not a reason to skip.
        let (lower, bundle, rootfs_time) =
            lower_dir().unwrap_or_else(|why| panic!("no root filesystem for the test bed: {why}"));
        let id = format!(
            "{}-{}",
            std::process::id(),
            BEDS.fetch_add(1, Ordering::SeqCst)
        );
        let dir = PathBuf::from(format!("/var/tmp/pig-testbed/run-{id}"));
        std::fs::create_dir_all(&dir).expect("making the bed directory");
        let mut bed = Bed {
            nodes: Vec::new(),
            hub: format!("pigtb-{id}-hub"),
            dir,
            rootfs_time,
            bundle,
        };
        must(&["ip", "netns", "add", &bed.hub]);
        must(&["ip", "-n", &bed.hub, "link", "add", "br0", "type", "bridge"]);
        must(&["ip", "-n", &bed.hub, "link", "set", "br0", "up"]);
        for (i, ip) in ips.iter().enumerate() {
            let node = bed.prepare(&lower, &id, i, ip);
            bed.nodes.push(node);
        }
        Some(bed)
    }

    fn prepare(&self, lower: &Path, id: &str, i: usize, ip: &str) -> Node {
        let dir = self.dir.join(format!("node{i}"));
        let root = dir.join("root");
        for d in ["upper", "work", "root"] {
            std::fs::create_dir_all(dir.join(d)).expect("making node directories");
        }
        let options = format!(
            "lowerdir={},upperdir={},workdir={}",
            lower.display(),
            dir.join("upper").display(),
            dir.join("work").display()
        );
        must(&[
            "mount",
            "-t",
            "overlay",
            "overlay",
            "-o",
            &options,
            &root.to_string_lossy(),
        ]);
        let netns = format!("pigtb-{id}-n{i}");
        let veth = format!("v{i}");
        must(&["ip", "netns", "add", &netns]);
        must(&["ip", "-n", &netns, "link", "set", "lo", "up"]);
        must(&[
            "ip", "-n", &self.hub, "link", "add", &veth, "type", "veth", "peer", "name", "eth0",
            "netns", &netns,
        ]);
        must(&[
            "ip", "-n", &self.hub, "link", "set", &veth, "master", "br0", "up",
        ]);
        must(&[
            "ip",
            "-n",
            &netns,
            "addr",
            "add",
            &format!("{ip}/24"),
            "dev",
            "eth0",
        ]);
        must(&["ip", "-n", &netns, "link", "set", "eth0", "up"]);
        // Each node gets cgroups of its own: with --keep-unit and no
        // systemd on the host, nspawn leaves the node in the caller's
        // cgroup, and nodes sharing one would manage each other's units.
        let cgroups: Vec<PathBuf> = cgroup_roots()
            .iter()
            .map(|root| root.join(format!("pigtb-{id}-n{i}")))
            .collect();
        for cg in &cgroups {
            std::fs::create_dir_all(cg).expect("making the node's cgroup");
        }
        Node {
            ip: ip.to_string(),
            root,
            dir,
            netns,
            machine: format!("pigtb{i}"),
            cgroups,
            leader: 0,
            nspawn: None,
            spawned: Instant::now(),
            boot_time: Duration::ZERO,
        }
    }
}

impl Node {
    /// Power the node on and wait until its boot has finished (every
    /// start-up job, first-boot units included, has run).
    pub fn boot(&mut self) {
        self.spawn();
        self.wait_booted();
    }

    /// Start systemd-nspawn on the node's root; the console log starts
    /// afresh with each boot.
    fn spawn(&mut self) {
        assert!(self.nspawn.is_none(), "node {} is running", self.ip);
        let join: Vec<String> = self
            .cgroups
            .iter()
            .map(|cg| format!("echo $$ > {}/cgroup.procs && ", cg.display()))
            .collect();
        self.spawned = Instant::now();
        self.leader = 0;
        let console = std::fs::File::create(self.dir.join("console.log")).expect("console log");
        let nspawn = Command::new("sh")
            .arg("-c")
            .arg(format!("{}exec \"$@\"", join.concat()))
            .arg("sh")
            .arg("systemd-nspawn")
            .arg("-D")
            .arg(&self.root)
            .args(["--boot", "--register=no", "--keep-unit", "--quiet"])
            .arg(format!("--machine={}", self.machine))
            .arg(format!(
                "--network-namespace-path=/run/netns/{}",
                self.netns
            ))
            .stdin(Stdio::null())
            .stdout(console.try_clone().expect("console log"))
            .stderr(console)
            .spawn()
            .expect("starting systemd-nspawn");
        self.nspawn = Some(nspawn);
    }

    fn wait_booted(&mut self) {
        let start = self.spawned;
        let pid = self.nspawn.as_ref().map(Child::id).unwrap_or(0);
        while self.leader == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "node {} did not start",
                self.ip
            );
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            self.leader = children
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok())
                .find(|c| {
                    std::fs::read_to_string(format!("/proc/{c}/comm"))
                        .is_ok_and(|comm| comm.trim() == "systemd")
                })
                .unwrap_or(0);
            std::thread::sleep(Duration::from_millis(100));
        }
        // is-system-running needs the node's D-Bus up; retry until then.
        loop {
            let out = self.sh("timeout 120 systemctl is-system-running --wait");
            let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if state == "running" || state == "degraded" {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(300),
                "node {} did not finish booting: {state}; console: {}",
                self.ip,
                self.console()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        self.boot_time = start.elapsed();
    }

    /// The node's console so far.
    pub fn console(&self) -> String {
        std::fs::read_to_string(self.dir.join("console.log")).unwrap_or_default()
    }

    /// Run `argv` inside the node.
    pub fn run(&self, argv: &[&str]) -> Output {
        Command::new("nsenter")
            .args(["-t", &self.leader.to_string(), "-a", "--"])
            .args(argv)
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .stdin(Stdio::null())
            .output()
            .expect("running nsenter")
    }

    /// Run a shell script inside the node.
    pub fn sh(&self, script: &str) -> Output {
        self.run(&["sh", "-c", script])
    }

    /// Run a shell script inside the node; panic unless it succeeds; stdout.
    pub fn ok(&self, script: &str) -> String {
        let out = self.sh(script);
        assert!(
            out.status.success(),
            "node {}: `{script}` failed ({}): {}{}",
            self.ip,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Write a file into the node (through the overlay, from the host):
    /// beside it, then renamed over it, so that a running program (the
    /// pgBouncer exporter is pig-install) is replaced, not written into.
    pub fn put(&self, path: &str, bytes: &[u8], mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let dest = self.root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().expect("a parent")).expect("making the directory");
        let part = dest.with_extension("pig-put");
        std::fs::write(&part, bytes).expect("writing into the node");
        std::fs::set_permissions(&part, std::fs::Permissions::from_mode(mode)).expect("chmod");
        std::fs::rename(&part, &dest).expect("renaming into place in the node");
    }

    /// Copy the pig-install under test into the node.
    pub fn install_pig(&self) {
        let bytes = std::fs::read(env!("CARGO_BIN_EXE_pig-install")).expect("reading pig-install");
        self.put("/usr/bin/pig-install", &bytes, 0o755);
    }

    /// Power the node off (SIGTERM makes nspawn shut the node down) and
    /// wait for it; killed after 15 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.nspawn.take() else {
            return;
        };
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.stop();
            let _ = Command::new("umount").arg(&node.root).status();
            let _ = Command::new("ip")
                .args(["netns", "del", &node.netns])
                .status();
            // The node's last processes may take a moment to leave.
            for cg in &node.cgroups {
                for _ in 0..50 {
                    remove_cgroup(cg);
                    if !cg.exists() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.hub])
            .status();
        // Only remove the run directory once nothing is mounted in it.
        let mounted = std::fs::read_to_string("/proc/self/mounts")
            .unwrap_or_default()
            .contains(&self.dir.to_string_lossy().into_owned());
        if !mounted {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Where new cgroups go: the unified hierarchy on a cgroup2 host; the
/// named systemd hierarchy and the unified one on a hybrid host.
fn cgroup_roots() -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    if base.join("cgroup.controllers").exists() {
        return vec![base.to_path_buf()];
    }
    ["systemd", "unified"]
        .iter()
        .map(|h| base.join(h))
        .filter(|p| p.join("cgroup.procs").exists())
        .collect()
}

/// Remove a cgroup and the ones the node's systemd made under it,
/// deepest first (a cgroup directory goes only with rmdir, once empty).
fn remove_cgroup(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// Make a seed on the host with `pig-install seed init`.
pub fn seed_init(template: &str, ips: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("seed.yml");
    let out = Command::new(env!("CARGO_BIN_EXE_pig-install"))
        .args([
            "seed",
            "init",
            "--template",
            template,
            "--hosts",
            &ips.join(","),
        ])
        .arg("--out")
        .arg(&path)
        .output()
        .expect("running seed init");
    assert!(
        out.status.success(),
        "seed init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&path).expect("reading the seed")
}
