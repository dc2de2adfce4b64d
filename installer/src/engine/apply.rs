//! Applying a plan: make each planned change in order, run the health
//! checks, stop at the first failure.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt, chown};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::cert;
use super::journal;
use super::plan::{Action, Plan};
use super::resource::{CertSpec, Guard, Resource};
use super::state::{IssuedCert, Stamp, sha256_hex};
use super::system::System;

/// The sources list that names the local repository; when present,
/// packages install from it and nothing else.
pub const LOCAL_SOURCES: &str = "/etc/apt/sources.list.d/pigsty.sources";

/// What an apply did.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// Resource ids changed, with what was done.
    pub changed: Vec<(String, String)>,
    /// The resource that failed and why (the apply stopped there).
    pub failed: Option<(String, String)>,
    /// Health checks that passed.
    pub checks: Vec<String>,
}

impl ApplyReport {
    /// The report as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "changed": self.changed.iter().map(|(id, what)| serde_json::json!({"resource": id, "change": what})).collect::<Vec<_>>(),
            "checks": self.checks,
            "failed": self.failed.as_ref().map(|(id, why)| serde_json::json!({"resource": id, "error": why})),
        })
    }
}

/// Make the changes of `plan`; issued certificates are recorded in `stamp`.
pub fn apply(system: &dyn System, plan: &Plan, stamp: &mut Stamp) -> ApplyReport {
    let mut report = ApplyReport::default();
    for step in &plan.steps {
        let id = step.resource.id();
        let result = match (&step.resource, &step.action) {
            (
                Resource::HealthCheck {
                    argv, timeout_secs, ..
                },
                _,
            ) => wait_healthy(argv, *timeout_secs).map(|()| report.checks.push(id.clone())),
            (_, None) => continue,
            (resource, Some(action)) => make(system, resource, action, stamp).map(|()| {
                journal::info(&format!("changed {id}: {action}"));
                report.changed.push((id.clone(), action.to_string()));
            }),
        };
        if let Err(e) = result {
            let why = format!("{e:#}");
            journal::send(3, &format!("failed {id}: {why}"));
            report.failed = Some((id, why));
            break;
        }
    }
    report
}

fn make(
    system: &dyn System,
    resource: &Resource,
    action: &Action,
    stamp: &mut Stamp,
) -> Result<()> {
    match resource {
        Resource::File {
            path,
            content,
            owner,
            group,
            mode,
            ..
        } => write_file(system, path, content, owner, group, *mode),
        Resource::Directory {
            path,
            owner,
            group,
            mode,
        } => {
            std::fs::create_dir_all(path)
                .with_context(|| format!("creating {}", path.display()))?;
            set_meta(system, path, owner, group, *mode)
        }
        Resource::Link { path, target } => {
            match std::fs::symlink_metadata(path) {
                Ok(m) if m.is_dir() => bail!("{} is a directory", path.display()),
                Ok(_) => std::fs::remove_file(path)
                    .with_context(|| format!("removing {}", path.display()))?,
                Err(_) => {}
            }
            std::os::unix::fs::symlink(target, path)
                .with_context(|| format!("linking {} to {}", path.display(), target.display()))
        }
        Resource::Certificate(spec) => issue(system, spec, stamp),
        Resource::Packages { .. } => match action {
            Action::Install { missing } => install(missing),
            _ => Ok(()),
        },
        Resource::Group { name, gid } => {
            let mut argv = vec![
                if matches!(action, Action::Create) {
                    "groupadd"
                } else {
                    "groupmod"
                }
                .to_string(),
            ];
            if let Some(g) = gid {
                argv.extend(["-g".into(), g.to_string()]);
            }
            argv.push(name.clone());
            run(&argv)
        }
        Resource::User {
            name,
            uid,
            group,
            home,
            shell,
        } => {
            let create = matches!(action, Action::Create);
            let mut argv = vec![if create { "useradd" } else { "usermod" }.to_string()];
            if create {
                argv.push("--create-home".into());
            }
            if let Some(u) = uid {
                argv.extend(["-u".into(), u.to_string()]);
            }
            argv.extend([
                "-g".into(),
                group.clone(),
                "-d".into(),
                home.display().to_string(),
                "-s".into(),
                shell.clone(),
                name.clone(),
            ]);
            run(&argv)
        }
        Resource::Service { name, .. } => {
            let Action::Service {
                enable,
                start,
                restart,
                reload,
            } = action
            else {
                return Ok(());
            };
            let unit = format!("{name}.service");
            if *enable {
                run(&["systemctl".into(), "enable".into(), unit.clone()])?;
            }
            for (wanted, verb) in [
                (*start, "start"),
                (*restart, "restart"),
                (*reload, "reload"),
            ] {
                if wanted {
                    run(&["systemctl".into(), verb.into(), unit.clone()])?;
                }
            }
            Ok(())
        }
        Resource::Command { argv, guard, .. } => {
            run(argv)?;
            if let Guard::Unless(check) = guard
                && !system.succeeds(check)?
            {
                bail!(
                    "`{}` still fails after running the command",
                    check.join(" ")
                );
            }
            Ok(())
        }
        Resource::HealthCheck { .. } => Ok(()),
    }
}

fn run(argv: &[String]) -> Result<()> {
    let (program, args) = argv.split_first().context("empty command")?;
    let out = Command::new(program)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .with_context(|| format!("running {}", argv.join(" ")))?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            argv.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Install from the local repository only: apt reads just its sources file.
fn install(names: &[String]) -> Result<()> {
    if !Path::new(LOCAL_SOURCES).exists() {
        bail!(
            "packages {} are missing and there is no local repository ({LOCAL_SOURCES}); \
             pass --bundle FILE or unpack a bundle under /www",
            names.join(" ")
        );
    }
    let only_local = [
        "-o".to_string(),
        format!("Dir::Etc::SourceList={LOCAL_SOURCES}"),
        "-o".into(),
        "Dir::Etc::SourceParts=-".into(),
    ];
    let mut update = vec!["apt-get".to_string(), "update".into(), "-q".into()];
    update.extend(only_local.iter().cloned());
    run(&update)?;
    let mut argv = vec![
        "apt-get".to_string(),
        "install".into(),
        "-y".into(),
        "-q".into(),
        "--no-install-recommends".into(),
    ];
    argv.extend(only_local);
    argv.extend(names.iter().cloned());
    run(&argv)
}

fn set_meta(system: &dyn System, path: &Path, owner: &str, group: &str, mode: u32) -> Result<()> {
    let uid = system
        .uid(owner)?
        .with_context(|| format!("no user {owner}"))?;
    let gid = system
        .gid(group)?
        .with_context(|| format!("no group {group}"))?;
    chown(path, Some(uid), Some(gid)).with_context(|| format!("chown {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", path.display()))
}

/// Write through a temporary file in the same directory, with owner and
/// mode set before the rename, so readers never see a partial file or one
/// with the wrong permissions.
fn write_file(
    system: &dyn System,
    path: &Path,
    content: &[u8],
    owner: &str,
    group: &str,
    mode: u32,
) -> Result<()> {
    let dir = path
        .parent()
        .with_context(|| format!("{} has no directory", path.display()))?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.pig-{}", std::process::id()));
    let result = (|| -> Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(content)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("syncing {}", tmp.display()))?;
        set_meta(system, &tmp, owner, group, mode)?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn issue(system: &dyn System, spec: &CertSpec, stamp: &mut Stamp) -> Result<()> {
    let (cert_pem, key_pem) = cert::issue(spec)?;
    write_file(
        system,
        &spec.key,
        key_pem.as_bytes(),
        &spec.owner,
        &spec.group,
        0o600,
    )?;
    write_file(
        system,
        &spec.cert,
        cert_pem.as_bytes(),
        &spec.owner,
        &spec.group,
        0o644,
    )?;
    stamp.certs.insert(
        spec.cert.clone(),
        IssuedCert {
            spec: spec.digest(),
            sha256: sha256_hex(cert_pem.as_bytes()),
        },
    );
    Ok(())
}

fn wait_healthy(argv: &[String], timeout_secs: u64) -> Result<()> {
    let (program, args) = argv.split_first().context("empty health check")?;
    let deadline = Instant::now() + Duration::from_secs(timeout_secs);
    loop {
        let out = Command::new(program)
            .args(args)
            .output()
            .with_context(|| format!("running {}", argv.join(" ")))?;
        if out.status.success() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "not healthy after {timeout_secs} s: `{}`: {}",
                argv.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
