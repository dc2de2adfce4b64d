//! Debian versions and relation fields against the real thing: version
//! order agrees with `dpkg --compare-versions` on versions from the
//! machine's Packages indexes, and every relation field of those indexes
//! parses and survives a write/re-parse round trip.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::process::Command;
use std::sync::OnceLock;

use pig_repo::deb::control::Paragraphs;
use pig_repo::deb::relation::Relations;
use pig_repo::deb::version::{Version, compare};
use pig_tests::{apt_lists, cat_apt_list};

const LISTS: &str = "/var/lib/apt/lists";

const RELATION_FIELDS: [&str; 14] = [
    "Depends",
    "Pre-Depends",
    "Recommends",
    "Suggests",
    "Enhances",
    "Conflicts",
    "Breaks",
    "Replaces",
    "Provides",
    "Built-Using",
    "Build-Depends",
    "Build-Depends-Indep",
    "Build-Depends-Arch",
    "Build-Conflicts",
];

/// The decompressed text of every Packages index apt has downloaded, with
/// its path; `None` when there is none.
fn indexes() -> Option<&'static [(String, String)]> {
    static INDEXES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    let all = INDEXES.get_or_init(|| {
        apt_lists("_Packages")
            .into_iter()
            .map(|path| {
                let text = String::from_utf8(cat_apt_list(&path)).expect("Packages index is UTF-8");
                (path.display().to_string(), text)
            })
            .collect()
    });
    if all.is_empty() {
        eprintln!("no Packages index under {LISTS} (run apt-get update); skipping");
        return None;
    }
    Some(all)
}

/// Ask dpkg whether `a op b` holds, for many triples at once, spread over a
/// few threads (one dpkg process per question). Returns the triples dpkg
/// disagreed with.
fn dpkg_disagrees(checks: &[(String, &'static str, String)]) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
    let chunk = checks.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = checks
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut wrong = Vec::new();
                    for (a, op, b) in part {
                        let status = Command::new("dpkg")
                            .args(["--compare-versions", a, op, b])
                            .status()
                            .expect("run dpkg --compare-versions");
                        match status.code() {
                            Some(0) => {}
                            Some(1) => wrong.push(format!("{a} {op} {b}")),
                            _ => panic!("dpkg --compare-versions {a} {op} {b}: {status}"),
                        }
                    }
                    wrong
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("dpkg thread"))
            .collect()
    })
}

fn op_for(a: &Version, b: &Version) -> &'static str {
    match a.cmp(b) {
        Ordering::Less => "lt",
        Ordering::Equal => "eq",
        Ordering::Greater => "gt",
    }
}

fn hash_of(v: &Version) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// A deterministic index sequence (64-bit LCG, Knuth's constants).
fn pseudo_random(n: usize, count: usize) -> impl Iterator<Item = usize> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..count).map(move |_| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) % n as u64) as usize
    })
}

#[test]
fn version_order_agrees_with_dpkg() {
    let Some(indexes) = indexes() else { return };
    let mut distinct = BTreeSet::new();
    let mut fields = 0;
    for (input, text) in indexes {
        for para in Paragraphs::new(text, input) {
            let para = para.expect("Packages stanza parses");
            if let Some(field) = para.field("Version") {
                let place = format!("line {}: Version", field.line);
                Version::parse_in(&field.value, input, &place).expect("every Version parses");
                distinct.insert(field.value.clone());
                fields += 1;
            }
        }
    }
    let stride = (distinct.len() / 3000).max(1);
    let mut sample: Vec<Version> = distinct
        .iter()
        .step_by(stride)
        .map(|s| s.parse().expect("version parses"))
        .collect();
    sample.sort();

    let mut checks = Vec::new();
    for w in sample.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        assert_eq!(
            compare(a.as_str(), b.as_str()),
            a.cmp(b),
            "compare({a}, {b})"
        );
        if a == b {
            assert_eq!(hash_of(a), hash_of(b), "hash of equal {a} and {b}");
        }
        checks.push((a.to_string(), op_for(a, b), b.to_string()));
    }
    let adjacent = checks.len();
    let n = sample.len();
    let mut picks = pseudo_random(n, 800);
    while let (Some(i), Some(j)) = (picks.next(), picks.next()) {
        let (a, b) = (&sample[i], &sample[j]);
        assert_eq!(
            compare(a.as_str(), b.as_str()),
            a.cmp(b),
            "compare({a}, {b})"
        );
        checks.push((a.to_string(), op_for(a, b), b.to_string()));
    }
    let wrong = dpkg_disagrees(&checks);
    println!(
        "{fields} Version fields parsed, {} distinct; {n} sampled (stride {stride}); \
         {} pairs checked with dpkg ({adjacent} adjacent, {} pseudo-random)",
        distinct.len(),
        checks.len(),
        checks.len() - adjacent
    );
    assert!(n > 1000, "only {n} versions sampled");
    assert!(wrong.is_empty(), "dpkg disagrees with: {wrong:#?}");
}

#[test]
fn tricky_versions_agree_with_dpkg() {
    let versions = [
        "1.0~~",
        "1.0~~a",
        "1.0~",
        "1.0~rc1",
        "1.0~rc1-1",
        "1.0~rc2",
        "1.0",
        "1.0-0",
        "0:1.0",
        "1.00",
        "1.0-0.1",
        "1.0-1~bpo12+1",
        "1.0-1",
        "1.0-1+b1",
        "1.0-1.1",
        "1.0+b1",
        "1.0+dfsg",
        "1.0a",
        "1.0A",
        "1.0.0",
        "1.0.1",
        "1.0-a",
        "1.0-A",
        "1.0-+",
        "1.0-.",
        "1.0-~",
        "1.01",
        "1.1",
        "1.1-1",
        "1.9",
        "1.10",
        "1.10a",
        "1:0",
        "1:0.9",
        "2:0",
        "10:0",
        "00010:0",
        "1:1.0:1",
        "1:1.0:1-1",
        "1.0-1-1",
        "1.2.3-4-5",
        "0",
        "00",
        "0-0",
        "9",
        "99999999999999999999999",
        "1a",
        "1a0",
        "1.a",
        "1.0~a.b",
        "1.0~a+b",
        "1.0~a-b",
        "1+",
        "1.",
        "1.0.",
        "1:1.0~rc1+dfsg-2~deb12u1",
    ];
    let parsed: Vec<Version> = versions
        .iter()
        .map(|s| s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect();
    let mut checks = Vec::new();
    for a in &parsed {
        for b in &parsed {
            assert_eq!(compare(a.as_str(), b.as_str()), a.cmp(b));
            if a == b {
                assert_eq!(hash_of(a), hash_of(b), "hash of equal {a} and {b}");
            }
            checks.push((a.to_string(), op_for(a, b), b.to_string()));
        }
    }
    let wrong = dpkg_disagrees(&checks);
    println!("{} hand-picked pairs checked with dpkg", checks.len());
    assert!(wrong.is_empty(), "dpkg disagrees with: {wrong:#?}");
}

#[test]
fn every_relation_field_in_the_archive_round_trips() {
    let Some(indexes) = indexes() else { return };
    let (mut stanzas, mut fields, mut deps) = (0, 0, 0);
    for (input, text) in indexes {
        for para in Paragraphs::new(text, input) {
            let para = para.expect("Packages stanza parses");
            stanzas += 1;
            for name in RELATION_FIELDS {
                if para.field(name).is_none() {
                    continue;
                }
                let parsed =
                    Relations::from_field(&para, name, input).unwrap_or_else(|e| panic!("{e}"));
                let written = parsed.to_string();
                let again = Relations::parse_in(&written, "written", 1, name)
                    .unwrap_or_else(|e| panic!("re-parse of {written:?}: {e}"));
                assert_eq!(again, parsed, "{input}:{}: {name}", para.line);
                assert_eq!(again.to_string(), written);
                fields += 1;
                deps += parsed.0.iter().map(|r| r.alternatives.len()).sum::<usize>();
            }
        }
    }
    println!(
        "{stanzas} stanzas in {} indexes: {fields} relation fields, {deps} dependencies parsed and round-tripped",
        indexes.len()
    );
    assert!(fields > 1000, "only {fields} relation fields found");
}
