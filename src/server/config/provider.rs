//! Which Verify API sends the codes, read from `VERIFY_PROVIDER` and the credentials.
use std::time::Duration;

use super::ConfigError;
use super::env::Env;
use crate::server::provider::{
    CodePolicy, MessageBirdConfig, MessageTemplates, TwilioConfig, UpstreamTimeouts, Voice,
};

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

/// Without `VERIFY_PROVIDER`, the provider whose credentials are set; the local one
/// only when there are none, so that a deployment with an account never falls back
/// to handing out codes at `/dev/outbox`.
fn chosen_by_credentials(env: &Env<'_>) -> Result<&'static str, ConfigError> {
    let set = |name: &str| env.get(name).is_some_and(|v| !v.trim().is_empty());
    let messagebird = set("MESSAGEBIRD_ACCESS_KEY");
    let twilio = [
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_VERIFY_SERVICE_SID",
    ]
    .iter()
    .any(|name| set(name));
    match (messagebird, twilio) {
        (true, true) => Err(ConfigError {
            variable: "VERIFY_PROVIDER",
            problem: "MESSAGEBIRD_ACCESS_KEY and TWILIO_* are both set: say which to use \
                      (messagebird or twilio)"
                .into(),
        }),
        (true, false) => Ok("messagebird"),
        (false, true) => Ok("twilio"),
        (false, false) => Ok("local"),
    }
}

pub(super) fn provider_settings(
    env: &Env<'_>,
    code: CodePolicy,
    templates: &MessageTemplates,
) -> Result<ProviderSettings, ConfigError> {
    let kind = match env
        .get("VERIFY_PROVIDER")
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
    {
        Some(kind) => kind,
        None => chosen_by_credentials(env)?.to_owned(),
    };
    if kind == "local" {
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
            messages_api_url: env.url("TWILIO_API_URL", "https://api.twilio.com")?,
            messaging_service_sid: match env
                .get("TWILIO_MESSAGING_SERVICE_SID")
                .filter(|v| !v.trim().is_empty())
            {
                Some(_) => Some(env.sid("TWILIO_MESSAGING_SERVICE_SID", "MG")?),
                None => None,
            },
            from: twilio_from(env)?,
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

/// `TWILIO_FROM`, if set: a number in E.164 (`+` and 8 to 15 digits) or an
/// alphanumeric sender ID (1 to 11 letters, digits and spaces, at least one letter).
fn twilio_from(env: &Env<'_>) -> Result<Option<String>, ConfigError> {
    let Some(from) = env
        .get("TWILIO_FROM")
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    let number = from.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    });
    let sender_id = (1..=11).contains(&from.len())
        && from.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ')
        && from.bytes().any(|b| b.is_ascii_alphabetic());
    if number || sender_id {
        Ok(Some(from))
    } else {
        Err(ConfigError {
            variable: "TWILIO_FROM",
            problem: "must be a number in E.164 (+ and 8 to 15 digits) or a sender ID of 1 to 11 \
                      letters, digits and spaces"
                .into(),
        })
    }
}
