//! What the ISO and PXE boot tests share: the live rootfs, the unit that
//! prints the seed the node received and a marker, and serialised boots.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use pig_images::boot::FIRSTBOOT_MARKER;
use pig_images::{BootReport, Embed, Firmware, Medium, RootfsSource};

/// The seed the tests deliver and expect the node to print back.
pub const SEED_YAML: &str = "all:\n  vars:\n    pig_test: live-seed\n";
/// Live boots under TCG: kernel, initramfs, squashfs from CD, USB or TFTP.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(1200);

/// Prints every seed the live system can see, one `PIG-SEED: ` line per
/// YAML line, then the marker: from the ISO's seed area on the boot
/// medium (the header is 48 bytes, the padding zeros), or from the PXE
/// seed initrd's copy in /run.
const SHOW_SEED: &str = r#"#!/bin/sh
{
if [ -f /run/pig/seed.yml ]; then
	sed 's/^/PIG-SEED: /' /run/pig/seed.yml
fi
if [ -f /run/live/medium/pig/seed.img ]; then
	tail -c +49 /run/live/medium/pig/seed.img | tr -d '\000' | sed 's/^/PIG-SEED: /'
fi
echo MARKER
} > /dev/ttyS0
"#;

/// The files the live root gets: the seed-printing unit.
pub fn live_embeds() -> Vec<Embed> {
    let unit = "[Unit]\n\
                Description=Print the node seed and the end of boot on the serial console\n\
                After=multi-user.target\n\
                \n\
                [Service]\n\
                Type=oneshot\n\
                ExecStart=/usr/local/sbin/pig-show-seed\n\
                \n\
                [Install]\n\
                WantedBy=multi-user.target\n";
    let mut embeds = vec![Embed::file(
        "/usr/local/sbin/pig-show-seed",
        SHOW_SEED.replace("MARKER", FIRSTBOOT_MARKER),
        0o755,
    )];
    embeds.extend(Embed::enabled_unit(
        "pig-show-seed.service",
        unit,
        "multi-user.target",
    ));
    embeds
}

/// Why the tests cannot run here, if they cannot.
fn missing_prerequisite(extra_tools: &[&str]) -> Option<String> {
    let tools = [
        "mmdebstrap",
        "mksquashfs",
        "grub-mkimage",
        "mkfs.vfat",
        "qemu-system-x86_64",
    ];
    for tool in tools.iter().chain(extra_tools) {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Some(format!("{tool} is not installed"));
        }
    }
    for path in [
        "/usr/lib/grub/i386-pc",
        "/usr/lib/grub/x86_64-efi",
        "/usr/share/OVMF",
    ] {
        if !Path::new(path).exists() {
            return Some(format!(
                "{path} is missing (grub-pc-bin, grub-efi-amd64-bin, ovmf)"
            ));
        }
    }
    None
}

/// A fresh `dir` and in it a rootfs tarball with live-boot, or `None`
/// (with the reason printed) when this host cannot run the tests.
pub fn live_rootfs(dir: &Path, epoch: u64, extra_tools: &[&str]) -> Option<PathBuf> {
    if let Some(why) = missing_prerequisite(extra_tools) {
        eprintln!("skipping: {why}");
        return None;
    }
    let source = match RootfsSource::from_host_apt() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("skipping: no Debian mirror configured on this host: {e}");
            return None;
        }
    };
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let rootfs =
        pig_images::build_rootfs(&source, &["live-boot".to_string()], Some(epoch), dir).unwrap();
    eprintln!(
        "rootfs: {} bytes in {:.1} s (cached: {})",
        std::fs::metadata(&rootfs.tar).unwrap().len(),
        rootfs.seconds,
        rootfs.cached
    );
    Some(rootfs.tar)
}

/// Boot `medium` to the marker, one qemu at a time.
pub fn boot(medium: Medium, firmware: Firmware) -> BootReport {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let report = pig_images::boot_medium(medium, firmware, FIRSTBOOT_MARKER, BOOT_TIMEOUT)
        .unwrap_or_else(|e| panic!("{firmware:?} boot from {medium:?}: {e}"));
    eprintln!(
        "{firmware:?} boot from {medium:?} reached the marker in {:.1} s",
        report.seconds
    );
    report
}

/// The seed the node printed, reassembled from its `PIG-SEED: ` lines.
pub fn printed_seed(report: &BootReport) -> String {
    report
        .log_tail
        .lines()
        .filter_map(|l| {
            l.split_once("PIG-SEED: ")
                .map(|(_, v)| v.trim_end_matches('\r'))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}
