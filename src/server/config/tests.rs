//! The settings read from the environment: defaults, limits, refusals.
use std::collections::HashMap;

use std::time::Duration;

use leptos::config::LeptosOptions;

use super::*;
use crate::server::provider::{CodePolicy, MessageTemplates, Voice};

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
    assert!(!s.served_over_https);
    assert_eq!(s.frame_ancestors, "'self'");
    assert_eq!(s.limits, LimitPolicy::default());
    assert_eq!(s.connections, ConnectionPolicy::default());
    assert_eq!(s.upstream_guard, GuardPolicy::default());
}

#[test]
fn embedding_settings_are_origins() {
    let s = settings(&[("FRAME_ANCESTORS", "'self'  https://shop.example")]).unwrap();
    assert_eq!(s.frame_ancestors, "'self' https://shop.example");
    for (name, value) in [
        ("FRAME_ANCESTORS", "*"),
        ("FRAME_ANCESTORS", "https://shop.example/path"),
        ("FRAME_ANCESTORS", "'none' 'self'"),
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
    assert!(s.served_over_https);
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
fn twilio_texts_need_a_messaging_service_or_a_sender() {
    let ok = [
        ("VERIFY_PROVIDER", "twilio"),
        ("TWILIO_ACCOUNT_SID", AC),
        ("TWILIO_AUTH_TOKEN", "tok_secret"),
        ("TWILIO_VERIFY_SERVICE_SID", VA),
    ];
    let twilio = |extra: &[(&'static str, &'static str)]| {
        let mut vars = ok.to_vec();
        vars.extend_from_slice(extra);
        settings(&vars).map(|s| match s.provider {
            ProviderSettings::Twilio(tw) => tw,
            _ => panic!("not twilio"),
        })
    };
    let none = twilio(&[]).unwrap();
    assert_eq!(none.messages_api_url.as_str(), "https://api.twilio.com/");
    assert_eq!((none.messaging_service_sid, none.from), (None, None));
    let service = twilio(&[(
        "TWILIO_MESSAGING_SERVICE_SID",
        "MG0123456789abcdef0123456789abcdef",
    )])
    .unwrap();
    assert!(service.messaging_service_sid.is_some());
    for from in ["+15005550006", "PhoneVerify", "Shop 24"] {
        assert_eq!(
            twilio(&[("TWILIO_FROM", from)]).unwrap().from.as_deref(),
            Some(from)
        );
    }
    for (name, bad) in [
        ("TWILIO_MESSAGING_SERVICE_SID", "MG123"),
        ("TWILIO_MESSAGING_SERVICE_SID", VA),
        ("TWILIO_FROM", "+1555"),
        ("TWILIO_FROM", "A sender far too long"),
        ("TWILIO_FROM", "12345"),
        ("TWILIO_FROM", "shop!"),
        ("TWILIO_API_URL", "http://api.twilio.example"),
    ] {
        assert_eq!(twilio(&[(name, bad)]).unwrap_err().variable, name, "{bad}");
    }
}

#[test]
fn provider_urls_are_https_except_on_loopback() {
    let with = |url: &str| {
        settings(&[
            ("MESSAGEBIRD_ACCESS_KEY", "k"),
            ("MESSAGEBIRD_API_URL", url),
        ])
    };
    let plain = with("http://rest.messagebird.example").unwrap_err();
    assert_eq!(plain.variable, "MESSAGEBIRD_API_URL");
    assert!(plain.problem.contains("use https"), "{plain}");
    for fine in [
        "https://rest.messagebird.example",
        "http://127.0.0.1:4010",
        "http://[::1]:4010",
        "http://localhost:4010",
    ] {
        assert!(with(fine).is_ok(), "{fine}");
    }
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

#[test]
fn weak_settings_are_refused_with_the_reason() {
    for (name, value, reason) in [
        ("VERIFY_CODE_LENGTH", "5", "six digits"),
        ("VERIFY_CODE_LENGTH", "4", "six digits"),
        ("VERIFY_MAX_ATTEMPTS", "11", "guess"),
        ("VERIFY_CODE_LIFETIME_SECS", "3600", "ten minutes"),
        ("VERIFY_LIMIT_FAILED_CHECKS_PER_HOUR", "101", "100 failed"),
    ] {
        let error = settings(&[(name, value)]).unwrap_err();
        assert_eq!(error.variable, name);
        assert!(error.problem.contains(reason), "{error}");
    }
    let upside_down = settings(&[
        ("VERIFY_LIMIT_NUMBER_PER_HOUR", "20"),
        ("VERIFY_LIMIT_NUMBER_PER_DAY", "10"),
    ])
    .unwrap_err();
    assert_eq!(upside_down.variable, "VERIFY_LIMIT_NUMBER_PER_DAY");
    for (name, value) in [
        ("VERIFY_CODE_LENGTH", "6"),
        ("VERIFY_MAX_ATTEMPTS", "10"),
        ("VERIFY_CODE_LIFETIME_SECS", "600"),
        ("VERIFY_LIMIT_FAILED_CHECKS_PER_HOUR", "100"),
    ] {
        assert!(
            settings(&[(name, value)]).is_ok(),
            "{name}={value} is allowed"
        );
    }
}

#[test]
fn credentials_choose_the_provider_when_none_is_named() {
    let twilio = [
        ("TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000000"),
        ("TWILIO_AUTH_TOKEN", "token"),
        (
            "TWILIO_VERIFY_SERVICE_SID",
            "VA00000000000000000000000000000000",
        ),
    ];
    assert!(matches!(
        settings(&twilio).unwrap().provider,
        ProviderSettings::Twilio(_)
    ));
    let messagebird = [("MESSAGEBIRD_ACCESS_KEY", "live_key")];
    assert!(matches!(
        settings(&messagebird).unwrap().provider,
        ProviderSettings::MessageBird(_)
    ));
    // Half a Twilio account is still a Twilio account: its missing part is named.
    let half = settings(&[("TWILIO_AUTH_TOKEN", "token")]).unwrap_err();
    assert_eq!(half.variable, "TWILIO_ACCOUNT_SID");
    // Both: say which.
    let both = settings(&[twilio[0], twilio[1], twilio[2], messagebird[0]]).unwrap_err();
    assert_eq!(both.variable, "VERIFY_PROVIDER");
    assert!(both.problem.contains("MESSAGEBIRD_ACCESS_KEY") && both.problem.contains("TWILIO_"));
    // Named explicitly, the local provider wins over stray credentials.
    let explicit = settings(&[("VERIFY_PROVIDER", "local"), messagebird[0]]).unwrap();
    assert!(matches!(explicit.provider, ProviderSettings::Local));
}

#[test]
fn the_local_provider_serves_on_loopback_only_unless_told() {
    let on = |addr: &str, vars: &[(&str, &str)]| {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let leptos = LeptosOptions::builder()
            .output_name("t")
            .site_addr(addr.parse::<std::net::SocketAddr>().unwrap())
            .build();
        Settings::from_lookup(leptos, |name| vars.get(name).cloned())
    };
    assert!(on("127.0.0.1:3000", &[]).is_ok());
    assert!(on("[::1]:3000", &[]).is_ok());
    let public = on("0.0.0.0:3000", &[]).unwrap_err();
    assert_eq!(public.variable, "VERIFY_PROVIDER");
    assert!(public.problem.contains("/dev/outbox") && public.problem.contains("VERIFY_DEV_MODE"));
    assert!(on("0.0.0.0:3000", &[("VERIFY_DEV_MODE", "true")]).is_ok());
    assert!(on("0.0.0.0:3000", &[("MESSAGEBIRD_ACCESS_KEY", "live_key")]).is_ok());
}

#[test]
fn send_budgets_and_channels_are_read_with_their_exceptions() {
    let s = settings(&[
        ("VERIFY_LIMIT_COUNTRY_PER_HOUR", "50, gb=1000 ,NG=5"),
        ("VERIFY_LIMIT_GLOBAL_PER_HOUR", "700"),
        ("VERIFY_CHANNELS", "SMS"),
    ])
    .unwrap();
    assert_eq!(s.limits.global_per_hour, 700);
    assert_eq!(
        (
            s.limits.country_limit("GB"),
            s.limits.country_limit("NG"),
            s.limits.country_limit("DE")
        ),
        (1000, 5, 50)
    );
    assert_eq!(s.limits.channels, vec![crate::verify::Channel::Sms]);
    for (name, value) in [
        ("VERIFY_LIMIT_COUNTRY_PER_HOUR", "10,XX=5"),
        ("VERIFY_LIMIT_COUNTRY_PER_HOUR", "10,GB=0"),
        ("VERIFY_CHANNELS", "fax"),
        ("VERIFY_CHANNELS", " , "),
    ] {
        assert_eq!(
            settings(&[(name, value)]).unwrap_err().variable,
            name,
            "{value}"
        );
    }
}

#[test]
fn an_https_public_url_makes_cookies_secure_without_a_switch() {
    let s = settings(&[("VERIFY_PUBLIC_URL", "https://verify.example")]).unwrap();
    assert!(
        s.served_over_https,
        "the __Host- cookie, Secure and HSTS follow"
    );
    let s = settings(&[("VERIFY_PUBLIC_URL", "http://127.0.0.1:3000")]).unwrap();
    assert!(!s.served_over_https);
}

#[test]
fn trusted_proxies_may_be_ranges() {
    let s = settings(&[("TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::/32, 192.0.2.7")]).unwrap();
    for proxy in ["10.20.30.40", "2001:db8::9", "192.0.2.7"] {
        assert!(
            s.limits.trusted_proxies.contains(&proxy.parse().unwrap()),
            "{proxy}"
        );
    }
    let error = settings(&[("TRUSTED_PROXIES", "10.0.0.0/40")]).unwrap_err();
    assert_eq!(error.variable, "TRUSTED_PROXIES");
}
