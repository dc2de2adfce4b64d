//! Our signatures against gpgv, sqv and gpg, and gpg's signatures against
//! our Keyring: the interoperability the bundle's `signed-by=` relies on.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use pig_repo::Error;
use pig_repo::signing::{CLOCK_SKEW, Keyring, SigningKey};
use pig_tests::{have, output};

const RELEASE: &str = "Origin: pig\nLabel: pig\nSuite: stable\nCodename: pig\n\
Date: Thu, 01 Jan 2026 00:00:00 UTC\nArchitectures: amd64\n\
Description: a line with trailing blanks   \n\
- a line that starts with a dash\n\
SHA256:\n 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 1234 main/binary-amd64/Packages\n";

/// One RSA 3072 key per test binary: generation takes a second or more.
fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let start = std::time::Instant::now();
        let created = SystemTime::now() - Duration::from_secs(3600);
        let key = SigningKey::generate("pig test <pig@example.org>", created).unwrap();
        eprintln!("generated RSA 3072 key in {:?}", start.elapsed());
        key
    })
}

/// A throw-away gpg home, so tests never touch the user's keys.
struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    fn new() -> Gpg {
        let home = tempfile::tempdir().unwrap();
        fs::set_permissions(
            home.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        Gpg { home }
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new("gpg");
        cmd.env("GNUPGHOME", self.home.path())
            .current_dir(self.home.path())
            .args([
                "--batch",
                "--yes",
                "--no-tty",
                "--pinentry-mode",
                "loopback",
            ])
            .args(["--passphrase", ""]);
        cmd
    }

    fn ok(&self, args: &[&str]) -> Vec<u8> {
        let out = output(self.cmd().args(args));
        assert!(out.status.success(), "gpg {args:?} failed");
        out.stdout
    }

    /// Makes a key and returns its fingerprint.
    fn generate(&self, uid: &str, extra: &[&str], algo: &str, expire: &str) -> String {
        let mut args = extra.to_vec();
        args.extend(["--quick-gen-key", uid, algo, "sign", expire]);
        self.ok(&args);
        let listing = String::from_utf8(self.ok(&["--with-colons", "--list-keys", uid])).unwrap();
        listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:::::::::"))
            .and_then(|l| l.strip_suffix(':'))
            .expect("fingerprint in gpg --with-colons output")
            .to_string()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }
}

fn write(dir: &Path, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, data).unwrap();
    path
}

fn signature_message(result: pig_repo::Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(Error::Signature { message, .. }) => message,
        other => panic!("expected a signature error, got {other:?}"),
    }
}

/// An `InRelease` split as a detached signature and the text it covers:
/// dash-unescaped lines without trailing blanks (the cleartext framework
/// does not sign those), joined by LF, no final newline.
fn split_clearsigned(inrelease: &str) -> (String, String) {
    let at = inrelease
        .find("-----BEGIN PGP SIGNATURE-----")
        .expect("signature block");
    let (text, sig) = inrelease.split_at(at);
    let body = text.split_once("\n\n").expect("armor headers").1;
    let lines: Vec<&str> = body
        .strip_suffix('\n')
        .unwrap_or(body)
        .split('\n')
        .map(|l| {
            l.strip_prefix("- ")
                .unwrap_or(l)
                .trim_end_matches([' ', '\t'])
        })
        .collect();
    (lines.join("\n"), sig.to_string())
}

#[test]
fn gpgv_and_sqv_accept_our_signatures() {
    if !have("gpgv") || !have("sqv") || !have("gpg") {
        return;
    }
    let key = key();
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let public = write(dir.path(), "key.asc", key.public_armored());
    let inrelease = key.clearsign(RELEASE, now).unwrap();
    assert!(
        inrelease.contains("\n- - a line that starts"),
        "{inrelease}"
    );
    let inrelease_path = write(dir.path(), "InRelease", &inrelease);
    let release = write(dir.path(), "Release", RELEASE);
    let release_gpg = write(
        dir.path(),
        "Release.gpg",
        key.sign_detached_armored(RELEASE.as_bytes(), now).unwrap(),
    );

    // gpgv on Debian 12 reads binary keyrings only, as apt gives it.
    let gpg = Gpg::new();
    let binary = gpg.ok(&["--dearmor", "--output", "-", public.to_str().unwrap()]);
    let keyring = write(dir.path(), "key.gpg", binary);
    for args in [
        vec![inrelease_path.as_os_str()],
        vec![release_gpg.as_os_str(), release.as_os_str()],
    ] {
        let out = output(
            Command::new("gpgv")
                .arg("--status-fd=1")
                .arg("--keyring")
                .arg(&keyring)
                .args(&args),
        );
        assert!(out.status.success());
        let status = String::from_utf8_lossy(&out.stdout);
        assert!(
            status.contains(&format!("VALIDSIG {}", key.fingerprint())),
            "{status}"
        );
    }

    let out = output(
        Command::new("sqv")
            .arg("--keyring")
            .arg(&public)
            .arg(&release_gpg)
            .arg(&release),
    );
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        key.fingerprint()
    );
    let (text, sig) = split_clearsigned(&inrelease);
    let text_path = write(dir.path(), "InRelease.text", text);
    let sig_path = write(dir.path(), "InRelease.sig", sig);
    let out = output(
        Command::new("sqv")
            .arg("--keyring")
            .arg(&public)
            .arg(&sig_path)
            .arg(&text_path),
    );
    assert!(out.status.success());

    // And our own verifier agrees, giving back the signed text.
    let ours = Keyring::from_bytes(key.public_armored().as_bytes(), "key.asc").unwrap();
    assert_eq!(ours.fingerprints(), vec![key.fingerprint()]);
    let body = ours.verify_clearsigned(&inrelease, "InRelease").unwrap();
    assert_eq!(body, RELEASE.replace("blanks   \n", "blanks\n"));
    ours.verify_detached(
        RELEASE.as_bytes(),
        &fs::read(&release_gpg).unwrap(),
        "Release",
    )
    .unwrap();
}

#[test]
fn gpg_imports_our_secret_key_and_signs_with_it() {
    if !have("gpg") {
        return;
    }
    let key = key();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("sub/secret.asc");
    fs::create_dir_all(secret.parent().unwrap()).unwrap();
    key.save(&secret).unwrap();
    let mode = fs::metadata(&secret).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    let reloaded = SigningKey::load(&secret).unwrap();
    assert_eq!(reloaded.fingerprint(), key.fingerprint());
    assert_eq!(reloaded.to_armored(), key.to_armored());

    let gpg = Gpg::new();
    gpg.ok(&["--import", secret.to_str().unwrap()]);
    let listing = String::from_utf8(gpg.ok(&["--with-colons", "--list-secret-keys"])).unwrap();
    assert!(listing.contains(&key.fingerprint()), "{listing}");
    // gpg sees an RSA 3072 key (field 3 = 3072, field 4 = 1 = RSA) that can sign.
    let sec = listing.lines().find(|l| l.starts_with("sec:")).unwrap();
    let fields: Vec<&str> = sec.split(':').collect();
    assert_eq!((fields[2], fields[3]), ("3072", "1"), "{sec}");
    assert!(fields[11].contains('S'), "{sec}");

    let data = write(dir.path(), "data", RELEASE);
    gpg.ok(&["--detach-sign", "--armor", data.to_str().unwrap()]);
    let sig = fs::read(dir.path().join("data.asc")).unwrap();
    let keyring = Keyring::load(&secret).unwrap();
    keyring
        .verify_detached(RELEASE.as_bytes(), &sig, "data")
        .unwrap();
}

#[test]
fn keyring_verifies_gpg_signatures_and_refuses_tampering() {
    if !have("gpg") {
        return;
    }
    let gpg = Gpg::new();
    let fpr = gpg.generate("gpg test <gpg@example.org>", &[], "rsa3072", "never");
    let release = write(gpg.home.path(), "Release", RELEASE);
    let release = release.to_str().unwrap();
    gpg.ok(&[
        "--digest-algo",
        "SHA256",
        "--clearsign",
        "--output",
        "InRelease",
        release,
    ]);
    gpg.ok(&["--detach-sign", "--output", "Release.gpg", release]);
    let armored = gpg.ok(&["--armor", "--export", &fpr]);
    let keyring = Keyring::from_bytes(&armored, "gpg.asc").unwrap();
    assert_eq!(keyring.fingerprints(), vec![fpr.clone()]);
    let binary = gpg.ok(&["--export", &fpr]);
    let binary_keyring = Keyring::from_bytes(&binary, "gpg.gpg").unwrap();

    let inrelease = fs::read_to_string(gpg.path("InRelease")).unwrap();
    let release_gpg = fs::read(gpg.path("Release.gpg")).unwrap();
    for keyring in [&keyring, &binary_keyring] {
        let body = keyring.verify_clearsigned(&inrelease, "InRelease").unwrap();
        assert_eq!(body, RELEASE.replace("blanks   \n", "blanks\n"));
        keyring
            .verify_detached(RELEASE.as_bytes(), &release_gpg, "Release")
            .unwrap();
    }

    let tampered = inrelease.replace("Suite: stable", "Suite: unstable");
    let why = signature_message(keyring.verify_clearsigned(&tampered, "InRelease"));
    assert!(why.contains("bad signature by key"), "{why}");
    let tampered = RELEASE.replace("1234", "1235");
    let why =
        signature_message(keyring.verify_detached(tampered.as_bytes(), &release_gpg, "Release"));
    assert!(why.contains("bad signature"), "{why}");

    let other = Keyring::from_bytes(key().public_armored().as_bytes(), "other.asc").unwrap();
    let why = signature_message(other.verify_clearsigned(&inrelease, "InRelease"));
    assert!(why.contains(&format!("unknown key {fpr}")), "{why}");
    let why = signature_message(other.verify_detached(RELEASE.as_bytes(), &release_gpg, "Release"));
    assert!(why.contains(&format!("unknown key {fpr}")), "{why}");
}

#[test]
fn signing_subkeys_bound_to_the_primary_are_accepted() {
    if !have("gpg") {
        return;
    }
    let gpg = Gpg::new();
    let fpr = gpg.generate("sub test <sub@example.org>", &[], "rsa3072", "never");
    gpg.ok(&["--quick-add-key", &fpr, "rsa3072", "sign", "never"]);
    let release = write(gpg.home.path(), "Release", RELEASE);
    gpg.ok(&[
        "--status-file",
        "status",
        "--clearsign",
        "--output",
        "InRelease",
    ]
    .into_iter()
    .chain([release.to_str().unwrap()])
    .collect::<Vec<_>>());
    let status = fs::read_to_string(gpg.path("status")).unwrap();
    let signer = status
        .lines()
        .find_map(|l| l.strip_prefix("[GNUPG:] SIG_CREATED "))
        .and_then(|l| l.split(' ').nth(5))
        .expect("SIG_CREATED line")
        .to_string();
    assert_ne!(signer, fpr, "gpg should sign with the subkey");
    let keyring = Keyring::from_bytes(&gpg.ok(&["--export", &fpr]), "sub.gpg").unwrap();
    let inrelease = fs::read_to_string(gpg.path("InRelease")).unwrap();
    keyring.verify_clearsigned(&inrelease, "InRelease").unwrap();
    let tampered = inrelease.replace("Label: pig", "Label: gip");
    let why = signature_message(keyring.verify_clearsigned(&tampered, "InRelease"));
    assert!(
        why.contains(&format!("subkey {signer} of key {fpr}")),
        "{why}"
    );
}

#[test]
fn sha1_signatures_are_refused() {
    if !have("gpg") {
        return;
    }
    let gpg = Gpg::new();
    let fpr = gpg.generate("sha1 test <sha1@example.org>", &[], "rsa3072", "never");
    let release = write(gpg.home.path(), "Release", RELEASE);
    gpg.ok(&[
        "--digest-algo",
        "SHA1",
        "--detach-sign",
        "--output",
        "Release.gpg",
    ]
    .into_iter()
    .chain([release.to_str().unwrap()])
    .collect::<Vec<_>>());
    let keyring = Keyring::from_bytes(&gpg.ok(&["--export", &fpr]), "sha1.gpg").unwrap();
    let sig = fs::read(gpg.path("Release.gpg")).unwrap();
    let why = signature_message(keyring.verify_detached(RELEASE.as_bytes(), &sig, "Release"));
    assert!(why.contains("weak hash SHA1"), "{why}");
}

#[test]
fn expired_keys_are_refused() {
    if !have("gpg") {
        return;
    }
    let gpg = Gpg::new();
    // A key made in 2020 that expired a year later, and a signature from
    // while it was valid: still refused now.
    let past = ["--faked-system-time", "20200101T000000!"];
    let fpr = gpg.generate("expired <old@example.org>", &past, "rsa3072", "1y");
    let why = sign_then_verify(&gpg, &past, &fpr);
    assert!(
        why.contains(&format!("key {fpr} expired on 2020-12-31")),
        "{why}"
    );
}

/// Sign `Release` with gpg at the faked time `past`, then verify the
/// signature now with our keyring of `fpr`; returns why it was refused.
fn sign_then_verify(gpg: &Gpg, past: &[&str], fpr: &str) -> String {
    let release = write(gpg.home.path(), "Release", RELEASE);
    let mut args = past.to_vec();
    args.extend([
        "--detach-sign",
        "--output",
        "Release.gpg",
        release.to_str().unwrap(),
    ]);
    gpg.ok(&args);
    let keyring = Keyring::from_bytes(&gpg.ok(&["--export", fpr]), "old.gpg").unwrap();
    let sig = fs::read(gpg.path("Release.gpg")).unwrap();
    signature_message(keyring.verify_detached(RELEASE.as_bytes(), &sig, "Release"))
}

#[test]
fn expired_signing_subkeys_are_refused() {
    if !have("gpg") {
        return;
    }
    let gpg = Gpg::new();
    // The primary never expires; the signing subkey made in 2020 expired
    // in 2021 and must not count any more.
    let past = ["--faked-system-time", "20200101T000000!"];
    let fpr = gpg.generate("old subkey <sub@example.org>", &past, "rsa3072", "never");
    let mut args = past.to_vec();
    args.extend(["--quick-add-key", &fpr, "rsa3072", "sign", "1y"]);
    gpg.ok(&args);
    let why = sign_then_verify(&gpg, &past, &fpr);
    assert!(
        why.contains(&format!("of key {fpr} expired on 2020-12-31")),
        "{why}"
    );
}

#[test]
fn revoked_keys_are_refused() {
    if !have("gpg") {
        return;
    }
    let gpg = Gpg::new();
    let fpr = gpg.generate("revoked <rev@example.org>", &[], "rsa3072", "never");
    let release = write(gpg.home.path(), "Release", RELEASE);
    gpg.ok(&[
        "--detach-sign",
        "--output",
        "Release.gpg",
        release.to_str().unwrap(),
    ]);
    // gpg writes a revocation certificate for every new key, with its armor
    // line disarmed by a leading ':'.
    let cert = fs::read_to_string(gpg.path(&format!("openpgp-revocs.d/{fpr}.rev"))).unwrap();
    let cert = write(
        gpg.home.path(),
        "rev.asc",
        cert.replace(":-----BEGIN", "-----BEGIN"),
    );
    gpg.ok(&["--import", cert.to_str().unwrap()]);
    let keyring = Keyring::from_bytes(&gpg.ok(&["--export", &fpr]), "rev.gpg").unwrap();
    let sig = fs::read(gpg.path("Release.gpg")).unwrap();
    let why = signature_message(keyring.verify_detached(RELEASE.as_bytes(), &sig, "Release"));
    assert!(why.contains(&format!("key {fpr} is revoked")), "{why}");
}

#[test]
fn signatures_from_the_future_are_refused_beyond_the_clock_skew() {
    let key = key();
    let keyring = Keyring::from_bytes(key.public_armored().as_bytes(), "key.asc").unwrap();
    let now = SystemTime::now();
    let soon = key.clearsign(RELEASE, now + CLOCK_SKEW / 2).unwrap();
    keyring.verify_clearsigned(&soon, "InRelease").unwrap();
    let later = key
        .sign_detached_armored(RELEASE.as_bytes(), now + CLOCK_SKEW * 2)
        .unwrap();
    let why =
        signature_message(keyring.verify_detached(RELEASE.as_bytes(), later.as_bytes(), "Release"));
    assert!(why.contains("was made in the future"), "{why}");
    let before_key =
        key.sign_detached_armored(RELEASE.as_bytes(), now - Duration::from_secs(86400));
    let why = signature_message(before_key);
    assert!(why.contains("before the key was made"), "{why}");
}

#[test]
fn signatures_are_reproducible_for_the_same_time() {
    // RSA PKCS#1 v1.5 signatures are deterministic, so a bundle rebuilt with
    // the same key and SOURCE_DATE_EPOCH carries byte-identical signatures.
    let key = key();
    let when = SystemTime::now() - Duration::from_secs(60);
    let later = when + Duration::from_secs(1);
    assert_eq!(
        key.clearsign(RELEASE, when).unwrap(),
        key.clearsign(RELEASE, when).unwrap()
    );
    let detached = key.sign_detached_armored(RELEASE.as_bytes(), when).unwrap();
    assert_eq!(
        detached,
        key.sign_detached_armored(RELEASE.as_bytes(), when).unwrap()
    );
    assert_ne!(
        detached,
        key.sign_detached_armored(RELEASE.as_bytes(), later)
            .unwrap()
    );
}
