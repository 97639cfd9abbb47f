//! Every environment variable the server reads, with its default ("" = unset). The
//! README's settings table and `.env.example` are checked against this list, and
//! the defaults against what the code does with no variables at all (see the tests
//! below), so the three cannot drift apart.

/// `(name, default)`, in the order of `.env.example`.
pub const VARIABLES: &[(&str, &str)] = &[
    ("VERIFY_PROVIDER", ""),
    ("VERIFY_DEV_MODE", "false"),
    ("VERIFY_CODE_LENGTH", "6"),
    ("VERIFY_CODE_LIFETIME_SECS", "600"),
    ("VERIFY_MAX_ATTEMPTS", "5"),
    ("VERIFY_RESEND_COOLDOWN_SECS", "30"),
    ("VERIFY_DEFAULT_COUNTRY", ""),
    ("SESSION_COOKIE_SECURE", "false"),
    ("FRAME_ANCESTORS", "'self'"),
    ("VERIFY_PUBLIC_URL", ""),
    ("VERIFY_SITES_FILE", ""),
    ("VERIFY_PAGE_SITEKEY", ""),
    ("LEPTOS_SITE_ADDR", "127.0.0.1:3000"),
    ("LEPTOS_SITE_ROOT", "target/site"),
    ("LEPTOS_CONFIG", "Leptos.toml"),
    ("RUST_LOG", "warn,phone_verify=info"),
    ("LOG_FORMAT", "text"),
    ("METRICS_ADDR", ""),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
    ("OTEL_SERVICE_NAME", "phone-verify"),
    ("MESSAGEBIRD_ACCESS_KEY", ""),
    ("MESSAGEBIRD_API_URL", "https://rest.messagebird.com"),
    ("MESSAGEBIRD_ORIGINATOR", ""),
    ("TWILIO_ACCOUNT_SID", ""),
    ("TWILIO_AUTH_TOKEN", ""),
    ("TWILIO_VERIFY_SERVICE_SID", ""),
    ("TWILIO_VERIFY_API_URL", "https://verify.twilio.com"),
    ("TWILIO_API_URL", "https://api.twilio.com"),
    ("TWILIO_MESSAGING_SERVICE_SID", ""),
    ("TWILIO_FROM", ""),
    ("VERIFY_SMS_TEMPLATE", "Your phone-verify code is %token."),
    ("VERIFY_VOICE_TEMPLATE", "Your security code is %token."),
    ("VERIFY_VOICE", "female"),
    ("VERIFY_LANGUAGE", "en-gb"),
    ("VERIFY_OTP_DOMAIN", ""),
    ("UPSTREAM_CONNECT_TIMEOUT_MS", "3000"),
    ("UPSTREAM_TIMEOUT_MS", "10000"),
    ("DATA_DIR", "data"),
    ("REDIS_URL", ""),
    ("REDIS_PREFIX", "phone-verify:"),
    ("VERIFY_LIMIT_SESSION_SENDS", "3"),
    ("VERIFY_LIMIT_NUMBER_PER_HOUR", "5"),
    ("VERIFY_LIMIT_NUMBER_PER_DAY", "10"),
    ("VERIFY_LIMIT_IP_PER_HOUR", "10"),
    ("VERIFY_LIMIT_NETWORK_PER_HOUR", "50"),
    ("VERIFY_LIMIT_PREFIX_PER_HOUR", "20"),
    ("VERIFY_LIMIT_FAILED_CHECKS_PER_HOUR", "10"),
    ("VERIFY_LIMIT_GLOBAL_PER_HOUR", "1000"),
    ("VERIFY_LIMIT_COUNTRY_PER_HOUR", "200"),
    ("VERIFY_CHANNELS", "sms,voice"),
    ("VERIFY_LIMIT_SESSIONS_PER_HOUR", "100"),
    ("VERIFY_ALLOWED_COUNTRIES", ""),
    (
        "VERIFY_REFUSED_NUMBER_TYPES",
        "premium_rate,shared_cost,personal_number,pager,uan,voicemail",
    ),
    ("VERIFY_REFUSED_CALLING_CODES", "870,881,882,883,979"),
    ("TRUSTED_PROXIES", ""),
    ("HEADER_READ_TIMEOUT_SECS", "10"),
    ("BODY_READ_TIMEOUT_SECS", "10"),
    ("SHUTDOWN_DRAIN_SECS", "10"),
    ("SHUTDOWN_DELAY_SECS", "0"),
    ("MAX_CONNECTIONS", "4096"),
    ("UPSTREAM_MAX_IN_FLIGHT", "64"),
    ("UPSTREAM_BREAKER_FAILURES", "5"),
    ("UPSTREAM_BREAKER_COOLDOWN_SECS", "30"),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::VARIABLES;
    use crate::server::config::Settings;

    /// Variables read outside the settings code: by Leptos, by the log set-up.
    const READ_ELSEWHERE: &[&str] = &["LEPTOS_SITE_ADDR", "LEPTOS_SITE_ROOT", "RUST_LOG"];

    fn documented() -> BTreeMap<&'static str, &'static str> {
        VARIABLES.iter().copied().collect()
    }

    #[test]
    fn env_example_lists_every_variable_at_its_default() {
        let example: BTreeMap<String, String> = include_str!("../../../.env.example")
            .lines()
            .filter(|line| !line.starts_with('#') && line.contains('='))
            .map(|line| {
                let (name, value) = line.split_once('=').unwrap();
                (name.to_owned(), value.trim_matches('"').to_owned())
            })
            .collect();
        let expected: BTreeMap<String, String> = VARIABLES
            .iter()
            .map(|(name, default)| ((*name).to_owned(), (*default).to_owned()))
            .collect();
        assert_eq!(example, expected);
    }

    #[test]
    fn the_readme_table_names_every_variable() {
        let readme = include_str!("../../../README.md");
        for (name, _) in VARIABLES {
            // A row may name a pair as `VERIFY_LIMIT_NUMBER_PER_HOUR` / `_PER_DAY`.
            let parts: Vec<&str> = name.split('_').collect();
            let as_suffix = (1..parts.len()).any(|k| {
                let (head, tail) = (parts[..k].join("_"), parts[k..].join("_"));
                readme.lines().any(|line| {
                    line.contains(&format!("`_{tail}`")) && line.contains(&format!("`{head}_"))
                })
            });
            assert!(
                readme.contains(&format!("`{name}`")) || as_suffix,
                "{name} is missing from the README's settings table"
            );
        }
    }

    #[test]
    fn the_settings_code_reads_exactly_the_listed_variables() {
        let sources = [
            include_str!("read.rs"),
            include_str!("provider.rs"),
            include_str!("../telemetry.rs"),
        ];
        let mut read: Vec<String> = sources
            .iter()
            .flat_map(|source| source.split('"').skip(1).step_by(2))
            .filter(|word| {
                word.len() > 3
                    && word.contains('_')
                    && word
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
            // LEPTOS_OUTPUT_NAME only asks whether cargo-leptos runs us;
            // CARGO_PKG_VERSION is read by the compiler (`env!`), not at run time.
            .filter(|word| !matches!(*word, "LEPTOS_OUTPUT_NAME" | "CARGO_PKG_VERSION"))
            .map(str::to_owned)
            .collect();
        read.extend(READ_ELSEWHERE.iter().map(|name| (*name).to_owned()));
        read.sort();
        read.dedup();
        let listed: Vec<String> = documented().keys().map(|name| (*name).to_owned()).collect();
        assert_eq!(read, listed);
    }

    #[test]
    fn the_listed_defaults_are_what_no_variable_means() {
        let leptos = || {
            leptos::config::LeptosOptions::builder()
                .output_name("t")
                .build()
        };
        let none = Settings::from_lookup(leptos(), |_| None).unwrap();
        let defaults = documented();
        let all_at_default = Settings::from_lookup(leptos(), |name| {
            defaults
                .get(name)
                .filter(|v| !v.is_empty())
                .map(|v| (*v).to_owned())
        })
        .unwrap();
        assert_eq!(format!("{none:?}"), format!("{all_at_default:?}"));
    }
}
