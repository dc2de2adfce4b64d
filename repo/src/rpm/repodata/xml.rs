//! XML escaping exactly as libxml2 serialises createrepo_c's trees: text
//! keeps UTF-8 as is; attributes turn non-ASCII into hexadecimal character
//! references and whitespace controls into decimal ones. Other control
//! characters cannot appear in XML 1.0 at all and are dropped.

use std::fmt::Write as _;

/// Escape element text.
pub(crate) fn text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
}

/// Escape an attribute value (without the surrounding quotes).
pub(crate) fn attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 => {}
            c if c.is_ascii() => out.push(c),
            c => {
                let _ = write!(out, "&#x{:X};", c as u32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_like_libxml2() {
        let mut t = String::new();
        super::text(&mut t, "a<b>&\"c\" é\r\x01");
        assert_eq!(t, "a&lt;b&gt;&amp;\"c\" é&#13;");
        let mut a = String::new();
        super::attr(&mut a, "a<b>&\"c\" ř\n\t");
        assert_eq!(a, "a&lt;b&gt;&amp;&quot;c&quot; &#x159;&#10;&#9;");
    }
}
