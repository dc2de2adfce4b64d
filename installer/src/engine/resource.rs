//! The resources roles are made of. Each one names a desired state; the
//! planner decides whether the machine already has it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// When a [`Resource::Command`] needs to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// Run unless this command (read-only) succeeds.
    Unless(Vec<String>),
    /// Run unless this path exists.
    Creates(PathBuf),
    /// Run when one of these managed files changes in the same apply.
    OnChange(Vec<PathBuf>),
}

/// A certificate issued by the seed's CA at apply time (a fresh key pair
/// every time it is issued; the stamp records what was issued).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSpec {
    /// Where the PEM certificate goes.
    pub cert: PathBuf,
    /// Where the PEM private key goes (mode 0600).
    pub key: PathBuf,
    /// Owner of both files.
    pub owner: String,
    /// Group of both files.
    pub group: String,
    /// Subject common name.
    pub common_name: String,
    /// DNS names in subjectAltName.
    pub dns_names: Vec<String>,
    /// IP addresses in subjectAltName.
    pub ips: Vec<IpAddr>,
    /// The issuing CA's certificate (PEM).
    pub ca_cert: String,
    /// The issuing CA's key (PEM).
    pub ca_key: String,
}

impl CertSpec {
    /// A digest of everything that decides the certificate's content, so a
    /// changed name, address or CA asks for a new one.
    pub fn digest(&self) -> String {
        let mut text = format!("cn={}\nca={}\n", self.common_name, self.ca_cert);
        for d in &self.dns_names {
            text.push_str(&format!("dns={d}\n"));
        }
        for ip in &self.ips {
            text.push_str(&format!("ip={ip}\n"));
        }
        super::state::sha256_hex(text.as_bytes())
    }
}

/// One desired piece of machine state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// A directory with owner, group and mode.
    Directory {
        /// Absolute path.
        path: PathBuf,
        /// Owning user name.
        owner: String,
        /// Owning group name.
        group: String,
        /// Permission bits.
        mode: u32,
    },
    /// A regular file with exact content, written atomically.
    File {
        /// Absolute path.
        path: PathBuf,
        /// The whole content.
        content: Vec<u8>,
        /// Owning user name.
        owner: String,
        /// Owning group name.
        group: String,
        /// Permission bits.
        mode: u32,
        /// Holds a password or key: plans say that it differs, not how.
        secret: bool,
    },
    /// A symbolic link.
    Link {
        /// Where the link is.
        path: PathBuf,
        /// What it points to.
        target: PathBuf,
    },
    /// A certificate and key issued by the seed CA.
    Certificate(CertSpec),
    /// Packages installed with the native package manager from the local repo.
    Packages {
        /// Package names.
        names: Vec<String>,
    },
    /// A group.
    Group {
        /// Group name.
        name: String,
        /// Fixed group id, if any.
        gid: Option<u32>,
    },
    /// A user whose primary group is `group`.
    User {
        /// User name.
        name: String,
        /// Fixed user id, if any.
        uid: Option<u32>,
        /// Primary group.
        group: String,
        /// Home directory.
        home: PathBuf,
        /// Login shell.
        shell: String,
    },
    /// A systemd unit's enablement and activity; restarted (or reloaded)
    /// when a file it depends on changes in the same apply.
    Service {
        /// Unit name without `.service`.
        name: String,
        /// Enable it at boot (false: leave as is, for static units).
        enabled: bool,
        /// Keep it running (false: leave as is, for one-shot units).
        active: bool,
        /// Managed files whose change restarts the unit.
        restart_on: Vec<PathBuf>,
        /// Reload instead of restart when those change.
        reload: bool,
    },
    /// A command run when its guard says so.
    Command {
        /// Short name for plans and the stamp.
        name: String,
        /// Program and arguments.
        argv: Vec<String>,
        /// When to run it.
        guard: Guard,
    },
    /// A check run at the end of its role on every apply (never a change):
    /// the role is done only when it succeeds within `timeout_secs`.
    HealthCheck {
        /// Short name.
        name: String,
        /// Program and arguments; success means healthy.
        argv: Vec<String>,
        /// How long to keep retrying.
        timeout_secs: u64,
    },
}

impl Resource {
    /// A stable identifier: `file:/etc/hosts`, `service:haproxy`, …
    pub fn id(&self) -> String {
        match self {
            Resource::Directory { path, .. } => format!("directory:{}", path.display()),
            Resource::File { path, .. } => format!("file:{}", path.display()),
            Resource::Link { path, .. } => format!("link:{}", path.display()),
            Resource::Certificate(spec) => format!("certificate:{}", spec.cert.display()),
            Resource::Packages { names } => format!("packages:{}", names.join(",")),
            Resource::Group { name, .. } => format!("group:{name}"),
            Resource::User { name, .. } => format!("user:{name}"),
            Resource::Service { name, .. } => format!("service:{name}"),
            Resource::Command { name, .. } => format!("command:{name}"),
            Resource::HealthCheck { name, .. } => format!("check:{name}"),
        }
    }

    /// A file resource owned by root.
    pub fn file(path: &str, content: impl Into<Vec<u8>>, mode: u32) -> Resource {
        Resource::File {
            path: PathBuf::from(path),
            content: content.into(),
            owner: "root".into(),
            group: "root".into(),
            mode,
            secret: false,
        }
    }

    /// A directory owned by `owner:group`.
    pub fn directory(path: &str, owner: &str, group: &str, mode: u32) -> Resource {
        Resource::Directory {
            path: PathBuf::from(path),
            owner: owner.into(),
            group: group.into(),
            mode,
        }
    }

    /// A service that is enabled and running, restarted when `restart_on` change.
    pub fn running_service(name: &str, restart_on: &[&str]) -> Resource {
        Resource::Service {
            name: name.into(),
            enabled: true,
            active: true,
            restart_on: restart_on.iter().map(PathBuf::from).collect(),
            reload: false,
        }
    }

    /// `systemctl daemon-reload` after `unit` (a file in
    /// /etc/systemd/system) changed, so that the service's start or restart
    /// that follows runs the new unit.
    pub fn daemon_reload_on(unit: &str) -> Resource {
        let name = Path::new(unit)
            .file_stem()
            .map_or_else(|| unit.to_string(), |s| s.to_string_lossy().into_owned());
        Resource::Command {
            name: format!("systemd-daemon-reload-{name}"),
            argv: Resource::argv(&["systemctl", "daemon-reload"]),
            guard: Guard::OnChange(vec![PathBuf::from(unit)]),
        }
    }

    /// A check that something listens on TCP `port`.
    pub fn listening(name: &str, port: i64) -> Resource {
        Resource::HealthCheck {
            name: format!("{name}-listening"),
            argv: Resource::argv(&[
                "sh",
                "-c",
                "ss -Hltn \"sport = :$1\" | grep -q .",
                "sh",
                &port.to_string(),
            ]),
            timeout_secs: 30,
        }
    }

    /// Strings to a command line.
    pub fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }
}
