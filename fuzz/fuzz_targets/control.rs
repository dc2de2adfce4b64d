//! deb822 paragraphs: parsing never panics, and what parses writes back to
//! text that parses to the same fields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pig_repo::deb::control;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(paragraphs) = control::parse(text, "fuzz") {
        let again = control::parse(&control::write(&paragraphs), "again")
            .expect("written paragraphs parse");
        assert_eq!(again.len(), paragraphs.len());
        for (a, b) in again.iter().zip(&paragraphs) {
            let names = |p: &control::Paragraph| {
                p.fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>()
            };
            assert_eq!(names(a), names(b));
        }
    }
});
