//! The embed page's query, `/embed?sitekey=…&wid=…&origin=…&action=…&cdata=…&nonce=…&lang=…`,
//! parsed: every value the host page passes is checked against a strict grammar
//! before it is stored or signed into a token.
use serde::Deserialize;

use super::{Theme, ThemeVars};
use crate::i18n::Lang;
use crate::verify::Channel;

#[derive(Debug, Default, Deserialize)]
pub struct EmbedQuery {
    #[serde(default)]
    pub sitekey: String,
    #[serde(default)]
    pub wid: Option<String>,
    /// The host page's `location.origin`, as the loader saw it.
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub cdata: Option<String>,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub theme: Option<String>,
    /// The host's `--pv-*` values, base64url JSON.
    #[serde(default)]
    pub vars: Option<String>,
    /// A session the host's backend created (`POST /api/v1/sessions`).
    #[serde(default)]
    pub session: Option<String>,
    /// The channel the phone step starts on: `sms` or `voice` (for a landline).
    #[serde(default)]
    pub channel: Option<String>,
    /// Hosted mode only.
    #[serde(default)]
    pub return_url: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
}

/// The query, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbedParams {
    pub sitekey: String,
    pub widget_id: String,
    pub origin: Option<String>,
    pub action: Option<String>,
    pub cdata: Option<String>,
    pub nonce: Option<String>,
    pub lang: Option<Lang>,
    pub return_url: Option<String>,
    pub state: Option<String>,
    pub ticket: Option<String>,
    pub channel: Channel,
    pub theme: Theme,
    pub vars: ThemeVars,
}

/// Which value is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamProblem {
    MissingSitekey,
    Bad(&'static str),
}

/// `[A-Za-z0-9_-]`, `min..=max` long.
fn token_like(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl EmbedQuery {
    pub fn parse(self) -> Result<EmbedParams, ParamProblem> {
        if self.sitekey.is_empty() {
            return Err(ParamProblem::MissingSitekey);
        }
        if !token_like(&self.sitekey, 4, 64) {
            return Err(ParamProblem::Bad("sitekey"));
        }
        let optional = |value: Option<String>, name: &'static str, min, max| match value
            .filter(|v| !v.is_empty())
        {
            None => Ok(None),
            Some(v) if token_like(&v, min, max) => Ok(Some(v)),
            Some(_) => Err(ParamProblem::Bad(name)),
        };
        // Turnstile's limits for action and cdata, so hosts can reuse their values.
        let action = optional(self.action, "action", 1, 32)?;
        let cdata = optional(self.cdata, "cdata", 1, 255)?;
        let nonce = optional(self.nonce, "nonce", 8, 128)?;
        let widget_id = optional(self.wid, "wid", 1, 32)?.unwrap_or_else(|| "0".into());
        let origin = match self.origin.filter(|o| !o.is_empty()) {
            None => None,
            Some(o)
                if o.len() <= 300
                    && super::super::sites::OriginPattern::parse(&o).is_ok()
                    && !o.ends_with(":*") =>
            {
                Some(o)
            }
            Some(_) => return Err(ParamProblem::Bad("origin")),
        };
        let lang = self.lang.as_deref().and_then(Lang::parse);
        let return_url = match self.return_url.filter(|u| !u.is_empty()) {
            None => None,
            Some(u)
                if u.len() <= 2048
                    && reqwest::Url::parse(&u)
                        .is_ok_and(|p| matches!(p.scheme(), "http" | "https")) =>
            {
                Some(u)
            }
            Some(_) => return Err(ParamProblem::Bad("return_url")),
        };
        // OAuth-style state values: base64url, dots and tildes too.
        let state = match self.state.filter(|s| !s.is_empty()) {
            None => None,
            Some(s)
                if s.len() <= 255
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_-.~".contains(&b)) =>
            {
                Some(s)
            }
            Some(_) => return Err(ParamProblem::Bad("state")),
        };
        let ticket = match self.session.filter(|s| !s.is_empty()) {
            None => None,
            Some(id) if super::tickets::is_ticket_id(&id) => Some(id),
            Some(_) => return Err(ParamProblem::Bad("session")),
        };
        let channel = match self.channel.as_deref().unwrap_or_default() {
            "" | "sms" => Channel::Sms,
            "voice" => Channel::Voice,
            _ => return Err(ParamProblem::Bad("channel")),
        };
        let theme = Theme::parse(self.theme.as_deref().unwrap_or_default())
            .ok_or(ParamProblem::Bad("theme"))?;
        let vars = match self.vars.filter(|v| !v.is_empty()) {
            None => ThemeVars::default(),
            Some(encoded) => ThemeVars::parse(&encoded).ok_or(ParamProblem::Bad("vars"))?,
        };
        Ok(EmbedParams {
            sitekey: self.sitekey,
            widget_id,
            origin,
            action,
            cdata,
            nonce,
            lang,
            return_url,
            state,
            ticket,
            channel,
            theme,
            vars,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> EmbedQuery {
        let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        serde_urlencoded::from_str(&text.join("&")).unwrap()
    }

    #[test]
    fn a_full_query_parses() {
        let params = query(&[
            ("sitekey", "pk_test_local"),
            ("wid", "w1"),
            ("origin", "http://localhost:3100"),
            ("action", "signup"),
            ("cdata", "order-42"),
            ("nonce", "n0nce-n0nce"),
            ("lang", "de"),
            ("channel", "voice"),
        ])
        .parse()
        .unwrap();
        assert_eq!(params.widget_id, "w1");
        assert_eq!(params.channel, Channel::Voice);
        assert_eq!(params.origin.as_deref(), Some("http://localhost:3100"));
        assert_eq!(params.lang, Some(Lang::De));
    }

    #[test]
    fn values_outside_the_grammar_are_refused_by_name() {
        assert_eq!(query(&[]).parse(), Err(ParamProblem::MissingSitekey));
        for (name, value) in [
            ("sitekey", "pk<script>"),
            ("action", "sign%20up"),
            ("action", &"a".repeat(33)),
            ("cdata", "a\"b"),
            ("nonce", "short"),
            ("wid", "w;1"),
            ("origin", "javascript:alert(1)"),
            ("origin", "https://shop.example/path"),
            ("origin", "http://localhost:*"),
            ("return_url", "javascript:alert(1)"),
            ("state", "a b"),
            ("channel", "fax"),
        ] {
            let mut pairs = vec![("sitekey", "pk_test_local")];
            if name == "sitekey" {
                pairs.clear();
            }
            pairs.push((name, value));
            assert_eq!(
                query(&pairs).parse(),
                Err(ParamProblem::Bad(name)),
                "{name}={value}"
            );
        }
    }
}
