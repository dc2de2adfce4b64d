//! Helpers shared by the `deb_*` integration tests.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::Path;
use std::process::Command;

use pig_repo::deb::control::{self, Paragraph};
pub use pig_tests::{have, run};

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
