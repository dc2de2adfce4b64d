#![no_main]
//! read_rpm_from on arbitrary bytes: an error or a result, never a panic.

use libfuzzer_sys::fuzz_target;
use pig_repo::rpm::header::read_rpm_from;

fuzz_target!(|data: &[u8]| {
    let _ = read_rpm_from(data, "fuzz.rpm");
});
