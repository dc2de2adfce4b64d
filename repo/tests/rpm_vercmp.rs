//! rpmvercmp and Evr::compare against the case corpus, and the corpus
//! against rpm itself.

mod rpm_common;

use std::cmp::Ordering;
use std::process::Command;

use pig_repo::rpm::version::{Evr, rpmvercmp};

fn cases() -> Vec<(String, String, Ordering)> {
    let text = include_str!("data/vercmp_cases.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 3, "bad case line {l:?}");
            let want = match f[2] {
                "-1" => Ordering::Less,
                "0" => Ordering::Equal,
                "1" => Ordering::Greater,
                other => panic!("bad expectation {other:?} in {l:?}"),
            };
            (f[0].to_string(), f[1].to_string(), want)
        })
        .collect()
}

#[test]
fn pig_agrees_with_the_corpus() {
    let cases = cases();
    assert!(cases.len() >= 150, "only {} cases", cases.len());
    let mut plain = 0;
    for (a, b, want) in &cases {
        if !a.contains([':', '-']) && !b.contains([':', '-']) {
            assert_eq!(rpmvercmp(a, b), *want, "rpmvercmp({a}, {b})");
            plain += 1;
        }
        let (ea, eb) = (Evr::parse(a).unwrap(), Evr::parse(b).unwrap());
        assert_eq!(ea.compare(&eb), *want, "Evr {a} vs {b}");
        assert_eq!(eb.compare(&ea), want.reverse(), "Evr {b} vs {a}");
    }
    eprintln!(
        "{} cases, {plain} checked with rpmvercmp directly",
        cases.len()
    );
}

#[test]
fn corpus_agrees_with_rpm() {
    if !rpm_common::have_tools(&["rpm"]) {
        return;
    }
    let cases = cases();
    // One lua chunk for the whole corpus: one rpm process, not hundreds.
    let mut lua = String::from("%{lua:\n");
    for (a, b, _) in &cases {
        lua.push_str(&format!("print(rpm.vercmp({a:?}, {b:?}) .. \" \")\n"));
    }
    lua.push('}');
    let out = rpm_common::run(Command::new("rpm").arg("--eval").arg(&lua));
    let got: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(got.len(), cases.len(), "rpm printed {out:?}");
    for ((a, b, want), got) in cases.iter().zip(got) {
        let want = match want {
            Ordering::Less => "-1",
            Ordering::Equal => "0",
            Ordering::Greater => "1",
        };
        assert_eq!(got, want, "rpm.vercmp({a}, {b})");
    }
}
