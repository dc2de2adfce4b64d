//! Relation parsing never panics, and whatever parses writes out in a form
//! that parses back to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pig_repo::deb::relation::Relations;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = Relations::parse(text) {
        let written = parsed.to_string();
        let again = Relations::parse(&written).expect("written relations re-parse");
        assert_eq!(again, parsed);
    }
});
