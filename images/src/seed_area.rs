//! The seed area: a fixed-size file reserved inside an ISO so that a seed
//! can be put into a built image in place, without remastering it.
//!
//! Layout (all of it is the file [`ISO_PATH`], [`AREA_BYTES`] long):
//! the magic `PIGSEED1`, the seed's length as a little-endian u64, the
//! seed's sha256 (32 bytes), the seed (YAML), then zeros. A length of zero
//! is an empty area: an image without a seed.
//!
//! ISO 9660 stores a file as one contiguous extent, so [`customize`] finds
//! the area through the file system's directory records
//! ([`crate::iso9660`]), checks that it holds a seed area, and rewrites
//! those bytes in a copy of the image. On a node booted from the ISO,
//! live-boot mounts the medium at `/run/live/medium`, where
//! [`read_area_file`] reads the seed from [`LIVE_MEDIUM_PATH`].

use std::fs;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::iso9660;

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

/// The seed in the area file at `path` (on a node,
/// [`LIVE_MEDIUM_PATH`]), `None` for an empty area.
pub fn read_area_file(path: &Path) -> Result<Option<String>> {
    let mut area = Vec::with_capacity(AREA_BYTES);
    fs::File::open(path)
        .at(path)?
        .take(AREA_BYTES as u64)
        .read_to_end(&mut area)
        .at(path)?;
    decode(&area, &path.display().to_string())
}

/// Write a copy of the ISO `iso_in` to `iso_out` with `seed` in its seed
/// area. Only the area's bytes change; the copy is made beside `iso_out`
/// and renamed into place, so a failure leaves `iso_out` as it was (and
/// `iso_in` may be `iso_out`).
pub fn customize(iso_in: &Path, seed: &[u8], iso_out: &Path) -> Result<()> {
    let area = encode(Some(seed))?;
    let extent = {
        let mut f = fs::File::open(iso_in).at(iso_in)?;
        iso9660::find_file(&mut f, ISO_PATH, &iso_in.display().to_string())?
    };
    let place = format!("{ISO_PATH} at byte {}", extent.offset);
    if extent.len != AREA_BYTES as u64 {
        return Err(Error::invalid(
            iso_in.display(),
            place,
            format!(
                "{} bytes; a seed area is {AREA_BYTES}: not an ISO made by pig-images",
                extent.len
            ),
        ));
    }
    let parent = iso_out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".pig-customize-")
        .tempfile_in(parent)
        .at(parent)?;
    let tmp_path = tmp.path().to_path_buf();
    let mut input = fs::File::open(iso_in).at(iso_in)?;
    std::io::copy(&mut input, tmp.as_file_mut()).at(&tmp_path)?;
    let f = tmp.as_file_mut();
    let mut current = vec![0u8; AREA_BYTES];
    f.seek(SeekFrom::Start(extent.offset)).at(iso_in)?;
    f.read_exact(&mut current).at(iso_in)?;
    // Refuse before writing anything if the extent is not a seed area
    // (a corrupt one may be overwritten: that is what customize is for).
    if current.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
        return Err(Error::invalid(
            iso_in.display(),
            place,
            "no PIGSEED1 magic: not a seed area",
        ));
    }
    f.seek(SeekFrom::Start(extent.offset)).at(&tmp_path)?;
    f.write_all(&area).at(&tmp_path)?;
    f.sync_all().at(&tmp_path)?;
    let perms = fs::metadata(iso_in).at(iso_in)?.permissions();
    fs::set_permissions(tmp.path(), perms).at(tmp.path())?;
    tmp.persist(iso_out)
        .map_err(|e| Error::io(iso_out, e.error))?;
    Ok(())
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
