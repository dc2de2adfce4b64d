//! Boot checks: start an image under qemu (TCG; SeaBIOS or OVMF), watch
//! the serial console for a marker line, and report how long it took.
//!
//! The disk is attached with `snapshot=on`, so a check never changes the
//! image and every check is a first boot.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};

/// Where Debian's `ovmf` package installs the firmware.
pub const OVMF_DIR: &str = "/usr/share/OVMF";
/// Lines of the console kept in reports.
const LOG_TAIL_LINES: usize = 30;
/// How often the console file is read.
const POLL: Duration = Duration::from_millis(200);

/// Which firmware to boot with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// SeaBIOS, qemu's default.
    Bios,
    /// OVMF (UEFI, no Secure Boot).
    Uefi,
}

/// A boot that reached the marker.
#[derive(Debug, Clone)]
pub struct BootReport {
    /// From starting qemu to the marker on the console.
    pub seconds: f64,
    /// The end of the serial console output.
    pub log_tail: String,
}

/// What the machine boots from.
#[derive(Debug, Clone, Copy)]
pub enum Medium<'a> {
    /// A raw or qcow2 disk on virtio.
    Disk(&'a Path),
    /// An ISO in an IDE CD-ROM drive.
    Cdrom(&'a Path),
    /// A raw image (an ISO written to a stick) as a USB mass-storage disk
    /// on an XHCI controller.
    UsbDisk(&'a Path),
    /// The network: qemu's user-mode DHCP hands out `bootfile` from its
    /// built-in TFTP server rooted at `tftp_root`, and the NIC's iPXE ROM
    /// boots it. The guest reaches nothing else.
    Network {
        tftp_root: &'a Path,
        bootfile: &'a str,
    },
}

impl Medium<'_> {
    /// Guest memory: a live system (ISO or network boot) keeps every file
    /// it writes in RAM (live-boot's overlay is a tmpfs of half the
    /// memory, and a node role installs packages), and a network boot
    /// holds the fetched root there too.
    fn memory_mib(&self) -> u32 {
        match self {
            Medium::Disk(_) => 1024,
            Medium::Cdrom(_) | Medium::UsbDisk(_) | Medium::Network { .. } => 2048,
        }
    }

    fn describe(&self) -> String {
        match self {
            Medium::Disk(p) | Medium::Cdrom(p) | Medium::UsbDisk(p) => p.display().to_string(),
            Medium::Network {
                tftp_root,
                bootfile,
            } => {
                format!("tftp://{}/{bootfile}", tftp_root.display())
            }
        }
    }
}

/// Boot `image` (raw or qcow2, told apart by content) with `firmware` and
/// wait up to `timeout` for a console line containing `marker`. qemu is
/// killed either way.
pub fn boot_check(
    image: &Path,
    firmware: Firmware,
    marker: &str,
    timeout: Duration,
) -> Result<BootReport> {
    boot_medium(Medium::Disk(image), firmware, marker, timeout)
}

/// Boot from `medium` with `firmware` and wait up to `timeout` for a
/// console line containing `marker`. qemu is killed either way.
pub fn boot_medium(
    medium: Medium,
    firmware: Firmware,
    marker: &str,
    timeout: Duration,
) -> Result<BootReport> {
    let work = tempfile::Builder::new()
        .prefix("pig-boot-")
        .tempdir()
        .at(std::env::temp_dir())?;
    let console = work.path().join("console.log");
    let mut cmd = qemu_command(medium, firmware, &console, work.path())?;
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Tool {
            tool: "qemu-system-x86_64".into(),
            step: "booting the image".into(),
            message: format!("cannot start: {e}"),
        })?;
    let outcome = loop {
        let log = fs::read(&console).unwrap_or_default();
        let text = String::from_utf8_lossy(&log);
        // Whole lines only: a line still being written may lack the
        // status that follows the marker.
        if text
            .split_inclusive('\n')
            .any(|l| l.ends_with('\n') && l.contains(marker))
        {
            break Ok(started.elapsed().as_secs_f64());
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(Some(status));
        }
        if started.elapsed() >= timeout {
            break Err(None);
        }
        std::thread::sleep(POLL);
    };
    let _ = child.kill();
    let output = child.wait_with_output();
    let log_tail = tail(&fs::read(&console).unwrap_or_default());
    match outcome {
        Ok(seconds) => Ok(BootReport { seconds, log_tail }),
        Err(None) => Err(Error::BootTimeout {
            image: medium.describe(),
            marker: marker.to_string(),
            seconds: timeout.as_secs(),
            log_tail,
        }),
        Err(Some(status)) => Err(Error::Tool {
            tool: "qemu-system-x86_64".into(),
            step: "booting the image".into(),
            message: format!(
                "{status} before {marker:?}; stderr: {}; console ends with:\n{log_tail}",
                output
                    .map(|o| crate::tool::tail(&o.stderr))
                    .unwrap_or_default()
            ),
        }),
    }
}

/// qemu's format name for `image`: qcow2 by its magic, raw otherwise.
fn image_format(image: &Path) -> Result<&'static str> {
    let mut magic = [0u8; 4];
    use std::io::Read as _;
    let mut f = fs::File::open(image).at(image)?;
    let n = f.read(&mut magic).at(image)?;
    Ok(if n == 4 && magic == *b"QFI\xfb" {
        "qcow2"
    } else {
        "raw"
    })
}

/// The qemu command line, copying OVMF's variable store into `work`.
fn qemu_command(
    medium: Medium,
    firmware: Firmware,
    console: &Path,
    work: &Path,
) -> Result<Command> {
    let mut cmd = Command::new("qemu-system-x86_64");
    // KVM is not usable on the build machines: TCG always.
    cmd.args(["-accel", "tcg", "-m", &medium.memory_mib().to_string()])
        .args(["-display", "none", "-monitor", "none", "-no-reboot"])
        .arg("-serial")
        .arg(format!("file:{}", console.display()));
    match medium {
        Medium::Disk(image) => {
            // A NIC on qemu's user network, restricted: DHCP gives the
            // guest 10.0.2.15 (the address seeds for boot checks name) and
            // nothing outside the guest can be reached.
            cmd.args(["-nic", "user,model=virtio-net-pci,restrict=on", "-drive"])
                .arg(format!(
                    "file={},format={},if=virtio,snapshot=on",
                    image.display(),
                    image_format(image)?
                ));
        }
        Medium::Cdrom(image) => {
            // The node finds itself in its seed by its address (10.0.2.15).
            cmd.args(["-nic", "user,model=virtio-net-pci,restrict=on", "-drive"])
                .arg(format!(
                    "file={},format=raw,media=cdrom,readonly=on,if=ide",
                    image.display()
                ));
        }
        Medium::UsbDisk(image) => {
            cmd.args(["-nic", "user,model=virtio-net-pci,restrict=on", "-drive"])
                .arg(format!(
                    "file={},format=raw,if=none,id=stick,snapshot=on",
                    image.display()
                ))
                .args(["-device", "qemu-xhci,id=xhci"])
                .args(["-device", "usb-storage,bus=xhci.0,drive=stick,bootindex=0"]);
        }
        Medium::Network {
            tftp_root,
            bootfile,
        } => {
            // restrict=on: the guest reaches qemu's own DHCP and TFTP only.
            cmd.arg("-netdev")
                .arg(format!(
                    "user,id=net0,restrict=on,tftp={},bootfile={bootfile}",
                    tftp_root.display()
                ))
                .args(["-device", "virtio-net-pci,netdev=net0,bootindex=0"]);
        }
    }
    if firmware == Firmware::Uefi {
        let (code, vars) = ovmf_files()?;
        let vars_copy = work.join("OVMF_VARS.fd");
        fs::copy(&vars, &vars_copy).at(&vars_copy)?;
        cmd.arg("-drive")
            .arg(format!(
                "if=pflash,format=raw,unit=0,readonly=on,file={}",
                code.display()
            ))
            .arg("-drive")
            .arg(format!(
                "if=pflash,format=raw,unit=1,file={}",
                vars_copy.display()
            ));
    }
    Ok(cmd)
}

/// OVMF's code and variable-store templates, the 4 MiB build if present.
fn ovmf_files() -> Result<(PathBuf, PathBuf)> {
    let dir = Path::new(OVMF_DIR);
    for (code, vars) in [
        ("OVMF_CODE_4M.fd", "OVMF_VARS_4M.fd"),
        ("OVMF_CODE.fd", "OVMF_VARS.fd"),
    ] {
        let (code, vars) = (dir.join(code), dir.join(vars));
        if code.is_file() && vars.is_file() {
            return Ok((code, vars));
        }
    }
    Err(Error::invalid(
        dir.display(),
        "OVMF firmware",
        "not found: install the ovmf package",
    ))
}

fn tail(log: &[u8]) -> String {
    let text = String::from_utf8_lossy(log);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}

/// The marker pig-install's first boot prints on the console when done
/// (followed by ` status=ok|failed|noseed`), and `pig-build image check`
/// waits for; the test unit of [`marker_embeds`] prints it too.
pub const FIRSTBOOT_MARKER: &str = "PIG-FIRSTBOOT-COMPLETE";

/// A unit that, once multi-user is reached (after the root has grown),
/// writes the root file system's size in bytes (`PIG-ROOT-BYTES=<n>`) and
/// then `marker` to the first serial port. A stand-in for pig-install's
/// own first-boot unit in images built for tests.
pub fn marker_embeds(marker: &str) -> Vec<crate::disk::Embed> {
    let unit = format!(
        "[Unit]\n\
         Description=Report the end of the first boot on the serial console\n\
         After=multi-user.target {growroot}\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart=/bin/sh -c 'echo \"PIG-ROOT-BYTES=$(df -B1 --output=size / | tail -n 1 | tr -d \" \")\" > /dev/ttyS0; echo {marker} > /dev/ttyS0'\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        growroot = crate::disk::GROWROOT_UNIT_NAME,
    );
    crate::disk::Embed::enabled_unit("pig-firstboot-marker.service", &unit, "multi-user.target")
}
