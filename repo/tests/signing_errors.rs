//! Broken input gives clean errors that name the input: malformed armor,
//! truncated signatures, garbage keyrings, missing signatures, wrong keys.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use pig_repo::Error;
use pig_repo::signing::{Keyring, SigningKey};

const TEXT: &str = "Origin: pig\nSuite: stable\n";

fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let created = SystemTime::now() - Duration::from_secs(3600);
        SigningKey::generate("pig errors <e@example.org>", created).unwrap()
    })
}

fn keyring() -> Keyring {
    Keyring::from_bytes(key().public_armored().as_bytes(), "key.asc").unwrap()
}

/// The message of a `Signature` error for `input`.
fn signature_error<T: std::fmt::Debug>(result: pig_repo::Result<T>, input: &str) -> String {
    match result {
        Err(Error::Signature {
            input: got,
            message,
        }) => {
            assert_eq!(got, input);
            message
        }
        other => panic!("expected a signature error for {input}, got {other:?}"),
    }
}

/// The message of an `Invalid` error for `input`.
fn invalid_error<T: std::fmt::Debug>(result: pig_repo::Result<T>, input: &str) -> String {
    match result {
        Err(Error::Invalid {
            input: got,
            place,
            message,
        }) => {
            assert_eq!(got, input);
            format!("{place}: {message}")
        }
        other => panic!("expected an invalid-input error for {input}, got {other:?}"),
    }
}

fn signed() -> (String, String) {
    let now = SystemTime::now();
    (
        key().clearsign(TEXT, now).unwrap(),
        key().sign_detached_armored(TEXT.as_bytes(), now).unwrap(),
    )
}

#[test]
fn unsigned_text_has_no_signature() {
    let why = signature_error(keyring().verify_clearsigned(TEXT, "InRelease"), "InRelease");
    assert!(why.contains("no signature"), "{why}");
    let why = signature_error(
        keyring().verify_detached(TEXT.as_bytes(), b"", "Release"),
        "Release",
    );
    assert!(why.contains("no signature"), "{why}");
}

#[test]
fn malformed_armor_is_refused() {
    let (inrelease, detached) = signed();
    let keyring = keyring();
    let cases = [
        // Base64 replaced by garbage.
        detached.replace(|c: char| c.is_ascii_alphanumeric(), "!"),
        // No end line.
        detached.replace("-----END PGP SIGNATURE-----", ""),
        // Wrong block type.
        detached.replace("PGP SIGNATURE", "PGP MESSAGE"),
    ];
    for case in &cases {
        let why = signature_error(
            keyring.verify_detached(TEXT.as_bytes(), case.as_bytes(), "Release"),
            "Release",
        );
        assert!(why.contains("malformed signature"), "{why}");
    }
    let broken = [
        inrelease.replace("-----END PGP SIGNATURE-----", ""),
        inrelease.replace("Hash: SHA256", "Hash: NOPE"),
        format!("{inrelease}trailing data\n"),
        format!("leading data\n{inrelease}"),
    ];
    for case in &broken {
        let why = signature_error(keyring.verify_clearsigned(case, "InRelease"), "InRelease");
        assert!(
            why.contains("malformed clearsigned message") || why.contains("no signature"),
            "{why}"
        );
    }
}

#[test]
fn truncated_signatures_are_refused() {
    let (inrelease, detached) = signed();
    let keyring = keyring();
    // Cut the armored signature in the middle of its base64 body.
    let lines: Vec<&str> = detached.lines().collect();
    let cut = format!(
        "{}\n{}\n-----END PGP SIGNATURE-----\n",
        lines[..lines.len() / 2].join("\n"),
        "",
    );
    let why = signature_error(
        keyring.verify_detached(TEXT.as_bytes(), cut.as_bytes(), "Release"),
        "Release",
    );
    assert!(why.contains("malformed signature"), "{why}");
    // The binary form, cut short.
    let binary = binary_signature(&detached);
    for len in [1, 10, binary.len() / 2, binary.len() - 1] {
        let result = keyring.verify_detached(TEXT.as_bytes(), &binary[..len], "Release.gpg");
        let why = signature_error(result, "Release.gpg");
        assert!(why.contains("malformed signature"), "{len}: {why}");
    }
    keyring
        .verify_detached(TEXT.as_bytes(), &binary, "Release.gpg")
        .unwrap();
    let sig_start = inrelease.find("-----BEGIN PGP SIGNATURE").unwrap();
    let truncated = &inrelease[..sig_start + 60];
    let why = signature_error(
        keyring.verify_clearsigned(truncated, "InRelease"),
        "InRelease",
    );
    assert!(why.contains("malformed clearsigned message"), "{why}");
}

/// Decodes an armored signature to its packets.
fn binary_signature(armored: &str) -> Vec<u8> {
    let body: String = armored
        .lines()
        .skip_while(|l| !l.is_empty())
        .skip(1)
        .take_while(|l| !l.starts_with('=') && !l.starts_with("-----"))
        .collect();
    let out = std::process::Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(body.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn garbage_keyrings_are_refused() {
    let cases: [(&[u8], &str); 5] = [
        (b"", "is empty"),
        (b"hello, I am not a key\n", "neither a binary keyring nor ASCII armor"),
        (&[0x99, 0x01, 0x0d, 0x04, 0xff, 0x00], ""),
        (&[0xc6, 0xff, 0xff, 0xff, 0xff, 0xff], ""),
        (
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64 at all!\n-----END PGP PUBLIC KEY BLOCK-----\n",
            "",
        ),
    ];
    for (bytes, expected) in cases {
        let why = invalid_error(Keyring::from_bytes(bytes, "garbage.gpg"), "garbage.gpg");
        assert!(why.contains(expected), "{why}");
    }
    let armored = key().public_armored();
    let truncated = &armored[..armored.len() / 2];
    invalid_error(
        Keyring::from_bytes(truncated.as_bytes(), "half.asc"),
        "half.asc",
    );
    let missing = Keyring::load("/nonexistent/keyring.gpg");
    assert!(matches!(missing, Err(Error::Io { .. })), "{missing:?}");
}

#[test]
fn broken_secret_keys_are_refused() {
    let public = key().public_armored();
    let why = invalid_error(SigningKey::from_armored(&public, "pub.asc"), "pub.asc");
    assert!(why.starts_with("secret key"), "{why}");
    let secret = key().to_armored();
    let half = &secret[..secret.len() / 2];
    invalid_error(SigningKey::from_armored(half, "half.asc"), "half.asc");
    invalid_error(SigningKey::from_armored("", "empty.asc"), "empty.asc");
    let future = SystemTime::now() + Duration::from_secs(3600);
    invalid_error(
        SigningKey::generate("x <x@example.org>", future),
        "new signing key",
    );
}

#[test]
fn signatures_by_other_keys_are_refused() {
    let (inrelease, detached) = signed();
    let created = SystemTime::now() - Duration::from_secs(60);
    let other = SigningKey::generate("other <o@example.org>", created).unwrap();
    let keyring = Keyring::from_bytes(other.public_armored().as_bytes(), "other.asc").unwrap();
    let expected = format!("signed by unknown key {}", key().fingerprint());
    let why = signature_error(
        keyring.verify_clearsigned(&inrelease, "InRelease"),
        "InRelease",
    );
    assert_eq!(why, expected);
    let why = signature_error(
        keyring.verify_detached(TEXT.as_bytes(), detached.as_bytes(), "Release"),
        "Release",
    );
    assert_eq!(why, expected);
    // Both keys in one armored file: the signature is found.
    let both = format!("{}{}", other.public_armored(), key().public_armored());
    let keyring = Keyring::from_bytes(both.as_bytes(), "both.asc").unwrap();
    assert_eq!(keyring.fingerprints().len(), 2);
    assert_eq!(
        keyring.verify_clearsigned(&inrelease, "InRelease").unwrap(),
        TEXT
    );
}
