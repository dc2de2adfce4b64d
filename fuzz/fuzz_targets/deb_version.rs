//! Version parsing never panics, and comparison is a total order that
//! `compare` on the raw strings agrees with.

#![no_main]

use std::cmp::Ordering;

use libfuzzer_sys::fuzz_target;
use pig_repo::deb::version::{Version, compare};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let fixed: Version = "1:2.0~rc1-3+b1".parse().expect("fixed version parses");
    // Raw comparison accepts anything, valid or not.
    assert_eq!(compare(text, text), Ordering::Equal);
    let raw = compare(text, fixed.as_str());
    assert_eq!(compare(fixed.as_str(), text), raw.reverse());
    if let Ok(v) = text.parse::<Version>() {
        assert_eq!(v.cmp(&v), Ordering::Equal);
        assert_eq!(v.cmp(&fixed), raw);
        assert_eq!(fixed.cmp(&v), raw.reverse());
        let again: Version = v.to_string().parse().expect("written version re-parses");
        assert_eq!(again, v);
    }
});
