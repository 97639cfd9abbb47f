//! Settings from environment variables. Every variable has a documented default
//! (see `.env.example`); a malformed value stops start-up with a message naming it.
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use leptos::config::{LeptosOptions, get_configuration};
use reqwest::Url;
use secrecy::SecretString;

use super::limits::LimitPolicy;
use super::provider::{GuardPolicy, MessageBirdConfig, TwilioConfig, UpstreamTimeouts, Voice};
use crate::i18n::Lang;
use crate::verify::{Channel, CountryCode};

/// Which Verify API sends the codes, with its credentials.
#[derive(Clone, Debug)]
pub enum ProviderSettings {
    /// The built-in OTP engine with a development outbox; needs no account.
    Local,
    MessageBird(MessageBirdConfig),
    Twilio(TwilioConfig),
}

impl ProviderSettings {
    pub fn name(&self) -> &'static str {
        match self {
            ProviderSettings::Local => "local",
            ProviderSettings::MessageBird(_) => "messagebird",
            ProviderSettings::Twilio(_) => "twilio",
        }
    }
}

/// The texts of the messages; `%token` stands for the code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageTemplates {
    /// `VERIFY_SMS_TEMPLATE`, default `Your phone-verify code is %token.`: the English
    /// SMS (other languages use the widget's own translations).
    pub sms: String,
    /// `VERIFY_VOICE_TEMPLATE`, default `Your security code is %token.`; the code is
    /// read out digit by digit.
    pub voice: String,
    /// `VERIFY_OTP_DOMAIN`, unset by default: the site's host (`example.com`). When set,
    /// every SMS ends with the origin-bound line `@example.com #123456`, which lets
    /// browsers offer the code on that site only (WebOTP, Safari AutoFill).
    pub otp_domain: Option<String>,
}

impl Default for MessageTemplates {
    fn default() -> Self {
        let english = Lang::En.texts();
        Self {
            sms: english.sms_template.into(),
            voice: english.voice_template.into(),
            otp_domain: None,
        }
    }
}

impl MessageTemplates {
    /// The message for `channel` in `lang`, `%token` still in it.
    pub fn template(&self, channel: Channel, lang: Lang) -> String {
        let texts = lang.texts();
        match (channel, lang) {
            (Channel::Voice, Lang::En) => self.voice.clone(),
            (Channel::Voice, _) => texts.voice_template.into(),
            (Channel::Sms, _) => {
                let text = match lang {
                    Lang::En => self.sms.as_str(),
                    _ => texts.sms_template,
                };
                match &self.otp_domain {
                    // The spec wants it as the last line, after a blank one.
                    Some(domain) => format!("{text}\n\n@{domain} #%token"),
                    None => text.to_owned(),
                }
            }
        }
    }
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
        Self {
            length: 6,
            lifetime: Duration::from_secs(600),
            max_attempts: 5,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// Leptos' own settings: the `LEPTOS_*` variables cargo-leptos sets, or else
    /// `Leptos.toml` (path in `LEPTOS_CONFIG`) with `LEPTOS_*` layered over it.
    pub leptos: LeptosOptions,
    /// `VERIFY_PROVIDER`: `local` (default), `messagebird` or `twilio`, with the
    /// settings of the chosen one.
    pub provider: ProviderSettings,
    pub code: CodePolicy,
    pub templates: MessageTemplates,
    /// `VERIFY_RESEND_COOLDOWN_SECS`, default 30: the wait before a code may be resent.
    pub resend_cooldown: Duration,
    /// `VERIFY_DEFAULT_COUNTRY`: ISO code (e.g. `GB`) for numbers typed without `+`.
    /// Unset by default: visitors must type their country code.
    pub default_country: Option<CountryCode>,
    /// `SESSION_COOKIE_SECURE`, default false: set true whenever the app is served over
    /// HTTPS (also turns on HSTS).
    pub cookie_secure: bool,
    /// `FRAME_ANCESTORS`, default `'self'`: who may show the widget in a frame, as a
    /// CSP source list, e.g. `'self' https://shop.example`.
    pub frame_ancestors: String,
    /// `ALLOWED_ORIGINS`, comma-separated, default none: other origins whose pages may
    /// call the API (everything else cross-site is refused as CSRF).
    pub allowed_origins: Vec<String>,
    /// `DATA_DIR`, default `data`: where the embedded SQLite state lives.
    pub data_dir: std::path::PathBuf,
    /// `REDIS_URL`, unset by default: share state through Redis instead of SQLite
    /// (secret: it may hold a password).
    pub redis_url: Option<SecretString>,
    /// `REDIS_PREFIX`, default `phone-verify:`: keeps deployments apart in one Redis.
    pub redis_prefix: String,
    /// `VERIFY_LIMIT_*`, `VERIFY_ALLOWED_COUNTRIES`, `TRUSTED_PROXIES`.
    pub limits: LimitPolicy,
    /// `HEADER_READ_TIMEOUT_SECS`, `BODY_READ_TIMEOUT_SECS`, `SHUTDOWN_DRAIN_SECS`.
    pub connections: ConnectionPolicy,
    /// `UPSTREAM_MAX_IN_FLIGHT`, `UPSTREAM_BREAKER_*`: how much load the provider gets.
    pub upstream_guard: GuardPolicy,
}

/// How long a client may take, and how long shutdown waits for requests in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionPolicy {
    /// `HEADER_READ_TIMEOUT_SECS`, default 10: a connection that has not sent a whole
    /// request head by then is closed.
    pub header_read: Duration,
    /// `BODY_READ_TIMEOUT_SECS`, default 10: an API request whose body has not
    /// arrived by then gets 408 and the connection is closed.
    pub body_read: Duration,
    /// `SHUTDOWN_DRAIN_SECS`, default 10: on SIGTERM the app stops accepting and waits
    /// this long for requests in flight before it exits.
    pub drain: Duration,
}

impl Default for ConnectionPolicy {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(10),
            drain: Duration::from_secs(10),
        }
    }
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
        let length: u8 = env.parse_in("VERIFY_CODE_LENGTH", 6, 4..=10)?;
        let lifetime: u64 = env.parse_in("VERIFY_CODE_LIFETIME_SECS", 600, 60..=86_400)?;
        let max_attempts: u32 = env.parse_in("VERIFY_MAX_ATTEMPTS", 5, 1..=20)?;
        let code = CodePolicy {
            length,
            lifetime: Duration::from_secs(lifetime),
            max_attempts,
        };
        let defaults = MessageTemplates::default();
        let templates = MessageTemplates {
            sms: env.template("VERIFY_SMS_TEMPLATE", defaults.sms)?,
            voice: env.template("VERIFY_VOICE_TEMPLATE", defaults.voice)?,
            otp_domain: env.host("VERIFY_OTP_DOMAIN")?,
        };
        let provider = provider_settings(&env, code, &templates)?;
        let cooldown: u64 = env.parse_in("VERIFY_RESEND_COOLDOWN_SECS", 30, 0..=3_600)?;
        let default_country = match env
            .get("VERIFY_DEFAULT_COUNTRY")
            .filter(|v| !v.trim().is_empty())
        {
            None => None,
            Some(value) => Some(
                value
                    .parse::<CountryCode>()
                    .map_err(|problem| ConfigError {
                        variable: "VERIFY_DEFAULT_COUNTRY",
                        problem,
                    })?,
            ),
        };
        let cookie_secure = env.parse_bool("SESSION_COOKIE_SECURE", false)?;
        let frame_ancestors = env.source_list("FRAME_ANCESTORS")?;
        let allowed_origins = env.origins("ALLOWED_ORIGINS")?;
        let data_dir = env
            .get("DATA_DIR")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "data".into())
            .into();
        let redis_url = match env.get("REDIS_URL").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(url)
                if url.starts_with("redis://")
                    || url.starts_with("rediss://")
                    || url.starts_with("unix://") =>
            {
                Some(SecretString::from(url))
            }
            Some(_) => {
                return Err(ConfigError {
                    variable: "REDIS_URL",
                    problem: "must start with redis://, rediss:// or unix://".into(),
                });
            }
        };
        let redis_prefix = env
            .get("REDIS_PREFIX")
            .unwrap_or_else(|| "phone-verify:".into());
        let limits = limit_policy(&env)?;
        let connections = ConnectionPolicy {
            header_read: env.secs("HEADER_READ_TIMEOUT_SECS", 10, 1..=300)?,
            body_read: env.secs("BODY_READ_TIMEOUT_SECS", 10, 1..=300)?,
            drain: env.secs("SHUTDOWN_DRAIN_SECS", 10, 0..=300)?,
        };
        let guard = GuardPolicy::default();
        let upstream_guard = GuardPolicy {
            max_in_flight: env.parse_in(
                "UPSTREAM_MAX_IN_FLIGHT",
                guard.max_in_flight,
                1..=100_000,
            )?,
            breaker_failures: env.parse_in(
                "UPSTREAM_BREAKER_FAILURES",
                guard.breaker_failures,
                1..=1_000,
            )?,
            breaker_cooldown: env.secs(
                "UPSTREAM_BREAKER_COOLDOWN_SECS",
                guard.breaker_cooldown.as_secs(),
                1..=3_600,
            )?,
        };
        Ok(Self {
            leptos,
            provider,
            code,
            templates,
            resend_cooldown: Duration::from_secs(cooldown),
            default_country,
            cookie_secure,
            frame_ancestors,
            allowed_origins,
            data_dir,
            redis_url,
            redis_prefix,
            limits,
            connections,
            upstream_guard,
        })
    }
}

fn limit_policy(env: &Env<'_>) -> Result<LimitPolicy, ConfigError> {
    let d = LimitPolicy::default();
    let allowed_countries = env
        .get("VERIFY_ALLOWED_COUNTRIES")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<CountryCode>()
                .map(|_| c.to_ascii_uppercase())
                .map_err(|problem| ConfigError {
                    variable: "VERIFY_ALLOWED_COUNTRIES",
                    problem,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let trusted_proxies = env
        .get("TRUSTED_PROXIES")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse().map_err(|_| ConfigError {
                variable: "TRUSTED_PROXIES",
                problem: format!("{p:?} is not an IP address"),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let max = 1_000_000;
    Ok(LimitPolicy {
        session_sends_per_10_min: env.parse_in(
            "VERIFY_LIMIT_SESSION_SENDS",
            d.session_sends_per_10_min,
            1..=max,
        )?,
        number_per_hour: env.parse_in(
            "VERIFY_LIMIT_NUMBER_PER_HOUR",
            d.number_per_hour,
            1..=max,
        )?,
        number_per_day: env.parse_in("VERIFY_LIMIT_NUMBER_PER_DAY", d.number_per_day, 1..=max)?,
        ip_per_hour: env.parse_in("VERIFY_LIMIT_IP_PER_HOUR", d.ip_per_hour, 1..=max)?,
        prefix_per_hour: env.parse_in(
            "VERIFY_LIMIT_PREFIX_PER_HOUR",
            d.prefix_per_hour,
            1..=max,
        )?,
        failed_checks_per_number_per_hour: env.parse_in(
            "VERIFY_LIMIT_FAILED_CHECKS_PER_HOUR",
            d.failed_checks_per_number_per_hour,
            1..=max,
        )?,
        allowed_countries,
        trusted_proxies,
    })
}

fn provider_settings(
    env: &Env<'_>,
    code: CodePolicy,
    templates: &MessageTemplates,
) -> Result<ProviderSettings, ConfigError> {
    let kind = env
        .get("VERIFY_PROVIDER")
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if kind.is_empty() || kind == "local" {
        return Ok(ProviderSettings::Local);
    }
    let timeouts = UpstreamTimeouts {
        connect: Duration::from_millis(env.parse_in(
            "UPSTREAM_CONNECT_TIMEOUT_MS",
            3_000,
            100..=60_000,
        )?),
        total: Duration::from_millis(env.parse_in("UPSTREAM_TIMEOUT_MS", 10_000, 100..=120_000)?),
    };
    let language = env
        .get("VERIFY_LANGUAGE")
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "en-gb".into());
    if !language
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-')
        || language.len() > 10
    {
        return Err(ConfigError {
            variable: "VERIFY_LANGUAGE",
            problem: format!("{language:?} is not a language tag like en-gb"),
        });
    }
    match kind.as_str() {
        "messagebird" => {
            let voice = match env
                .get("VERIFY_VOICE")
                .map(|v| v.trim().to_ascii_lowercase())
                .as_deref()
            {
                None | Some("") | Some("female") => Voice::Female,
                Some("male") => Voice::Male,
                Some(other) => {
                    return Err(ConfigError {
                        variable: "VERIFY_VOICE",
                        problem: format!("{other:?} is not female or male"),
                    });
                }
            };
            Ok(ProviderSettings::MessageBird(MessageBirdConfig {
                access_key: env.secret("MESSAGEBIRD_ACCESS_KEY")?,
                api_url: env.url("MESSAGEBIRD_API_URL", "https://rest.messagebird.com")?,
                originator: env
                    .get("MESSAGEBIRD_ORIGINATOR")
                    .filter(|v| !v.trim().is_empty()),
                templates: templates.clone(),
                voice,
                language: language.to_ascii_lowercase(),
                code,
                timeouts,
            }))
        }
        "twilio" => Ok(ProviderSettings::Twilio(TwilioConfig {
            account_sid: env.sid("TWILIO_ACCOUNT_SID", "AC")?,
            auth_token: env.secret("TWILIO_AUTH_TOKEN")?,
            service_sid: env.sid("TWILIO_VERIFY_SERVICE_SID", "VA")?,
            api_url: env.url("TWILIO_VERIFY_API_URL", "https://verify.twilio.com")?,
            // Twilio's locales are mostly bare languages: en-gb -> en.
            locale: language
                .split('-')
                .next()
                .unwrap_or("en")
                .to_ascii_lowercase(),
            code,
            timeouts,
        })),
        other => Err(ConfigError {
            variable: "VERIFY_PROVIDER",
            problem: format!("{other:?} is not a provider (choose local, messagebird or twilio)"),
        }),
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

/// cargo-leptos passes Leptos' settings as `LEPTOS_*` variables; a deployed binary
/// reads `Leptos.toml` instead.
fn leptos_options() -> Result<LeptosOptions, ConfigError> {
    let from_cargo_leptos = std::env::var_os("LEPTOS_OUTPUT_NAME").is_some();
    let path = std::env::var("LEPTOS_CONFIG").unwrap_or_else(|_| "Leptos.toml".to_owned());
    let conf = if from_cargo_leptos {
        get_configuration(None)
    } else {
        get_configuration(Some(&path))
    };
    conf.map(|conf| conf.leptos_options)
        .map_err(|error| ConfigError {
            variable: if from_cargo_leptos {
                "LEPTOS_*"
            } else {
                "LEPTOS_CONFIG"
            },
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

    /// A bare host name such as `example.com`, if set.
    fn host(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
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

    fn secs(
        &self,
        name: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        self.parse_in(name, default, range).map(Duration::from_secs)
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or(ConfigError {
                variable: name,
                problem: "is required by the chosen VERIFY_PROVIDER".into(),
            })
    }

    /// A credential; its value never appears in an error.
    fn secret(&self, name: &'static str) -> Result<SecretString, ConfigError> {
        self.required(name).map(SecretString::from)
    }

    /// A Twilio SID: a two-letter prefix and 32 hex digits.
    fn sid(&self, name: &'static str, prefix: &str) -> Result<String, ConfigError> {
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

    fn url(&self, name: &'static str, default: &str) -> Result<Url, ConfigError> {
        let raw = self
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| default.to_owned());
        match Url::parse(raw.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.query().is_none() => Ok(url),
            _ => Err(ConfigError {
                variable: name,
                problem: format!("{raw:?} is not an http(s) base URL"),
            }),
        }
    }

    /// A CSP source list of `'self'`, `'none'` and http(s) origins.
    fn source_list(&self, name: &'static str) -> Result<String, ConfigError> {
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

    fn origins(&self, name: &'static str) -> Result<Vec<String>, ConfigError> {
        let raw = self.get(name).unwrap_or_default();
        let origins: Vec<String> = raw
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect();
        match origins.iter().find(|o| !is_origin(o)) {
            None => Ok(origins),
            Some(bad) => Err(ConfigError {
                variable: name,
                problem: format!("{bad:?} is not an origin like https://shop.example"),
            }),
        }
    }

    fn template(&self, name: &'static str, default: String) -> Result<String, ConfigError> {
        match self.get(name).filter(|v| !v.trim().is_empty()) {
            None => Ok(default),
            Some(t) if t.contains("%token") && t.len() <= 400 => Ok(t),
            Some(_) => Err(ConfigError {
                variable: name,
                problem: "must contain %token and be at most 400 characters".into(),
            }),
        }
    }

    fn parse_bool(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(LeptosOptions::builder().output_name("t").build(), |name| {
            vars.get(name).cloned()
        })
    }

    #[test]
    fn defaults_need_no_variables() {
        let s = settings(&[]).unwrap();
        assert!(matches!(s.provider, ProviderSettings::Local));
        assert_eq!(s.templates, MessageTemplates::default());
        assert_eq!(s.code, CodePolicy::default());
        assert_eq!(s.resend_cooldown, Duration::from_secs(30));
        assert_eq!(s.default_country, None);
        assert!(!s.cookie_secure);
        assert_eq!(s.frame_ancestors, "'self'");
        assert_eq!(s.limits, LimitPolicy::default());
        assert!(s.allowed_origins.is_empty());
        assert_eq!(s.connections, ConnectionPolicy::default());
        assert_eq!(s.upstream_guard, GuardPolicy::default());
    }

    #[test]
    fn embedding_settings_are_origins() {
        let s = settings(&[
            ("FRAME_ANCESTORS", "'self'  https://shop.example"),
            (
                "ALLOWED_ORIGINS",
                "https://shop.example, http://localhost:8080",
            ),
        ])
        .unwrap();
        assert_eq!(s.frame_ancestors, "'self' https://shop.example");
        assert_eq!(
            s.allowed_origins,
            ["https://shop.example", "http://localhost:8080"]
        );
        for (name, value) in [
            ("FRAME_ANCESTORS", "*"),
            ("FRAME_ANCESTORS", "https://shop.example/path"),
            ("FRAME_ANCESTORS", "'none' 'self'"),
            ("ALLOWED_ORIGINS", "shop.example"),
            ("ALLOWED_ORIGINS", "https://shop.example/; script-src *"),
        ] {
            assert_eq!(
                settings(&[(name, value)]).unwrap_err().variable,
                name,
                "{value}"
            );
        }
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
            ("HEADER_READ_TIMEOUT_SECS", "5"),
            ("BODY_READ_TIMEOUT_SECS", "6"),
            ("SHUTDOWN_DRAIN_SECS", "7"),
            ("UPSTREAM_MAX_IN_FLIGHT", "8"),
            ("UPSTREAM_BREAKER_FAILURES", "9"),
            ("UPSTREAM_BREAKER_COOLDOWN_SECS", "11"),
        ])
        .unwrap();
        assert_eq!(s.connections.header_read, Duration::from_secs(5));
        assert_eq!(s.connections.body_read, Duration::from_secs(6));
        assert_eq!(s.connections.drain, Duration::from_secs(7));
        assert_eq!(s.upstream_guard.max_in_flight, 8);
        assert_eq!(s.upstream_guard.breaker_failures, 9);
        assert_eq!(s.upstream_guard.breaker_cooldown, Duration::from_secs(11));
        assert_eq!(s.code.length, 8);
        assert_eq!(s.code.lifetime, Duration::from_secs(300));
        assert_eq!(s.code.max_attempts, 3);
        assert_eq!(s.resend_cooldown, Duration::ZERO);
        assert_eq!(s.default_country, Some("GB".parse().unwrap()));
        assert!(s.cookie_secure);
    }

    const AC: &str = "AC0123456789abcdef0123456789abcdef";
    const VA: &str = "VA0123456789abcdef0123456789abcdef";

    #[test]
    fn messagebird_needs_its_key_and_reads_its_options() {
        let error = settings(&[("VERIFY_PROVIDER", "messagebird")]).unwrap_err();
        assert_eq!(error.variable, "MESSAGEBIRD_ACCESS_KEY");
        let s = settings(&[
            ("VERIFY_PROVIDER", "MessageBird"),
            ("MESSAGEBIRD_ACCESS_KEY", "live_secret_key"),
            ("VERIFY_VOICE", "male"),
            ("VERIFY_LANGUAGE", "de-de"),
        ])
        .unwrap();
        let ProviderSettings::MessageBird(mb) = s.provider else {
            panic!("not messagebird")
        };
        assert_eq!(mb.api_url.as_str(), "https://rest.messagebird.com/");
        assert_eq!((mb.voice, mb.language.as_str()), (Voice::Male, "de-de"));
        assert!(
            !format!("{mb:?}").contains("live_secret_key"),
            "the key never prints"
        );
    }

    #[test]
    fn twilio_needs_well_formed_sids() {
        let ok = [
            ("VERIFY_PROVIDER", "twilio"),
            ("TWILIO_ACCOUNT_SID", AC),
            ("TWILIO_AUTH_TOKEN", "tok_secret"),
            ("TWILIO_VERIFY_SERVICE_SID", VA),
        ];
        let ProviderSettings::Twilio(tw) = settings(&ok).unwrap().provider else {
            panic!("not twilio")
        };
        assert_eq!(tw.locale, "en");
        assert_eq!(tw.api_url.as_str(), "https://verify.twilio.com/");
        assert!(!format!("{tw:?}").contains("tok_secret"));
        let mut bad = ok;
        bad[3] = ("TWILIO_VERIFY_SERVICE_SID", AC);
        assert_eq!(
            settings(&bad).unwrap_err().variable,
            "TWILIO_VERIFY_SERVICE_SID"
        );
        let mut bad = ok;
        bad[2] = ("TWILIO_AUTH_TOKEN", " ");
        assert_eq!(settings(&bad).unwrap_err().variable, "TWILIO_AUTH_TOKEN");
        let mut with_url = ok.to_vec();
        with_url.push(("TWILIO_VERIFY_API_URL", "ftp://x"));
        assert_eq!(
            settings(&with_url).unwrap_err().variable,
            "TWILIO_VERIFY_API_URL"
        );
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
            ("VERIFY_SMS_TEMPLATE", "no token here"),
        ] {
            let error = settings(&[(name, value)]).unwrap_err();
            assert_eq!(error.variable, name);
            assert!(error.to_string().starts_with(name));
        }
    }
}
