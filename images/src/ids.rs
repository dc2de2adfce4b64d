//! Every identifier in an image (disk GUID, partition GUIDs, file-system
//! UUIDs, the ext4 hash seed, the FAT serial) derived from one seed value,
//! so the same seed gives the same image and different seeds give disks
//! that can sit side by side.

use sha2::{Digest, Sha256};

/// 16 bytes for `purpose`, drawn from `seed`.
fn bytes(seed: &str, purpose: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"pig-images\0");
    h.update(seed.as_bytes());
    h.update(b"\0");
    h.update(purpose.as_bytes());
    h.finalize().into()
}

/// A random-form (version 4, RFC 4122 variant) UUID for `purpose`, in the
/// lowercase 8-4-4-4-12 form the tools take.
pub fn uuid(seed: &str, purpose: &str) -> String {
    let mut b = bytes(seed, purpose);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(&b[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A FAT volume serial for `purpose`, as the 8 hex digits mkfs.vfat takes.
pub fn fat_serial(seed: &str, purpose: &str) -> String {
    hex::encode(&bytes(seed, purpose)[..4])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_stable_distinct_and_well_formed() {
        let a = uuid("s", "root");
        assert_eq!(a, uuid("s", "root"));
        assert_ne!(a, uuid("s", "esp"));
        assert_ne!(a, uuid("t", "root"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(fat_serial("s", "esp").len(), 8);
    }
}
