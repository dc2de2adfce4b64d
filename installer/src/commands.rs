//! One function per subcommand; `main` dispatches here.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::{Value as Json, json};

use crate::cmdline::{
    CheckArgs, FirstbootArgs, IdentifyArgs, InitArgs, NodeArgs, PgbouncerExporterArgs, PitrArgs,
    SeedOptions, TemplateArg,
};
use crate::engine::state::{STAMP_PATH, sha256_file, sha256_hex};
use crate::engine::{self, ApplyReport, LocalSystem, Plan, Stamp, System, journal};
use crate::firstboot::{self as fb, Decision, FirstbootResult, Outcome};
use crate::roles::pgsql::backup::{self, PitrStep, PitrTarget, StepKind};
use crate::roles::pgsql::tune::NodeSpec;
use crate::roles::{self, RoleInputError};
use crate::seed::identity::{self, local_addresses, local_hostname};
use crate::seed::init::{self, Template};
use crate::seed::{Finding, Host, LoadOptions, Role, Seed, SeedError, Status, check_requirements};
use crate::seed_source::{self, FoundSeed, Origin, SystemProbe};

/// A first boot that failed; its banner is already printed. It carries
/// no cause, so its exit status is 1 even for a bad seed.
#[derive(Debug, thiserror::Error)]
#[error("first boot failed: {0}")]
pub struct FirstbootFailed(pub String);

/// Arguments that make no sense together; exit status 2 like a usage error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadArguments(pub String);

/// Exit status for an error: 2 for a bad seed or bad arguments (a role
/// the seed does not give this node included), 1 otherwise.
pub fn exit_code(e: &anyhow::Error) -> i32 {
    let bad_input = e.chain().any(|c| {
        c.downcast_ref::<BadArguments>().is_some()
            || c.downcast_ref::<RoleInputError>().is_some()
            || matches!(
                c.downcast_ref::<SeedError>(),
                Some(SeedError::Syntax { .. } | SeedError::Invalid { .. })
            )
    });
    if bad_input { 2 } else { 1 }
}

/// `seed init`: write a new seed with random secrets and a fresh CA.
pub fn seed_init(args: &InitArgs) -> Result<()> {
    let template = match args.template {
        TemplateArg::Singleton => Template::Singleton,
        TemplateArg::Ha3 => Template::Ha3,
    };
    let hosts = if args.hosts.is_empty() {
        template.default_hosts()
    } else {
        args.hosts.clone()
    };
    if args.out.exists() && !args.force {
        return Err(BadArguments(format!(
            "{} exists; pass --force to replace it",
            args.out.display()
        ))
        .into());
    }
    let bundle = match &args.bundle {
        Some(path) if !path.is_file() => {
            return Err(BadArguments(format!("--bundle {}: no such file", path.display())).into());
        }
        Some(path) => Some(format!("sha256:{}", sha256_file(path)?)),
        None => None,
    };
    let pg_version = match (args.pg_version, &args.bundle) {
        (Some(v), _) => v,
        (None, Some(path)) => init::bundle_pg_version(path)
            .map_err(BadArguments)?
            .unwrap_or(init::DEFAULT_PG_VERSION),
        (None, None) => init::DEFAULT_PG_VERSION,
    };
    let text =
        init::render(template, &hosts, bundle.as_deref(), pg_version).map_err(BadArguments)?;
    // Prove the new seed reads back before writing it anywhere.
    Seed::from_str(&text, &args.out.display().to_string())
        .context("the generated seed does not check (a pig-install defect)")?;
    pig_repo::atomic::write_file_mode(&args.out, text.as_bytes(), 0o600)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {} (mode 0600: it holds the CA key and all passwords)",
        args.out.display()
    );
    Ok(())
}

fn load(path: &Path, options: &SeedOptions) -> Result<Seed> {
    Ok(Seed::load_with(
        path,
        LoadOptions {
            insecure_default_passwords: options.insecure_default_passwords,
        },
    )?)
}

fn roles_text(host: &Host) -> String {
    let roles: Vec<&str> = host.roles().iter().map(|r| r.name()).collect();
    roles.join(", ")
}

fn host_json(host: &Host) -> Json {
    json!({
        "ip": host.ip.to_string(),
        "nodename": host.nodename(),
        "groups": host.groups,
        "roles": host.roles().iter().map(|r| r.name()).collect::<Vec<_>>(),
    })
}

/// `seed check`: parse, type-check, summarise, compare with a package list.
pub fn seed_check(args: &CheckArgs) -> Result<()> {
    let seed = load(&args.seed, &args.options)?;
    let requirements = seed.requirements();
    let findings: Option<Vec<Finding>> = match &args.packages {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let names: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect();
            Some(check_requirements(&requirements, &names))
        }
        None => None,
    };
    if args.options.json {
        let report = json!({
            "seed": seed.input(),
            "hosts": seed.hosts().iter().map(host_json).collect::<Vec<_>>(),
            "pg_clusters": seed.pg_clusters().iter().map(|(name, members)| json!({
                "name": name,
                "members": members.iter().map(|m| json!({
                    "ip": m.ip.to_string(), "pg_seq": m.seq, "pg_role": m.role,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "etcd": seed.etcd_members().iter().map(|m| json!({"ip": m.ip.to_string(), "etcd_seq": m.seq})).collect::<Vec<_>>(),
            "infra": seed.infra_nodes().iter().map(|m| json!({"ip": m.ip.to_string(), "infra_seq": m.seq})).collect::<Vec<_>>(),
            "minio": seed.minio_nodes().iter().map(|m| json!({"ip": m.ip.to_string(), "minio_seq": m.seq})).collect::<Vec<_>>(),
            "redis_clusters": seed.redis_clusters().iter().map(|(name, members)| json!({
                "name": name,
                "members": members.iter().map(|m| json!({"ip": m.ip.to_string(), "redis_node": m.seq})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "ignored": seed.ignored().iter().map(|i| json!({"name": i.name, "path": i.path})).collect::<Vec<_>>(),
            "requirements": requirements.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "findings": findings.as_ref().map(|f| f.iter().map(|f| json!({
                "requirement": f.requirement.to_string(),
                "status": match f.status { Status::Present => "present", Status::Missing => "missing", Status::Unknown => "unknown" },
                "message": f.message,
            })).collect::<Vec<_>>()),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", check_text(&seed, &requirements, findings.as_deref()));
    }
    let missing = findings
        .iter()
        .flatten()
        .filter(|f| f.status == Status::Missing)
        .count();
    if missing > 0 {
        bail!("{missing} requirement(s) of the seed are missing from the package list");
    }
    Ok(())
}

fn check_text(
    seed: &Seed,
    requirements: &[crate::seed::Requirement],
    findings: Option<&[Finding]>,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: valid seed, {} host(s)",
        seed.input(),
        seed.hosts().len()
    );
    s.push_str("hosts:\n");
    for h in seed.hosts() {
        let _ = writeln!(
            s,
            "  {:<15} roles: {}; groups: {}",
            h.ip,
            roles_text(h),
            h.groups.join(", ")
        );
    }
    s.push_str("clusters:\n");
    for (name, members) in seed.pg_clusters() {
        let list: Vec<String> = members
            .iter()
            .map(|m| format!("{} (seq {}, {})", m.ip, m.seq, m.role))
            .collect();
        let _ = writeln!(s, "  pgsql {name}: {}", list.join(", "));
    }
    let seqs = |members: Vec<crate::seed::SeqMember>| -> String {
        let list: Vec<String> = members
            .iter()
            .map(|m| format!("{} (seq {})", m.ip, m.seq))
            .collect();
        list.join(", ")
    };
    for (label, role, members) in [
        ("etcd", Role::Etcd, seed.etcd_members()),
        ("infra", Role::Infra, seed.infra_nodes()),
        ("minio", Role::Minio, seed.minio_nodes()),
    ] {
        if seed.hosts_with(role).next().is_some() {
            let _ = writeln!(s, "  {label}: {}", seqs(members));
        }
    }
    for (name, members) in seed.redis_clusters() {
        let _ = writeln!(s, "  redis {name}: {}", seqs(members));
    }
    if !seed.ignored().is_empty() {
        s.push_str("ignored (accepted, pig does not act on them):\n");
        for i in seed.ignored() {
            let _ = writeln!(s, "  {}", i.path);
        }
    }
    match findings {
        None => {
            s.push_str("requirements (compare with a bundle: --packages FILE):\n");
            for r in requirements {
                let _ = writeln!(s, "  {r}");
            }
        }
        Some(findings) => {
            s.push_str("requirements:\n");
            for f in findings {
                let mark = match f.status {
                    Status::Present => "ok     ",
                    Status::Missing => "MISSING",
                    Status::Unknown => "?      ",
                };
                let _ = writeln!(s, "  {mark} {}", f.message);
            }
        }
    }
    s
}

/// `identify`: which hosts this node is and the roles it gets.
pub fn identify(args: &IdentifyArgs) -> Result<()> {
    let seed = load(&args.seed, &args.options)?;
    let hosts = match args.host {
        Some(ip) => vec![identity::forced(&seed, ip)?],
        None => {
            let addresses = local_addresses().context("listing this machine's addresses")?;
            let hostname = local_hostname();
            identity::identify(&seed, &addresses, hostname.as_deref())?
        }
    };
    if args.options.json {
        let list: Vec<Json> = hosts.iter().map(host_json).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "hosts": list }))?
        );
    } else {
        for h in &hosts {
            let name = h.nodename().map(|n| format!(" ({n})")).unwrap_or_default();
            println!("{}{name}: {}", h.ip, roles_text(h));
        }
    }
    Ok(())
}

/// The node's part of the seed: its host entry and the roles to configure.
struct Target {
    seed: Seed,
    host: Host,
    roles: Vec<Role>,
    seed_digest: String,
}

const ALL_ROLES: [Role; 6] = [
    Role::Node,
    Role::Infra,
    Role::Etcd,
    Role::Minio,
    Role::Pgsql,
    Role::Redis,
];

/// Load the seed, find this node and its roles; every refusal here comes
/// before any change and exits with status 2.
fn target(args: &NodeArgs) -> Result<Target> {
    let seed = load(&args.seed, &args.options)?;
    let bytes =
        std::fs::read(&args.seed).with_context(|| format!("reading {}", args.seed.display()))?;
    let host = this_host(&seed, args.host)?;
    let own = host.roles();
    let roles = if args.role.is_empty() {
        own
    } else {
        let mut roles = Vec::new();
        for name in &args.role {
            let role = ALL_ROLES
                .into_iter()
                .find(|r| r.name() == name)
                .ok_or_else(|| BadArguments(format!("unknown role {name:?}")))?;
            if !own.contains(&role) {
                return Err(RoleInputError {
                    input: seed.input().to_string(),
                    message: format!(
                        "the inventory does not give host {} the {name} role (its roles: {})",
                        host.ip,
                        roles_text(&host)
                    ),
                }
                .into());
            }
            roles.push(role);
        }
        roles
    };
    Ok(Target {
        seed_digest: sha256_hex(&bytes),
        seed,
        host,
        roles,
    })
}

/// This node's inventory host: the one `forced` names, or the one whose
/// address or name this machine has.
fn this_host(seed: &Seed, forced: Option<std::net::IpAddr>) -> Result<Host> {
    match forced {
        Some(ip) => Ok(identity::forced(seed, ip)?),
        None => {
            let addresses = local_addresses().context("listing this machine's addresses")?;
            let mut hosts = identity::identify(seed, &addresses, local_hostname().as_deref())?;
            if hosts.len() > 1 {
                let list: Vec<String> = hosts.iter().map(|h| h.ip.to_string()).collect();
                return Err(BadArguments(format!(
                    "this node matches several inventory hosts ({}); choose one with --host",
                    list.join(", ")
                ))
                .into());
            }
            Ok(hosts.remove(0))
        }
    }
}

/// The plan for `args` against this machine.
fn make_plan(args: &NodeArgs, target: &Target, system: &LocalSystem) -> Result<Plan> {
    let skipped: Vec<&str> = target
        .roles
        .iter()
        .filter(|r| !roles::IMPLEMENTED.contains(r))
        .map(|r| r.name())
        .collect();
    if !skipped.is_empty() {
        journal::info(&format!(
            "note: this pig-install does not configure role(s) {} yet",
            skipped.join(", ")
        ));
    }
    if let Some(bundle) = &args.bundle
        && !bundle.is_file()
    {
        return Err(BadArguments(format!("--bundle {}: no such file", bundle.display())).into());
    }
    if let (Some(bundle), Some(want)) = (&args.bundle, &target.seed.pig().bundle) {
        let got = format!("sha256:{}", sha256_file(bundle)?);
        if &got != want {
            return Err(BadArguments(format!(
                "--bundle {}: its digest is {got}, but the seed names {want} (pig.bundle): \
                 not the bundle this seed was made for, or damaged",
                bundle.display()
            ))
            .into());
        }
    }
    let ctx = roles::Context {
        seed: &target.seed,
        host: &target.host,
        bundle: args.bundle.as_deref(),
        local_repo: Path::new("/www/pigsty").is_dir(),
        machine: if target.roles.contains(&Role::Pgsql) {
            let fs_main = target.host.vars.str("pg_fs_main").unwrap_or_default();
            Some(machine_size(Path::new(&fs_main))?)
        } else {
            None
        },
    };
    let resources = roles::resources(&ctx, &target.roles)?;
    engine::plan(system, &resources)
}

/// This machine's memory (`MemTotal`), online CPUs and the size of the
/// filesystem that holds `fs_main` (or its nearest existing ancestor: the
/// role makes it), which PostgreSQL's sizing reads.
fn machine_size(fs_main: &Path) -> Result<NodeSpec> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").context("reading /proc/meminfo")?;
    let mem_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|n| n.trim().parse().ok())
        .context("/proc/meminfo: no MemTotal line in kB")?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let dir = fs_main
        .ancestors()
        .find(|p| p.is_dir())
        .unwrap_or(Path::new("/"));
    // POSIX df: a header, then `fs 1024-blocks used available capacity mount`.
    let out = std::process::Command::new("df")
        .args(["-P", "-k", "--"])
        .arg(dir)
        .output()
        .context("running df")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let disk_kib: u64 = text
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("df -P -k {}: no size in its output {text:?}", dir.display()))?;
    Ok(NodeSpec {
        mem_bytes: mem_kib * 1024,
        cpus: u32::try_from(cpus).unwrap_or(u32::MAX),
        disk_bytes: disk_kib * 1024,
    })
}

/// `plan`: the changes `apply` would make.
pub fn plan(args: &NodeArgs) -> Result<()> {
    let target = target(args)?;
    let system = LocalSystem::new(Path::new(STAMP_PATH))?;
    let plan = make_plan(args, &target, &system)?;
    if args.options.json {
        println!("{}", serde_json::to_string_pretty(&plan.json())?);
    } else {
        print!("{}", plan.text());
    }
    Ok(())
}

/// `apply`: make the planned changes, then record them in the stamp.
pub fn apply(args: &NodeArgs) -> Result<()> {
    let report = apply_report(args)?;
    if args.options.json {
        println!("{}", serde_json::to_string_pretty(&report.json())?);
    } else {
        println!(
            "{} change(s) applied, {} check(s) passed",
            report.changed.len(),
            report.checks.len()
        );
    }
    if let Some((id, why)) = report.failed {
        bail!("{id}: {why}");
    }
    Ok(())
}

/// Plan and apply, record the stamp, and return what was done; an error
/// only when nothing could be applied (bad seed, unknown node, no stamp).
fn apply_report(args: &NodeArgs) -> Result<ApplyReport> {
    let target = target(args)?;
    let system = LocalSystem::new(Path::new(STAMP_PATH))?;
    let plan = make_plan(args, &target, &system)?;
    journal::info(&format!(
        "applying {} as {} ({}): {} change(s)",
        target.seed.input(),
        target.host.ip,
        target
            .roles
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>()
            .join(", "),
        plan.changes().count()
    ));
    let mut stamp = system.stamp().clone();
    let report = engine::apply(&system, &plan, &mut stamp);
    stamp.seed_digest = target.seed_digest.clone();
    stamp.seed = target.seed.input().to_string();
    stamp.host = target.host.ip.to_string();
    stamp.roles = target.roles.iter().map(|r| r.name().to_string()).collect();
    stamp.applied_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    stamp.resources = plan.steps.iter().map(|s| s.resource.id()).collect();
    // Issued certificates are recorded even when a later step failed.
    stamp.save(Path::new(STAMP_PATH))?;
    Ok(report)
}

/// `status`: the stamp of the last apply and the drift since.
pub fn status(args: &NodeArgs) -> Result<()> {
    let target = target(args)?;
    let system = LocalSystem::new(Path::new(STAMP_PATH))?;
    let stamp = system.stamp().clone();
    let plan = make_plan(args, &target, &system)?;
    let drift: Vec<String> = plan.changes().map(|s| s.resource.id()).collect();
    let seed_changed = !stamp.seed_digest.is_empty() && stamp.seed_digest != target.seed_digest;
    if args.options.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "applied": !stamp.applied_at.is_empty(),
                "applied_at": stamp.applied_at,
                "host": stamp.host,
                "roles": stamp.roles,
                "seed_changed": seed_changed,
                "drift": drift,
            }))?
        );
    } else {
        if stamp.applied_at.is_empty() {
            println!("never applied on this node");
        } else {
            println!(
                "last apply {} as {} ({})",
                stamp.applied_at,
                stamp.host,
                stamp.roles.join(", ")
            );
        }
        if seed_changed {
            println!("the seed changed since the last apply");
        }
        if drift.is_empty() {
            println!("in sync: {} resource(s)", plan.steps.len());
        } else {
            println!("{} resource(s) differ:", drift.len());
            for id in &drift {
                println!("  {id}");
            }
        }
    }
    Ok(())
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `firstboot`: apply the seed unless this seed was applied (or failed)
/// before; record the outcome; on failure, a banner on the console.
///
/// The seed is found by [`seed_source::locate`]; one from a volume or the
/// kernel command line is validated, then installed as `args.seed`. Every
/// run ends with [`fb::marker_line`] on the console.
pub fn firstboot(args: &FirstbootArgs) -> Result<()> {
    if args.print_unit {
        print!("{}", fb::UNIT);
        return Ok(());
    }
    let outcome = firstboot_run(args);
    let status = match &outcome {
        Ok(true) => Some(Outcome::Ok),
        Ok(false) => None,
        Err(_) => Some(Outcome::Failed),
    };
    show_marker(&fb::marker_line(status));
    outcome.map(|_| ())
}

/// Fail the first boot before any apply: banner, no result record.
fn refuse_seed(message: String) -> anyhow::Error {
    show_banner(&fb::banner(&message, Path::new(fb::RESULT_PATH), true));
    FirstbootFailed(message).into()
}

/// Install a seed found outside the root (a volume, a URL) as `dest`
/// once it parses and type-checks as a seed.
fn install_found_seed(found: &FoundSeed, dest: &Path) -> Result<()> {
    let origin = found.origin.to_string();
    let text = std::str::from_utf8(&found.bytes)
        .map_err(|_| refuse_seed(format!("{origin}: the seed is not UTF-8 text")))?;
    if let Err(e) = Seed::from_str(text, &origin) {
        return Err(refuse_seed(format!("{e}")));
    }
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    pig_repo::atomic::write_file_mode(dest, &found.bytes, 0o600)
        .with_context(|| format!("installing the seed from {origin} as {}", dest.display()))?;
    journal::info(&format!(
        "first boot: installed the seed from {origin} as {}",
        dest.display()
    ));
    Ok(())
}

/// The first boot proper: `Ok(false)` when no source had a seed.
fn firstboot_run(args: &FirstbootArgs) -> Result<bool> {
    let found = seed_source::locate(&SystemProbe::new(&args.seed))
        .map_err(|e| refuse_seed(e.to_string()))?;
    let Some(found) = found else {
        journal::info(&format!(
            "first boot: no seed ({}, the live medium's seed area, a PXE seed initrd, a PIGSEED \
             or CIDATA volume, or pig.seed= on the kernel command line); nothing to do",
            args.seed.display()
        ));
        return Ok(false);
    };
    if !matches!(found.origin, Origin::Embedded(_)) {
        install_found_seed(&found, &args.seed)?;
    }
    let result_path = Path::new(fb::RESULT_PATH);
    let seed_bytes =
        std::fs::read(&args.seed).with_context(|| format!("reading {}", args.seed.display()))?;
    let digest = sha256_hex(&seed_bytes);
    let stamp = Stamp::load(Path::new(STAMP_PATH))?;
    let last = FirstbootResult::load(result_path);
    match fb::decide(&digest, &stamp, last.as_ref()) {
        Decision::Unchanged => {
            journal::info(&format!(
                "first boot: seed unchanged ({} sha256:{digest}, applied {}); nothing to do",
                args.seed.display(),
                stamp.applied_at
            ));
            return Ok(true);
        }
        Decision::FailedBefore => {
            let error = last.and_then(|r| r.error).unwrap_or_default();
            journal::info(&format!(
                "first boot: seed unchanged since it failed (sha256:{digest}); not retrying"
            ));
            show_banner(&fb::banner(&error, result_path, false));
            return Err(FirstbootFailed(error).into());
        }
        Decision::Apply => {}
    }
    journal::info(&format!(
        "first boot: applying {} (sha256:{digest})",
        args.seed.display()
    ));
    let started_at = now();
    let node_args = NodeArgs {
        seed: args.seed.clone(),
        host: None,
        role: Vec::new(),
        bundle: None,
        options: SeedOptions {
            insecure_default_passwords: false,
            json: false,
        },
    };
    let (changes, error) = match apply_report(&node_args) {
        Ok(report) => (
            report.changed.into_iter().map(|(id, _)| id).collect(),
            report.failed.map(|(id, why)| format!("{id}: {why}")),
        ),
        Err(e) => (Vec::new(), Some(format!("{e:#}"))),
    };
    let result = FirstbootResult {
        status: if error.is_some() {
            Outcome::Failed
        } else {
            Outcome::Ok
        },
        seed: args.seed.display().to_string(),
        seed_digest: digest,
        changes,
        error,
        started_at,
        finished_at: now(),
    };
    result.save(result_path)?;
    match result.error {
        None => {
            journal::info(&format!(
                "first boot: ok, {} change(s); result in {}",
                result.changes.len(),
                result_path.display()
            ));
            Ok(true)
        }
        Some(error) => {
            journal::send(3, &format!("first boot failed: {error}"));
            show_banner(&fb::banner(&error, result_path, true));
            Err(FirstbootFailed(error).into())
        }
    }
}

/// Write the first-boot marker line to the console (directly: image checks
/// wait for it there) and to the journal; on stderr too when run by hand.
fn show_marker(line: &str) {
    use std::io::Write as _;
    if !journal::stderr_is_journal() {
        eprintln!("{line}");
    }
    journal::send(6, line);
    if let Ok(mut console) = std::fs::OpenOptions::new().write(true).open("/dev/console") {
        let _ = writeln!(console, "{line}");
    }
}

/// Print `text` on stderr and on the console. When stderr is the
/// journal stream systemd gave the unit, the unit's `journal+console`
/// already copies it to the console: writing there too would print it
/// twice.
fn show_banner(text: &str) {
    eprint!("{text}");
    if !journal::stderr_is_journal() {
        use std::io::Write as _;
        if let Ok(mut console) = std::fs::OpenOptions::new().write(true).open("/dev/console") {
            let _ = console.write_all(text.as_bytes());
        }
    }
}

/// `pitr`: restore this node's cluster in place to a target, or with
/// `--dry-run` list the steps.
pub fn pitr(args: &PitrArgs) -> Result<()> {
    let target = PitrTarget::from_options(
        args.time.as_deref(),
        args.lsn.as_deref(),
        args.name.as_deref(),
        args.backup.as_deref(),
    )
    .map_err(BadArguments)?;
    let seed = load(&args.seed, &args.options)?;
    let host = this_host(&seed, args.host)?;
    if !host.has_role(Role::Pgsql) {
        return Err(RoleInputError {
            input: seed.input().to_string(),
            message: format!(
                "host {} is in no PostgreSQL cluster (its roles: {})",
                host.ip,
                roles_text(&host)
            ),
        }
        .into());
    }
    let ctx = roles::Context {
        seed: &seed,
        host: &host,
        bundle: None,
        local_repo: false,
        machine: None,
    };
    let cluster = backup::pitr_cluster(&ctx)?;
    let steps = backup::pitr_steps(&cluster, &target);
    let json = args.options.json;
    if args.dry_run {
        if json {
            let doc = json!({
                "cluster": cluster.cluster,
                "target": target.to_string(),
                "dry_run": true,
                "steps": steps.iter().map(step_json).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        } else {
            println!("pitr of {} to {target}, steps:", cluster.cluster);
            for (i, step) in steps.iter().enumerate() {
                println!(
                    "{:>2}. {}\n    {}",
                    i + 1,
                    step.what,
                    shell_line(&step.argv)
                );
            }
        }
        return Ok(());
    }
    let done = run_steps(&steps, json);
    if json {
        let doc = json!({
            "cluster": cluster.cluster,
            "target": target.to_string(),
            "dry_run": false,
            "completed": done.as_ref().map_or_else(|(n, _)| *n, |n| *n),
            "steps": steps.len(),
            "error": done.as_ref().err().map(|(_, e)| format!("{e:#}")),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    }
    done.map(|_| ()).map_err(|(_, e)| e)
}

fn step_json(step: &PitrStep) -> Json {
    let mut doc = json!({ "what": step.what, "argv": step.argv });
    match &step.kind {
        StepKind::Run => doc["kind"] = json!("run"),
        StepKind::Check { expect } => {
            doc["kind"] = json!("check");
            doc["expect"] = json!(expect);
        }
        StepKind::WaitFor {
            expect,
            timeout_secs,
        } => {
            doc["kind"] = json!("wait");
            doc["expect"] = json!(expect);
            doc["timeout_secs"] = json!(timeout_secs);
        }
    }
    doc
}

/// A command line as a shell would need it typed.
fn shell_line(argv: &[String]) -> String {
    let quote = |a: &String| {
        let plain = !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_./=:+-,%@".contains(c));
        if plain {
            a.clone()
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    };
    argv.iter().map(quote).collect::<Vec<_>>().join(" ")
}

/// Run `steps` in order; stop at the first failure. Returns how many
/// completed, and on failure that count with the error.
fn run_steps(steps: &[PitrStep], json: bool) -> std::result::Result<usize, (usize, anyhow::Error)> {
    for (i, step) in steps.iter().enumerate() {
        let line = format!("[{}/{}] {}", i + 1, steps.len(), step.what);
        // With --json, stdout carries only the JSON document.
        if json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
        if let Err(e) = run_step(step) {
            // Step 1 only checks; from step 2 on Patroni is paused.
            let hint = if i >= 1 {
                format!(
                    "; Patroni is left paused: fix the cause, then finish the remaining steps \
                     by hand (see `pig-install pitr --dry-run`) or resume it with \
                     `patronictl -c {} resume`",
                    backup::PATRONI_CONF
                )
            } else {
                String::new()
            };
            return Err((
                i,
                e.context(format!("step {} ({}) failed{hint}", i + 1, step.what)),
            ));
        }
    }
    Ok(steps.len())
}

fn run_step(step: &PitrStep) -> Result<()> {
    let Some((program, rest)) = step.argv.split_first() else {
        bail!("empty command");
    };
    let shown = shell_line(&step.argv);
    let output = |expect: &str| -> Result<bool> {
        let out = std::process::Command::new(program)
            .args(rest)
            .stdin(std::process::Stdio::null())
            .output()
            .with_context(|| format!("running {shown}"))?;
        Ok(out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == expect)
    };
    match &step.kind {
        StepKind::Run => {
            let status = std::process::Command::new(program)
                .args(rest)
                .stdin(std::process::Stdio::null())
                .status()
                .with_context(|| format!("running {shown}"))?;
            if !status.success() {
                bail!("{shown}: {status}");
            }
        }
        StepKind::Check { expect } => {
            if !output(expect)? {
                bail!(
                    "{shown} did not print {expect:?}: is this the primary, and is PostgreSQL up?"
                );
            }
        }
        StepKind::WaitFor {
            expect,
            timeout_secs,
        } => {
            let deadline =
                std::time::Instant::now() + std::time::Duration::from_secs(*timeout_secs);
            while !output(expect)? {
                if std::time::Instant::now() >= deadline {
                    bail!("{shown} did not print {expect:?} within {timeout_secs} s");
                }
                std::thread::sleep(std::time::Duration::from_secs(2));
            }
        }
    }
    Ok(())
}

/// `pgbouncer-exporter`: serve pgBouncer's statistics, or print one scrape.
pub fn pgbouncer_exporter(args: &PgbouncerExporterArgs) -> Result<()> {
    let console = crate::exporter::Console {
        socket_dir: args.socket_dir.clone(),
        port: args.port,
        user: args.user.clone(),
        timeout: std::time::Duration::from_secs(args.timeout),
    };
    if !args.once {
        return crate::exporter::serve(args.listen, &console);
    }
    let (text, up) = console.scrape();
    print!("{text}");
    if !up {
        bail!("pgBouncer's admin console did not answer");
    }
    Ok(())
}
