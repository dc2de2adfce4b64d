//! pgBouncer's side of the wire, as pig-install's exporter reads it:
//! errors, never panics, whatever the server sends.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pig_install::exporter::pgwire;

fuzz_target!(|data: &[u8]| {
    let mut stream = data;
    if pgwire::read_startup(&mut stream).is_ok() {
        while !stream.is_empty() {
            if pgwire::read_query_result(&mut stream).is_err() {
                break;
            }
        }
    }
    let _ = pgwire::read_query_result(&mut &data[..]);
});
