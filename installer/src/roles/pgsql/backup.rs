//! pgBackRest: the cluster's `pgbackrest.conf`, the WAL archive and
//! restore commands Patroni gives PostgreSQL, and the point-in-time
//! recovery model behind `pig-install pitr`.
//!
//! The stanza is the cluster name. The repository is the entry of
//! `pgbackrest_repo` that `pgbackrest_method` names (Pigsty's `local`
//! posix repository under `/pg/backup` by default, or an S3-compatible
//! one); its keys become `repo1-*` options with `_` written as `-`.

use std::fmt::{self, Write as _};

use chrono::{DateTime, NaiveDateTime};

use super::super::{Context, RoleInputError};
use crate::seed::params::Origin;
use crate::seed::yaml::{Node, Value};

/// Where pgBackRest reads its configuration.
pub const CONF: &str = "/etc/pgbackrest/pgbackrest.conf";
/// The pgBackRest binary, as the Debian and PGDG packages install it.
pub const PGBACKREST: &str = "/usr/bin/pgbackrest";

/// One `repo1-*` option of the repository section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoOption {
    /// Option name without the `repo1-` prefix, like `path` or `s3-bucket`.
    pub name: String,
    /// Its value as pgBackRest reads it (booleans as `y`/`n`).
    pub value: String,
}

/// What `pgbackrest.conf` is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupConfig {
    /// Stanza: `pg_cluster`.
    pub stanza: String,
    /// `pg_data`.
    pub pg_data: String,
    /// `pg_port`.
    pub pg_port: u16,
    /// `pgbackrest_log_dir`.
    pub log_dir: String,
    /// The repository's options, in seed order.
    pub repo: Vec<RepoOption>,
    /// CPUs of the node: restore and archive parallelism follow them.
    pub cpus: u32,
}

impl BackupConfig {
    /// Whether the repository is object storage rather than a local path.
    pub fn is_s3(&self) -> bool {
        self.repo
            .iter()
            .any(|o| o.name == "type" && o.value == "s3")
    }

    /// The text of `pgbackrest.conf`, laid out like Pigsty's template.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# pgbackrest.conf of cluster {}: written by pig-install from the seed.\n",
            self.stanza
        );
        let _ = writeln!(s, "[{}]", self.stanza);
        let _ = writeln!(s, "pg1-path={}", self.pg_data);
        let _ = writeln!(s, "pg1-port={}\n", self.pg_port);
        s.push_str("[global]\n");
        s.push_str("# archive: push WAL asynchronously through the spool\narchive-async=y\n");
        s.push_str("spool-path=/pg/spool\n\n");
        let _ = writeln!(
            s,
            "# backup\nannotation=pg_cluster={}\nstart-fast=y\nexpire-auto=y\n",
            self.stanza
        );
        s.push_str("# general\ncompress-type=lz4\n\n");
        let _ = writeln!(
            s,
            "# log\nlog-level-console=info\nlog-level-file=info\nlog-path={}\n",
            self.log_dir
        );
        s.push_str("# repository\n");
        for o in &self.repo {
            let _ = writeln!(s, "repo1-{}={}", o.name, o.value);
        }
        // Pigsty also sets archive-mode=off here; pig leaves pgBackRest's
        // default (preserve) so that a replica made by restore still
        // archives once it is promoted.
        s.push_str("\n# restore\ndelta=y\n\n");
        let cpus = self.cpus.max(1);
        let _ = writeln!(s, "[global:restore]\nprocess-max={cpus}\n");
        let _ = writeln!(
            s,
            "[global:archive-push]\nprocess-max={}\n",
            cpus.div_ceil(2).min(4)
        );
        let _ = writeln!(
            s,
            "[global:archive-get]\nprocess-max={}",
            cpus.div_ceil(4).min(2)
        );
        s
    }
}

/// PostgreSQL's `archive_command` for `stanza`.
pub fn archive_command(stanza: &str) -> String {
    format!("{PGBACKREST} --stanza={stanza} archive-push %p")
}

/// PostgreSQL's `restore_command` for `stanza`.
pub fn restore_command(stanza: &str) -> String {
    format!("{PGBACKREST} --stanza={stanza} archive-get %f \"%p\"")
}

/// Keys pgBackRest needs in an S3 repository.
const S3_REQUIRED: [&str; 5] = [
    "s3_endpoint",
    "s3_bucket",
    "s3_region",
    "s3_key",
    "s3_key_secret",
];

/// The repository options of `repo`, the `pgbackrest_repo` entry named
/// `method` written at `path`. `${pg_cluster}` in a value becomes `cluster`.
pub fn repo_options(
    repo: &Node,
    method: &str,
    path: &str,
    cluster: &str,
) -> Result<Vec<RepoOption>, String> {
    let entry_path = format!("{path}.{method}");
    let entry = repo.get(method).ok_or_else(|| {
        let names: Vec<&str> = repo
            .as_map()
            .unwrap_or_default()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        format!(
            "pgbackrest_method {method:?} names no entry of {path} (it has: {})",
            names.join(", ")
        )
    })?;
    let Some(fields) = entry.as_map() else {
        return Err(format!(
            "{entry_path} (line {}): expected a mapping of repository options, found {}",
            entry.line,
            entry.value.kind()
        ));
    };
    let mut out = Vec::new();
    for (key, value) in fields {
        let text = match &value.value {
            Value::Bool(true) => "y".to_string(),
            Value::Bool(false) => "n".to_string(),
            _ => value.scalar_text().ok_or_else(|| {
                format!(
                    "{entry_path}.{key} (line {}): expected a scalar option value, found {}",
                    value.line,
                    value.value.kind()
                )
            })?,
        };
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "{entry_path} (line {}): {key:?} is not a pgBackRest repository option name",
                value.line
            ));
        }
        if text.contains('\n') {
            return Err(format!(
                "{entry_path}.{key} (line {}): a repository option is one line",
                value.line
            ));
        }
        out.push(RepoOption {
            name: key.replace('_', "-"),
            value: text.replace("${pg_cluster}", cluster),
        });
    }
    let is_s3 = fields
        .iter()
        .any(|(k, v)| k == "type" && v.as_str() == Some("s3"));
    if is_s3 {
        let missing: Vec<&str> = S3_REQUIRED
            .iter()
            .copied()
            .filter(|k| !fields.iter().any(|(f, _)| f == k))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "{entry_path} (line {}): an s3 repository needs {}",
                entry.line,
                missing.join(", ")
            ));
        }
    } else if !fields.iter().any(|(k, _)| k == "path") {
        return Err(format!(
            "{entry_path} (line {}): a posix repository needs a path",
            entry.line
        ));
    }
    Ok(out)
}

/// This node's pgBackRest configuration, from the seed; `cpus` is the
/// node's CPU count.
pub fn backup_config(ctx: &Context, cpus: u32) -> Result<BackupConfig, RoleInputError> {
    let stanza = ctx.str("pg_cluster")?;
    let method = ctx.str("pgbackrest_method")?;
    let repo = ctx
        .host
        .vars
        .get("pgbackrest_repo")
        .ok_or_else(|| ctx.error("pgbackrest_repo is not set"))?;
    let path = match ctx.host.vars.resolved("pgbackrest_repo").map(|r| r.origin) {
        Some(Origin::Set(p)) => p,
        _ => "pgbackrest_repo".to_string(),
    };
    let repo = repo_options(repo, &method, &path, &stanza).map_err(|e| ctx.error(e))?;
    let port = ctx.int("pg_port")?;
    Ok(BackupConfig {
        stanza,
        pg_data: ctx.str("pg_data")?,
        pg_port: u16::try_from(port)
            .map_err(|_| ctx.error(format!("pg_port {port} is not a port")))?,
        log_dir: ctx.str("pgbackrest_log_dir")?,
        repo,
        cpus,
    })
}

/// Where a point-in-time recovery stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PitrTarget {
    /// A moment, as PostgreSQL `timestamptz` text with an explicit zone.
    Time(String),
    /// A WAL position, `XXXXXXXX/XXXXXXXX`.
    Lsn(String),
    /// A restore point made with `pg_create_restore_point`.
    Name(String),
    /// The end of a backup, by pgBackRest label.
    Backup(String),
}

/// A PITR target that cannot be used, naming the option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--{option} {value:?}: {message}")]
pub struct PitrTargetError {
    /// The option: time, lsn, name or backup.
    pub option: &'static str,
    /// What was given.
    pub value: String,
    /// Why it is refused.
    pub message: String,
}

impl fmt::Display for PitrTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PitrTarget::Time(t) => write!(f, "time {t}"),
            PitrTarget::Lsn(l) => write!(f, "LSN {l}"),
            PitrTarget::Name(n) => write!(f, "restore point {n}"),
            PitrTarget::Backup(b) => write!(f, "end of backup {b}"),
        }
    }
}

impl PitrTarget {
    /// Exactly one of the four options, checked.
    pub fn from_options(
        time: Option<&str>,
        lsn: Option<&str>,
        name: Option<&str>,
        backup: Option<&str>,
    ) -> Result<PitrTarget, String> {
        let given: Vec<PitrTarget> = [
            time.map(|t| PitrTarget::Time(t.to_string())),
            lsn.map(|l| PitrTarget::Lsn(l.to_string())),
            name.map(|n| PitrTarget::Name(n.to_string())),
            backup.map(|b| PitrTarget::Backup(b.to_string())),
        ]
        .into_iter()
        .flatten()
        .collect();
        match <[PitrTarget; 1]>::try_from(given) {
            Ok([target]) => target.checked().map_err(|e| e.to_string()),
            Err(v) if v.is_empty() => {
                Err("give one recovery target: --time, --lsn, --name or --backup".into())
            }
            Err(_) => Err("give only one of --time, --lsn, --name and --backup".into()),
        }
    }

    /// The target if its text is valid for its kind.
    pub fn checked(self) -> Result<PitrTarget, PitrTargetError> {
        let fail = |option, value: &str, message: &str| PitrTargetError {
            option,
            value: value.to_string(),
            message: message.to_string(),
        };
        match &self {
            PitrTarget::Time(t) => {
                if !is_timestamptz(t) {
                    return Err(fail(
                        "time",
                        t,
                        "expected a timestamp with its zone, like '2026-11-29 20:15:00+00' or '2026-11-29T20:15:00Z'",
                    ));
                }
            }
            PitrTarget::Lsn(l) => {
                let ok = l.split_once('/').is_some_and(|(hi, lo)| {
                    [hi, lo].iter().all(|p| {
                        (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_hexdigit())
                    })
                });
                if !ok {
                    return Err(fail("lsn", l, "expected an LSN like 0/3000060"));
                }
            }
            PitrTarget::Name(n) => {
                // Restore point names are limited to 63 bytes by PostgreSQL.
                if n.is_empty() || n.len() > 63 || n.chars().any(char::is_control) {
                    return Err(fail(
                        "name",
                        n,
                        "expected a restore point name of 1 to 63 printable bytes",
                    ));
                }
            }
            PitrTarget::Backup(b) => {
                if !is_backup_label(b) {
                    return Err(fail(
                        "backup",
                        b,
                        "expected a pgBackRest backup label like 20261129-201500F or 20261129-201500F_20261129-221500I",
                    ));
                }
            }
        }
        Ok(self)
    }

    /// The arguments of `pgbackrest` that restore `stanza` to this target
    /// in place: over the existing data directory (`--delta`), promoting
    /// when the target is reached.
    pub fn restore_args(&self, stanza: &str) -> Vec<String> {
        let mut args = vec![format!("--stanza={stanza}"), "--delta".to_string()];
        match self {
            PitrTarget::Time(t) => {
                args.extend(["--type=time".to_string(), format!("--target={t}")]);
            }
            PitrTarget::Lsn(l) => {
                args.extend(["--type=lsn".to_string(), format!("--target={l}")]);
            }
            PitrTarget::Name(n) => {
                args.extend(["--type=name".to_string(), format!("--target={n}")]);
            }
            PitrTarget::Backup(b) => {
                args.extend([format!("--set={b}"), "--type=immediate".to_string()]);
            }
        }
        args.push("--target-action=promote".into());
        args.push("restore".into());
        args
    }
}

/// Whether `text` is a timestamp PostgreSQL reads as `timestamptz` with
/// an explicit zone: ISO 8601 date and time, `T` or a space between them,
/// optional fraction, then `Z`, ` UTC`, or an offset (`+00`, `+0800`, `-05:30`).
fn is_timestamptz(text: &str) -> bool {
    let t = text.trim();
    if t != text || t.is_empty() {
        return false;
    }
    let (local, zone) = if let Some(local) = t.strip_suffix(" UTC").or_else(|| t.strip_suffix('Z'))
    {
        (local, "+00:00".to_string())
    } else {
        match t.rfind(['+', '-']) {
            // The sign must come after the date's own dashes.
            Some(i) if i > 10 => {
                let (local, off) = t.split_at(i);
                let digits: String = off[1..].chars().filter(|c| *c != ':').collect();
                if !digits.chars().all(|c| c.is_ascii_digit()) {
                    return false;
                }
                let zone = match digits.len() {
                    2 => format!("{}{digits}:00", &off[..1]),
                    4 => format!("{}{}:{}", &off[..1], &digits[..2], &digits[2..]),
                    _ => return false,
                };
                (local.trim_end(), zone)
            }
            _ => return false,
        }
    };
    let local = local.replacen('T', " ", 1);
    if NaiveDateTime::parse_from_str(&local, "%Y-%m-%d %H:%M:%S%.f").is_err() {
        return false;
    }
    DateTime::parse_from_str(&format!("{local}{zone}"), "%Y-%m-%d %H:%M:%S%.f%:z").is_ok()
}

/// Whether `text` is a pgBackRest backup label: `YYYYMMDD-HHMMSSF`, with
/// `_YYYYMMDD-HHMMSS` plus `D` or `I` for a differential or incremental.
fn is_backup_label(text: &str) -> bool {
    fn stamp(s: &str) -> bool {
        s.len() == 15
            && s.char_indices()
                .all(|(i, c)| if i == 8 { c == '-' } else { c.is_ascii_digit() })
    }
    if !text.is_ascii() {
        return false;
    }
    let Some(full) = text.get(..16) else {
        return false;
    };
    if !(stamp(&full[..15]) && full.ends_with('F')) {
        return false;
    }
    match text.get(16..) {
        Some("") => true,
        Some(rest) => {
            rest.len() == 17
                && rest.starts_with('_')
                && stamp(&rest[1..16])
                && (rest.ends_with('D') || rest.ends_with('I'))
        }
        None => false,
    }
}

/// Patroni's configuration file, which `patronictl` reads.
pub const PATRONI_CONF: &str = "/etc/patroni/patroni.yml";

/// Recovery settings pgBackRest writes into `postgresql.auto.conf` for a
/// targeted restore. Left there, they would make any later clone of the
/// primary (Patroni's replicas are made with pg_basebackup, which copies
/// the file) stop at the old target and promote itself.
const RECOVERY_TARGET_SETTINGS: [&str; 7] = [
    "recovery_target",
    "recovery_target_lsn",
    "recovery_target_name",
    "recovery_target_time",
    "recovery_target_xid",
    "recovery_target_inclusive",
    "recovery_target_action",
];

/// What a PITR step does with its command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// Run it once; it must succeed.
    Run,
    /// Run it once; its trimmed output must be `expect`, else stop.
    Check {
        /// The output that lets the recovery go on.
        expect: String,
    },
    /// Run it every two seconds until its trimmed output is `expect`.
    WaitFor {
        /// The output that ends the wait.
        expect: String,
        /// Give up after this many seconds.
        timeout_secs: u64,
    },
}

/// One step of an in-place point-in-time recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PitrStep {
    /// What the step does, for the operator.
    pub what: String,
    /// The command line.
    pub argv: Vec<String>,
    /// How its outcome is judged.
    pub kind: StepKind,
}

/// What the PITR steps need to know about the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PitrCluster {
    /// `pg_cluster`: Patroni's scope and pgBackRest's stanza.
    pub cluster: String,
    /// This member's Patroni name, `<cluster>-<seq>`.
    pub member: String,
    /// `pg_dbsu`: the user that owns the data directory.
    pub dbsu: String,
    /// The server binaries (`pg_ctl`, `psql`).
    pub bin_dir: String,
    /// `pg_data`.
    pub data: String,
    /// `pg_port`.
    pub port: u16,
    /// `pg_localhost`: the socket directory.
    pub socket_dir: String,
    /// `pg_log_dir`: where the server started for the recovery writes its
    /// output until its logging collector takes over.
    pub log_dir: String,
    /// Patroni member names of the replicas to rebuild afterwards.
    pub replicas: Vec<String>,
}

fn argv(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The steps that restore `c` in place to `target`, run on the primary:
/// check it is the primary, pause Patroni, stop PostgreSQL, restore with
/// pgBackRest, start PostgreSQL and wait until recovery has promoted it,
/// clear the recovery target, resume Patroni and let it restart PostgreSQL
/// as its own, then rebuild each replica
/// from the restored primary.
pub fn pitr_steps(c: &PitrCluster, target: &PitrTarget) -> Vec<PitrStep> {
    let as_dbsu = |cmd: &[&str]| {
        let mut v = argv(&["runuser", "-u", &c.dbsu, "--"]);
        v.extend(cmd.iter().map(|s| s.to_string()));
        v
    };
    let pg_ctl = format!("{}/pg_ctl", c.bin_dir);
    let start_log = format!("{}/pitr-start.log", c.log_dir);
    let psql = format!("{}/psql", c.bin_dir);
    let port = c.port.to_string();
    let query = |sql: &str| {
        as_dbsu(&[
            &psql,
            "-X",
            "-h",
            &c.socket_dir,
            "-p",
            &port,
            "-d",
            "postgres",
            "-Atc",
            sql,
        ])
    };
    let patronictl = |args: &[&str]| {
        let mut v = argv(&["patronictl", "-c", PATRONI_CONF]);
        v.extend(args.iter().map(|s| s.to_string()));
        v
    };
    let mut restore = vec![PGBACKREST.to_string()];
    restore.extend(target.restore_args(&c.cluster));
    let mut reset = as_dbsu(&[
        &psql,
        "-X",
        "-h",
        &c.socket_dir,
        "-p",
        &port,
        "-d",
        "postgres",
    ]);
    for name in RECOVERY_TARGET_SETTINGS {
        reset.push("-c".into());
        reset.push(format!("ALTER SYSTEM RESET {name}"));
    }
    reset.push("-c".into());
    reset.push("SELECT pg_reload_conf()".into());

    let mut steps = vec![
        PitrStep {
            what: "check that this node runs the cluster's primary".into(),
            argv: query("SELECT pg_is_in_recovery()"),
            kind: StepKind::Check { expect: "f".into() },
        },
        PitrStep {
            what: "pause Patroni so that it neither restarts nor fails over PostgreSQL".into(),
            argv: patronictl(&["pause", "--wait", &c.cluster]),
            kind: StepKind::Run,
        },
        PitrStep {
            what: "stop PostgreSQL".into(),
            argv: as_dbsu(&[&pg_ctl, "-D", &c.data, "stop", "-m", "fast", "-w"]),
            kind: StepKind::Run,
        },
        PitrStep {
            what: format!("restore {} to {target} with pgBackRest", c.cluster),
            argv: as_dbsu(&restore.iter().map(String::as_str).collect::<Vec<_>>()),
            kind: StepKind::Run,
        },
        PitrStep {
            what: "start PostgreSQL: it replays WAL up to the target".into(),
            // `-l`: the server must not hold the caller's stdout and
            // stderr open (a pipe would never see its end).
            argv: as_dbsu(&[
                &pg_ctl, "-D", &c.data, "-l", &start_log, "start", "-w", "-t", "3600",
            ]),
            kind: StepKind::Run,
        },
        PitrStep {
            what: "wait until recovery reaches the target and promotes".into(),
            argv: query("SELECT pg_is_in_recovery()"),
            kind: StepKind::WaitFor {
                expect: "f".into(),
                timeout_secs: 3600,
            },
        },
        PitrStep {
            what: "clear the recovery target from postgresql.auto.conf".into(),
            argv: reset,
            kind: StepKind::Run,
        },
        PitrStep {
            what: "resume Patroni".into(),
            argv: patronictl(&["resume", "--wait", &c.cluster]),
            kind: StepKind::Run,
        },
        PitrStep {
            what: "restart PostgreSQL through Patroni: the server started for the recovery \
                   becomes Patroni's again, without the recovery settings"
                .into(),
            argv: patronictl(&["restart", "--force", &c.cluster, &c.member]),
            kind: StepKind::Run,
        },
    ];
    for replica in &c.replicas {
        steps.push(PitrStep {
            what: format!("rebuild replica {replica} from the restored primary"),
            argv: patronictl(&["reinit", "--force", "--wait", &c.cluster, replica]),
            kind: StepKind::Run,
        });
    }
    steps
}

/// The PITR view of this node's cluster, from the seed; replicas are the
/// other members, named `<cluster>-<seq>` as Patroni knows them.
pub fn pitr_cluster(ctx: &Context) -> Result<PitrCluster, RoleInputError> {
    let cluster = ctx.str("pg_cluster")?;
    let port = ctx.int("pg_port")?;
    let replicas = ctx
        .seed
        .pg_clusters()
        .remove(&cluster)
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.ip != ctx.host.ip)
        .map(|m| format!("{cluster}-{}", m.seq))
        .collect();
    Ok(PitrCluster {
        member: format!("{cluster}-{}", ctx.int("pg_seq")?),
        dbsu: ctx.str("pg_dbsu")?,
        // Debian's layout, where the PGSQL role runs PostgreSQL from;
        // Pigsty's pg_bin_dir is a symlink pig does not make.
        bin_dir: format!("/usr/lib/postgresql/{}/bin", ctx.int("pg_version")?),
        data: ctx.str("pg_data")?,
        port: u16::try_from(port)
            .map_err(|_| ctx.error(format!("pg_port {port} is not a port")))?,
        socket_dir: ctx.str("pg_localhost")?,
        log_dir: ctx.str("pg_log_dir")?,
        replicas,
        cluster,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::yaml;

    fn options(repo_yaml: &str, method: &str) -> Result<Vec<RepoOption>, String> {
        let repo = yaml::parse(repo_yaml, "repo.yml").unwrap();
        repo_options(&repo, method, "all.vars.pgbackrest_repo", "pg-meta")
    }

    fn config(repo: Vec<RepoOption>, cpus: u32) -> BackupConfig {
        BackupConfig {
            stanza: "pg-meta".into(),
            pg_data: "/pg/data".into(),
            pg_port: 5432,
            log_dir: "/pg/log/pgbackrest".into(),
            repo,
            cpus,
        }
    }

    #[test]
    fn local_repo_renders_pigsty_default_options() {
        // Pigsty's default pgbackrest_repo.local, as in roles/pgsql/defaults.
        let default = crate::seed::defaults::spec("pgbackrest_repo")
            .and_then(|s| s.default.clone())
            .unwrap();
        let repo = repo_options(&default, "local", "pgbackrest_repo", "pg-meta").unwrap();
        let c = config(repo, 4);
        assert!(!c.is_s3());
        let text = c.render();
        for expected in [
            "[pg-meta]\npg1-path=/pg/data\npg1-port=5432\n",
            "\n[global]\n",
            "\nrepo1-path=/pg/backup\nrepo1-retention-full-type=count\nrepo1-retention-full=2\n",
            "\nannotation=pg_cluster=pg-meta\n",
            "\nlog-path=/pg/log/pgbackrest\n",
            "\ncompress-type=lz4\n",
            "\ndelta=y\n",
            // Parallelism of Pigsty's template on 4 CPUs: restore = cpus,
            // archive-push = min(ceil(cpus/2), 4), archive-get = min(ceil(cpus/4), 2).
            "[global:restore]\nprocess-max=4\n",
            "[global:archive-push]\nprocess-max=2\n",
            "[global:archive-get]\nprocess-max=1\n",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from\n{text}");
        }
        assert!(!text.contains("archive-mode=off"));
        let big = config(Vec::new(), 32).render();
        assert!(big.contains("[global:archive-push]\nprocess-max=4\n"));
        assert!(big.contains("[global:archive-get]\nprocess-max=2"));
    }

    // Pigsty's documented MinIO repository (roles/pgsql/defaults,
    // pgbackrest_repo.minio), with the secrets replaced.
    const MINIO: &str = "
minio:
  type: s3
  s3_endpoint: sss.pigsty
  s3_region: us-east-1
  s3_bucket: pgsql
  s3_key: pgbackrest
  s3_key_secret: kP3vR9wQ
  s3_uri_style: path
  path: /pgbackrest/${pg_cluster}
  storage_port: 9000
  storage_ca_file: /etc/pki/ca.crt
  block: y
  bundle: true
  bundle_limit: 20MiB
  cipher_type: aes-256-cbc
  cipher_pass: x7Tz2Lq
  retention_full_type: time
  retention_full: 14
";

    #[test]
    fn s3_repo_becomes_repo1_s3_options() {
        let repo = options(MINIO, "minio").unwrap();
        let c = config(repo, 2);
        assert!(c.is_s3());
        let text = c.render();
        assert!(
            text.contains(
                "repo1-type=s3\nrepo1-s3-endpoint=sss.pigsty\nrepo1-s3-region=us-east-1\n\
                 repo1-s3-bucket=pgsql\nrepo1-s3-key=pgbackrest\nrepo1-s3-key-secret=kP3vR9wQ\n\
                 repo1-s3-uri-style=path\nrepo1-path=/pgbackrest/pg-meta\nrepo1-storage-port=9000\n\
                 repo1-storage-ca-file=/etc/pki/ca.crt\nrepo1-block=y\nrepo1-bundle=y\n\
                 repo1-bundle-limit=20MiB\nrepo1-cipher-type=aes-256-cbc\nrepo1-cipher-pass=x7Tz2Lq\n\
                 repo1-retention-full-type=time\nrepo1-retention-full=14\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn bad_repositories_name_their_place() {
        let e = options(MINIO, "s3").unwrap_err();
        assert_eq!(
            e,
            "pgbackrest_method \"s3\" names no entry of all.vars.pgbackrest_repo (it has: minio)"
        );
        let e = options(
            "minio: { type: s3, s3_endpoint: x, s3_bucket: b }\n",
            "minio",
        )
        .unwrap_err();
        assert_eq!(
            e,
            "all.vars.pgbackrest_repo.minio (line 1): an s3 repository needs s3_region, s3_key, s3_key_secret"
        );
        let e = options("local: { retention_full: 2 }\n", "local").unwrap_err();
        assert!(e.contains("a posix repository needs a path"), "{e}");
        let e = options("local: { path: [a, b] }\n", "local").unwrap_err();
        assert!(
            e.starts_with("all.vars.pgbackrest_repo.local.path (line 1): expected a scalar"),
            "{e}"
        );
        let e = options("local: /pg/backup\n", "local").unwrap_err();
        assert!(e.contains("expected a mapping"), "{e}");
    }

    #[test]
    fn archive_and_restore_commands() {
        assert_eq!(
            archive_command("pg-meta"),
            "/usr/bin/pgbackrest --stanza=pg-meta archive-push %p"
        );
        assert_eq!(
            restore_command("pg-meta"),
            "/usr/bin/pgbackrest --stanza=pg-meta archive-get %f \"%p\""
        );
    }

    #[test]
    fn pitr_targets_follow_the_pgbackrest_user_guide() {
        // pgBackRest user guide, "Point-in-Time Recovery": restore --delta
        // --type=time "--target=…" --target-action=promote.
        let t =
            PitrTarget::from_options(Some("2026-11-29 20:15:00.123+00"), None, None, None).unwrap();
        assert_eq!(
            t.restore_args("pg-meta"),
            [
                "--stanza=pg-meta",
                "--delta",
                "--type=time",
                "--target=2026-11-29 20:15:00.123+00",
                "--target-action=promote",
                "restore"
            ]
        );
        let l = PitrTarget::from_options(None, Some("0/3000060"), None, None).unwrap();
        assert_eq!(
            l.restore_args("s")[2..4],
            ["--type=lsn", "--target=0/3000060"]
        );
        let n = PitrTarget::from_options(None, None, Some("before-drop"), None).unwrap();
        assert_eq!(
            n.restore_args("s")[2..4],
            ["--type=name", "--target=before-drop"]
        );
        let b =
            PitrTarget::from_options(None, None, None, Some("20261129-201500F_20261129-221500I"))
                .unwrap();
        assert_eq!(
            b.restore_args("s")[2..],
            [
                "--set=20261129-201500F_20261129-221500I",
                "--type=immediate",
                "--target-action=promote",
                "restore"
            ]
        );
    }

    #[test]
    fn pitr_options_are_checked() {
        let one = |t: &str| PitrTarget::from_options(Some(t), None, None, None);
        for good in [
            "2026-11-29 20:15:00+00",
            "2026-11-29T20:15:00Z",
            "2026-11-29 20:15:00 UTC",
            "2026-11-29 20:15:00.5-05:30",
            "2026-11-29 20:15:00+0800",
        ] {
            assert!(one(good).is_ok(), "{good}");
        }
        for bad in [
            "2026-11-29 20:15:00",
            "2026-11-29",
            "yesterday",
            "2026-13-29 20:15:00+00",
            "2026-11-29 25:15:00+00",
            "2026-11-29 20:15:00+0x",
            " 2026-11-29 20:15:00+00",
            "2026-11-29 20:15:00+é1",
        ] {
            let e = one(bad).unwrap_err();
            assert!(e.starts_with("--time "), "{bad}: {e}");
        }
        assert!(PitrTarget::from_options(None, Some("3000060"), None, None).is_err());
        assert!(PitrTarget::from_options(None, Some("0/30000G0"), None, None).is_err());
        assert!(PitrTarget::from_options(None, None, Some(""), None).is_err());
        assert!(PitrTarget::from_options(None, None, Some(&"x".repeat(64)), None).is_err());
        for bad in [
            "20261129-201500",
            "20261129-201500D",
            "20261129-201500F_",
            "2026112é-201500F",
        ] {
            assert!(
                PitrTarget::from_options(None, None, None, Some(bad)).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            PitrTarget::from_options(None, None, None, None).unwrap_err(),
            "give one recovery target: --time, --lsn, --name or --backup"
        );
        assert_eq!(
            PitrTarget::from_options(Some("2026-11-29 20:15:00+00"), Some("0/1"), None, None)
                .unwrap_err(),
            "give only one of --time, --lsn, --name and --backup"
        );
    }

    #[test]
    fn pitr_steps_pause_restore_promote_resume_reinit() {
        let c = PitrCluster {
            cluster: "pg-meta".into(),
            member: "pg-meta-1".into(),
            dbsu: "postgres".into(),
            bin_dir: "/usr/lib/postgresql/18/bin".into(),
            data: "/pg/data".into(),
            port: 5432,
            socket_dir: "/var/run/postgresql".into(),
            log_dir: "/pg/log/postgres".into(),
            replicas: vec!["pg-meta-2".into(), "pg-meta-3".into()],
        };
        let t = PitrTarget::Time("2026-11-29 20:15:00+00".into());
        let steps = pitr_steps(&c, &t);
        let lines: Vec<String> = steps.iter().map(|s| s.argv.join(" ")).collect();
        assert_eq!(
            lines[..6],
            [
                "runuser -u postgres -- /usr/lib/postgresql/18/bin/psql -X -h /var/run/postgresql -p 5432 -d postgres -Atc SELECT pg_is_in_recovery()",
                "patronictl -c /etc/patroni/patroni.yml pause --wait pg-meta",
                "runuser -u postgres -- /usr/lib/postgresql/18/bin/pg_ctl -D /pg/data stop -m fast -w",
                "runuser -u postgres -- /usr/bin/pgbackrest --stanza=pg-meta --delta --type=time --target=2026-11-29 20:15:00+00 --target-action=promote restore",
                "runuser -u postgres -- /usr/lib/postgresql/18/bin/pg_ctl -D /pg/data -l /pg/log/postgres/pitr-start.log start -w -t 3600",
                "runuser -u postgres -- /usr/lib/postgresql/18/bin/psql -X -h /var/run/postgresql -p 5432 -d postgres -Atc SELECT pg_is_in_recovery()",
            ]
        );
        assert_eq!(steps[0].kind, StepKind::Check { expect: "f".into() });
        assert_eq!(
            steps[5].kind,
            StepKind::WaitFor {
                expect: "f".into(),
                timeout_secs: 3600
            }
        );
        assert!(lines[6].contains("-c ALTER SYSTEM RESET recovery_target_time -c"));
        assert!(lines[6].ends_with("-c SELECT pg_reload_conf()"));
        assert_eq!(
            lines[7],
            "patronictl -c /etc/patroni/patroni.yml resume --wait pg-meta"
        );
        assert_eq!(
            lines[8],
            "patronictl -c /etc/patroni/patroni.yml restart --force pg-meta pg-meta-1"
        );
        assert_eq!(
            lines[9..],
            [
                "patronictl -c /etc/patroni/patroni.yml reinit --force --wait pg-meta pg-meta-2",
                "patronictl -c /etc/patroni/patroni.yml reinit --force --wait pg-meta pg-meta-3",
            ]
        );
        // The restore argument stays one argv item even with a space in it.
        assert!(
            steps[3]
                .argv
                .contains(&"--target=2026-11-29 20:15:00+00".to_string())
        );
    }
}
