//! The seed area's bytes: a fixed-size block reserved in a pig ISO so that
//! a node seed can be written into a built image in place.
//!
//! Layout ([`AREA_BYTES`] long): the magic `PIGSEED1`, the seed's length as
//! a little-endian u64, the seed's sha256 (32 bytes), the seed (YAML), then
//! zeros. A length of zero is an empty area: an image without a seed.
//! pig-images writes areas into ISOs; pig-install reads them on a node
//! booted from one. Pure bytes: no files here.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The magic that starts every seed area.
pub const MAGIC: &[u8; 8] = b"PIGSEED1";
/// The size of the area, header included.
pub const AREA_BYTES: usize = 1 << 20;
/// Magic, length, sha256.
pub const HEADER_BYTES: usize = 8 + 8 + 32;
/// The largest seed an area holds.
pub const MAX_SEED_BYTES: usize = AREA_BYTES - HEADER_BYTES;
/// Where the area sits inside the ISO file system.
pub const ISO_PATH: &str = "/pig/seed.img";
/// Where a node booted from the ISO finds the area (live-boot's mount of
/// the boot medium).
pub const LIVE_MEDIUM_PATH: &str = "/run/live/medium/pig/seed.img";

/// The bytes of an area holding `seed`, or an empty area for `None`.
/// A seed larger than [`MAX_SEED_BYTES`] is an error.
pub fn encode(seed: Option<&[u8]>) -> Result<Vec<u8>> {
    let seed = seed.unwrap_or_default();
    if seed.len() > MAX_SEED_BYTES {
        return Err(Error::invalid(
            "seed",
            "size",
            format!(
                "{} bytes; the seed area holds at most {MAX_SEED_BYTES}",
                seed.len()
            ),
        ));
    }
    let mut area = Vec::with_capacity(AREA_BYTES);
    area.extend_from_slice(MAGIC);
    area.extend_from_slice(&(seed.len() as u64).to_le_bytes());
    area.extend_from_slice(&Sha256::digest(seed));
    area.extend_from_slice(seed);
    area.resize(AREA_BYTES, 0);
    Ok(area)
}

/// The seed in `area` (read from `input`), `None` for an empty area.
/// A wrong magic, a length beyond the area, a digest mismatch or a seed
/// that is not UTF-8 is an error naming `input`.
pub fn decode(area: &[u8], input: &str) -> Result<Option<String>> {
    let bad = |place: &str, message: String| Error::invalid(input, place, message);
    if area.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
        return Err(bad("offset 0", "no PIGSEED1 magic: not a seed area".into()));
    }
    let len_bytes: [u8; 8] = area
        .get(8..16)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("offset 8", "truncated header".into()))?;
    let digest = area
        .get(16..HEADER_BYTES)
        .ok_or_else(|| bad("offset 16", "truncated header".into()))?;
    let len = u64::from_le_bytes(len_bytes);
    if len == 0 {
        return Ok(None);
    }
    let seed = usize::try_from(len)
        .ok()
        .and_then(|n| area.get(HEADER_BYTES..HEADER_BYTES.checked_add(n)?))
        .ok_or_else(|| {
            bad(
                "offset 8",
                format!(
                    "seed length {len} runs past the area's {} bytes",
                    area.len()
                ),
            )
        })?;
    if Sha256::digest(seed).as_slice() != digest {
        return Err(bad(
            "offset 16",
            "sha256 does not match the seed: the area is corrupt".into(),
        ));
    }
    let text = std::str::from_utf8(seed)
        .map_err(|e| bad(&format!("offset {HEADER_BYTES}"), format!("seed: {e}")))?;
    Ok(Some(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_empty_area() {
        let area = encode(Some(b"all:\n  vars: {}\n")).unwrap();
        assert_eq!(area.len(), AREA_BYTES);
        assert_eq!(
            decode(&area, "a").unwrap().as_deref(),
            Some("all:\n  vars: {}\n")
        );
        assert_eq!(decode(&encode(None).unwrap(), "a").unwrap(), None);
        let full = vec![b'x'; MAX_SEED_BYTES];
        assert_eq!(
            decode(&encode(Some(&full)).unwrap(), "a")
                .unwrap()
                .unwrap()
                .len(),
            MAX_SEED_BYTES
        );
    }

    #[test]
    fn too_large_seed_is_refused() {
        let err = encode(Some(&vec![b'x'; MAX_SEED_BYTES + 1])).unwrap_err();
        assert!(err.to_string().contains("at most"), "{err}");
    }

    #[test]
    fn truncated_and_corrupt_areas_are_errors_naming_the_input() {
        let area = encode(Some(b"seed: 1\n")).unwrap();
        for (case, bytes) in [
            ("empty", Vec::new()),
            ("magic only", area[..8].to_vec()),
            ("header cut", area[..20].to_vec()),
            ("seed cut", area[..HEADER_BYTES + 3].to_vec()),
        ] {
            let err = decode(&bytes, "m.img").unwrap_err().to_string();
            assert!(err.starts_with("m.img: "), "{case}: {err}");
        }
        let mut flipped = area.clone();
        flipped[HEADER_BYTES] ^= 1;
        let err = decode(&flipped, "m.img").unwrap_err().to_string();
        assert!(err.contains("sha256"), "{err}");
        let mut huge = area.clone();
        huge[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        let err = decode(&huge, "m.img").unwrap_err().to_string();
        assert!(err.contains("runs past"), "{err}");
        let mut magic = area;
        magic[0] = b'X';
        assert!(
            decode(&magic, "m.img")
                .unwrap_err()
                .to_string()
                .contains("magic")
        );
    }
}
