#![no_main]
//! The repodata reader on arbitrary repomd.xml and primary.xml: errors,
//! never panics.

use libfuzzer_sys::fuzz_target;
use pig_repo::rpm::repodata::RepodataReader;

fuzz_target!(|data: &[u8]| {
    let Ok(tmp) = tempfile_dir() else { return };
    let repodata = tmp.join("repodata");
    let (repomd, primary) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (
            &b"<repomd><data type=\"primary\"><checksum type=\"sha256\">0</checksum><location href=\"repodata/primary.xml\"/><size>0</size></data></repomd>"[..],
            data,
        ),
    };
    if std::fs::create_dir_all(&repodata).is_err()
        || std::fs::write(repodata.join("repomd.xml"), repomd).is_err()
        || std::fs::write(repodata.join("primary.xml"), primary).is_err()
    {
        return;
    }
    if let Ok(reader) = RepodataReader::open(&tmp) {
        let _ = reader.verify_all();
        if let Ok(packages) = reader.packages() {
            for p in packages.take(1000) {
                let _ = p;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
});

/// A per-process scratch directory (libFuzzer runs inputs one at a time).
fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("pig-fuzz-repodata-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
