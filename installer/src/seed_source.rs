//! Where a node finds its seed at first boot, tried in this order:
//!
//! 1. **embedded**: `/etc/pigsty/seed.yml`, baked into the image by
//!    `pig-build image --seed` (or put there by hand);
//! 2. **the live medium's seed area**: `/run/live/medium/pig/seed.img` on
//!    a node booted from a pig ISO (live-boot mounts the boot medium
//!    there), written by `pig-build image customize`; an empty area is no
//!    seed ([`pig_repo::seed_area`]);
//! 3. **the PXE seed initrd**: `/run/pig/seed.yml`, copied there from the
//!    `seed.cpio` initrd of a pig PXE set before the root is switched;
//! 4. **a volume** labelled `PIGSEED`, else `CIDATA` (or `cidata`, as
//!    cloud-init's NoCloud writes it) holding `seed.yml` at its top,
//!    mounted read-only just long enough to read it;
//! 5. **the kernel command line**: `pig.seed=URL#sha256=HEX`, with URL
//!    `file:///path` or `http://host[:port]/path`. The digest is required
//!    and checked: a seed fetched over plain HTTP or from a shared medium
//!    is only trusted through it.
//!
//! The first source present wins, and a source that is present but broken
//! (a bad `pig.seed=`, a digest mismatch, an unreadable volume) is an
//! error rather than a reason to try the next one: a node must never be
//! configured from a seed other than the one its operator meant.
//!
//! The probes of the machine are behind [`Probe`], so that the order and
//! the parsing are unit-tested without devices; [`SystemProbe`] is the
//! real one.

use std::fmt;
use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// The embedded seed's path, also where a seed from another source is
/// installed once it has been validated.
pub const EMBEDDED_PATH: &str = "/etc/pigsty/seed.yml";
/// Where a node booted from a pig ISO finds the medium's seed area.
pub const LIVE_AREA_PATH: &str = pig_repo::seed_area::LIVE_MEDIUM_PATH;
/// Where a node booted from a pig PXE set finds the seed initrd's seed.
pub const PXE_SEED_PATH: &str = "/run/pig/seed.yml";
/// Volume labels searched, in order.
pub const VOLUME_LABELS: [&str; 3] = ["PIGSEED", "CIDATA", "cidata"];
/// The seed's file name at the top of a seed volume.
pub const VOLUME_FILE: &str = "seed.yml";
/// The kernel command-line parameter naming a seed URL.
pub const CMDLINE_PARAM: &str = "pig.seed";
/// The largest seed accepted from a volume or URL (a seed is a few KiB).
pub const MAX_SEED_BYTES: usize = 4 << 20;
/// Where a seed volume is mounted (read-only) while its seed is read.
const VOLUME_MOUNT: &str = "/run/pig/seed-volume";
/// How long an HTTP fetch may wait on the network.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a seed came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The seed file already in the root file system.
    Embedded(PathBuf),
    /// The seed area of the live medium a pig ISO booted from.
    LiveMedium(PathBuf),
    /// The seed a PXE seed initrd left in `/run`.
    PxeInitrd(PathBuf),
    /// `seed.yml` on the volume `device`, found by `label`.
    Volume { device: PathBuf, label: String },
    /// The `pig.seed=` URL of the kernel command line.
    CommandLine { url: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Embedded(path) => write!(f, "embedded {}", path.display()),
            Origin::LiveMedium(path) => {
                write!(f, "seed area {} of the live medium", path.display())
            }
            Origin::PxeInitrd(path) => write!(f, "PXE seed initrd's {}", path.display()),
            Origin::Volume { device, label } => {
                write!(f, "{VOLUME_FILE} on volume {label} ({})", device.display())
            }
            Origin::CommandLine { url } => write!(f, "kernel command line {CMDLINE_PARAM}={url}"),
        }
    }
}

/// A seed found by [`locate`]: its bytes, not yet validated as a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSeed {
    pub origin: Origin,
    pub bytes: Vec<u8>,
}

/// Why a seed source could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SeedSourceError {
    /// `pig.seed=` is malformed (no digest, a bad URL, an unsupported scheme).
    #[error("kernel command line: {CMDLINE_PARAM}={value}: {message}")]
    CommandLine { value: String, message: String },
    /// The seed could not be read from where its source points.
    #[error("{source_name}: {message}")]
    Read {
        source_name: String,
        message: String,
    },
    /// The seed's sha256 is not the one the command line names.
    #[error("{url}: sha256 is {actual}, but {CMDLINE_PARAM} names {expected}; refusing the seed")]
    Digest {
        url: String,
        expected: String,
        actual: String,
    },
}

fn read_error(source_name: impl fmt::Display, message: impl fmt::Display) -> SeedSourceError {
    SeedSourceError::Read {
        source_name: source_name.to_string(),
        message: message.to_string(),
    }
}

/// A parsed `pig.seed=URL#sha256=HEX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLineSeed {
    /// The URL as written, without the `#sha256=` fragment.
    pub url: String,
    pub location: SeedUrl,
    /// Lower-case hex SHA-256 the seed must have.
    pub sha256: String,
}

/// Where a command-line seed lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedUrl {
    /// `file:///path`: a file on the node (an initrd, a mounted medium).
    File(PathBuf),
    /// `http://host[:port]/path`.
    Http {
        host: String,
        port: u16,
        path: String,
    },
}

/// The machine as seen by [`locate`].
pub trait Probe {
    /// The embedded seed's bytes, `None` when there is no such file.
    fn embedded(&self) -> Result<Option<(PathBuf, Vec<u8>)>, SeedSourceError>;
    /// The seed in the live medium's seed area, `None` when there is no
    /// area (not booted from a pig ISO) or the area is empty.
    fn live_medium(&self) -> Result<Option<(PathBuf, Vec<u8>)>, SeedSourceError>;
    /// The seed a PXE seed initrd left, `None` when there is none.
    fn pxe_initrd(&self) -> Result<Option<(PathBuf, Vec<u8>)>, SeedSourceError>;
    /// The device holding a volume labelled `label`, if any.
    fn volume_device(&self, label: &str) -> Option<PathBuf>;
    /// `seed.yml` from the volume `device`, `None` when it has none.
    fn volume_seed(&self, device: &Path) -> Result<Option<Vec<u8>>, SeedSourceError>;
    /// The kernel command line.
    fn cmdline(&self) -> Result<String, SeedSourceError>;
    /// The bytes at `url` (digest not yet checked).
    fn fetch(&self, url: &SeedUrl) -> Result<Vec<u8>, SeedSourceError>;
}

/// Find the seed in the documented order (see the module documentation);
/// `Ok(None)` when no source has one.
pub fn locate(probe: &impl Probe) -> Result<Option<FoundSeed>, SeedSourceError> {
    if let Some((path, bytes)) = probe.embedded()? {
        return Ok(Some(FoundSeed {
            origin: Origin::Embedded(path),
            bytes,
        }));
    }
    if let Some((path, bytes)) = probe.live_medium()? {
        return Ok(Some(FoundSeed {
            origin: Origin::LiveMedium(path),
            bytes,
        }));
    }
    if let Some((path, bytes)) = probe.pxe_initrd()? {
        return Ok(Some(FoundSeed {
            origin: Origin::PxeInitrd(path),
            bytes,
        }));
    }
    for label in VOLUME_LABELS {
        let Some(device) = probe.volume_device(label) else {
            continue;
        };
        // A cloud-init volume without a pig seed is someone else's.
        if let Some(bytes) = probe.volume_seed(&device)? {
            return Ok(Some(FoundSeed {
                origin: Origin::Volume {
                    device,
                    label: label.to_string(),
                },
                bytes,
            }));
        }
    }
    let Some(seed) = parse_cmdline(&probe.cmdline()?)? else {
        return Ok(None);
    };
    let bytes = probe.fetch(&seed.location)?;
    check_digest(&seed, &bytes)?;
    Ok(Some(FoundSeed {
        origin: Origin::CommandLine { url: seed.url },
        bytes,
    }))
}

/// Refuse `bytes` unless their sha256 is the one `seed` names.
pub fn check_digest(seed: &CommandLineSeed, bytes: &[u8]) -> Result<(), SeedSourceError> {
    let actual = hex::encode(Sha256::digest(bytes));
    if actual != seed.sha256 {
        return Err(SeedSourceError::Digest {
            url: seed.url.clone(),
            expected: seed.sha256.clone(),
            actual,
        });
    }
    Ok(())
}

/// The `pig.seed=` parameter of a kernel command line, parsed; `None` when
/// there is none. When it is given more than once the last one counts, as
/// for the kernel's own parameters.
pub fn parse_cmdline(cmdline: &str) -> Result<Option<CommandLineSeed>, SeedSourceError> {
    let prefix = format!("{CMDLINE_PARAM}=");
    let value = cmdline
        .split_whitespace()
        .filter_map(|word| word.strip_prefix(&prefix))
        .next_back();
    let Some(value) = value else {
        return Ok(None);
    };
    let value = value.trim_matches('"');
    let bad = |message: &str| SeedSourceError::CommandLine {
        value: value.to_string(),
        message: message.to_string(),
    };
    let Some((url, fragment)) = value.split_once('#') else {
        return Err(bad(
            "no #sha256=HEX: a seed from the command line must name its digest",
        ));
    };
    let Some(hex) = fragment.strip_prefix("sha256=") else {
        return Err(bad("the fragment must be #sha256=HEX"));
    };
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("the sha256 must be 64 hexadecimal digits"));
    }
    let location = parse_url(url).map_err(|m| bad(&m))?;
    Ok(Some(CommandLineSeed {
        url: url.to_string(),
        location,
        sha256: hex.to_ascii_lowercase(),
    }))
}

/// A `file://` or `http://` URL; other schemes (https needs a TLS stack
/// the installer does not carry; the digest protects the seed anyway)
/// are refused.
pub fn parse_url(url: &str) -> Result<SeedUrl, String> {
    if let Some(path) = url.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err("a file URL must be file:///absolute/path".into());
        }
        return Ok(SeedUrl::File(PathBuf::from(path)));
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err("only file:// and http:// URLs are supported".into());
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.contains('@') {
        return Err("credentials in the URL are not supported".into());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| "unterminated [IPv6] host".to_string())?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    let port = match port {
        None | Some("") => 80,
        Some(p) => p.parse().map_err(|_| format!("bad port {p:?}"))?,
    };
    Ok(SeedUrl::Http {
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

/// The body of an HTTP/1.0 response, refused unless the status is 200 and
/// the body is as long as `Content-Length` says (when it says).
pub fn parse_http_response(response: &[u8]) -> Result<Vec<u8>, String> {
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of the response header")?;
    let head = String::from_utf8_lossy(&response[..end]);
    let body = response.get(end + 4..).unwrap_or_default();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if code != "200" {
        return Err(format!("server answered {status:?}"));
    }
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            let want: usize = value
                .trim()
                .parse()
                .map_err(|_| format!("bad Content-Length {:?}", value.trim()))?;
            if body.len() != want {
                return Err(format!(
                    "truncated: {} of {want} bytes (Content-Length)",
                    body.len()
                ));
            }
        }
    }
    Ok(body.to_vec())
}

/// GET `path` from `host:port` over HTTP/1.0 (the server closes the
/// connection after the body, so no chunked transfer to decode).
pub fn http_get(host: &str, port: u16, path: &str) -> Result<Vec<u8>, String> {
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("resolving {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))?;
    let mut stream =
        TcpStream::connect_timeout(&addr, HTTP_TIMEOUT).map_err(|e| format!("connecting: {e}"))?;
    stream
        .set_read_timeout(Some(HTTP_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(HTTP_TIMEOUT)))
        .map_err(|e| format!("setting timeouts: {e}"))?;
    let host_header = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {host_header}\r\nUser-Agent: pig-install\r\n\r\n"
    )
    .map_err(|e| format!("sending the request: {e}"))?;
    let mut response = Vec::new();
    // One byte over the limit tells a too-large seed from one at the limit.
    let limit = (MAX_SEED_BYTES + 64 * 1024 + 1) as u64;
    stream
        .take(limit)
        .read_to_end(&mut response)
        .map_err(|e| format!("reading the response: {e}"))?;
    let body = parse_http_response(&response)?;
    if body.len() > MAX_SEED_BYTES || response.len() as u64 >= limit {
        return Err(format!("larger than {MAX_SEED_BYTES} bytes"));
    }
    Ok(body)
}

/// Read at most [`MAX_SEED_BYTES`] of `path`; `None` when it does not exist.
fn read_limited(path: &Path) -> Result<Option<Vec<u8>>, SeedSourceError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_error(path.display(), e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_SEED_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| read_error(path.display(), e))?;
    if bytes.len() > MAX_SEED_BYTES {
        return Err(read_error(
            path.display(),
            format!("larger than {MAX_SEED_BYTES} bytes"),
        ));
    }
    Ok(Some(bytes))
}

/// The seed in the seed area file at `path`: `None` when the file does
/// not exist or the area is empty; a corrupt area is an error.
pub fn read_seed_area(path: &Path) -> Result<Option<Vec<u8>>, SeedSourceError> {
    let Some(area) = read_limited(path)? else {
        return Ok(None);
    };
    pig_repo::seed_area::decode(&area, &path.display().to_string())
        .map(|seed| seed.map(String::into_bytes))
        .map_err(|e| read_error("live medium", e))
}

/// The running machine: files, `blkid`, `mount -o ro`, `/proc/cmdline`.
#[derive(Debug, Clone)]
pub struct SystemProbe {
    /// The embedded seed's path, normally [`EMBEDDED_PATH`].
    pub embedded: PathBuf,
    /// Normally [`LIVE_AREA_PATH`].
    pub live_area: PathBuf,
    /// Normally [`PXE_SEED_PATH`].
    pub pxe_seed: PathBuf,
    /// Normally `/proc/cmdline`.
    pub cmdline: PathBuf,
}

impl SystemProbe {
    /// The real machine, with the embedded seed at `embedded`.
    pub fn new(embedded: &Path) -> SystemProbe {
        SystemProbe {
            embedded: embedded.to_path_buf(),
            live_area: PathBuf::from(LIVE_AREA_PATH),
            pxe_seed: PathBuf::from(PXE_SEED_PATH),
            cmdline: PathBuf::from("/proc/cmdline"),
        }
    }
}

impl Probe for SystemProbe {
    fn embedded(&self) -> Result<Option<(PathBuf, Vec<u8>)>, SeedSourceError> {
        Ok(read_limited(&self.embedded)?.map(|b| (self.embedded.clone(), b)))
    }

    fn live_medium(&self) -> Result<Option<(PathBuf, Vec<u8>)>, SeedSourceError> {
        Ok(read_seed_area(&self.live_area)?.map(|b| (self.live_area.clone(), b)))
    }

    fn pxe_initrd(&self) -> Result<Option<(PathBuf, Vec<u8>)>, SeedSourceError> {
        Ok(read_limited(&self.pxe_seed)?.map(|b| (self.pxe_seed.clone(), b)))
    }

    fn volume_device(&self, label: &str) -> Option<PathBuf> {
        // blkid probes the devices itself: no wait for udev's by-label links.
        let out = Command::new("blkid")
            .args(["-l", "-o", "device", "-t"])
            .arg(format!("LABEL={label}"))
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let device = text.lines().next()?.trim();
        (out.status.success() && !device.is_empty()).then(|| PathBuf::from(device))
    }

    fn volume_seed(&self, device: &Path) -> Result<Option<Vec<u8>>, SeedSourceError> {
        let name = device.display();
        let dir = Path::new(VOLUME_MOUNT);
        std::fs::create_dir_all(dir)
            .map_err(|e| read_error(&name, format!("making {VOLUME_MOUNT}: {e}")))?;
        let mounted = Command::new("mount")
            .args(["-o", "ro,nodev,nosuid,noexec"])
            .arg(device)
            .arg(dir)
            .output()
            .map_err(|e| read_error(&name, format!("running mount: {e}")))?;
        if !mounted.status.success() {
            return Err(read_error(
                &name,
                format!(
                    "mounting read-only failed: {}",
                    String::from_utf8_lossy(&mounted.stderr).trim()
                ),
            ));
        }
        let result = read_limited(&dir.join(VOLUME_FILE));
        let _ = Command::new("umount").arg(dir).status();
        result
    }

    fn cmdline(&self) -> Result<String, SeedSourceError> {
        std::fs::read_to_string(&self.cmdline).map_err(|e| read_error(self.cmdline.display(), e))
    }

    fn fetch(&self, url: &SeedUrl) -> Result<Vec<u8>, SeedSourceError> {
        match url {
            SeedUrl::File(path) => read_limited(path)?
                .ok_or_else(|| read_error(path.display(), "no such file (from pig.seed=)")),
            SeedUrl::Http { host, port, path } => http_get(host, *port, path)
                .map_err(|m| read_error(format!("http://{host}:{port}{path}"), m)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST_OF_ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[derive(Default)]
    struct FakeProbe {
        embedded: Option<Vec<u8>>,
        live: Option<Vec<u8>>,
        pxe: Option<Vec<u8>>,
        volumes: Vec<(&'static str, Option<Vec<u8>>)>,
        cmdline: String,
        remote: Vec<u8>,
    }

    impl Probe for FakeProbe {
        fn embedded(&self) -> Result<Option<(PathBuf, Vec<u8>)>, SeedSourceError> {
            Ok(self
                .embedded
                .clone()
                .map(|b| (PathBuf::from(EMBEDDED_PATH), b)))
        }
        fn live_medium(&self) -> Result<Option<(PathBuf, Vec<u8>)>, SeedSourceError> {
            Ok(self
                .live
                .clone()
                .map(|b| (PathBuf::from(LIVE_AREA_PATH), b)))
        }
        fn pxe_initrd(&self) -> Result<Option<(PathBuf, Vec<u8>)>, SeedSourceError> {
            Ok(self.pxe.clone().map(|b| (PathBuf::from(PXE_SEED_PATH), b)))
        }
        fn volume_device(&self, label: &str) -> Option<PathBuf> {
            self.volumes
                .iter()
                .any(|(l, _)| *l == label)
                .then(|| PathBuf::from(format!("/dev/{label}")))
        }
        fn volume_seed(&self, device: &Path) -> Result<Option<Vec<u8>>, SeedSourceError> {
            let label = device.file_name().and_then(|n| n.to_str()).unwrap_or("");
            Ok(self
                .volumes
                .iter()
                .find(|(l, _)| *l == label)
                .and_then(|(_, s)| s.clone()))
        }
        fn cmdline(&self) -> Result<String, SeedSourceError> {
            Ok(self.cmdline.clone())
        }
        fn fetch(&self, _: &SeedUrl) -> Result<Vec<u8>, SeedSourceError> {
            Ok(self.remote.clone())
        }
    }

    fn cmdline_with(url: &str) -> String {
        format!("root=UUID=x ro console=ttyS0 pig.seed={url}#sha256={DIGEST_OF_ABC} quiet")
    }

    #[test]
    fn embedded_comes_first() {
        let probe = FakeProbe {
            embedded: Some(b"e".to_vec()),
            volumes: vec![("PIGSEED", Some(b"v".to_vec()))],
            cmdline: cmdline_with("http://10.0.2.2/s.yml"),
            remote: b"abc".to_vec(),
            ..FakeProbe::default()
        };
        let found = locate(&probe).unwrap().unwrap();
        assert_eq!(found.origin, Origin::Embedded(PathBuf::from(EMBEDDED_PATH)));
        assert_eq!(found.bytes, b"e");
    }

    #[test]
    fn live_medium_then_pxe_initrd_come_after_embedded_and_before_volumes() {
        let mut probe = FakeProbe {
            embedded: Some(b"e".to_vec()),
            live: Some(b"l".to_vec()),
            pxe: Some(b"p".to_vec()),
            volumes: vec![("PIGSEED", Some(b"v".to_vec()))],
            cmdline: cmdline_with("http://10.0.2.2/s.yml"),
            remote: b"abc".to_vec(),
        };
        assert_eq!(locate(&probe).unwrap().unwrap().bytes, b"e");
        probe.embedded = None;
        let found = locate(&probe).unwrap().unwrap();
        assert_eq!(
            found.origin,
            Origin::LiveMedium(PathBuf::from(LIVE_AREA_PATH))
        );
        assert_eq!(found.bytes, b"l");
        probe.live = None;
        let found = locate(&probe).unwrap().unwrap();
        assert_eq!(
            found.origin,
            Origin::PxeInitrd(PathBuf::from(PXE_SEED_PATH))
        );
        assert_eq!(found.bytes, b"p");
        probe.pxe = None;
        assert_eq!(locate(&probe).unwrap().unwrap().bytes, b"v");
    }

    #[test]
    fn seed_areas_are_read_empty_is_none_and_corrupt_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed.img");
        assert_eq!(read_seed_area(&path).unwrap(), None);
        std::fs::write(&path, pig_repo::seed_area::encode(None).unwrap()).unwrap();
        assert_eq!(read_seed_area(&path).unwrap(), None);
        let mut area = pig_repo::seed_area::encode(Some(b"all: {}\n")).unwrap();
        std::fs::write(&path, &area).unwrap();
        assert_eq!(read_seed_area(&path).unwrap().unwrap(), b"all: {}\n");
        area[pig_repo::seed_area::HEADER_BYTES] ^= 1;
        std::fs::write(&path, &area).unwrap();
        let err = read_seed_area(&path).unwrap_err().to_string();
        assert!(err.contains("seed.img") && err.contains("sha256"), "{err}");
    }

    #[test]
    fn pigseed_volume_before_cidata_before_cmdline() {
        let mut probe = FakeProbe {
            volumes: vec![
                ("CIDATA", Some(b"c".to_vec())),
                ("PIGSEED", Some(b"p".to_vec())),
            ],
            cmdline: cmdline_with("http://10.0.2.2/s.yml"),
            remote: b"abc".to_vec(),
            ..FakeProbe::default()
        };
        let found = locate(&probe).unwrap().unwrap();
        assert_eq!(found.bytes, b"p");
        assert!(matches!(found.origin, Origin::Volume { ref label, .. } if label == "PIGSEED"));
        probe.volumes.remove(1);
        assert_eq!(locate(&probe).unwrap().unwrap().bytes, b"c");
    }

    #[test]
    fn a_volume_without_a_seed_is_skipped() {
        let probe = FakeProbe {
            volumes: vec![("cidata", None)],
            cmdline: cmdline_with("file:///run/seed.yml"),
            remote: b"abc".to_vec(),
            ..FakeProbe::default()
        };
        let found = locate(&probe).unwrap().unwrap();
        assert_eq!(
            found.origin,
            Origin::CommandLine {
                url: "file:///run/seed.yml".into()
            }
        );
    }

    #[test]
    fn no_source_is_none() {
        let probe = FakeProbe {
            cmdline: "root=UUID=x ro".into(),
            ..FakeProbe::default()
        };
        assert_eq!(locate(&probe).unwrap(), None);
    }

    #[test]
    fn a_mismatched_digest_is_refused() {
        let probe = FakeProbe {
            cmdline: cmdline_with("http://10.0.2.2/s.yml"),
            remote: b"abd".to_vec(),
            ..FakeProbe::default()
        };
        let err = locate(&probe).unwrap_err();
        assert!(matches!(err, SeedSourceError::Digest { .. }), "{err}");
        assert!(err.to_string().contains("refusing"), "{err}");
    }

    #[test]
    fn cmdline_needs_a_digest_and_a_known_scheme() {
        for (value, says) in [
            ("pig.seed=http://h/s.yml", "no #sha256"),
            ("pig.seed=http://h/s.yml#md5=00", "#sha256=HEX"),
            ("pig.seed=http://h/s.yml#sha256=abc", "64 hexadecimal"),
            (
                &format!("pig.seed=https://h/s.yml#sha256={DIGEST_OF_ABC}"),
                "only file:// and http://",
            ),
            (
                &format!("pig.seed=file://rel/s.yml#sha256={DIGEST_OF_ABC}"),
                "absolute",
            ),
        ] {
            let err = parse_cmdline(value).unwrap_err().to_string();
            assert!(err.contains(says), "{value}: {err}");
            assert!(err.starts_with("kernel command line: pig.seed="), "{err}");
        }
    }

    #[test]
    fn cmdline_parses_urls_and_last_parameter_wins() {
        let upper = DIGEST_OF_ABC.to_ascii_uppercase();
        let line = format!(
            "pig.seed=file:///a#sha256={DIGEST_OF_ABC} pig.seed=\"http://[fd00::1]:8080/s.yml#sha256={upper}\""
        );
        let seed = parse_cmdline(&line).unwrap().unwrap();
        assert_eq!(
            seed.location,
            SeedUrl::Http {
                host: "fd00::1".into(),
                port: 8080,
                path: "/s.yml".into()
            }
        );
        assert_eq!(seed.sha256, DIGEST_OF_ABC);
        assert_eq!(
            parse_url("http://infra").unwrap(),
            SeedUrl::Http {
                host: "infra".into(),
                port: 80,
                path: "/".into()
            }
        );
        assert!(parse_url("http://h:99999/").is_err());
        assert!(parse_url("http://u:p@h/").is_err());
    }

    #[test]
    fn http_responses_are_checked() {
        assert_eq!(
            parse_http_response(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc").unwrap(),
            b"abc"
        );
        assert_eq!(
            parse_http_response(b"HTTP/1.1 200 OK\r\n\r\nabc").unwrap(),
            b"abc"
        );
        let err = parse_http_response(b"HTTP/1.0 404 Not Found\r\n\r\n").unwrap_err();
        assert!(err.contains("404"), "{err}");
        let err =
            parse_http_response(b"HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\nabc").unwrap_err();
        assert!(err.contains("truncated"), "{err}");
        assert!(parse_http_response(b"garbage").is_err());
    }

    #[test]
    fn http_get_fetches_over_loopback() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let n = conn.read(&mut buf).unwrap();
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            conn.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc")
                .unwrap();
            request
        });
        let body = http_get("127.0.0.1", port, "/seed.yml").unwrap();
        assert_eq!(body, b"abc");
        let request = server.join().unwrap();
        assert!(
            request.starts_with("GET /seed.yml HTTP/1.0\r\n"),
            "{request}"
        );
    }

    #[test]
    fn file_urls_read_files_and_missing_ones_fail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed.yml");
        std::fs::write(&path, b"abc").unwrap();
        let probe = SystemProbe {
            embedded: dir.path().join("none.yml"),
            live_area: dir.path().join("none.img"),
            pxe_seed: dir.path().join("none-pxe.yml"),
            cmdline: dir.path().join("cmdline"),
        };
        std::fs::write(
            &probe.cmdline,
            format!(
                "ro pig.seed=file://{}#sha256={DIGEST_OF_ABC}\n",
                path.display()
            ),
        )
        .unwrap();
        assert_eq!(probe.embedded().unwrap(), None);
        assert_eq!(probe.live_medium().unwrap(), None);
        assert_eq!(probe.pxe_initrd().unwrap(), None);
        let seed = parse_cmdline(&probe.cmdline().unwrap()).unwrap().unwrap();
        assert_eq!(probe.fetch(&seed.location).unwrap(), b"abc");
        let err = probe
            .fetch(&SeedUrl::File(dir.path().join("gone.yml")))
            .unwrap_err();
        assert!(err.to_string().contains("gone.yml: no such file"), "{err}");
    }
}
