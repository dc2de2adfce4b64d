//! Reading the machine's current state. Planning goes through the
//! [`System`] trait only, so it cannot change anything, and unit tests of
//! the planner use a fake machine.

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::state::Stamp;

/// A path as found on the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathState {
    /// Nothing there.
    Missing,
    /// A regular file.
    File {
        /// Its content.
        content: Vec<u8>,
        /// Owner uid.
        uid: u32,
        /// Group gid.
        gid: u32,
        /// Permission bits.
        mode: u32,
    },
    /// A directory.
    Directory {
        /// Owner uid.
        uid: u32,
        /// Group gid.
        gid: u32,
        /// Permission bits.
        mode: u32,
    },
    /// A symbolic link.
    Link {
        /// Where it points.
        target: PathBuf,
    },
    /// Something else (socket, device, …).
    Other,
}

/// A systemd unit's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitState {
    /// `systemctl is-enabled` said enabled.
    pub enabled: bool,
    /// `ActiveState` is active (or activating/reloading).
    pub active: bool,
    /// The unit's `Condition…=` checks failed on its last start, so
    /// systemd will not run it on this machine (chrony in a container).
    pub condition_failed: bool,
}

/// A user as found in the passwd database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserState {
    /// Its uid.
    pub uid: u32,
    /// Its primary gid.
    pub gid: u32,
    /// Home directory.
    pub home: PathBuf,
    /// Login shell.
    pub shell: String,
}

/// Read-only access to the machine a plan is made for.
pub trait System {
    /// What is at `path` (symbolic links are not followed).
    fn path(&self, path: &Path) -> Result<PathState>;
    /// The uid of user `name`.
    fn uid(&self, name: &str) -> Result<Option<u32>>;
    /// The gid of group `name`.
    fn gid(&self, name: &str) -> Result<Option<u32>>;
    /// User `name`, if it exists.
    fn user(&self, name: &str) -> Result<Option<UserState>>;
    /// Which of `names` are not installed.
    fn missing_packages(&self, names: &[String]) -> Result<Vec<String>>;
    /// The state of unit `name`.
    fn unit(&self, name: &str) -> Result<UnitState>;
    /// Whether the read-only guard command `argv` succeeds.
    fn succeeds(&self, argv: &[String]) -> Result<bool>;
    /// The state stamp of the last apply.
    fn stamp(&self) -> &Stamp;
}

/// The machine pig-install runs on.
pub struct LocalSystem {
    stamp: Stamp,
}

impl LocalSystem {
    /// The local machine with the stamp at `stamp_path`.
    pub fn new(stamp_path: &Path) -> Result<LocalSystem> {
        Ok(LocalSystem {
            stamp: Stamp::load(stamp_path)?,
        })
    }
}

fn output(argv: &[&str]) -> Result<std::process::Output> {
    let (program, args) = argv.split_first().context("empty command")?;
    Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {}", argv.join(" ")))
}

/// A `getent DATABASE KEY` entry's fields, `None` when there is none.
fn getent(database: &str, key: &str) -> Result<Option<Vec<String>>> {
    let out = output(&["getent", database, key])?;
    match out.status.code() {
        Some(0) => Ok(Some(
            String::from_utf8_lossy(&out.stdout)
                .trim_end()
                .split(':')
                .map(str::to_string)
                .collect(),
        )),
        Some(2) => Ok(None),
        _ => bail!(
            "getent {database} {key} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    }
}

fn field_u32(fields: &[String], i: usize, what: &str) -> Result<u32> {
    fields
        .get(i)
        .and_then(|f| f.parse().ok())
        .with_context(|| format!("getent gave no {what} in {:?}", fields.join(":")))
}

impl System for LocalSystem {
    fn path(&self, path: &Path) -> Result<PathState> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(PathState::Missing),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let mode = meta.permissions().mode() & 0o7777;
        let ft = meta.file_type();
        Ok(if ft.is_symlink() {
            PathState::Link {
                target: std::fs::read_link(path)
                    .with_context(|| format!("reading link {}", path.display()))?,
            }
        } else if ft.is_dir() {
            PathState::Directory {
                uid: meta.uid(),
                gid: meta.gid(),
                mode,
            }
        } else if ft.is_file() {
            PathState::File {
                content: std::fs::read(path)
                    .with_context(|| format!("reading {}", path.display()))?,
                uid: meta.uid(),
                gid: meta.gid(),
                mode,
            }
        } else {
            PathState::Other
        })
    }

    fn uid(&self, name: &str) -> Result<Option<u32>> {
        getent("passwd", name)?
            .map(|f| field_u32(&f, 2, "uid"))
            .transpose()
    }

    fn gid(&self, name: &str) -> Result<Option<u32>> {
        getent("group", name)?
            .map(|f| field_u32(&f, 2, "gid"))
            .transpose()
    }

    fn user(&self, name: &str) -> Result<Option<UserState>> {
        let Some(f) = getent("passwd", name)? else {
            return Ok(None);
        };
        Ok(Some(UserState {
            uid: field_u32(&f, 2, "uid")?,
            gid: field_u32(&f, 3, "gid")?,
            home: PathBuf::from(f.get(5).cloned().unwrap_or_default()),
            shell: f.get(6).cloned().unwrap_or_default(),
        }))
    }

    fn missing_packages(&self, names: &[String]) -> Result<Vec<String>> {
        let mut missing = Vec::new();
        for name in names {
            let out = output(&["dpkg-query", "-W", "-f=${db:Status-Status}", name])?;
            if !(out.status.success() && out.stdout == b"installed") {
                missing.push(name.clone());
            }
        }
        Ok(missing)
    }

    fn unit(&self, name: &str) -> Result<UnitState> {
        let unit = format!("{name}.service");
        let enabled = output(&["systemctl", "is-enabled", "--quiet", &unit])?
            .status
            .success();
        let show = output(&[
            "systemctl",
            "show",
            "--property=ActiveState,ConditionResult,LoadState",
            &unit,
        ])?;
        if !show.status.success() {
            bail!(
                "systemctl show {unit} failed: {}",
                String::from_utf8_lossy(&show.stderr).trim()
            );
        }
        let text = String::from_utf8_lossy(&show.stdout);
        let prop = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or("")
                .to_string()
        };
        if prop("LoadState") == "not-found" {
            bail!("unit {unit} is not installed");
        }
        Ok(UnitState {
            enabled,
            active: matches!(
                prop("ActiveState").as_str(),
                "active" | "activating" | "reloading"
            ),
            condition_failed: prop("ConditionResult") == "no",
        })
    }

    fn succeeds(&self, argv: &[String]) -> Result<bool> {
        let (program, args) = argv.split_first().context("empty guard command")?;
        let status = Command::new(program)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .with_context(|| format!("running guard {}", argv.join(" ")))?;
        Ok(status.success())
    }

    fn stamp(&self) -> &Stamp {
        &self.stamp
    }
}
