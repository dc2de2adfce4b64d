#![no_main]
//! rpmvercmp and Evr on arbitrary strings: no panics, and the comparison
//! is antisymmetric and reflexive.

use libfuzzer_sys::fuzz_target;
use pig_repo::rpm::version::{Evr, rpmvercmp};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (a, b) = text.split_once('\n').unwrap_or((&text, ""));
    assert_eq!(rpmvercmp(a, b), rpmvercmp(b, a).reverse());
    assert_eq!(rpmvercmp(a, a), std::cmp::Ordering::Equal);
    if let (Ok(x), Ok(y)) = (Evr::parse(a), Evr::parse(b)) {
        assert_eq!(x.compare(&y), y.compare(&x).reverse());
        let _ = x.to_string();
    }
});
