//! Templates are data: files under `installer/templates/` with
//! `{{ name }}` placeholders, filled from a list of values. A placeholder
//! without a value, or a value no placeholder uses, is an error, so a
//! template and its role cannot drift apart silently.

use std::collections::BTreeSet;

/// Fill `{{ name }}` placeholders of `template` (named `label` in errors).
pub fn render(label: &str, template: &str, values: &[(&str, String)]) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut used = BTreeSet::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(format!("{label}: unclosed {{{{"));
        };
        let name = after[..end].trim();
        let Some((_, value)) = values.iter().find(|(n, _)| *n == name) else {
            return Err(format!("{label}: no value for {{{{ {name} }}}}"));
        };
        used.insert(name);
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    if let Some((unused, _)) = values.iter().find(|(n, _)| !used.contains(n)) {
        return Err(format!(
            "{label}: value {unused} is not used by the template"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_and_checks_placeholders() {
        let got = render(
            "t",
            "a={{ a }} b={{b}}\n",
            &[("a", "1".into()), ("b", "2".into())],
        );
        assert_eq!(got.unwrap(), "a=1 b=2\n");
        assert!(
            render("t", "{{ a }}", &[])
                .unwrap_err()
                .contains("no value for {{ a }}")
        );
        assert!(
            render("t", "x", &[("a", "1".into())])
                .unwrap_err()
                .contains("a is not used")
        );
        assert!(render("t", "{{ a", &[]).unwrap_err().contains("unclosed"));
    }
}
