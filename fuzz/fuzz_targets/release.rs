//! `Release` parsing: errors, never panics; what parses writes back to the
//! same files and fields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pig_repo::deb::release::{HashKind, Release};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(release) = Release::parse(text, "fuzz") {
        let _ = release.verify_file("main/Packages", data, "fuzz");
        let _ = release.by_hash_paths();
        let again = Release::parse(&release.write(&HashKind::ALL), "again")
            .expect("written Release parses");
        assert_eq!(again.files, release.files);
    }
});
