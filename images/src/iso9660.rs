//! Just enough ISO 9660 to find where a file's bytes sit in an image: the
//! primary volume descriptor, its root directory record, and directory
//! extents walked by name. ISO 9660 stores each file (below 4 GiB) as one
//! contiguous extent, so a file found here can be rewritten in place.
//!
//! Input is untrusted: every read is bounds-checked, and a malformed image
//! is an error naming the input and the byte offset.

use std::io::{Read, Seek, SeekFrom};

use crate::error::{Error, Result};

/// ISO 9660 sectors are 2 KiB; volume descriptors start at sector 16.
const SECTOR: u64 = 2048;
const FIRST_DESCRIPTOR: u64 = 16;
/// Descriptors read before giving up on finding the primary one.
const MAX_DESCRIPTORS: u64 = 32;
/// Offset of the root directory record in the primary volume descriptor.
const ROOT_RECORD: usize = 156;
/// Directories larger than this are not from a pig image.
const MAX_DIR_BYTES: u32 = 16 << 20;

/// Where a file's data lies in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// Byte offset from the start of the image.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// A directory record's extent and whether it is a directory.
#[derive(Debug, Clone, Copy)]
struct Record {
    extent: Extent,
    is_dir: bool,
}

/// Find the file at `path` (absolute, `/`-separated) in the ISO image
/// `image` (read from `input`). Names match the primary (ISO 9660) tree
/// case-insensitively, ignoring the `;1` version suffix.
pub fn find_file<R: Read + Seek>(image: &mut R, path: &str, input: &str) -> Result<Extent> {
    let mut record = root_record(image, input)?;
    let names: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for (i, name) in names.iter().enumerate() {
        if !record.is_dir {
            return Err(Error::invalid(
                input,
                path,
                format!("{} is not a directory", names[..i].join("/")),
            ));
        }
        let dir = read_at(image, record.extent.offset, record.extent.len, input)?;
        record = lookup(&dir, name, record.extent.offset, input)?
            .ok_or_else(|| Error::invalid(input, path, format!("no {name:?} in the image")))?;
    }
    if record.is_dir {
        return Err(Error::invalid(input, path, "is a directory"));
    }
    Ok(record.extent)
}

/// The root directory record of the primary volume descriptor.
fn root_record<R: Read + Seek>(image: &mut R, input: &str) -> Result<Record> {
    for n in FIRST_DESCRIPTOR..FIRST_DESCRIPTOR + MAX_DESCRIPTORS {
        let offset = n * SECTOR;
        let desc = read_at(image, offset, SECTOR, input)?;
        if desc.get(1..6) != Some(b"CD001".as_slice()) {
            return Err(Error::invalid(
                input,
                format!("byte {offset}"),
                "no ISO 9660 volume descriptor",
            ));
        }
        match desc.first() {
            Some(1) => {
                let raw = desc.get(ROOT_RECORD..ROOT_RECORD + 34).unwrap_or_default();
                return parse_record(raw, offset + ROOT_RECORD as u64, input)
                    .map(|(record, _)| record);
            }
            Some(255) => break,
            _ => {}
        }
    }
    Err(Error::invalid(
        input,
        "volume descriptors",
        "no primary volume descriptor",
    ))
}

/// The entry called `name` in the directory extent `dir`, read from byte
/// `base` of the image.
fn lookup(dir: &[u8], name: &str, base: u64, input: &str) -> Result<Option<Record>> {
    let mut pos = 0usize;
    while pos < dir.len() {
        let len = dir.get(pos).copied().unwrap_or(0) as usize;
        if len == 0 {
            // Records do not cross sectors: the rest of this one is padding.
            pos = (pos / SECTOR as usize + 1) * SECTOR as usize;
            continue;
        }
        let raw = dir.get(pos..pos + len).ok_or_else(|| {
            Error::invalid(
                input,
                format!("byte {}", base + pos as u64),
                "directory record runs past its directory",
            )
        })?;
        let (record, id) = parse_record(raw, base + pos as u64, input)?;
        let id = id.split(|&b| b == b';').next().unwrap_or_default();
        let id = id.strip_suffix(b".").unwrap_or(id);
        if id.eq_ignore_ascii_case(name.as_bytes()) {
            return Ok(Some(record));
        }
        pos += len;
    }
    Ok(None)
}

/// A directory record and its file identifier.
fn parse_record<'a>(raw: &'a [u8], at: u64, input: &str) -> Result<(Record, &'a [u8])> {
    let bad = || {
        Error::invalid(
            input,
            format!("byte {at}"),
            "truncated ISO 9660 directory record",
        )
    };
    let u32_at = |i: usize| -> Result<u32> {
        raw.get(i..i + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or_else(bad)
    };
    let lba = u32_at(2)?;
    let len = u32_at(10)?;
    let flags = *raw.get(25).ok_or_else(bad)?;
    let id_len = *raw.get(32).ok_or_else(bad)? as usize;
    let id = raw.get(33..33 + id_len).ok_or_else(bad)?;
    Ok((
        Record {
            extent: Extent {
                offset: u64::from(lba) * SECTOR,
                len: u64::from(len),
            },
            is_dir: flags & 2 != 0,
        },
        id,
    ))
}

/// `len` bytes at `offset`; directories are capped at [`MAX_DIR_BYTES`].
fn read_at<R: Read + Seek>(image: &mut R, offset: u64, len: u64, input: &str) -> Result<Vec<u8>> {
    if len > u64::from(MAX_DIR_BYTES) {
        return Err(Error::invalid(
            input,
            format!("byte {offset}"),
            format!("directory of {len} bytes is implausibly large"),
        ));
    }
    let io = |e: std::io::Error| Error::invalid(input, format!("byte {offset}"), e);
    image.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut buf = vec![0u8; len as usize];
    image.read_exact(&mut buf).map_err(io)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A directory record for `id` at sector `lba`, `len` bytes.
    fn record(id: &[u8], lba: u32, len: u32, dir: bool) -> Vec<u8> {
        let mut r = vec![0u8; 33];
        r[2..6].copy_from_slice(&lba.to_le_bytes());
        r[6..10].copy_from_slice(&lba.to_be_bytes());
        r[10..14].copy_from_slice(&len.to_le_bytes());
        r[14..18].copy_from_slice(&len.to_be_bytes());
        r[25] = if dir { 2 } else { 0 };
        r[32] = id.len() as u8;
        r.extend_from_slice(id);
        if r.len() % 2 == 1 {
            r.push(0);
        }
        r[0] = r.len() as u8;
        r
    }

    /// An image with /PIG/SEED.IMG;1 (3 bytes at sector 22).
    fn image() -> Vec<u8> {
        let mut img = vec![0u8; 23 * 2048];
        let pvd = 16 * 2048;
        img[pvd] = 1;
        img[pvd + 1..pvd + 6].copy_from_slice(b"CD001");
        let root = record(b"\0", 20, 2048, true);
        img[pvd + ROOT_RECORD..pvd + ROOT_RECORD + root.len()].copy_from_slice(&root);
        let term = 17 * 2048;
        img[term] = 255;
        img[term + 1..term + 6].copy_from_slice(b"CD001");
        let mut root_dir = record(b"\0", 20, 2048, true);
        root_dir.extend(record(b"\x01", 20, 2048, true));
        root_dir.extend(record(b"BOOT", 19, 2048, true));
        root_dir.extend(record(b"PIG", 21, 2048, true));
        img[20 * 2048..20 * 2048 + root_dir.len()].copy_from_slice(&root_dir);
        let pig = record(b"SEED.IMG;1", 22, 3, false);
        img[21 * 2048..21 * 2048 + pig.len()].copy_from_slice(&pig);
        img[22 * 2048..22 * 2048 + 3].copy_from_slice(b"abc");
        img
    }

    #[test]
    fn finds_a_file_by_path() {
        let e = find_file(&mut Cursor::new(image()), "/pig/seed.img", "t.iso").unwrap();
        assert_eq!(
            e,
            Extent {
                offset: 22 * 2048,
                len: 3
            }
        );
    }

    #[test]
    fn missing_names_and_malformed_images_are_errors() {
        let err = find_file(&mut Cursor::new(image()), "/pig/other", "t.iso").unwrap_err();
        assert!(err.to_string().starts_with("t.iso: /pig/other"), "{err}");
        assert!(find_file(&mut Cursor::new(image()), "/pig", "t.iso").is_err());
        assert!(find_file(&mut Cursor::new(vec![0u8; 4096]), "/pig", "t.iso").is_err());
        let mut img = image();
        img[21 * 2048] = 200; // a record longer than what is left of it
        img[21 * 2048 + 1900] = 0;
        let short = &img[..21 * 2048 + 100];
        assert!(find_file(&mut Cursor::new(short.to_vec()), "/pig/seed.img", "t").is_err());
        let mut cut = image();
        cut.truncate(17 * 2048);
        assert!(find_file(&mut Cursor::new(cut), "/pig/seed.img", "t").is_err());
    }
}
