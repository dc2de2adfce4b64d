//! Planning: compare each resource with the machine and list the changes
//! an apply would make. Reads only (through [`System`]).

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Serialize;

use super::diff::line_diff;
use super::resource::{Guard, Resource};
use super::state::sha256_hex;
use super::system::{PathState, System};

/// What an apply will do to one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    /// Make something that is not there.
    Create,
    /// Change what is there; the list says what differs.
    Update {
        /// Aspects that differ: `content`, `mode 0644 -> 0600`, …
        what: Vec<String>,
    },
    /// Issue a new certificate.
    Issue {
        /// Why: missing, other names, changed by hand.
        reason: String,
    },
    /// Install the packages that are missing.
    Install {
        /// The missing ones.
        missing: Vec<String>,
    },
    /// Bring a unit to its wanted state.
    Service {
        /// `systemctl enable`.
        enable: bool,
        /// `systemctl start`.
        start: bool,
        /// `systemctl restart` (a file it reads changed).
        restart: bool,
        /// `systemctl reload` (a file it reads changed).
        reload: bool,
    },
    /// Run a command.
    Run {
        /// Why its guard let it run.
        reason: String,
    },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Create => f.write_str("create"),
            Action::Update { what } => write!(f, "update ({})", what.join(", ")),
            Action::Issue { reason } => write!(f, "issue ({reason})"),
            Action::Install { missing } => write!(f, "install {}", missing.join(" ")),
            Action::Service {
                enable,
                start,
                restart,
                reload,
            } => {
                let mut words = Vec::new();
                for (on, word) in [
                    (*enable, "enable"),
                    (*start, "start"),
                    (*restart, "restart"),
                    (*reload, "reload"),
                ] {
                    if on {
                        words.push(word);
                    }
                }
                f.write_str(&words.join(" + "))
            }
            Action::Run { reason } => write!(f, "run ({reason})"),
        }
    }
}

/// One resource in a plan, with the change it needs (if any).
#[derive(Debug, Clone)]
pub struct Step {
    /// The role that asked for it.
    pub role: String,
    /// The resource.
    pub resource: Resource,
    /// The change, `None` when the machine already matches.
    pub action: Option<Action>,
    /// For files: the line diff (or a note for secrets).
    pub diff: Option<String>,
}

/// Every resource of the node's roles in apply order, with its change.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// All steps, unchanged ones included (apply runs health checks too).
    pub steps: Vec<Step>,
}

impl Plan {
    /// The steps that change something.
    pub fn changes(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.action.is_some())
    }

    /// The plan as shown by `pig-install plan`: one line per change and
    /// the diffs of managed files.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for step in self.changes() {
            if let Some(action) = &step.action {
                s.push_str(&format!(
                    "{} [{}]: {action}\n",
                    step.resource.id(),
                    step.role
                ));
            }
            if let Some(diff) = &step.diff {
                for line in diff.lines() {
                    s.push_str(&format!("    {line}\n"));
                }
            }
        }
        let n = self.changes().count();
        s.push_str(&format!(
            "{n} change(s), {} resource(s) already in place\n",
            self.steps.len() - n
        ));
        s
    }

    /// The plan as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "changes": self.changes().map(|s| serde_json::json!({
                "resource": s.resource.id(),
                "role": s.role,
                "change": s.action,
                "summary": s.action.as_ref().map(ToString::to_string),
                "diff": s.diff,
            })).collect::<Vec<_>>(),
            "unchanged": self.steps.len() - self.changes().count(),
        })
    }
}

/// Plan `resources` (each with the role that asked for it) against `system`.
pub fn plan(system: &dyn System, resources: &[(String, Resource)]) -> Result<Plan> {
    let mut planner = Planner {
        system,
        changed_paths: BTreeSet::new(),
        installing: false,
    };
    let mut steps = Vec::with_capacity(resources.len());
    for (role, resource) in resources {
        let (action, diff) = planner
            .step(resource)
            .with_context(|| format!("planning {}", resource.id()))?;
        if action.is_some() {
            match resource {
                Resource::File { path, .. } | Resource::Link { path, .. } => {
                    planner.changed_paths.insert(path.clone());
                }
                Resource::Certificate(spec) => {
                    planner.changed_paths.insert(spec.cert.clone());
                    planner.changed_paths.insert(spec.key.clone());
                }
                Resource::Packages { .. } => planner.installing = true,
                _ => {}
            }
        }
        steps.push(Step {
            role: role.clone(),
            resource: resource.clone(),
            action,
            diff,
        });
    }
    Ok(Plan { steps })
}

struct Planner<'a> {
    system: &'a dyn System,
    /// Managed files this plan changes, for restart and on-change triggers.
    changed_paths: BTreeSet<PathBuf>,
    /// Packages are installed earlier in the plan: units may appear.
    installing: bool,
}

impl Planner<'_> {
    fn triggered<'p>(&self, paths: &'p [PathBuf]) -> Option<&'p PathBuf> {
        paths.iter().find(|p| self.changed_paths.contains(*p))
    }

    fn owner_diff(&self, owner: &str, group: &str, uid: u32, gid: u32) -> Result<Vec<String>> {
        let mut what = Vec::new();
        if self.system.uid(owner)? != Some(uid) {
            what.push(format!("owner {owner}"));
        }
        if self.system.gid(group)? != Some(gid) {
            what.push(format!("group {group}"));
        }
        Ok(what)
    }

    fn step(&self, resource: &Resource) -> Result<(Option<Action>, Option<String>)> {
        let none = Ok((None, None));
        match resource {
            Resource::File {
                path,
                content,
                owner,
                group,
                mode,
                secret,
            } => {
                let new = String::from_utf8_lossy(content);
                let show = |old: &str| {
                    if *secret {
                        "(holds secrets: content not shown)".to_string()
                    } else {
                        line_diff(old, &new)
                    }
                };
                match self.system.path(path)? {
                    PathState::Missing => Ok((Some(Action::Create), Some(show("")))),
                    PathState::File {
                        content: old,
                        uid,
                        gid,
                        mode: old_mode,
                    } => {
                        let mut what = Vec::new();
                        let mut diff = None;
                        if &old != content {
                            what.push("content".to_string());
                            diff = Some(show(&String::from_utf8_lossy(&old)));
                        }
                        if old_mode != *mode {
                            what.push(format!("mode {old_mode:04o} -> {mode:04o}"));
                        }
                        what.extend(self.owner_diff(owner, group, uid, gid)?);
                        Ok(if what.is_empty() {
                            (None, None)
                        } else {
                            (Some(Action::Update { what }), diff)
                        })
                    }
                    other => Ok((
                        Some(Action::Update {
                            what: vec![format!("replace {} with a file", kind(&other))],
                        }),
                        Some(show("")),
                    )),
                }
            }
            Resource::Directory {
                path,
                owner,
                group,
                mode,
            } => match self.system.path(path)? {
                PathState::Missing => Ok((Some(Action::Create), None)),
                PathState::Directory {
                    uid,
                    gid,
                    mode: old_mode,
                } => {
                    let mut what = Vec::new();
                    if old_mode != *mode {
                        what.push(format!("mode {old_mode:04o} -> {mode:04o}"));
                    }
                    what.extend(self.owner_diff(owner, group, uid, gid)?);
                    Ok(if what.is_empty() {
                        (None, None)
                    } else {
                        (Some(Action::Update { what }), None)
                    })
                }
                other => anyhow::bail!(
                    "{} is {}, not a directory; pig does not remove it",
                    path.display(),
                    kind(&other)
                ),
            },
            Resource::Link { path, target } => match self.system.path(path)? {
                PathState::Link { target: old } if &old == target => none,
                PathState::Missing => Ok((Some(Action::Create), None)),
                other => Ok((
                    Some(Action::Update {
                        what: vec![format!("{} -> link to {}", kind(&other), target.display())],
                    }),
                    None,
                )),
            },
            Resource::Certificate(spec) => {
                let reason = match (self.system.path(&spec.cert)?, self.system.path(&spec.key)?) {
                    (PathState::File { content, .. }, PathState::File { .. }) => {
                        match self.system.stamp().certs.get(&spec.cert) {
                            None => Some("not issued by pig".to_string()),
                            Some(issued) if issued.spec != spec.digest() => {
                                Some("names or CA changed".to_string())
                            }
                            Some(issued) if issued.sha256 != sha256_hex(&content) => {
                                Some("changed since pig issued it".to_string())
                            }
                            Some(_) => None,
                        }
                    }
                    _ => Some("missing".to_string()),
                };
                Ok((reason.map(|reason| Action::Issue { reason }), None))
            }
            Resource::Packages { names } => {
                let missing = self.system.missing_packages(names)?;
                Ok(if missing.is_empty() {
                    (None, None)
                } else {
                    (Some(Action::Install { missing }), None)
                })
            }
            Resource::Group { name, gid } => match self.system.gid(name)? {
                None => Ok((Some(Action::Create), None)),
                Some(g) if gid.is_some_and(|want| want != g) => Ok((
                    Some(Action::Update {
                        what: vec![format!("gid {g} -> {}", gid.unwrap_or(g))],
                    }),
                    None,
                )),
                Some(_) => none,
            },
            Resource::User {
                name,
                uid,
                group,
                home,
                shell,
            } => match self.system.user(name)? {
                None => Ok((Some(Action::Create), None)),
                Some(u) => {
                    let mut what = Vec::new();
                    if let Some(want) = uid
                        && *want != u.uid
                    {
                        what.push(format!("uid {} -> {want}", u.uid));
                    }
                    if self.system.gid(group)? != Some(u.gid) {
                        what.push(format!("group {group}"));
                    }
                    if &u.home != home {
                        what.push(format!("home {}", home.display()));
                    }
                    if &u.shell != shell {
                        what.push(format!("shell {shell}"));
                    }
                    Ok(if what.is_empty() {
                        (None, None)
                    } else {
                        (Some(Action::Update { what }), None)
                    })
                }
            },
            Resource::Service {
                name,
                enabled,
                active,
                restart_on,
                reload,
            } => {
                // The unit file itself is among the files this plan writes.
                let unit_file = format!("{name}.service");
                let writes_unit = restart_on.iter().any(|p| {
                    p.file_name().is_some_and(|f| *f == *unit_file)
                        && self.changed_paths.contains(p)
                });
                let unit = match self.system.unit(name) {
                    Ok(u) => u,
                    // The unit arrives with a package this plan installs, or
                    // as a file this plan writes.
                    Err(_) if self.installing || writes_unit => Default::default(),
                    Err(e) => return Err(e),
                };
                let enable = *enabled && !unit.enabled;
                let start = *active && !unit.active && !unit.condition_failed;
                let triggered = self.triggered(restart_on).is_some();
                // A unit found stopped may still be started by systemd before
                // the apply reaches it (on first boot, units start alongside
                // pig-install), and then with its old configuration: when that
                // changed, restart, which starts it either way and with the new.
                let action = Action::Service {
                    enable,
                    start: start && !triggered,
                    restart: triggered && (start || !reload),
                    reload: triggered && !start && *reload,
                };
                Ok(if enable || start || triggered {
                    (Some(action), None)
                } else {
                    (None, None)
                })
            }
            Resource::Command { guard, .. } => {
                let reason = match guard {
                    Guard::Unless(argv) => (!self.system.succeeds(argv)?)
                        .then(|| format!("`{}` fails", argv.join(" "))),
                    Guard::Creates(path) => (self.system.path(path)? == PathState::Missing)
                        .then(|| format!("{} is missing", path.display())),
                    Guard::OnChange(paths) => self
                        .triggered(paths)
                        .map(|p| format!("{} changes", p.display())),
                };
                Ok((reason.map(|reason| Action::Run { reason }), None))
            }
            Resource::HealthCheck { .. } => none,
        }
    }
}

fn kind(state: &PathState) -> &'static str {
    match state {
        PathState::Missing => "nothing",
        PathState::File { .. } => "a file",
        PathState::Directory { .. } => "a directory",
        PathState::Link { .. } => "a symbolic link",
        PathState::Other => "a special file",
    }
}
