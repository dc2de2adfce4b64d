//! OpenPGP signing and verification for repository metadata.
//!
//! [`SigningKey`] makes the signatures a bundle's repository carries
//! (`InRelease`, `Release.gpg`, `repomd.xml.asc`); [`Keyring`] checks the
//! signatures of upstream metadata against the keys a recipe trusts.
//!
//! The key-validity policy is ours, because rPGP leaves it to the caller:
//! a data signature counts only if it uses a strong hash (no MD5, SHA-1 or
//! RIPEMD-160), was not made further in the future than [`CLOCK_SKEW`], and
//! comes from a key — primary or subkey bound to it with a valid binding and
//! back-signature — that is signing-capable, not revoked and not expired.

mod cleartext;
mod key;
mod keyring;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pgp::crypto::hash::HashAlgorithm;
use pgp::types::Timestamp;

pub use key::SigningKey;
pub use keyring::Keyring;

/// How far in the future a signature's creation time may lie before it is
/// refused: covers clocks that disagree a little between the signing and
/// the verifying machine.
pub const CLOCK_SKEW: Duration = Duration::from_secs(10 * 60);

/// Hashes accepted in signatures, self-signatures and bindings. MD5, SHA-1
/// and RIPEMD-160 have practical collision attacks (or are close to them),
/// and EL9 and apt refuse them too.
fn strong_hash(hash: HashAlgorithm) -> bool {
    matches!(
        hash,
        HashAlgorithm::Sha224
            | HashAlgorithm::Sha256
            | HashAlgorithm::Sha384
            | HashAlgorithm::Sha512
            | HashAlgorithm::Sha3_256
            | HashAlgorithm::Sha3_512
    )
}

/// Seconds since the epoch, or `None` for times OpenPGP cannot hold
/// (before 1970 or after 2106).
fn unix_seconds(time: SystemTime) -> Option<u32> {
    let secs = time.duration_since(UNIX_EPOCH).ok()?.as_secs();
    u32::try_from(secs).ok()
}

fn timestamp(time: SystemTime) -> Option<Timestamp> {
    unix_seconds(time).map(Timestamp::from_secs)
}

/// A time for messages: `2025-05-20 08:14:03 UTC`.
fn show_time(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{secs} seconds after the epoch"))
}
