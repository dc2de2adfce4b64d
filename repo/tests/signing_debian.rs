//! The machine's real Debian `InRelease` files against Debian's keyrings:
//! archive keys that sign with subkeys, several signatures per file, EdDSA
//! release keys, binary and armored keyrings.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use pig_repo::Error;
use pig_repo::signing::{Keyring, SigningKey};

const LISTS: &str = "/var/lib/apt/lists";
const ARCHIVE_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
const TRUSTED_PARTS: &str = "/etc/apt/trusted.gpg.d";

fn inrelease_files() -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(LISTS) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with("_InRelease"))
        .collect();
    files.sort();
    files
}

#[test]
fn debian_inrelease_files_verify_against_the_archive_keyring() {
    let files = inrelease_files();
    if files.is_empty() || !Path::new(ARCHIVE_KEYRING).exists() {
        eprintln!("skipping: no {LISTS}/*_InRelease or no {ARCHIVE_KEYRING} (run apt-get update)");
        return;
    }
    let start = Instant::now();
    let keyring = Keyring::load(ARCHIVE_KEYRING).unwrap();
    eprintln!(
        "loaded {} certificates from {ARCHIVE_KEYRING} in {:?}",
        keyring.fingerprints().len(),
        start.elapsed()
    );
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        let start = Instant::now();
        let body = keyring
            .verify_clearsigned(&text, &file.display().to_string())
            .unwrap();
        eprintln!(
            "{}: {} bytes verified in {:?}",
            file.display(),
            text.len(),
            start.elapsed()
        );
        assert!(body.starts_with("Origin: Debian"), "{}", file.display());
        assert!(body.contains("\nSHA256:\n"), "{}", file.display());
        assert!(!body.contains("-----BEGIN PGP"), "{}", file.display());
        // The body is the signed text as a Release file: every line ended.
        assert!(body.ends_with('\n') && !body.ends_with("\n\n"));
    }
}

#[test]
fn debian_inrelease_files_verify_against_the_armored_trusted_parts() {
    let files = inrelease_files();
    let Ok(entries) = fs::read_dir(TRUSTED_PARTS) else {
        eprintln!("skipping: no {TRUSTED_PARTS}");
        return;
    };
    // All `.asc` files concatenated: one keyring of many armor blocks.
    let mut armored = String::new();
    let mut parts: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "asc"))
        .collect();
    parts.sort();
    for part in &parts {
        armored.push_str(&fs::read_to_string(part).unwrap());
    }
    if files.is_empty() || parts.is_empty() {
        eprintln!("skipping: no InRelease files or no armored keys in {TRUSTED_PARTS}");
        return;
    }
    let keyring = Keyring::from_bytes(armored.as_bytes(), TRUSTED_PARTS).unwrap();
    assert_eq!(keyring.fingerprints().len(), parts.len());
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        keyring
            .verify_clearsigned(&text, &file.display().to_string())
            .unwrap();
    }
}

#[test]
fn debian_inrelease_files_name_their_unknown_signers() {
    let Some(file) = inrelease_files().into_iter().next() else {
        eprintln!("skipping: no {LISTS}/*_InRelease");
        return;
    };
    let created = SystemTime::now() - Duration::from_secs(60);
    let stranger = SigningKey::generate("stranger <s@example.org>", created).unwrap();
    let keyring =
        Keyring::from_bytes(stranger.public_armored().as_bytes(), "stranger.asc").unwrap();
    let text = fs::read_to_string(&file).unwrap();
    match keyring.verify_clearsigned(&text, &file.display().to_string()) {
        Err(Error::Signature { input, message }) => {
            assert_eq!(input, file.display().to_string());
            assert!(message.contains("signed by unknown key "), "{message}");
            // One reason per signature, each naming a 40-digit fingerprint.
            for reason in message.split("; ") {
                let fpr = reason.trim_start_matches("signed by unknown key ");
                assert_eq!(fpr.len(), 40, "{reason}");
                assert!(fpr.chars().all(|c| c.is_ascii_hexdigit()), "{reason}");
            }
        }
        other => panic!("expected an unknown-key error, got {other:?}"),
    }
}

#[test]
fn every_system_keyring_loads() {
    let Ok(entries) = fs::read_dir("/usr/share/keyrings") else {
        eprintln!("skipping: no /usr/share/keyrings");
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let keyring = Keyring::load(&path).unwrap();
        eprintln!(
            "{}: {} certificates",
            path.display(),
            keyring.fingerprints().len()
        );
        assert!(!keyring.fingerprints().is_empty());
    }
}
