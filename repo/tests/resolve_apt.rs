//! The resolver against the real apt-get: load every Packages index the
//! machine's apt has downloaded, resolve realistic package sets, and compare
//! with `apt-get -s install` on an empty dpkg status (nothing installed).
//! The sets of `Inst NAME (VERSION …)` lines must equal the closure exactly.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use pig_repo::deb::control::{Paragraph, Paragraphs, parse};
use pig_repo::resolve::{ResolveOptions, Universe, resolve};
use pig_tests::{APT_HELPER, apt_lists, cat_apt_list};

const LISTS: &str = "/var/lib/apt/lists";

fn host_arch() -> String {
    let out = Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .expect("run dpkg");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The `Inst` lines of `apt-get -s install ARGS` with nothing installed
/// (`status` is an empty dpkg status file); `args` may start with `-o` options.
fn apt_get_inst(status: &Path, args: &[String], recommends: bool) -> BTreeSet<(String, String)> {
    let out = Command::new("apt-get")
        .arg("-s")
        .arg("-q")
        .arg("-o")
        .arg(format!("Dir::State::status={}", status.display()))
        .arg("-o")
        .arg(format!("APT::Install-Recommends={recommends}"))
        .arg("install")
        .args(args)
        .output()
        .expect("run apt-get");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "apt-get -s install {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Inst "))
        .filter_map(|l| {
            let (name, rest) = l.split_once(" (")?;
            let version = rest.split_whitespace().next()?;
            Some((name.to_string(), version.to_string()))
        })
        .collect()
}

/// CPU time this thread has used: the machine running the tests is shared,
/// so wall time alone says little about the code's speed.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// Wall and CPU time of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration, Duration) {
    let (wall, cpu) = (Instant::now(), thread_cpu());
    let out = f();
    (out, wall.elapsed(), thread_cpu() - cpu)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Read the indexes (already decompressed) into a universe, each index a
/// repository of priority 500 as apt gives them by default, and print the
/// time spent parsing deb822 and adding stanzas.
fn load(texts: &[(String, String)], arch: &str) -> Universe {
    let (parsed, wall, cpu) = timed(|| {
        texts
            .iter()
            .map(|(input, text)| parse(text, input).expect("Packages index parses"))
            .collect::<Vec<Vec<Paragraph>>>()
    });
    eprintln!(
        "deb822 parse: {:.0} ms wall, {:.0} ms cpu",
        ms(wall),
        ms(cpu)
    );
    let (u, wall, cpu) = timed(|| {
        let mut u = Universe::new(arch);
        for ((input, _), paragraphs) in texts.iter().zip(&parsed) {
            let repo = u.add_repo(input, 500);
            for para in paragraphs {
                u.add_deb(repo, para, input).expect("stanza loads");
            }
        }
        u
    });
    eprintln!(
        "add_deb of {} stanzas: {:.0} ms wall, {:.0} ms cpu",
        u.len(),
        ms(wall),
        ms(cpu)
    );
    u
}

fn sets() -> Vec<(&'static str, Vec<String>)> {
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        ("postgresql", owned(&["postgresql-15"])),
        (
            "ha",
            owned(&[
                "patroni",
                "pgbouncer",
                "pgbackrest",
                "haproxy",
                "etcd-server",
            ]),
        ),
        (
            "monitoring",
            owned(&[
                "nginx",
                "prometheus",
                "prometheus-alertmanager",
                "prometheus-node-exporter",
            ]),
        ),
        ("redis", owned(&["redis"])),
        (
            "extensions",
            owned(&[
                "postgresql-15-postgis-3",
                "postgresql-15-cron",
                "postgresql-15-pgaudit",
                "postgresql-15-repack",
                "postgresql-15-partman",
                "postgresql-15-hypopg",
                "postgresql-15-pg-qualstats",
                "postgresql-15-wal2json",
                "postgresql-15-pglogical",
                "postgresql-15-orafce",
                "postgresql-15-plpgsql-check",
                "postgresql-15-pgrouting",
                "postgresql-15-rum",
            ]),
        ),
        (
            "node",
            owned(&["openssh-server", "systemd", "linux-image-amd64"]),
        ),
        // Beyond the appliance: many alternatives and virtual packages
        // (mail-transport-agent, editors, awk) and a desktop of ~1000.
        (
            "admin",
            owned(&["mutt", "git", "vim", "sudo", "rsyslog", "cron", "curl"]),
        ),
        ("desktop", owned(&["gnome-core"])),
    ]
}

#[test]
fn closure_equals_apt_get() {
    let files = apt_lists("_Packages");
    if files.is_empty() || !Path::new(APT_HELPER).exists() {
        eprintln!("skipped: no Packages indexes under {LISTS} or no {APT_HELPER}");
        return;
    }
    let arch = host_arch();
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            (
                f.display().to_string(),
                String::from_utf8(cat_apt_list(f)).expect("Packages index is UTF-8"),
            )
        })
        .collect();
    let u = load(&texts, &arch);
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status");
    std::fs::write(&status, "").unwrap();

    let mut mismatches = Vec::new();
    for (label, wanted) in sets() {
        if arch != "amd64" && label == "node" {
            continue;
        }
        for recommends in [false, true] {
            let opts = ResolveOptions {
                with_recommends: recommends,
            };
            // Wall time only: the kernel's per-thread CPU clock is too
            // coarse for a few milliseconds.
            let (closure, wall, _) = timed(|| resolve(&u, &wanted, &opts));
            let closure =
                closure.unwrap_or_else(|e| panic!("{label} (recommends={recommends}): {e}"));
            let ours: BTreeSet<(String, String)> = closure
                .packages
                .iter()
                .map(|s| (s.name.clone(), s.version.clone()))
                .collect();
            let apt = apt_get_inst(&status, &wanted, recommends);
            eprintln!(
                "{label:<11} recommends={recommends:<5} apt-get {:>4} ours {:>4} \
                 resolve {:.1} ms wall",
                apt.len(),
                ours.len(),
                ms(wall)
            );
            if ours != apt {
                let only_ours: Vec<_> = ours.difference(&apt).collect();
                let only_apt: Vec<_> = apt.difference(&ours).collect();
                for (name, _) in &only_ours {
                    eprintln!("  only ours: {name}: {:?}", closure.why(name));
                }
                mismatches.push(format!(
                    "{label} recommends={recommends}: only ours {only_ours:?}; only apt-get {only_apt:?}"
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Fill in the fields a `Packages` stanza needs but the fixtures leave out.
fn complete_stanzas(text: &str) -> String {
    let mut out = String::new();
    for para in Paragraphs::new(text, "fixture") {
        let mut para = para.expect("fixture parses");
        let file = format!(
            "{}.deb",
            para.get("Package").expect("fixture names packages")
        );
        if para.get("Architecture").is_none() {
            para.set("Architecture", "amd64");
        }
        para.set("Filename", file);
        para.set("Size", "1");
        para.set("SHA256", "00".repeat(32));
        para.write_to(&mut out);
        out.push('\n');
    }
    out
}

/// `apt-get -s install` over a flat `file:` repository holding `stanzas`,
/// with lists, cache and an empty status in a private directory.
fn apt_get_fixture(stanzas: &str, wanted: &[String]) -> BTreeSet<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let repo = root.join("repo");
    for sub in ["repo", "lists/partial", "cache"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    std::fs::write(repo.join("Packages"), complete_stanzas(stanzas)).unwrap();
    std::fs::write(
        root.join("sources.list"),
        format!("deb [trusted=yes] file:{} ./\n", repo.display()),
    )
    .unwrap();
    std::fs::write(root.join("status"), "").unwrap();
    let options = [
        format!(
            "Dir::Etc::SourceList={}",
            root.join("sources.list").display()
        ),
        format!("Dir::Etc::SourceParts={}", root.join("none").display()),
        format!("Dir::State::Lists={}", root.join("lists").display()),
        format!("Dir::Cache={}", root.join("cache").display()),
        "APT::Sandbox::User=root".to_string(),
    ];
    let mut update = Command::new("apt-get");
    update.arg("-q");
    for o in &options {
        update.arg("-o").arg(o);
    }
    let out = update.arg("update").output().expect("run apt-get update");
    assert!(
        out.status.success(),
        "apt-get update: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut args = Vec::new();
    for o in &options {
        args.push("-o".to_string());
        args.push(o.clone());
    }
    args.extend(wanted.iter().cloned());
    apt_get_inst(&root.join("status"), &args, false)
}

/// Small universes where apt's tie-breaks decide: the closure must equal
/// apt-get's on the same stanzas.
#[test]
fn fixture_choices_equal_apt_get() {
    if Command::new("apt-get").arg("--version").output().is_err() {
        eprintln!("skipped: no apt-get");
        return;
    }
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "equal providers: the one apt created last",
            "Package: app\nVersion: 1\nDepends: mta\n\n\
             Package: exim\nVersion: 4\nProvides: mta\n\n\
             Package: postfix\nVersion: 3\nProvides: mta\n",
            &["app"],
        ),
        (
            "equal providers, other order",
            "Package: app\nVersion: 1\nDepends: mta\n\n\
             Package: postfix\nVersion: 3\nProvides: mta\n\n\
             Package: exim\nVersion: 4\nProvides: mta\n",
            &["app"],
        ),
        (
            "Essential, then Priority rank",
            "Package: app\nVersion: 1\nDepends: awk, sh\n\n\
             Package: gawk\nVersion: 5\nPriority: optional\nProvides: awk\n\n\
             Package: mawk\nVersion: 1\nPriority: required\nProvides: awk\n\n\
             Package: dash\nVersion: 1\nPriority: optional\nProvides: sh\n\n\
             Package: bash\nVersion: 5\nPriority: optional\nEssential: yes\nProvides: sh\n",
            &["app"],
        ),
        (
            "the real package before providers; versioned provides",
            "Package: app\nVersion: 1\nDepends: libfoo (>= 2), tool\n\n\
             Package: libfoo-ng\nVersion: 7\nProvides: libfoo (= 2.5)\n\n\
             Package: libfoo\nVersion: 3\n\n\
             Package: tool\nVersion: 1\n\n\
             Package: tool-ng\nVersion: 1\nProvides: tool\n",
            &["app"],
        ),
        (
            "uninstallable first alternative, wanted provider",
            "Package: app\nVersion: 1\nDepends: broken | good, mta\n\n\
             Package: broken\nVersion: 1\nDepends: nowhere\n\n\
             Package: good\nVersion: 1\n\n\
             Package: exim\nVersion: 4\nProvides: mta\n\n\
             Package: postfix\nVersion: 3\nProvides: mta\n",
            &["app", "exim"],
        ),
    ];
    for (label, stanzas, wanted) in cases {
        let wanted: Vec<String> = wanted.iter().map(|s| s.to_string()).collect();
        let mut u = Universe::new("amd64");
        let repo = u.add_repo("fixture", 500);
        let text = complete_stanzas(stanzas);
        for para in Paragraphs::new(&text, "fixture") {
            u.add_deb(repo, &para.unwrap(), "fixture").unwrap();
        }
        let closure = resolve(&u, &wanted, &ResolveOptions::default())
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        let ours: BTreeSet<(String, String)> = closure
            .packages
            .iter()
            .map(|s| (s.name.clone(), s.version.clone()))
            .collect();
        let apt = apt_get_fixture(stanzas, &wanted);
        eprintln!(
            "{label}: {:?}",
            apt.iter().map(|(n, _)| n).collect::<Vec<_>>()
        );
        assert_eq!(ours, apt, "{label}");
    }
}
