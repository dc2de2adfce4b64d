//! A Debian root file system as a tarball, installed by mmdebstrap from
//! the given apt sources only, and cached by its inputs.
//!
//! mmdebstrap runs in `unshare` mode, so the build needs no root: the
//! tarball records owners and modes, and [`crate::disk`] reads it back
//! inside a user namespace when not root.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::tool;

/// Where rootfs tarballs are kept between builds, keyed by their inputs.
pub const CACHE_DIR: &str = "/var/tmp/pig-images-cache";

/// Packages every bootable root needs on top of minbase: a kernel, an
/// init, device management, an initramfs to find the root by UUID, and
/// the tools the first-boot root growth runs.
pub const BOOT_PACKAGES: &[&str] = &[
    "linux-image-amd64",
    "systemd-sysv",
    "udev",
    "initramfs-tools",
    "e2fsprogs",
    "cloud-guest-utils",
    "fdisk",
];

/// Where packages come from: apt source lines in one-line form
/// (`deb [signed-by=/k.asc] file:///srv/pigsty ./`), the suite mmdebstrap
/// selects `Priority: required` packages from (the repository's `Suite` or
/// `Codename`), and the keyrings the lines name with `signed-by=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootfsSource {
    pub suite: String,
    pub lines: Vec<String>,
    pub keyrings: Vec<PathBuf>,
    /// Run mmdebstrap in a new network namespace (only a down loopback):
    /// for `file://` sources, proof that nothing comes from elsewhere.
    pub offline: bool,
    /// mmdebstrap `--customize-hook` commands (shell, `$1` the root), run
    /// in order after the packages are installed.
    pub customize: Vec<String>,
}

/// A built (or cached) rootfs tarball.
#[derive(Debug, Clone)]
pub struct Rootfs {
    /// The tarball in the caller's output directory.
    pub tar: PathBuf,
    /// The hex digest of the inputs, naming the cache entry.
    pub key: String,
    /// Whether the tarball came from the cache.
    pub cached: bool,
    /// Time spent, in seconds.
    pub seconds: f64,
}

impl RootfsSource {
    /// The host's own Debian sources from `/etc/apt/sources.list.d/*.sources`
    /// (deb822) and `*.list` files: every enabled `deb` entry, the suite of
    /// the first. Used by tests and as a default; no host name is written
    /// anywhere but read from the machine's configuration.
    pub fn from_host_apt() -> Result<RootfsSource> {
        let dir = Path::new("/etc/apt/sources.list.d");
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .at(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "sources" || x == "list"))
            .collect();
        files.sort();
        let mut source = RootfsSource {
            suite: String::new(),
            lines: Vec::new(),
            keyrings: Vec::new(),
            offline: false,
            customize: Vec::new(),
        };
        for file in &files {
            let text = fs::read_to_string(file).at(file)?;
            let input = file.display().to_string();
            if file.extension().is_some_and(|x| x == "sources") {
                source.add_deb822(&text, &input)?;
            } else {
                source.add_one_line(&text, &input)?;
            }
        }
        if source.lines.is_empty() {
            return Err(Error::invalid(
                dir.display(),
                "deb entries",
                "no enabled deb source to install a rootfs from",
            ));
        }
        Ok(source)
    }

    fn add_deb822(&mut self, text: &str, input: &str) -> Result<()> {
        for para in pig_repo::deb::control::parse(text, input)? {
            let types = para.get("Types").unwrap_or("");
            if !types.split_whitespace().any(|t| t == "deb")
                || para.get("Enabled").is_some_and(|v| v.trim() == "no")
            {
                continue;
            }
            let uris = para.require("URIs", input)?;
            let suites = para.require("Suites", input)?;
            let components = para.get("Components").unwrap_or("").trim();
            let mut options = String::new();
            if let Some(key) = para.get("Signed-By").map(str::trim) {
                if key.contains('\n') {
                    return Err(Error::invalid(
                        input,
                        format!("line {}: Signed-By", para.line),
                        "an inline key block is not supported; name a keyring file",
                    ));
                }
                options = format!("[signed-by={key}] ");
                self.add_keyring(Path::new(key));
            }
            for uri in uris.split_whitespace() {
                for suite in suites.split_whitespace() {
                    if self.suite.is_empty() {
                        self.suite = suite.to_string();
                    }
                    self.lines
                        .push(format!("deb {options}{uri} {suite} {components}"));
                }
            }
        }
        Ok(())
    }

    fn add_one_line(&mut self, text: &str, input: &str) -> Result<()> {
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if !line.starts_with("deb ") {
                continue;
            }
            let mut words = line.split_whitespace().skip(1);
            let mut word = words.next();
            if let Some(w) = word.filter(|w| w.starts_with('[')) {
                let mut opts = w.to_string();
                while !opts.ends_with(']') {
                    match words.next() {
                        Some(w) => {
                            opts.push(' ');
                            opts.push_str(w);
                        }
                        None => break,
                    }
                }
                for opt in opts.trim_matches(['[', ']']).split_whitespace() {
                    if let Some(key) = opt.strip_prefix("signed-by=") {
                        self.add_keyring(Path::new(key));
                    }
                }
                word = words.next();
            }
            let suite = word.and_then(|_| words.next()).ok_or_else(|| {
                Error::invalid(input, format!("line {}", n + 1), "deb line without a suite")
            })?;
            if self.suite.is_empty() {
                self.suite = suite.to_string();
            }
            self.lines.push(line.to_string());
        }
        Ok(())
    }

    fn add_keyring(&mut self, key: &Path) {
        if !self.keyrings.iter().any(|k| k == key) {
            self.keyrings.push(key.to_path_buf());
        }
    }

    /// The digest of everything that decides the tarball's content.
    fn cache_key(&self, packages: &[String], epoch: Option<u64>) -> Result<String> {
        let mut h = Sha256::new();
        let mut text = String::from("pig-images rootfs v1\n");
        let _ = writeln!(text, "suite {}", self.suite);
        for line in &self.lines {
            let _ = writeln!(text, "line {line}");
        }
        let mut pkgs: Vec<&str> = BOOT_PACKAGES.to_vec();
        pkgs.extend(packages.iter().map(String::as_str));
        pkgs.sort_unstable();
        pkgs.dedup();
        let _ = writeln!(text, "packages {}", pkgs.join(","));
        let _ = writeln!(text, "offline {}", self.offline);
        for hook in &self.customize {
            let _ = writeln!(text, "customize {hook}");
        }
        let _ = writeln!(text, "epoch {epoch:?}");
        h.update(text.as_bytes());
        for key in &self.keyrings {
            h.update(fs::read(key).at(key)?);
        }
        Ok(hex::encode(h.finalize()))
    }
}

/// `SOURCE_DATE_EPOCH` from the environment, if set and numeric.
pub fn source_date_epoch() -> Option<u64> {
    std::env::var("SOURCE_DATE_EPOCH").ok()?.trim().parse().ok()
}

/// Install minbase plus [`BOOT_PACKAGES`] plus `packages` from `source`
/// into `out_dir/rootfs.tar`, reusing [`CACHE_DIR`] when the same inputs
/// were built before. `epoch` (`SOURCE_DATE_EPOCH`, see
/// [`source_date_epoch`]) is passed on to mmdebstrap and is part of the
/// cache key.
pub fn build_rootfs(
    source: &RootfsSource,
    packages: &[String],
    epoch: Option<u64>,
    out_dir: &Path,
) -> Result<Rootfs> {
    let started = Instant::now();
    let key = source.cache_key(packages, epoch)?;
    let cache = Path::new(CACHE_DIR);
    fs::create_dir_all(cache).at(cache)?;
    let cached_tar = cache.join(format!("rootfs-{key}.tar"));
    let cached = cached_tar.exists();
    if !cached {
        let part = cache.join(format!("rootfs-{key}.tar.part"));
        let mut cmd = mmdebstrap_command(source, packages, &part);
        if let Some(e) = epoch {
            cmd.env("SOURCE_DATE_EPOCH", e.to_string());
        }
        let result = tool::run(&mut cmd, "installing the rootfs");
        if let Err(e) = result {
            let _ = fs::remove_file(&part);
            return Err(e);
        }
        fs::rename(&part, &cached_tar).at(&cached_tar)?;
    }
    fs::create_dir_all(out_dir).at(out_dir)?;
    let tar = out_dir.join("rootfs.tar");
    let _ = fs::remove_file(&tar);
    if fs::hard_link(&cached_tar, &tar).is_err() {
        fs::copy(&cached_tar, &tar).at(&tar)?;
    }
    Ok(Rootfs {
        tar,
        key,
        cached,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The mmdebstrap command writing the tarball `out`.
fn mmdebstrap_command(source: &RootfsSource, packages: &[String], out: &Path) -> Command {
    let mut pkgs: Vec<String> = BOOT_PACKAGES.iter().map(|p| p.to_string()).collect();
    pkgs.extend(packages.iter().cloned());
    let mut cmd = if source.offline {
        let mut cmd = Command::new("unshare");
        cmd.args(["--net", "--", "mmdebstrap"]);
        cmd
    } else {
        Command::new("mmdebstrap")
    };
    cmd.args(["--mode=unshare", "--variant=minbase", "--format=tar"])
        .arg(format!("--include={}", pkgs.join(",")))
        // Never fall back to unsigned data, whatever apt's defaults become.
        .arg("--aptopt=Acquire::AllowInsecureRepositories \"false\"")
        .arg("--aptopt=APT::Get::AllowUnauthenticated \"false\"")
        .arg("--aptopt=Acquire::Languages \"none\"")
        .arg("--dpkgopt=force-unsafe-io")
        .arg("--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount");
    // The image's own apt must trust the same keys at the same paths as
    // the source lines name.
    for key in &source.keyrings {
        let dir = key.parent().unwrap_or(Path::new("/"));
        cmd.arg(format!(
            "--setup-hook=mkdir -p \"$1{}\" && cp \"{}\" \"$1{}\"",
            dir.display(),
            key.display(),
            key.display()
        ));
    }
    // After the hook directory's own customize step, which unmounts the
    // file:// repositories it bound into the root.
    for hook in &source.customize {
        cmd.arg(format!("--customize-hook={hook}"));
    }
    cmd.arg(&source.suite).arg(out);
    for line in &source.lines {
        cmd.arg(line);
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> RootfsSource {
        RootfsSource {
            suite: String::new(),
            lines: Vec::new(),
            keyrings: Vec::new(),
            offline: false,
            customize: Vec::new(),
        }
    }

    #[test]
    fn deb822_entries_become_one_line_sources() {
        let mut s = empty();
        let text = "Types: deb deb-src\nURIs: http://m.invalid/debian\nSuites: bookworm bookworm-updates\n\
                    Components: main\nSigned-By: /k.gpg\n\nTypes: deb\nEnabled: no\nURIs: http://x.invalid\n\
                    Suites: y\nComponents: main\n";
        s.add_deb822(text, "t.sources").unwrap();
        assert_eq!(s.suite, "bookworm");
        assert_eq!(
            s.lines,
            [
                "deb [signed-by=/k.gpg] http://m.invalid/debian bookworm main",
                "deb [signed-by=/k.gpg] http://m.invalid/debian bookworm-updates main",
            ]
        );
        assert_eq!(s.keyrings, [PathBuf::from("/k.gpg")]);
    }

    #[test]
    fn one_line_sources_keep_options_and_reject_missing_suite() {
        let mut s = empty();
        s.add_one_line(
            "# c\ndeb [arch=amd64 signed-by=/a.asc] file:///srv/pigsty ./\n",
            "t.list",
        )
        .unwrap();
        assert_eq!(s.suite, "./");
        assert_eq!(s.keyrings, [PathBuf::from("/a.asc")]);
        let err = s
            .add_one_line("deb http://m.invalid\n", "u.list")
            .unwrap_err();
        assert!(err.to_string().contains("u.list: line 1"), "{err}");
    }
}
