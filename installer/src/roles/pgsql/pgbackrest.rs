//! pgBackRest on a PGSQL member: its configuration, the local
//! repository's directory, the stanza, the first full backup and a
//! `pgbackrest check` (WAL really reaches the repository). Continuous
//! archiving itself is PostgreSQL's `archive_command`, which Patroni sets
//! (see `patroni.rs`).
//!
//! Every member gets the configuration, so that any of them can become
//! the primary and go on archiving; the stanza, the backup and the check
//! run on the primary only, decided when the command runs (a guard is
//! evaluated at plan time, before Patroni has started PostgreSQL).

use std::path::PathBuf;

use super::backup;
use super::{DBSU, Member, SOCKET_DIR};
use crate::engine::{Guard, Resource};
use crate::roles::{Context, RoleInputError};

/// Where an asynchronous `archive-push` spools WAL (the configuration's
/// `spool-path`).
const SPOOL: &str = "/pg/spool";

/// Shell test that succeeds on a member that is a replica (run as the
/// database superuser; `$1` is the socket directory, `$2` the port).
const IS_REPLICA: &str =
    "[ \"$(psql -XAtqh \"$1\" -p \"$2\" -d postgres -c 'SELECT pg_is_in_recovery()')\" = t ]";

/// Whether the seed turns pgBackRest on for this member.
pub fn enabled(ctx: &Context) -> bool {
    ctx.bool("pgbackrest_enabled")
}

/// `sh -c SCRIPT` as the database superuser, with the socket directory,
/// the port and the stanza as `$1`, `$2` and `$3`.
fn as_dbsu(member: &Member, script: &str) -> Vec<String> {
    Resource::argv(&[
        "runuser",
        "-u",
        DBSU,
        "--",
        "sh",
        "-c",
        script,
        "sh",
        SOCKET_DIR,
        &member.port.to_string(),
        &member.cluster,
    ])
}

/// Resources of pgBackRest, to come after Patroni has started the member.
pub fn resources(
    ctx: &Context,
    member: &Member,
    out: &mut Vec<Resource>,
) -> Result<(), RoleInputError> {
    if !enabled(ctx) {
        return Ok(());
    }
    let cpus = std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        .unwrap_or(1);
    let config = backup::backup_config(ctx, cpus)?;
    out.push(Resource::Packages {
        names: vec!["pgbackrest".into()],
    });
    out.push(Resource::directory("/etc/pgbackrest", "root", DBSU, 0o750));
    out.push(Resource::File {
        path: PathBuf::from(backup::CONF),
        content: config.render().into_bytes(),
        owner: DBSU.into(),
        group: DBSU.into(),
        mode: 0o640,
        // An S3 repository's keys or an encrypted repository's passphrase.
        secret: config
            .repo
            .iter()
            .any(|o| matches!(o.name.as_str(), "s3-key" | "s3-key-secret" | "cipher-pass")),
    });
    out.push(Resource::directory(&config.log_dir, DBSU, DBSU, 0o750));
    out.push(Resource::directory(SPOOL, DBSU, DBSU, 0o750));
    if !config.is_s3()
        && let Some(path) = config.repo.iter().find(|o| o.name == "path")
    {
        out.push(Resource::directory(&path.value, DBSU, DBSU, 0o750));
    }
    // `info` says "missing stanza path" until `stanza-create` made it.
    out.push(Resource::Command {
        name: format!("pgbackrest-stanza-create-{}", member.cluster),
        argv: as_dbsu(
            member,
            &format!(
                "if {IS_REPLICA}; then exit 0; fi; {} --stanza=\"$3\" stanza-create",
                backup::PGBACKREST
            ),
        ),
        guard: Guard::Unless(as_dbsu(
            member,
            &format!(
                "{IS_REPLICA} || ! {} --stanza=\"$3\" info | grep -q 'missing stanza'",
                backup::PGBACKREST
            ),
        )),
    });
    if ctx.bool("pgbackrest_init_backup") {
        // `info` says "status: ok" once the stanza has a valid backup.
        out.push(Resource::Command {
            name: format!("pgbackrest-first-backup-{}", member.cluster),
            argv: as_dbsu(
                member,
                &format!(
                    "if {IS_REPLICA}; then exit 0; fi; {} --stanza=\"$3\" --type=full backup",
                    backup::PGBACKREST
                ),
            ),
            guard: Guard::Unless(as_dbsu(
                member,
                &format!(
                    "{IS_REPLICA} || {} --stanza=\"$3\" info | grep -q 'status: ok'",
                    backup::PGBACKREST
                ),
            )),
        });
    }
    // Forces a WAL switch and waits until the segment is in the
    // repository: archiving works end to end.
    out.push(Resource::HealthCheck {
        name: format!("pgbackrest-check-{}", member.cluster),
        argv: as_dbsu(
            member,
            &format!(
                "{IS_REPLICA} || {} --stanza=\"$3\" check",
                backup::PGBACKREST
            ),
        ),
        timeout_secs: 180,
    });
    Ok(())
}
