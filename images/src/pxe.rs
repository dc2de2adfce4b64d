//! A PXE set: the live system ([`crate::live`]) as files a TFTP or HTTP
//! server hands out, with both boot loaders' configs.
//!
//! ```text
//! vmlinuz  initrd.img  filesystem.squashfs  seed.cpio (with a node seed)
//! boot.ipxe                       iPXE script (chain it, or use it as the DHCP boot file)
//! pxelinux.0  ldlinux.c32         from the host's pxelinux and syslinux-common packages
//! pxelinux.cfg/default            pxelinux config
//! ```
//!
//! live-boot fetches the squashfs into RAM from [`PxeSpec::squashfs_url`]
//! (`fetch=`; `tftp://` and `http://` work, and `tftp:///file` means the
//! DHCP server). The node seed travels as a second initrd, `seed.cpio`,
//! which the kernel unpacks over the first: it holds the seed at
//! `/pig/seed.yml` and a live-boot `live-bottom` script that copies it to
//! [`SEED_RUN_PATH`], since `/run` is the one initramfs directory that
//! survives into the booted system. Alternatively the caller puts
//! `pig.seed=URL#sha256=…` into [`PxeSpec::cmdline`].

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::disk::Embed;
use crate::error::{Error, IoContext, Result};
use crate::live::{self, LIVE_ARGS, copy_at_epoch, touch};

/// Where the node finds a seed that came in `seed.cpio`.
pub const SEED_RUN_PATH: &str = "/run/pig/seed.yml";
/// The host's PXELINUX boot loader and its core module.
const PXELINUX: &str = "/usr/lib/PXELINUX/pxelinux.0";
const LDLINUX: &str = "/usr/lib/syslinux/modules/bios/ldlinux.c32";

/// The live-bottom script in `seed.cpio`. live-boot runs the scripts that
/// `/scripts/live-bottom/ORDER` lists once the root is mounted, while
/// `/run` is still the initramfs's. live-boot ships no live-bottom
/// scripts, so the seed initrd brings the directory and its `ORDER` too.
const SEED_SCRIPT: &str = r#"#!/bin/sh
# Keep pig's seed from the seed initrd: /run moves into the booted system.
PREREQ=""
prereqs() { echo "$PREREQ"; }
case "$1" in prereqs) prereqs; exit 0 ;; esac
if [ -f /pig/seed.yml ]; then
	mkdir -p -m 0700 /run/pig
	cp /pig/seed.yml /run/pig/seed.yml
	chmod 0600 /run/pig/seed.yml
fi
"#;

/// `ORDER` as mkinitramfs writes it: each script, then the parameters
/// the scripts may have changed.
const SEED_SCRIPT_ORDER: &str = "/scripts/live-bottom/pig-seed \"$@\"\n\
                                 [ -e /conf/param.conf ] && . /conf/param.conf\n";

/// What to build.
#[derive(Debug, Clone)]
pub struct PxeSpec {
    /// `SOURCE_DATE_EPOCH`: every time stamp.
    pub epoch: u64,
    /// Where nodes will fetch `filesystem.squashfs` from, e.g.
    /// `tftp://10.0.2.2/filesystem.squashfs` or
    /// `http://192.0.2.1/pxe/filesystem.squashfs`.
    pub squashfs_url: String,
    /// Kernel arguments after `boot=live fetch=… console=…`.
    pub cmdline: String,
    /// Files to add to the live root.
    pub embeds: Vec<Embed>,
    /// A node seed (YAML) to deliver as `seed.cpio`.
    pub node_seed: Option<Vec<u8>>,
}

/// What was built.
#[derive(Debug, Clone)]
pub struct PxeReport {
    pub dir: PathBuf,
    /// The files of the set, relative to `dir`, with their sizes.
    pub files: Vec<(String, u64)>,
    pub kernel_release: String,
    pub seconds: f64,
}

/// Build the PXE set into `out_dir`, which must not exist or be empty. The
/// set is made beside it and renamed into place.
pub fn build_pxe(rootfs_tar: &Path, spec: &PxeSpec, out_dir: &Path) -> Result<PxeReport> {
    let started = Instant::now();
    for host_file in [PXELINUX, LDLINUX] {
        if !Path::new(host_file).is_file() {
            return Err(Error::invalid(
                host_file,
                "PXELINUX",
                "missing: install pxelinux and syslinux-common",
            ));
        }
    }
    if fs::read_dir(out_dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Error::invalid(
            out_dir.display(),
            "output directory",
            "not empty; a PXE set is written into a new directory",
        ));
    }
    let cpio = spec.node_seed.as_deref().map(seed_cpio).transpose()?;
    let work = crate::work_dir_beside(out_dir, ".pig-pxe-")?;
    let set = work.path().join("set");
    let live = live::make(
        rootfs_tar,
        &spec.embeds,
        spec.epoch,
        &work.path().join("stage"),
        &set,
    )?;
    let mut initrds = vec!["initrd.img"];
    if let Some(cpio) = &cpio {
        fs::write(set.join("seed.cpio"), cpio).at(&set)?;
        initrds.push("seed.cpio");
    }
    let args = kernel_args(&spec.squashfs_url, &spec.cmdline);
    fs::write(set.join("boot.ipxe"), ipxe_script(&initrds, &args)).at(&set)?;
    fs::create_dir_all(set.join("pxelinux.cfg")).at(&set)?;
    fs::write(
        set.join("pxelinux.cfg/default"),
        pxelinux_config(&initrds, &args),
    )
    .at(&set)?;
    copy_at_epoch(Path::new(PXELINUX), &set.join("pxelinux.0"), spec.epoch)?;
    copy_at_epoch(Path::new(LDLINUX), &set.join("ldlinux.c32"), spec.epoch)?;

    let mut files = Vec::new();
    for name in [
        "vmlinuz",
        "initrd.img",
        "filesystem.squashfs",
        "seed.cpio",
        "boot.ipxe",
        "pxelinux.cfg/default",
        "pxelinux.0",
        "ldlinux.c32",
    ] {
        let path = set.join(name);
        if let Ok(meta) = fs::metadata(&path) {
            touch(&path, spec.epoch)?;
            files.push((name.to_string(), meta.len()));
        }
    }
    if out_dir.exists() {
        fs::remove_dir(out_dir).at(out_dir)?;
    }
    fs::rename(&set, out_dir).at(out_dir)?;
    Ok(PxeReport {
        dir: out_dir.to_path_buf(),
        files,
        kernel_release: live.kernel_release,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The kernel command line of a PXE boot.
fn kernel_args(squashfs_url: &str, cmdline: &str) -> String {
    let mut args = format!("{LIVE_ARGS} fetch={squashfs_url} console=tty0 console=ttyS0,115200");
    if !cmdline.trim().is_empty() {
        args.push(' ');
        args.push_str(cmdline.trim());
    }
    args
}

/// The iPXE script: paths relative to the script's own URL. `initrd=`
/// names the initrds for kernels booted through EFI.
pub fn ipxe_script(initrds: &[&str], args: &str) -> String {
    let mut s = String::from("#!ipxe\n");
    let named: Vec<String> = initrds.iter().map(|i| format!("initrd={i}")).collect();
    s.push_str(&format!("kernel vmlinuz {} {args}\n", named.join(" ")));
    for i in initrds {
        s.push_str(&format!("initrd {i}\n"));
    }
    s.push_str("boot\n");
    s
}

/// The pxelinux config: boot at once, console on the first serial port.
pub fn pxelinux_config(initrds: &[&str], args: &str) -> String {
    format!(
        "SERIAL 0 115200\n\
         DEFAULT pig\n\
         PROMPT 0\n\
         TIMEOUT 0\n\
         LABEL pig\n\
         \tKERNEL vmlinuz\n\
         \tAPPEND initrd={} {args}\n",
        initrds.join(",")
    )
}

/// The seed initrd: `/pig/seed.yml` and the live-bottom script that keeps
/// it, as an uncompressed newc cpio archive (deterministic: no times,
/// fixed inode numbers).
pub fn seed_cpio(seed: &[u8]) -> Result<Vec<u8>> {
    if std::str::from_utf8(seed).is_err() {
        return Err(Error::invalid("seed", "encoding", "the seed is not UTF-8"));
    }
    let mut out = Vec::new();
    let entries: [(&str, u32, &[u8]); 6] = [
        ("pig", 0o040700, b""),
        ("pig/seed.yml", 0o100600, seed),
        ("scripts", 0o040755, b""),
        ("scripts/live-bottom", 0o040755, b""),
        (
            "scripts/live-bottom/ORDER",
            0o100644,
            SEED_SCRIPT_ORDER.as_bytes(),
        ),
        (
            "scripts/live-bottom/pig-seed",
            0o100755,
            SEED_SCRIPT.as_bytes(),
        ),
    ];
    for (ino, (name, mode, data)) in entries.iter().enumerate() {
        cpio_entry(&mut out, ino as u32 + 1, name, *mode, data);
    }
    cpio_entry(&mut out, 0, "TRAILER!!!", 0, b"");
    Ok(out)
}

/// One newc (`070701`) entry: header, NUL-terminated name and data, each
/// padded to four bytes.
fn cpio_entry(out: &mut Vec<u8>, ino: u32, name: &str, mode: u32, data: &[u8]) {
    let nlink = if mode & 0o040000 != 0 { 2 } else { 1 };
    let fields = [
        ino,
        mode,
        0,
        0,
        nlink,
        0,
        data.len() as u32,
        0,
        0,
        0,
        0,
        name.len() as u32 + 1,
        0,
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08x}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
    out.extend_from_slice(data);
    pad4(out);
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_configs_name_kernel_initrds_and_fetch_url() {
        let args = kernel_args("tftp://10.0.2.2/filesystem.squashfs", " pig.x=1 ");
        assert_eq!(
            args,
            "boot=live fetch=tftp://10.0.2.2/filesystem.squashfs console=tty0 \
             console=ttyS0,115200 pig.x=1"
        );
        let ipxe = ipxe_script(&["initrd.img", "seed.cpio"], &args);
        assert!(
            ipxe.starts_with("#!ipxe\nkernel vmlinuz initrd=initrd.img initrd=seed.cpio boot=live")
        );
        assert!(ipxe.contains("\ninitrd initrd.img\ninitrd seed.cpio\nboot\n"));
        let cfg = pxelinux_config(&["initrd.img", "seed.cpio"], &args);
        assert!(cfg.contains("\tAPPEND initrd=initrd.img,seed.cpio boot=live fetch="));
    }

    #[test]
    fn seed_cpio_is_a_newc_archive_cpio_reads() {
        let archive = seed_cpio(b"all: {}\n").unwrap();
        assert_eq!(archive.len() % 4, 0);
        assert_eq!(&archive[..6], b"070701");
        assert!(seed_cpio(&[0xff, 0xfe]).is_err());
        // The real cpio lists and extracts it.
        let Ok(mut child) = std::process::Command::new("cpio")
            .args(["-i", "--to-stdout", "pig/seed.yml"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
        else {
            eprintln!("skipping the cpio check: cpio is not installed");
            return;
        };
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(&archive).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, b"all: {}\n");
    }
}
