//! The host page's look, passed into the frame: `theme` (`light`, `dark`, `auto`) and
//! the host's `--pv-*` custom properties, which the loader reads as computed on the
//! element (so `var()` and media queries are already resolved on the host side) and
//! sends as base64url JSON. Each value must fit a strict grammar before it goes into
//! the frame's stylesheet: no `url(`, no quotes, semicolons, braces or backslashes.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};

/// The custom properties the widget reads (README, "Embedding in a Leptos app").
pub const PROPERTIES: &[&str] = &[
    "font",
    "fg",
    "bg",
    "muted",
    "border",
    "accent",
    "accent-fg",
    "error",
    "success",
    "radius",
    "gap",
    "box",
    "popup-shadow",
];

const MAX_VALUE: usize = 64;
const MAX_ENCODED: usize = 2048;

/// A forced colour scheme, or the visitor's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    Auto,
    Light,
    Dark,
}

impl Theme {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "auto" | "" => Some(Self::Auto),
            "light" => Some(Self::Light),
            "dark" => Some(Self::Dark),
            _ => None,
        }
    }

    /// The class on the frame's `<html>` (see `style/main.css`).
    pub fn class(self) -> &'static str {
        match self {
            Self::Auto => "pv-embedded",
            Self::Light => "pv-embedded pv-theme-light",
            Self::Dark => "pv-embedded pv-theme-dark",
        }
    }
}

/// Checked `--pv-*` values, by property name without the prefix.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThemeVars(Vec<(String, String)>);

impl ThemeVars {
    /// Reads the loader's `vars` parameter; `None` if anything in it is not allowed.
    pub fn parse(encoded: &str) -> Option<Self> {
        if encoded.len() > MAX_ENCODED {
            return None;
        }
        let json = B64.decode(encoded.trim_end_matches('=')).ok()?;
        let map: std::collections::BTreeMap<String, String> = serde_json::from_slice(&json).ok()?;
        let mut vars = Vec::new();
        for (name, value) in map {
            let value = value.trim().to_owned();
            if !PROPERTIES.contains(&name.as_str()) || !allowed_value(&value) {
                return None;
            }
            vars.push((name, value));
        }
        Some(Self(vars))
    }

    /// The rule for the frame's stylesheet, empty when there is nothing to set.
    pub fn css(&self) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let declarations: String = self
            .0
            .iter()
            .map(|(name, value)| format!("--pv-{name}:{value};"))
            .collect();
        format!(".pv-widget{{{declarations}}}")
    }
}

fn allowed_value(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    (1..=MAX_VALUE).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "#(),.%/+- ".contains(c))
        && !lower.contains("url(")
        && !lower.contains("image")
        && !lower.contains("expression")
        && !lower.contains("var(")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(json: &str) -> String {
        B64.encode(json)
    }

    #[test]
    fn host_colours_become_one_rule() {
        let vars = ThemeVars::parse(&encode(r##"{"accent":"#ff6600","radius":"4px","font":"Georgia, serif","bg":"rgb(16 18 20 / 0.9)"}"##)).unwrap();
        assert_eq!(
            vars.css(),
            ".pv-widget{--pv-accent:#ff6600;--pv-bg:rgb(16 18 20 / 0.9);--pv-font:Georgia, serif;--pv-radius:4px;}"
        );
        assert_eq!(ThemeVars::parse(&encode("{}")).unwrap().css(), "");
    }

    #[test]
    fn anything_that_could_escape_the_rule_is_refused() {
        for json in [
            r#"{"accent":"red;} body{display:none"}"#,
            r#"{"bg":"url(https://evil.example/x.png)"}"#,
            r#"{"bg":"image-set(x)"}"#,
            r#"{"accent":"\"quoted\""}"#,
            r#"{"accent":"var(--x)"}"#,
            r#"{"accent":"red\\"}"#,
            r#"{"colour":"red"}"#,
            r#"{"accent":""}"#,
        ] {
            assert_eq!(ThemeVars::parse(&encode(json)), None, "{json}");
        }
        assert_eq!(ThemeVars::parse(&"A".repeat(MAX_ENCODED + 1)), None);
        assert_eq!(ThemeVars::parse("!!"), None);
        let long = format!(r#"{{"font":"{}"}}"#, "a".repeat(MAX_VALUE + 1));
        assert_eq!(ThemeVars::parse(&encode(&long)), None);
    }

    #[test]
    fn themes_parse() {
        assert_eq!(Theme::parse("dark"), Some(Theme::Dark));
        assert_eq!(Theme::parse(""), Some(Theme::Auto));
        assert_eq!(Theme::parse("blue"), None);
        assert_eq!(Theme::Light.class(), "pv-embedded pv-theme-light");
    }
}
