//! `Packages` stanzas from arbitrary bytes: errors, never panics; entries
//! that read write back to text that reads again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pig_repo::deb::packages::{PackagesReader, write_packages};

fuzz_target!(|data: &[u8]| {
    let mut paragraphs = Vec::new();
    for entry in PackagesReader::new(data, "fuzz") {
        match entry {
            Ok(e) => paragraphs.push(e.into_paragraph()),
            Err(_) => return,
        }
    }
    let text = write_packages(&paragraphs);
    let again = PackagesReader::new(text.as_bytes(), "again").count();
    assert_eq!(again, paragraphs.len());
});
