//! Compression of index files: gzip, xz and zstd, chosen by file name or
//! detected from magic bytes. Writers are deterministic: gzip members carry
//! no name and mtime 0, so the same input always gives the same bytes.

use std::io::{self, Read, Write};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    None,
    Gzip,
    Xz,
    Zstd,
}

impl Compression {
    /// From a file name's extension (`.gz`, `.xz`, `.zst`); anything else is `None`.
    pub fn from_path(path: impl AsRef<Path>) -> Self {
        match path.as_ref().extension().and_then(|e| e.to_str()) {
            Some("gz") => Compression::Gzip,
            Some("xz") => Compression::Xz,
            Some("zst" | "zstd") => Compression::Zstd,
            _ => Compression::None,
        }
    }

    /// From the first bytes of a stream.
    pub fn detect(magic: &[u8]) -> Self {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Compression::Xz
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// The file name extension, with its dot (empty for `None`).
    pub fn extension(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Xz => ".xz",
            Compression::Zstd => ".zst",
        }
    }

    /// A reader that decompresses `inner`.
    pub fn reader<'a, R: Read + 'a>(self, inner: R) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Compression::None => Box::new(inner),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(inner)),
            Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(inner)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(inner)?),
        })
    }

    /// Compress a whole buffer, deterministically.
    pub fn compress(self, data: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(data.len() / 4 + 64);
        match self {
            Compression::None => out.extend_from_slice(data),
            Compression::Gzip => {
                let mut enc = flate2::GzBuilder::new()
                    .mtime(0)
                    .write(&mut out, flate2::Compression::best());
                enc.write_all(data)?;
                enc.finish()?;
            }
            Compression::Xz => {
                let mut enc = liblzma::write::XzEncoder::new(&mut out, 6);
                enc.write_all(data)?;
                enc.finish()?;
            }
            Compression::Zstd => {
                out = zstd::stream::encode_all(data, 19)?;
            }
        }
        Ok(out)
    }
}

/// Decompress a whole buffer whose format is detected from its magic bytes.
pub fn decompress_auto(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    Compression::detect(data)
        .reader(data)?
        .read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_format() {
        let data = b"Package: pig\nVersion: 1.0\n\n".repeat(50);
        for c in [
            Compression::None,
            Compression::Gzip,
            Compression::Xz,
            Compression::Zstd,
        ] {
            let packed = c.compress(&data).unwrap();
            assert_eq!(Compression::detect(&packed), c, "{c:?}");
            assert_eq!(decompress_auto(&packed).unwrap(), data, "{c:?}");
        }
    }

    #[test]
    fn gzip_is_deterministic() {
        let a = Compression::Gzip.compress(b"same").unwrap();
        let b = Compression::Gzip.compress(b"same").unwrap();
        assert_eq!(a, b);
        // mtime field (bytes 4..8) is zero.
        assert_eq!(&a[4..8], &[0, 0, 0, 0]);
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let packed = Compression::Xz.compress(b"hello world").unwrap();
        assert!(decompress_auto(&packed[..packed.len() / 2]).is_err());
    }
}
