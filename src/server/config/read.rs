//! Turning the environment into [`Settings`].
use std::time::Duration;

use leptos::config::{LeptosOptions, get_configuration};
use secrecy::SecretString;

use super::env::Env;
use super::provider::{ProviderSettings, provider_settings};
use super::{ConfigError, ConnectionPolicy, Settings};
use crate::server::limits::LimitPolicy;
use crate::server::provider::{CodePolicy, GuardPolicy, MessageTemplates};
use crate::server::proxies::TrustedProxies;
use crate::server::sites::Sites;
use crate::verify::{Channel, CountryCode, NumberKind};

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
        let length: u8 = env.parse_safe(
            "VERIFY_CODE_LENGTH",
            6,
            6..=10,
            "shorter codes are too easy to guess (NIST SP 800-63B asks for six digits or more)",
        )?;
        let lifetime: u64 = env.parse_safe(
            "VERIFY_CODE_LIFETIME_SECS",
            600,
            60..=600,
            "a code sent by text or call lives ten minutes at most (NIST SP 800-63B, ASVS 6.5.5)",
        )?;
        let max_attempts: u32 = env.parse_safe(
            "VERIFY_MAX_ATTEMPTS",
            5,
            1..=10,
            "every try is a guess at the code; more than 10 per code makes guessing pay",
        )?;
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
        let dev_mode = env.parse_bool("VERIFY_DEV_MODE", false)?;
        if matches!(provider, ProviderSettings::Local)
            && !leptos.site_addr.ip().is_loopback()
            && !dev_mode
        {
            return Err(ConfigError {
                variable: "VERIFY_PROVIDER",
                problem: format!(
                    "the local provider shows every code at /dev/outbox, so it listens on a loopback \
                     address only, not {}: configure MessageBird or Twilio, listen on 127.0.0.1, or \
                     set VERIFY_DEV_MODE=true for a development machine",
                    leptos.site_addr
                ),
            });
        }
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
        let frame_ancestors = env.source_list("FRAME_ANCESTORS")?;
        let public_url = public_url(&env, &leptos)?;
        // An https public address means browsers reach us over HTTPS (through a
        // proxy that terminates it): the secure cookie and HSTS follow by themselves.
        let served_over_https =
            env.parse_bool("SESSION_COOKIE_SECURE", false)? || public_url.starts_with("https://");
        let sites = sites(&env, &leptos)?;
        let page_sitekey = page_sitekey(&env, &sites, &public_url)?;
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
            ready_grace: env.secs("SHUTDOWN_DELAY_SECS", 0, 0..=300)?,
            max_open: env.parse_in("MAX_CONNECTIONS", 4_096, 16..=1_000_000)?,
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
        let metrics_addr = match env.get("METRICS_ADDR").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(addr) => Some(addr.trim().parse().map_err(|_| ConfigError {
                variable: "METRICS_ADDR",
                problem: format!("{addr:?} is not an address and port, like 127.0.0.1:9100"),
            })?),
        };
        Ok(Self {
            leptos,
            provider,
            code,
            templates,
            resend_cooldown: Duration::from_secs(cooldown),
            default_country,
            served_over_https,
            frame_ancestors,
            public_url,
            sites,
            page_sitekey,
            data_dir,
            redis_url,
            redis_prefix,
            limits,
            connections,
            upstream_guard,
            metrics_addr,
        })
    }
}

fn public_url(env: &Env<'_>, leptos: &LeptosOptions) -> Result<String, ConfigError> {
    let Some(url) = env
        .get("VERIFY_PUBLIC_URL")
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(format!("http://{}", leptos.site_addr));
    };
    let url = url.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(url).ok();
    let plain = parsed.as_ref().is_some_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.host_str().is_some()
            && u.path() == "/"
            && u.query().is_none()
            && u.username().is_empty()
    });
    if !plain {
        return Err(ConfigError {
            variable: "VERIFY_PUBLIC_URL",
            problem: format!(
                "{url:?} is not an http(s) URL without a path, like https://verify.example"
            ),
        });
    }
    Ok(url.to_owned())
}

/// A site that allows this server's own origin, for the tokens of its own page.
fn page_sitekey(
    env: &Env<'_>,
    sites: &Sites,
    public_url: &str,
) -> Result<Option<String>, ConfigError> {
    let Some(key) = env
        .get("VERIFY_PAGE_SITEKEY")
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
    else {
        return Ok(None);
    };
    let problem = |problem: String| ConfigError {
        variable: "VERIFY_PAGE_SITEKEY",
        problem,
    };
    let site = sites
        .find(&key)
        .ok_or_else(|| problem(format!("{key} is not one of the sites")))?;
    if !site.allows_origin(public_url) {
        return Err(problem(format!(
            "site {key} does not allow this server's origin {public_url}"
        )));
    }
    Ok(Some(key))
}

/// The sites file, or the development site when listening on loopback.
fn sites(env: &Env<'_>, leptos: &LeptosOptions) -> Result<Sites, ConfigError> {
    let problem = |problem: String| ConfigError {
        variable: "VERIFY_SITES_FILE",
        problem,
    };
    match env
        .get("VERIFY_SITES_FILE")
        .filter(|v| !v.trim().is_empty())
    {
        Some(path) => {
            let text = std::fs::read_to_string(path.trim())
                .map_err(|e| problem(format!("cannot read {path:?}: {e}")))?;
            Sites::from_toml(&text).map_err(|e| problem(format!("{path}: {e}")))
        }
        None if leptos.site_addr.ip().is_loopback() => Ok(Sites::development()),
        None => Ok(Sites::default()),
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
    let refused_kinds = match env.get("VERIFY_REFUSED_NUMBER_TYPES") {
        None => d.refused_kinds.clone(),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|name| {
                NumberKind::parse(&name.to_ascii_lowercase()).ok_or_else(|| ConfigError {
                    variable: "VERIFY_REFUSED_NUMBER_TYPES",
                    problem: format!(
                        "{name:?} is not a number type (one of {})",
                        NumberKind::NAMES
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let refused_calling_codes = match env.get("VERIFY_REFUSED_CALLING_CODES") {
        None => d.refused_calling_codes.clone(),
        Some(list) => list
            .split(',')
            .map(|c| c.trim().trim_start_matches('+'))
            .filter(|c| !c.is_empty())
            .map(|code| {
                code.parse::<u16>()
                    .ok()
                    .filter(|c| (1..=999).contains(c))
                    .ok_or_else(|| ConfigError {
                        variable: "VERIFY_REFUSED_CALLING_CODES",
                        problem: format!("{code:?} is not a country calling code like 979"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let trusted_proxies = TrustedProxies::parse(&env.get("TRUSTED_PROXIES").unwrap_or_default())
        .map_err(|problem| ConfigError {
            variable: "TRUSTED_PROXIES",
            problem,
        })?;
    let max = 1_000_000;
    let (country_per_hour, country_exceptions) = country_budgets(env, d.country_per_hour, max)?;
    let policy = LimitPolicy {
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
        network_per_hour: env.parse_in(
            "VERIFY_LIMIT_NETWORK_PER_HOUR",
            d.network_per_hour,
            1..=max,
        )?,
        prefix_per_hour: env.parse_in(
            "VERIFY_LIMIT_PREFIX_PER_HOUR",
            d.prefix_per_hour,
            1..=max,
        )?,
        global_per_hour: env.parse_in(
            "VERIFY_LIMIT_GLOBAL_PER_HOUR",
            d.global_per_hour,
            1..=max,
        )?,
        country_per_hour,
        country_exceptions,
        channels: channels(env)?,
        sessions_per_hour: env.parse_in(
            "VERIFY_LIMIT_SESSIONS_PER_HOUR",
            d.sessions_per_hour,
            1..=max,
        )?,
        failed_checks_per_number_per_hour: env.parse_safe(
            "VERIFY_LIMIT_FAILED_CHECKS_PER_HOUR",
            d.failed_checks_per_number_per_hour,
            1..=100,
            "NIST SP 800-63B allows at most 100 failed attempts",
        )?,
        allowed_countries,
        refused_kinds,
        refused_calling_codes,
        trusted_proxies,
    };
    if policy.number_per_day < policy.number_per_hour {
        return Err(ConfigError {
            variable: "VERIFY_LIMIT_NUMBER_PER_DAY",
            problem: format!(
                "{} a day is less than VERIFY_LIMIT_NUMBER_PER_HOUR's {} an hour",
                policy.number_per_day, policy.number_per_hour
            ),
        });
    }
    Ok(policy)
}

/// `VERIFY_LIMIT_COUNTRY_PER_HOUR`: a limit for every country, then exceptions, as
/// in `200,GB=1000,NG=20`.
fn country_budgets(
    env: &Env<'_>,
    default: u32,
    max: u32,
) -> Result<(u32, Vec<(String, u32)>), ConfigError> {
    const NAME: &str = "VERIFY_LIMIT_COUNTRY_PER_HOUR";
    let raw = env.get(NAME).unwrap_or_default();
    let problem = |problem: String| ConfigError {
        variable: NAME,
        problem,
    };
    let limit = |text: &str| {
        text.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| problem(format!("{text:?} is not a number of sends from 1 to {max}")))
    };
    let mut every = default;
    let mut exceptions = Vec::new();
    for (i, item) in raw.split(',').map(str::trim).enumerate() {
        match item.split_once('=') {
            _ if item.is_empty() => {}
            None if i == 0 => every = limit(item)?,
            None => {
                return Err(problem(format!(
                    "{item:?} should be COUNTRY=LIMIT, as in GB=1000"
                )));
            }
            Some((country, n)) => {
                let country = country
                    .trim()
                    .parse::<CountryCode>()
                    .map_err(problem)?
                    .to_string();
                exceptions.push((country, limit(n)?));
            }
        }
    }
    Ok((every, exceptions))
}

/// `VERIFY_CHANNELS`: the channels codes may go by, `sms,voice` unless one is
/// switched off.
fn channels(env: &Env<'_>) -> Result<Vec<Channel>, ConfigError> {
    let Some(list) = env.get("VERIFY_CHANNELS") else {
        return Ok(vec![Channel::Sms, Channel::Voice]);
    };
    let channels = list
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|name| match name.to_ascii_lowercase().as_str() {
            "sms" => Ok(Channel::Sms),
            "voice" => Ok(Channel::Voice),
            _ => Err(ConfigError {
                variable: "VERIFY_CHANNELS",
                problem: format!("{name:?} is not a channel (sms, voice)"),
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if channels.is_empty() {
        return Err(ConfigError {
            variable: "VERIFY_CHANNELS",
            problem: "no channel left: name sms, voice or both".into(),
        });
    }
    Ok(channels)
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
