//! pig packages itself: `pig-install` as a .deb or .rpm for the bundle, so
//! nodes install the installer the same way as everything else.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use pig_repo::deb::control::Paragraph;
use pig_repo::deb::debfile::DebBuilder;
use pig_repo::rpm::header::{RpmSpec, SpecEntry, build_rpm};

use crate::recipe::PackageKind;

pub const PACKAGE: &str = "pig-install";
const SUMMARY: &str = "pig node installer: applies a node's roles from a seed inventory";
const DESCRIPTION: &str = "pig-install reads a Pigsty-style seed inventory and applies this node's\n\
roles (node, etcd, pgsql, infra, redis, minio) from the local offline\n\
repository: packages, configuration files, certificates and services.";

/// The `pig-install` binary beside the running `pig-build`, as cargo and
/// the release tarball lay them out.
pub fn default_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("finding the pig-build executable")?;
    Ok(exe.with_file_name(PACKAGE))
}

/// Package `binary` as `pig-install` of this pig version into `dir`;
/// returns the file name written. `mtime` dates every entry.
pub fn package_installer(
    binary: &Path,
    kind: PackageKind,
    arch: &str,
    dir: &Path,
    mtime: u64,
) -> Result<String> {
    let bytes = std::fs::read(binary).with_context(|| {
        format!(
            "reading {} (build it with `cargo build --release -p pig-install`, \
             or name it with --pig-install)",
            binary.display()
        )
    })?;
    let version = env!("CARGO_PKG_VERSION");
    match kind {
        PackageKind::Deb => {
            let deb_arch = crate::upstream::deb_arch(arch);
            let mut control = Paragraph::new();
            control.set("Package", PACKAGE);
            control.set("Version", format!("{version}-1"));
            control.set("Architecture", deb_arch);
            control.set("Maintainer", "pig <pig@localhost>");
            control.set("Section", "admin");
            control.set("Priority", "optional");
            control.set("Description", format!("{SUMMARY}\n{}", indent(DESCRIPTION)));
            let name = format!("{PACKAGE}_{version}-1_{deb_arch}.deb");
            DebBuilder::new(control, mtime)
                .file("usr/bin/pig-install", bytes, 0o755)
                .write_to_path(&dir.join(&name))?;
            Ok(name)
        }
        PackageKind::Rpm => {
            let spec = RpmSpec {
                name: PACKAGE.to_string(),
                version: version.to_string(),
                release: "1".to_string(),
                arch: arch.to_string(),
                summary: SUMMARY.to_string(),
                description: DESCRIPTION.to_string(),
                license: "Apache-2.0".to_string(),
                build_time: u32::try_from(mtime).context("SOURCE_DATE_EPOCH beyond 2106")?,
                build_host: "pig".to_string(),
                files: vec![SpecEntry {
                    path: "/usr/bin/pig-install".to_string(),
                    bytes,
                    mode: 0o755,
                    config: false,
                }],
                ..RpmSpec::default()
            };
            let name = format!("{PACKAGE}-{version}-1.{arch}.rpm");
            build_rpm(&spec, &dir.join(&name))?;
            Ok(name)
        }
    }
}

/// Extended description lines of a control field: one leading space, and
/// ` .` for blank lines.
fn indent(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                " .".to_string()
            } else {
                format!(" {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
