//! Lock files: stable bytes, round trips, checked input, and diffs ordered
//! by the real Debian version rules (dpkg --compare-versions).

use std::cmp::Ordering;
use std::process::Command;

use pig_build::lock::{LOCK_FORMAT, Lock, LockedPackage};

fn pkg(name: &str, version: &str, sha: char) -> LockedPackage {
    LockedPackage {
        name: name.to_string(),
        version: version.to_string(),
        arch: "amd64".to_string(),
        filename: format!("pool/main/{name}_{version}_amd64.deb").replace(':', "%3a"),
        size: 1000,
        sha256: sha.to_string().repeat(64),
        origin: "debian".to_string(),
        modules: vec!["node".to_string()],
    }
}

/// Debian version order from dpkg itself.
fn dpkg_cmp(a: &str, b: &str) -> Ordering {
    let is = |op: &str| {
        Command::new("dpkg")
            .args(["--compare-versions", a, op, b])
            .status()
            .expect("dpkg runs")
            .success()
    };
    if is("lt") {
        Ordering::Less
    } else if is("gt") {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

#[test]
fn save_is_sorted_stable_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = pkg("b", "1.0", 'b');
    b.modules = vec!["pgsql".into(), "node".into(), "pgsql".into()];
    let lock = Lock::new(
        "d12",
        "x86_64",
        vec![pkg("c", "2", 'c'), b, pkg("a", "1", 'a')],
    );
    let path = dir.path().join("d12.lock");
    lock.save(&path).unwrap();
    let first = std::fs::read(&path).unwrap();
    lock.save(&path).unwrap();
    assert_eq!(
        first,
        std::fs::read(&path).unwrap(),
        "saving twice changed bytes"
    );

    let text = String::from_utf8(first).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..4],
        [
            "{",
            "  \"format\": 1,",
            "  \"os\": \"d12\",",
            "  \"arch\": \"x86_64\","
        ]
    );
    // One package per line, sorted by name.
    let pkg_lines: Vec<&&str> = lines.iter().filter(|l| l.contains("\"name\"")).collect();
    assert_eq!(pkg_lines.len(), 3);
    assert!(pkg_lines[0].contains("\"name\":\"a\"") && pkg_lines[2].contains("\"name\":\"c\""));
    assert!(
        pkg_lines[1].contains("\"modules\":[\"node\",\"pgsql\"]"),
        "{}",
        pkg_lines[1]
    );

    let back = Lock::load(&path).unwrap();
    assert_eq!(back, lock);
    assert_eq!(back.format, LOCK_FORMAT);
    // Only the lock itself: the temporary file was renamed, not left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    let empty = Lock::new("el9", "x86_64", vec![]);
    empty.save(&path).unwrap();
    assert_eq!(Lock::load(&path).unwrap(), empty);
}

#[test]
fn bad_locks_are_rejected_with_their_place() {
    let good = Lock::new("d12", "x86_64", vec![pkg("a", "1", 'a')])
        .to_text()
        .unwrap();
    let cases = [
        (
            good.replace("\"format\": 1", "\"format\": 2"),
            "lock format 2 is not supported",
        ),
        (
            good.replace(&"a".repeat(64), &"A".repeat(64)),
            "packages[0] (a): sha256",
        ),
        (
            good.replace("pool/main/a_1_amd64.deb", "../a.deb"),
            "packages[0] (a): filename",
        ),
        (
            good.replace("\"origin\"", "\"orgin\""),
            "x.lock:8:177: unknown field `orgin`",
        ),
        (
            good.replace("\"arch\": \"x86_64\",", "\"arch\": \"x86_64\""),
            "x.lock:5:",
        ),
    ];
    for (text, want) in cases {
        let err = Lock::parse(&text, "x.lock").unwrap_err().to_string();
        assert!(err.contains(want), "want {want:?}: {err}");
    }
    let twice = Lock::new(
        "d12",
        "x86_64",
        vec![pkg("a", "1", 'a'), pkg("a", "1", 'b')],
    )
    .to_text()
    .unwrap();
    let err = Lock::parse(&twice, "x.lock").unwrap_err().to_string();
    assert!(err.contains("a 1 amd64 is locked twice"), "{err}");
}

#[test]
fn diff_classifies_changes_with_debian_ordering() {
    let old = Lock::new(
        "d12",
        "x86_64",
        vec![
            pkg("gone", "1.0", '1'),
            pkg("up", "1.0~rc1", '2'),
            pkg("down", "2:1.0", '3'),
            pkg("rebuilt", "1.0-1", '4'),
            pkg("same", "1.0+b1", '5'),
            pkg("kernel", "6.1.1", '6'),
            pkg("kernel", "6.1.2", '7'),
        ],
    );
    let new = Lock::new(
        "d12",
        "x86_64",
        vec![
            pkg("new", "0.1", 'a'),
            // `~` sorts before the release: this is an upgrade, which a
            // plain string comparison gets wrong.
            pkg("up", "1.0", 'b'),
            pkg("down", "1:9.9", 'c'),
            pkg("rebuilt", "1.0-1", 'd'),
            pkg("same", "1.0+b1", '5'),
            pkg("kernel", "6.1.2", '7'),
            pkg("kernel", "6.1.3", '8'),
        ],
    );
    let diff = old.diff(&new, dpkg_cmp);
    let names = |v: &[LockedPackage]| {
        v.iter()
            .map(|p| format!("{} {}", p.name, p.version))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&diff.added), ["kernel 6.1.3", "new 0.1"]);
    assert_eq!(names(&diff.removed), ["gone 1.0", "kernel 6.1.1"]);
    let pairs = |v: &[(LockedPackage, LockedPackage)]| {
        v.iter()
            .map(|(o, n)| format!("{} {} {}", o.name, o.version, n.version))
            .collect::<Vec<_>>()
    };
    assert_eq!(pairs(&diff.upgraded), ["up 1.0~rc1 1.0"]);
    assert_eq!(pairs(&diff.downgraded), ["down 2:1.0 1:9.9"]);
    assert_eq!(pairs(&diff.changed), ["rebuilt 1.0-1 1.0-1"]);
    assert!(!diff.is_empty());
    let text = diff.to_string();
    assert!(text.contains("^ up amd64 1.0~rc1 -> 1.0\n"), "{text}");
    assert!(text.contains("v down amd64 2:1.0 -> 1:9.9\n"), "{text}");
    assert!(text.contains(&format!(
        "! rebuilt amd64 1.0-1 sha256 {} -> {}\n",
        "4".repeat(64),
        "d".repeat(64)
    )));
    assert!(
        text.ends_with("2 added, 2 removed, 1 upgraded, 1 downgraded, 1 changed"),
        "{text}"
    );

    assert!(new.diff(&new, dpkg_cmp).is_empty());
    assert_eq!(
        new.diff(&new, dpkg_cmp).to_string(),
        "0 added, 0 removed, 0 upgraded, 0 downgraded, 0 changed"
    );
}
