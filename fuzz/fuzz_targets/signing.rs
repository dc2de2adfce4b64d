//! Keyrings, clearsigned messages and detached signatures from arbitrary
//! bytes: every outcome must be a value or an error, never a panic.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use pig_repo::signing::{Keyring, SigningKey};

/// A real key, so that inputs carrying its signatures reach the checks
/// after issuer lookup.
fn keyring() -> &'static Keyring {
    static KEYRING: OnceLock<Keyring> = OnceLock::new();
    KEYRING.get_or_init(|| {
        let created = SystemTime::now() - Duration::from_secs(3600);
        let key = SigningKey::generate("fuzz <fuzz@example.org>", created)
            .expect("key generation");
        Keyring::from_bytes(key.public_armored().as_bytes(), "fuzz.asc").expect("own key")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = Keyring::from_bytes(data, "fuzz") {
        let _ = parsed.fingerprints();
    }
    let _ = keyring().verify_detached(b"Origin: pig\n", data, "fuzz");
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = keyring().verify_clearsigned(text, "fuzz");
        let _ = SigningKey::from_armored(text, "fuzz");
    }
});
