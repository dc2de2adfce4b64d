//! The seed area: a fixed-size file reserved inside an ISO so that a seed
//! can be put into a built image in place, without remastering it.
//!
//! The area is the file [`ISO_PATH`]; its bytes (magic, length, sha256,
//! seed) are [`pig_repo::seed_area`]'s, shared with pig-install, which
//! reads them on the node.
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

pub use pig_repo::seed_area::{
    AREA_BYTES, HEADER_BYTES, ISO_PATH, LIVE_MEDIUM_PATH, MAGIC, MAX_SEED_BYTES, decode, encode,
};

use crate::error::{Error, IoContext, Result};
use crate::iso9660;

/// The seed in the area file at `path` (on a node,
/// [`LIVE_MEDIUM_PATH`]), `None` for an empty area.
pub fn read_area_file(path: &Path) -> Result<Option<String>> {
    let mut area = Vec::with_capacity(AREA_BYTES);
    fs::File::open(path)
        .at(path)?
        .take(AREA_BYTES as u64)
        .read_to_end(&mut area)
        .at(path)?;
    Ok(decode(&area, &path.display().to_string())?)
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
