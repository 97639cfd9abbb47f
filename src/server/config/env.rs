//! Reading one variable: present or not, and parsed into what it must be, with a
//! [`ConfigError`] that names the variable (never its value) otherwise.
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use reqwest::Url;
use secrecy::SecretString;

use super::ConfigError;

pub(super) struct Env<'a>(pub(super) &'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    pub(super) fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }

    pub(super) fn parse_in<T>(
        &self,
        name: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + fmt::Display + Copy,
    {
        let Some(raw) = self.get(name).filter(|v| !v.trim().is_empty()) else {
            return Ok(default);
        };
        match raw.trim().parse::<T>() {
            Ok(value) if range.contains(&value) => Ok(value),
            _ => Err(ConfigError {
                variable: name,
                problem: format!(
                    "{raw:?} is not a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            }),
        }
    }

    /// As [`Self::parse_in`], for a setting whose range is a security floor: the
    /// refusal says `why`, so an operator sees a weak setting is the problem.
    pub(super) fn parse_safe<T>(
        &self,
        name: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
        why: &str,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + fmt::Display + Copy,
    {
        self.parse_in(name, default, range).map_err(|mut error| {
            error.problem = format!("{}: {why}", error.problem);
            error
        })
    }

    /// A bare host name such as `example.com`, if set.
    pub(super) fn host(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        let Some(host) = self.get(name).map(|v| v.trim().to_ascii_lowercase()) else {
            return Ok(None);
        };
        if host.is_empty() {
            return Ok(None);
        }
        let valid = host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if valid {
            Ok(Some(host))
        } else {
            Err(ConfigError {
                variable: name,
                problem: format!("{host:?} is not a host name like example.com"),
            })
        }
    }

    pub(super) fn secs(
        &self,
        name: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        self.parse_in(name, default, range).map(Duration::from_secs)
    }

    pub(super) fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or(ConfigError {
                variable: name,
                problem: "is required by the chosen VERIFY_PROVIDER".into(),
            })
    }

    /// A credential; its value never appears in an error.
    pub(super) fn secret(&self, name: &'static str) -> Result<SecretString, ConfigError> {
        self.required(name).map(SecretString::from)
    }

    /// A Twilio SID: a two-letter prefix and 32 hex digits.
    pub(super) fn sid(&self, name: &'static str, prefix: &str) -> Result<String, ConfigError> {
        let value = self.required(name)?;
        let well_formed = value.len() == 34
            && value.starts_with(prefix)
            && value[2..].chars().all(|c| c.is_ascii_hexdigit());
        if well_formed {
            Ok(value)
        } else {
            Err(ConfigError {
                variable: name,
                problem: format!("must be {prefix} followed by 32 hex digits"),
            })
        }
    }

    /// A provider's base URL: `https://`, or `http://` to a loopback address (a fake
    /// provider in tests, a local proxy); keys and codes never cross a network in
    /// clear text.
    pub(super) fn url(&self, name: &'static str, default: &str) -> Result<Url, ConfigError> {
        let raw = self
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| default.to_owned());
        let problem = |problem: String| ConfigError {
            variable: name,
            problem,
        };
        let url = Url::parse(raw.trim())
            .ok()
            .filter(|url| url.query().is_none() && url.host().is_some())
            .ok_or_else(|| problem(format!("{raw:?} is not an https base URL")))?;
        let host = url.host_str().unwrap_or_default();
        let loopback = host == "localhost"
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match url.scheme() {
            "https" => Ok(url),
            "http" if loopback => Ok(url),
            "http" => Err(problem(format!(
                "{raw:?} is plain http: the API key would cross the network unencrypted; use https"
            ))),
            _ => Err(problem(format!("{raw:?} is not an https base URL"))),
        }
    }

    /// A CSP source list of `'self'`, `'none'` and http(s) origins.
    pub(super) fn source_list(&self, name: &'static str) -> Result<String, ConfigError> {
        let raw = self
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "'self'".to_owned());
        let sources: Vec<&str> = raw.split_whitespace().collect();
        let valid = |s: &&str| matches!(*s, "'self'" | "'none'") || is_origin(s);
        if sources.iter().all(valid) && (sources.len() == 1 || !sources.contains(&"'none'")) {
            Ok(sources.join(" "))
        } else {
            Err(ConfigError {
                variable: name,
                problem: format!("{raw:?} is not a list of 'self', 'none' or https://origins"),
            })
        }
    }

    pub(super) fn template(
        &self,
        name: &'static str,
        default: String,
    ) -> Result<String, ConfigError> {
        match self.get(name).filter(|v| !v.trim().is_empty()) {
            None => Ok(default),
            Some(t) if t.contains("%token") && t.len() <= 400 => Ok(t),
            Some(_) => Err(ConfigError {
                variable: name,
                problem: "must contain %token and be at most 400 characters".into(),
            }),
        }
    }

    pub(super) fn parse_bool(
        &self,
        name: &'static str,
        default: bool,
    ) -> Result<bool, ConfigError> {
        match self
            .get(name)
            .as_deref()
            .map(str::trim)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("") => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(ConfigError {
                variable: name,
                problem: format!("{other:?} is not true or false"),
            }),
        }
    }
}

/// `scheme://host[:port]` and nothing more.
fn is_origin(text: &str) -> bool {
    Url::parse(text).is_ok_and(|url| {
        matches!(url.scheme(), "http" | "https")
            && url.host().is_some()
            && text.trim_end_matches('/') == url.origin().ascii_serialization()
    })
}
