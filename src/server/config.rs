//! Settings from environment variables. Every variable has a documented default
//! (see `.env.example`); a malformed value stops start-up with a message naming it.
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use leptos::config::{LeptosOptions, get_configuration};

use crate::verify::CountryCode;

/// Which Verify API sends the codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    /// The built-in OTP engine with a development outbox; needs no account.
    Local,
}

/// How codes are made and how long they live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodePolicy {
    /// Digits per code, 4 to 10 (`VERIFY_CODE_LENGTH`, default 6).
    pub length: u8,
    /// How long a code works (`VERIFY_CODE_LIFETIME_SECS`, default 600: NIST's 10 minutes).
    pub lifetime: Duration,
    /// Wrong tries before a code is dead (`VERIFY_MAX_ATTEMPTS`, default 5).
    pub max_attempts: u32,
}

impl Default for CodePolicy {
    fn default() -> Self {
        Self { length: 6, lifetime: Duration::from_secs(600), max_attempts: 5 }
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// Leptos' own settings: the `LEPTOS_*` variables cargo-leptos sets, or else
    /// `Leptos.toml` (path in `LEPTOS_CONFIG`) with `LEPTOS_*` layered over it.
    pub leptos: LeptosOptions,
    /// `VERIFY_PROVIDER`: `local` (default).
    pub provider: ProviderKind,
    pub code: CodePolicy,
    /// `VERIFY_RESEND_COOLDOWN_SECS`, default 30: the wait before a code may be resent.
    pub resend_cooldown: Duration,
    /// `VERIFY_DEFAULT_COUNTRY`: ISO code (e.g. `GB`) for numbers typed without `+`.
    /// Unset by default: visitors must type their country code.
    pub default_country: Option<CountryCode>,
    /// `SESSION_COOKIE_SECURE`, default false: set true whenever the app is served over HTTPS.
    pub cookie_secure: bool,
}

/// A setting that is present but unusable.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.problem)
    }
}

impl std::error::Error for ConfigError {}

impl Settings {
    /// Reads the process environment.
    ///
    /// # Errors
    /// The first variable that is set to something unusable.
    pub fn from_env() -> Result<Self, ConfigError> {
        let leptos = leptos_options()?;
        Self::from_lookup(leptos, |name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, which returns a variable's value if set.
    ///
    /// # Errors
    /// The first variable that is set to something unusable.
    pub fn from_lookup(
        leptos: LeptosOptions,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let provider = match env.get("VERIFY_PROVIDER").as_deref().map(str::trim) {
            None | Some("") | Some("local") => ProviderKind::Local,
            Some(other) => {
                return Err(ConfigError {
                    variable: "VERIFY_PROVIDER",
                    problem: format!("{other:?} is not a provider this build supports (supported: local)"),
                });
            }
        };
        let length: u8 = env.parse_in("VERIFY_CODE_LENGTH", 6, 4..=10)?;
        let lifetime: u64 = env.parse_in("VERIFY_CODE_LIFETIME_SECS", 600, 60..=86_400)?;
        let max_attempts: u32 = env.parse_in("VERIFY_MAX_ATTEMPTS", 5, 1..=20)?;
        let cooldown: u64 = env.parse_in("VERIFY_RESEND_COOLDOWN_SECS", 30, 0..=3_600)?;
        let default_country = match env.get("VERIFY_DEFAULT_COUNTRY").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(value) => Some(value.parse::<CountryCode>().map_err(|problem| ConfigError {
                variable: "VERIFY_DEFAULT_COUNTRY",
                problem,
            })?),
        };
        let cookie_secure = env.parse_bool("SESSION_COOKIE_SECURE", false)?;
        Ok(Self {
            leptos,
            provider,
            code: CodePolicy { length, lifetime: Duration::from_secs(lifetime), max_attempts },
            resend_cooldown: Duration::from_secs(cooldown),
            default_country,
            cookie_secure,
        })
    }
}

/// cargo-leptos passes Leptos' settings as `LEPTOS_*` variables; a deployed binary
/// reads `Leptos.toml` instead.
fn leptos_options() -> Result<LeptosOptions, ConfigError> {
    let from_cargo_leptos = std::env::var_os("LEPTOS_OUTPUT_NAME").is_some();
    let path = std::env::var("LEPTOS_CONFIG").unwrap_or_else(|_| "Leptos.toml".to_owned());
    let conf = if from_cargo_leptos { get_configuration(None) } else { get_configuration(Some(&path)) };
    conf.map(|conf| conf.leptos_options).map_err(|error| ConfigError {
        variable: if from_cargo_leptos { "LEPTOS_*" } else { "LEPTOS_CONFIG" },
        problem: format!("cannot load Leptos settings from {path}: {error}"),
    })
}

struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }

    fn parse_in<T>(
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

    fn parse_bool(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).as_deref().map(str::trim).map(str::to_ascii_lowercase).as_deref() {
            None | Some("") => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(ConfigError { variable: name, problem: format!("{other:?} is not true or false") }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::from_lookup(LeptosOptions::builder().output_name("t").build(), |name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_need_no_variables() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.provider, ProviderKind::Local);
        assert_eq!(s.code, CodePolicy::default());
        assert_eq!(s.resend_cooldown, Duration::from_secs(30));
        assert_eq!(s.default_country, None);
        assert!(!s.cookie_secure);
    }

    #[test]
    fn reads_every_variable() {
        let s = settings(&[
            ("VERIFY_CODE_LENGTH", "8"),
            ("VERIFY_CODE_LIFETIME_SECS", "300"),
            ("VERIFY_MAX_ATTEMPTS", "3"),
            ("VERIFY_RESEND_COOLDOWN_SECS", "0"),
            ("VERIFY_DEFAULT_COUNTRY", "gb"),
            ("SESSION_COOKIE_SECURE", "true"),
        ])
        .unwrap();
        assert_eq!(s.code.length, 8);
        assert_eq!(s.code.lifetime, Duration::from_secs(300));
        assert_eq!(s.code.max_attempts, 3);
        assert_eq!(s.resend_cooldown, Duration::ZERO);
        assert_eq!(s.default_country, Some("GB".parse().unwrap()));
        assert!(s.cookie_secure);
    }

    #[test]
    fn malformed_values_name_their_variable() {
        for (name, value) in [
            ("VERIFY_CODE_LENGTH", "3"),
            ("VERIFY_CODE_LENGTH", "six"),
            ("VERIFY_CODE_LIFETIME_SECS", "-1"),
            ("VERIFY_MAX_ATTEMPTS", "0"),
            ("VERIFY_DEFAULT_COUNTRY", "Narnia"),
            ("SESSION_COOKIE_SECURE", "maybe"),
            ("VERIFY_PROVIDER", "carrier-pigeon"),
        ] {
            let error = settings(&[(name, value)]).unwrap_err();
            assert_eq!(error.variable, name);
            assert!(error.to_string().starts_with(name));
        }
    }
}
