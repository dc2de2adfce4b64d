//! Helpers shared by the `deb_*` integration tests.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::Path;
use std::process::{Command, Output};

use pig_repo::deb::control::{self, Paragraph};

/// Whether `tool` is on PATH; prints why a test is skipped when it is not.
pub fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("SKIP: {tool} is not installed (scripts/bootstrap installs it)");
    }
    found
}

/// Run `cmd`, failing the test with its output if it does not succeed.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn stdout(cmd: &mut Command) -> String {
    String::from_utf8(run(cmd).stdout).expect("tool output is UTF-8")
}

/// A control paragraph for a test package.
pub fn test_control(name: &str, version: &str, extra: &str) -> Paragraph {
    control::parse_one(
        &format!(
            "Package: {name}\nVersion: {version}\nArchitecture: all\n\
             Maintainer: pig tests <pig@example.invalid>\n{extra}\
             Description: pig test package {name}\n made by the pig test suite.\n"
        ),
        "test control",
    )
    .expect("test control parses")
}

pub fn deb_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .collect();
    v.sort();
    v
}
