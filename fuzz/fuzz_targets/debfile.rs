//! `.deb` reading from arbitrary bytes: an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pig_repo::deb::debfile::read_deb_from;

fuzz_target!(|data: &[u8]| {
    let _ = read_deb_from(data, "fuzz.deb");
});
