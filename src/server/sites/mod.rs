//! The sites that may embed the widget (`VERIFY_SITES_FILE`, a TOML file), each with
//! its public sitekey, the secrets its backend proves itself with, and the origins
//! whose pages may frame it. Without a file there is one development site,
//! [`DEV_SITEKEY`] / [`DEV_SECRET`], for pages on this machine only.
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use subtle::ConstantTimeEq;

mod origin;

pub use origin::OriginPattern;

/// The development site's public key.
pub const DEV_SITEKEY: &str = "pk_test_local";
/// The development site's secret: public knowledge, which is why that site only
/// exists while the server listens on a loopback address.
pub const DEV_SECRET: &str = "sk_test_local";

/// How long after its code was accepted a still-open widget may get a fresh token
/// without a new code, unless the site says otherwise.
const DEFAULT_MAX_AGE_SECS: u64 = 600;

/// Secrets shorter than this are guessable, and refused.
const MIN_SECRET_CHARS: usize = 24;

#[derive(Clone, Debug)]
pub struct Site {
    pub sitekey: String,
    /// More than one while a secret is being rotated.
    secrets: Vec<SecretString>,
    pub origins: Vec<OriginPattern>,
    /// Codes this site may have sent per day, on top of the global limits.
    pub sends_per_day: Option<u64>,
    /// See [`DEFAULT_MAX_AGE_SECS`].
    pub max_age: Duration,
    /// Where hosted mode may send the visitor back to (full URLs on the origins).
    pub return_urls: Vec<String>,
    /// The development site takes any return URL on its origins.
    any_return_url: bool,
}

impl Site {
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.origins.iter().any(|pattern| pattern.matches(origin))
    }

    /// The frame's `frame-ancestors` source list.
    pub fn frame_ancestors(&self) -> String {
        let sources: Vec<String> = self.origins.iter().map(ToString::to_string).collect();
        sources.join(" ")
    }

    /// The origin the frame may talk to: the one the embedding page says it is, if
    /// the site allows it, else the site's only origin. (`frame-ancestors` already
    /// keeps every other page from framing it; a page that claims another allowed
    /// origin than its own gets no message, because the browser delivers a
    /// `postMessage` only to the origin it names.)
    pub fn bound_origin(&self, claimed: Option<&str>) -> Option<String> {
        if let Some(claimed) = claimed.filter(|c| self.allows_origin(c)) {
            return Some(claimed.to_owned());
        }
        match self.origins.as_slice() {
            [only] => only.exact(),
            _ => None,
        }
    }

    /// Whether `secret` is one of this site's, compared in constant time.
    pub fn has_secret(&self, secret: &str) -> bool {
        self.secrets.iter().fold(false, |found, ours| {
            found | bool::from(ours.expose_secret().as_bytes().ct_eq(secret.as_bytes()))
        })
    }

    /// Whether `url` is one of the return URLs hosted mode may redirect to: exactly
    /// one of the listed ones (as OAuth matches redirect URIs).
    pub fn allows_return_url(&self, url: &str) -> bool {
        if self.return_urls.iter().any(|allowed| allowed == url) {
            return true;
        }
        self.any_return_url
            && reqwest::Url::parse(url).is_ok_and(|u| {
                u.username().is_empty() && self.allows_origin(&u.origin().ascii_serialization())
            })
    }
}

/// Every site this server serves.
#[derive(Clone, Debug, Default)]
pub struct Sites {
    sites: Vec<Site>,
}

impl Sites {
    pub fn find(&self, sitekey: &str) -> Option<&Site> {
        self.sites.iter().find(|site| site.sitekey == sitekey)
    }

    /// The site that `secret` belongs to.
    pub fn by_secret(&self, secret: &str) -> Option<&Site> {
        self.sites.iter().find(|site| site.has_secret(secret))
    }

    pub fn len(&self) -> usize {
        self.sites.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    /// The development site: pages on `localhost` and `127.0.0.1`, any port.
    pub fn development() -> Self {
        let origins = ["http://localhost:*", "http://127.0.0.1:*"]
            .iter()
            .filter_map(|o| OriginPattern::parse(o).ok())
            .collect();
        Self {
            sites: vec![Site {
                sitekey: DEV_SITEKEY.into(),
                secrets: vec![SecretString::from(DEV_SECRET)],
                origins,
                sends_per_day: None,
                max_age: Duration::from_secs(DEFAULT_MAX_AGE_SECS),
                return_urls: Vec::new(),
                any_return_url: true,
            }],
        }
    }

    /// Reads a sites file's text.
    ///
    /// # Errors
    /// What is wrong, naming the site; never a secret.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: SitesFile = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        let mut sites: Vec<Site> = Vec::new();
        for entry in file.sites {
            let site = entry.parse()?;
            if sites.iter().any(|s| s.sitekey == site.sitekey) {
                return Err(format!("sitekey {} appears twice", site.sitekey));
            }
            if site
                .secrets
                .iter()
                .any(|secret| sites.iter().any(|s| s.has_secret(secret.expose_secret())))
            {
                return Err(format!(
                    "site {} shares a secret with another site",
                    site.sitekey
                ));
            }
            sites.push(site);
        }
        if sites.is_empty() {
            return Err("lists no [[sites]]".into());
        }
        Ok(Self { sites })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SitesFile {
    #[serde(default)]
    sites: Vec<SiteEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteEntry {
    sitekey: String,
    secrets: Vec<String>,
    origins: Vec<String>,
    sends_per_day: Option<u64>,
    max_age_secs: Option<u64>,
    #[serde(default)]
    return_urls: Vec<String>,
}

impl SiteEntry {
    fn parse(self) -> Result<Site, String> {
        let key_ok = (4..=64).contains(&self.sitekey.len())
            && self
                .sitekey
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !key_ok {
            return Err(format!(
                "sitekey {:?} must be 4 to 64 letters, digits, _ or -",
                self.sitekey
            ));
        }
        let name = &self.sitekey;
        if self.secrets.is_empty() || self.secrets.len() > 2 {
            return Err(format!(
                "site {name}: give one secret, or two while rotating"
            ));
        }
        if self
            .secrets
            .iter()
            .any(|s| s.chars().count() < MIN_SECRET_CHARS || s.contains(char::is_whitespace))
        {
            return Err(format!(
                "site {name}: every secret needs at least {MIN_SECRET_CHARS} characters and no spaces"
            ));
        }
        if self.origins.is_empty() {
            return Err(format!(
                "site {name}: list the origins whose pages may embed it"
            ));
        }
        let origins = self
            .origins
            .iter()
            .map(|o| OriginPattern::parse(o).map_err(|problem| format!("site {name}: {problem}")))
            .collect::<Result<Vec<_>, _>>()?;
        if self.sends_per_day == Some(0) {
            return Err(format!(
                "site {name}: sends_per_day must be at least 1 (remove the site to stop it)"
            ));
        }
        let max_age = self.max_age_secs.unwrap_or(DEFAULT_MAX_AGE_SECS);
        if !(60..=86_400).contains(&max_age) {
            return Err(format!(
                "site {name}: max_age_secs must be from 60 to 86400"
            ));
        }
        for url in &self.return_urls {
            let on_origin = url
                .find("://")
                .map(|start| {
                    url[start + 3..]
                        .find('/')
                        .map_or(url.len(), |p| start + 3 + p)
                })
                .is_some_and(|end| origins.iter().any(|o| o.matches(&url[..end])));
            if !on_origin {
                return Err(format!(
                    "site {name}: return URL {url:?} is not on one of its origins"
                ));
            }
        }
        Ok(Site {
            sitekey: self.sitekey,
            secrets: self.secrets.into_iter().map(SecretString::from).collect(),
            origins,
            sends_per_day: self.sends_per_day,
            max_age: std::time::Duration::from_secs(max_age),
            return_urls: self.return_urls,
            any_return_url: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = r#"
        [[sites]]
        sitekey = "pk_live_shop"
        secrets = ["sk_live_0123456789abcdefghijkl", "sk_live_next_0123456789abcdefghij"]
        origins = ["https://shop.example", "https://www.shop.example"]
        sends_per_day = 500
        return_urls = ["https://shop.example/verified"]

        [[sites]]
        sitekey = "pk_live_blog"
        secrets = ["sk_live_blog_0123456789abcdefghij"]
        origins = ["https://blog.example"]
    "#;

    #[test]
    fn a_sites_file_reads_into_sites() {
        let sites = Sites::from_toml(SHOP).unwrap();
        assert_eq!(sites.len(), 2);
        let shop = sites.find("pk_live_shop").unwrap();
        assert!(shop.allows_origin("https://www.shop.example"));
        assert!(!shop.allows_origin("https://blog.example"));
        assert_eq!(
            shop.frame_ancestors(),
            "https://shop.example https://www.shop.example"
        );
        assert_eq!(shop.sends_per_day, Some(500));
        assert_eq!(shop.max_age, Duration::from_secs(600));
        assert!(shop.allows_return_url("https://shop.example/verified"));
        assert!(!shop.allows_return_url("https://shop.example/verified/../evil"));
        // Both secrets work while rotating; each belongs to its own site.
        assert_eq!(
            sites
                .by_secret("sk_live_next_0123456789abcdefghij")
                .unwrap()
                .sitekey,
            "pk_live_shop"
        );
        assert_eq!(
            sites
                .by_secret("sk_live_blog_0123456789abcdefghij")
                .unwrap()
                .sitekey,
            "pk_live_blog"
        );
        assert!(sites.by_secret("sk_live_0123456789abcdefghijk").is_none());
        assert!(sites.by_secret("").is_none());
    }

    #[test]
    fn the_bound_origin_is_an_allowed_one() {
        let sites = Sites::from_toml(SHOP).unwrap();
        let shop = sites.find("pk_live_shop").unwrap();
        assert_eq!(
            shop.bound_origin(Some("https://www.shop.example"))
                .as_deref(),
            Some("https://www.shop.example")
        );
        assert_eq!(shop.bound_origin(Some("https://evil.example")), None);
        assert_eq!(shop.bound_origin(None), None);
        let blog = sites.find("pk_live_blog").unwrap();
        assert_eq!(
            blog.bound_origin(None).as_deref(),
            Some("https://blog.example")
        );
        assert_eq!(
            blog.bound_origin(Some("https://evil.example")).as_deref(),
            Some("https://blog.example")
        );
        let dev = Sites::development();
        let local = dev.find(DEV_SITEKEY).unwrap();
        assert_eq!(
            local.bound_origin(Some("http://localhost:3100")).as_deref(),
            Some("http://localhost:3100")
        );
        assert_eq!(local.bound_origin(None), None);
        assert!(local.has_secret(DEV_SECRET));
        assert!(local.allows_return_url("http://localhost:3100/verified?x=1"));
        assert!(!local.allows_return_url("https://evil.example/verified"));
        assert!(!local.allows_return_url("http://user@localhost:3100/"));
    }

    #[test]
    fn mistakes_in_the_file_are_refused_by_name() {
        let site = |body: &str| format!("[[sites]]\nsitekey = \"pk_live_shop\"\n{body}");
        let cases = [
            (
                site("secrets = [\"short\"]\norigins = [\"https://shop.example\"]"),
                "at least 24",
            ),
            (
                site("secrets = []\norigins = [\"https://shop.example\"]"),
                "one secret",
            ),
            (
                site("secrets = [\"sk_live_0123456789abcdefghijkl\"]\norigins = []"),
                "origins",
            ),
            (
                site(
                    "secrets = [\"sk_live_0123456789abcdefghijkl\"]\norigins = [\"shop.example\"]",
                ),
                "not an origin",
            ),
            (
                site(
                    "secrets = [\"sk_live_0123456789abcdefghijkl\"]\norigins = [\"https://shop.example\"]\nreturn_urls = [\"https://evil.example/x\"]",
                ),
                "not on one of its origins",
            ),
            (
                site(
                    "secrets = [\"sk_live_0123456789abcdefghijkl\"]\norigins = [\"https://shop.example\"]\ncolour = 1",
                ),
                "unknown field",
            ),
            ("".to_owned(), "no [[sites]]"),
            (
                format!(
                    "{0}\n{0}",
                    site(
                        "secrets = [\"sk_live_0123456789abcdefghijkl\"]\norigins = [\"https://shop.example\"]"
                    )
                ),
                "twice",
            ),
        ];
        for (text, expected) in cases {
            let problem = Sites::from_toml(&text).unwrap_err();
            assert!(
                problem.contains(expected),
                "{problem:?} should say {expected:?}"
            );
            assert!(
                !problem.contains("sk_live_0123"),
                "no secret in {problem:?}"
            );
        }
    }
}
