//! Abuse limits, enforced on the server whatever the client does, and kept in the
//! state store so that they survive restarts and hold across instances.
//!
//! Sending a code costs money and can be aimed at a victim, so every send is counted
//! per session, per number (hour and day), per client IP (IPv6 by its /64) and per
//! number prefix; numbers outside the country allow-list are refused; wrong codes are
//! capped per number across resends and sessions. Windows are fixed (the counter resets
//! at the end of its hour or day), which may allow up to twice a limit across one
//! boundary; the daily limit bounds that.
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use axum::http::request::Parts;

use super::metrics::Metrics;
use super::proxies::TrustedProxies;
use super::store::{Counter as StoreCounter, Later, StateStore, StoreError, after_answer};
use crate::verify::{Channel, NumberKind, PhoneNumber, VerifyError};

/// The configured limits (`VERIFY_LIMIT_*`, see `.env.example`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitPolicy {
    /// Codes one session may have sent in 10 minutes (3).
    pub session_sends_per_10_min: u32,
    /// Codes sent to one number per hour (5) and per day (10), across sessions and IPs.
    pub number_per_hour: u32,
    pub number_per_day: u32,
    /// Codes requested from one client IP per hour (10); IPv6 counts by /64.
    pub ip_per_hour: u32,
    /// Codes requested from one IPv6 /48 per hour (50): a site's network, however
    /// many /64s it hands out, is not 65,536 clients.
    pub network_per_hour: u32,
    /// Codes sent to one number prefix (all but the last 4 digits) per hour (20).
    pub prefix_per_hour: u32,
    /// Wrong codes for one number per hour, across resends and sessions (10).
    pub failed_checks_per_number_per_hour: u32,
    /// Codes sent per hour in all (1,000): the ceiling on what an attack can spend.
    pub global_per_hour: u32,
    /// Codes sent per hour to the numbers of one country (200), with exceptions per
    /// country (ISO code, limit): a pumping wave aimed at one country's ranges stops
    /// there.
    pub country_per_hour: u32,
    pub country_exceptions: Vec<(String, u32)>,
    /// The channels codes may go by (`VERIFY_CHANNELS`): the kill switch for one.
    pub channels: Vec<Channel>,
    /// Sessions one client IP may have stored per hour (100): cookie sessions with
    /// something worth keeping, and embedded widgets' sessions.
    pub sessions_per_hour: u32,
    /// ISO country codes numbers may belong to; empty allows all.
    pub allowed_countries: Vec<String>,
    /// Kinds of line no code is sent to (premium rate and the like).
    pub refused_kinds: Vec<NumberKind>,
    /// Country calling codes no code is sent to (satellite networks, +979).
    pub refused_calling_codes: Vec<u16>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
}

/// Lines that cost whoever sends to them, or pay whoever owns them, and that no one
/// verifies as their own phone: the toll-fraud targets.
pub const DEFAULT_REFUSED_KINDS: &[NumberKind] = &[
    NumberKind::PremiumRate,
    NumberKind::SharedCost,
    NumberKind::PersonalNumber,
    NumberKind::Pager,
    NumberKind::Uan,
    NumberKind::Voicemail,
];

/// Inmarsat (+870), the satellite and international networks (+881, +882, +883),
/// and international premium rate (+979).
pub const DEFAULT_REFUSED_CALLING_CODES: &[u16] = &[870, 881, 882, 883, 979];

impl Default for LimitPolicy {
    fn default() -> Self {
        Self {
            session_sends_per_10_min: 3,
            number_per_hour: 5,
            number_per_day: 10,
            ip_per_hour: 10,
            prefix_per_hour: 20,
            network_per_hour: 50,
            failed_checks_per_number_per_hour: 10,
            global_per_hour: 1_000,
            country_per_hour: 200,
            country_exceptions: Vec::new(),
            channels: vec![Channel::Sms, Channel::Voice],
            sessions_per_hour: 100,
            allowed_countries: Vec::new(),
            refused_kinds: DEFAULT_REFUSED_KINDS.to_vec(),
            refused_calling_codes: DEFAULT_REFUSED_CALLING_CODES.to_vec(),
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

impl LimitPolicy {
    /// The hourly send budget of the country with ISO code `country`.
    pub fn country_limit(&self, country: &str) -> u32 {
        self.country_exceptions
            .iter()
            .find(|(code, _)| code == country)
            .map_or(self.country_per_hour, |(_, limit)| *limit)
    }
}

/// The number's own daily ceiling is this many requesters' daily limits.
const NUMBER_CEILING_REQUESTERS: u32 = 3;

const HOUR: u64 = 3_600;
const DAY: u64 = 86_400;
/// The per-session limit counts sends over this many seconds.
const SESSION_WINDOW: u64 = 600;

/// A request the limits turned down: what the visitor is told, and which limit it
/// was (none when the counters could not be read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub limit: Option<&'static str>,
    pub error: VerifyError,
}

impl Refusal {
    fn by(limit: &'static str, error: VerifyError) -> Self {
        Self {
            limit: Some(limit),
            error,
        }
    }

    /// Counts the refusal in the metrics, and gives the visitor's error.
    pub fn counted(self, metrics: &Metrics) -> VerifyError {
        if let Some(limit) = self.limit {
            metrics.refused(limit);
        }
        self.error
    }
}

/// The per-session limit, on the session's own record of its recent sends (Unix
/// seconds): forgets sends older than the window and refuses one more when the
/// window is full. The caller records an admitted send once every other limit agrees.
///
/// # Errors
/// A [`Refusal`] (`session-10min`) carrying [`VerifyError::RateLimited`] with the
/// wait until the oldest send leaves the window.
pub fn admit_session_send(
    sends_at: &mut Vec<u64>,
    policy: &LimitPolicy,
    now: u64,
) -> Result<(), Refusal> {
    sends_at.retain(|at| now < at + SESSION_WINDOW);
    if sends_at.len() < policy.session_sends_per_10_min as usize {
        return Ok(());
    }
    let oldest = sends_at.iter().min().copied().unwrap_or(now);
    let retry_after = u32::try_from(oldest + SESSION_WINDOW - now).unwrap_or(u32::MAX);
    Err(Refusal::by(
        "session-10min",
        VerifyError::RateLimited { retry_after },
    ))
}

/// One fixed-window counter: its store key and its limit.
struct Counter {
    name: &'static str,
    key: String,
    limit: u32,
    window: u64,
}

impl Counter {
    fn new(name: &'static str, subject: &str, limit: u32, window: u64, now: u64) -> Self {
        Self {
            name,
            key: format!("limit:{name}:{subject}:{}", now / window),
            limit,
            window,
        }
    }

    fn refusal(&self, now: u64) -> Refusal {
        Refusal::by(
            self.name,
            VerifyError::RateLimited {
                retry_after: self.retry_after(now),
            },
        )
    }

    fn retry_after(&self, now: u64) -> u32 {
        u32::try_from(self.window - now % self.window).unwrap_or(u32::MAX)
    }

    /// The counter as the store admits it.
    fn spec(&self) -> StoreCounter {
        StoreCounter {
            key: self.key.clone(),
            limit: u64::from(self.limit),
            ttl: Duration::from_secs(self.window),
        }
    }
}

fn store_failed(error: StoreError) -> Refusal {
    tracing::error!(%error, "limits unavailable");
    // Fail closed: without counters nothing may be sent.
    Refusal {
        limit: None,
        error: VerifyError::ServiceUnavailable,
    }
}

/// An embedding site's own daily budget of sends (`sends_per_day` in the sites file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteBudget {
    pub sitekey: String,
    pub per_day: u32,
}

impl SiteBudget {
    /// The site's counter for the day of `now`, as [`admit_send`] counts it: a
    /// confirmation text (`POST /api/v1/notify`) is counted in the same budget.
    pub fn counter(&self, now: u64) -> StoreCounter {
        self.day(now).spec()
    }

    /// The wait until the site's day is over, when its budget is used up.
    pub fn retry_after(&self, now: u64) -> u32 {
        self.day(now).retry_after(now)
    }

    fn day(&self, now: u64) -> Counter {
        Counter::new("site-day", &self.sitekey, self.per_day, DAY, now)
    }
}

/// The counters one send to `to` from `client` (for `site`) touches.
fn send_counters(
    policy: &LimitPolicy,
    to: &PhoneNumber,
    client: &str,
    site: Option<&SiteBudget>,
    now: u64,
) -> Vec<Counter> {
    let e164 = to.e164();
    let prefix = &e164[..e164.len().saturating_sub(4)];
    // A number's limits count per requester, so that a stranger who uses them up
    // does not lock the number's owner out; the number's own ceiling, a few
    // requesters' worth, still bounds what a crowd can send to it.
    let requested = format!("{e164}|{client}");
    let mut counters = vec![
        Counter::new("number-hour", &requested, policy.number_per_hour, HOUR, now),
        Counter::new("number-day", &requested, policy.number_per_day, DAY, now),
        Counter::new(
            "number-day-all",
            e164,
            policy
                .number_per_day
                .saturating_mul(NUMBER_CEILING_REQUESTERS),
            DAY,
            now,
        ),
        Counter::new("ip-hour", client, policy.ip_per_hour, HOUR, now),
        Counter::new("prefix-hour", prefix, policy.prefix_per_hour, HOUR, now),
        Counter::new("global-hour", "all", policy.global_per_hour, HOUR, now),
    ];
    let country = to.country().unwrap_or("001");
    counters.push(Counter::new(
        "country-hour",
        country,
        policy.country_limit(country),
        HOUR,
        now,
    ));
    if let Some(network) = ipv6_network(client) {
        counters.push(Counter::new(
            "net-hour",
            &network,
            policy.network_per_hour,
            HOUR,
            now,
        ));
    }
    if let Some(site) = site {
        counters.push(site.day(now));
    }
    counters
}

/// Refuses a number that no verification needs, before anything is counted or sent:
/// the refused kinds and calling codes, and a text to a fixed line (it can take a
/// call, not an SMS).
pub fn admit_number(
    policy: &LimitPolicy,
    to: &PhoneNumber,
    channel: Channel,
) -> Result<(), Refusal> {
    if !policy.channels.contains(&channel) {
        return Err(Refusal::by("channel", VerifyError::ChannelUnavailable));
    }
    let kind = to.kind();
    if policy.refused_kinds.contains(&kind)
        || policy.refused_calling_codes.contains(&to.calling_code())
    {
        tracing::warn!(alert = "toll_fraud", kind = kind.name(), to = %to.masked(), "number refused");
        return Err(Refusal::by("number-kind", VerifyError::NumberUnreachable));
    }
    if kind == NumberKind::FixedLine && channel == Channel::Sms {
        return Err(Refusal::by("landline-sms", VerifyError::LandlineNeedsCall));
    }
    Ok(())
}

/// The /48 of an IPv6 client key (`2001:db8:1:2::/64` → `2001:db8:1::/48`).
fn ipv6_network(client: &str) -> Option<String> {
    let address: Ipv6Addr = client.strip_suffix("/64")?.parse().ok()?;
    let s = address.segments();
    Some(format!(
        "{}/48",
        Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0)
    ))
}

/// Refuses a send that any limit forbids; otherwise counts it. Called before the
/// provider is asked, so a refused send costs nothing. A send that makes the
/// client's session (`new_session`) is counted against the limit on new sessions in
/// the same step: one trip to the store, and a refused session counts no send.
pub async fn admit_send(
    store: &dyn StateStore,
    policy: &LimitPolicy,
    to: &PhoneNumber,
    client: &str,
    site: Option<&SiteBudget>,
    new_session: bool,
    now: u64,
) -> Result<(), Refusal> {
    if !policy.allowed_countries.is_empty()
        && !to
            .country()
            .is_some_and(|c| policy.allowed_countries.iter().any(|a| a == c))
    {
        return Err(Refusal::by(
            "country-allowed",
            VerifyError::CountryNotAllowed,
        ));
    }
    let mut counters = send_counters(policy, to, client, site, now);
    if new_session {
        counters.push(new_session_counter(policy, client, now));
    }
    let specs: Vec<StoreCounter> = counters.iter().map(Counter::spec).collect();
    match store.admit(&specs).await.map_err(store_failed)? {
        None => Ok(()),
        Some(full) => {
            let counter = &counters[full];
            let limit = counter.name;
            if limit.starts_with("global") || limit.starts_with("country") {
                // Every visitor (of one country) is refused now: somebody must look.
                tracing::warn!(
                    alert = "send_budget",
                    limit,
                    "an hourly send budget is used up"
                );
            } else if limit.starts_with("site") {
                tracing::warn!(
                    alert = "site_budget",
                    limit,
                    "a site's daily sends are used up"
                );
            } else if limit.starts_with("prefix") {
                // Many numbers of one range is the mark of SMS pumping (toll fraud):
                // an alert for whoever watches the logs, not just a refusal.
                tracing::warn!(
                    alert = "sms_pumping",
                    limit,
                    "sends to one number range refused"
                );
            } else {
                tracing::info!(limit, "send refused by a limit");
            }
            Err(counter.refusal(now))
        }
    }
}

/// What one code check is counted against.
pub struct CheckSubject<'a> {
    /// The provider's verification the code belongs to: its tries are counted per
    /// code, and a resend that keeps the verification keeps its count.
    pub reference: &'a str,
    pub e164: &'a str,
    pub client: &'a str,
    /// How many tries one code gets (`VERIFY_MAX_ATTEMPTS`), and how long it lives.
    pub max_attempts: u32,
    pub lifetime: Duration,
}

/// Counts a code check against every limit before the provider hears of it, in one
/// atomic store call, so that checks sent at once are each counted: per code (its
/// tries), per number (`VERIFY_LIMIT_FAILED_CHECKS_PER_HOUR`) and per client (every
/// code it may request, with all its tries). Every try is counted before its answer
/// is known; a right code is then given back to the number ([`right_code`]), whose
/// limit is on wrong codes.
///
/// # Errors
/// A [`Refusal`] carrying [`VerifyError::TooManyAttempts`] once the code has had
/// its tries, or [`VerifyError::RateLimited`] when the number or the client has had
/// too many.
pub async fn admit_check(
    store: &dyn StateStore,
    policy: &LimitPolicy,
    subject: &CheckSubject<'_>,
    now: u64,
) -> Result<(), Refusal> {
    let per_client = policy.ip_per_hour.saturating_mul(subject.max_attempts);
    let windowed = [
        failed_checks_counter(policy, subject.e164, subject.client, now),
        Counter::new("checks-ip-hour", subject.client, per_client, HOUR, now),
    ];
    let mut specs = vec![StoreCounter {
        key: code_tries_key(subject.reference),
        limit: u64::from(subject.max_attempts),
        ttl: subject.lifetime,
    }];
    specs.extend(windowed.iter().map(Counter::spec));
    match store.admit(&specs).await.map_err(store_failed)? {
        None => Ok(()),
        Some(0) => Err(Refusal::by("code-tries", VerifyError::TooManyAttempts)),
        Some(full) => {
            let counter = &windowed[full - 1];
            tracing::info!(limit = counter.name, "check refused by a limit");
            Err(counter.refusal(now))
        }
    }
}

/// Settles a try that was the right code: gives the number's count back, and
/// forgets the code's tries, which nothing asks for once its verification is done
/// (the session holds no pending code after it). In a flow request both are made
/// once the answer is out ([`after_answer`]), since no answer depends on them; on
/// SQLite a count made and forgotten within one write-behind never reaches the file.
pub async fn right_code(
    store: &dyn StateStore,
    policy: &LimitPolicy,
    subject: &CheckSubject<'_>,
    now: u64,
) -> Result<(), VerifyError> {
    let counter = failed_checks_counter(policy, subject.e164, subject.client, now);
    let settled = [
        Later::Release(counter.key),
        Later::Delete(code_tries_key(subject.reference)),
    ];
    after_answer(store, settled)
        .await
        .map_err(|error| store_failed(error).error)
}

fn code_tries_key(reference: &str) -> String {
    format!("limit:code-tries:{reference}")
}

/// Wrong codes count per number and requester: the tries of each code are limited
/// on their own (`code-tries`), so a stranger's wrong codes never lock the owner's.
fn failed_checks_counter(policy: &LimitPolicy, e164: &str, client: &str, now: u64) -> Counter {
    Counter::new(
        "failed-hour",
        &format!("{e164}|{client}"),
        policy.failed_checks_per_number_per_hour,
        HOUR,
        now,
    )
}

/// Counts a new stored session for `client`, or refuses it: a script that makes
/// sessions in a loop fills the store no faster than this.
///
/// # Errors
/// A [`Refusal`] (`sessions-hour`) carrying [`VerifyError::RateLimited`] with the
/// wait, once the client's hour is full.
pub async fn admit_new_session(
    store: &dyn StateStore,
    policy: &LimitPolicy,
    client: &str,
    now: u64,
) -> Result<(), Refusal> {
    let counter = new_session_counter(policy, client, now);
    match store.admit(&[counter.spec()]).await.map_err(store_failed)? {
        None => Ok(()),
        Some(_) => {
            tracing::info!(limit = counter.name, "new session refused by a limit");
            Err(counter.refusal(now))
        }
    }
}

fn new_session_counter(policy: &LimitPolicy, client: &str, now: u64) -> Counter {
    Counter::new("sessions-hour", client, policy.sessions_per_hour, HOUR, now)
}

/// The resend wait after `sends` codes: the base, doubling with each send, up to 16×.
pub fn cooldown(base: Duration, sends: u32) -> u64 {
    base.as_secs()
        .saturating_mul(1 << sends.saturating_sub(1).min(4))
}

/// The client the limits count: the peer, or, behind a trusted proxy, the nearest
/// address in `X-Forwarded-For` that is not one of our proxies. IPv6 clients are
/// counted by their /64, which one subscriber usually holds whole.
pub fn client_key(parts: &Parts, trusted_proxies: &TrustedProxies) -> String {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let mut client = peer;
    if peer.is_some_and(|p| trusted_proxies.contains(&p)) {
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        let hops: Vec<IpAddr> = forwarded
            .flat_map(|v| v.split(','))
            .filter_map(|hop| hop.trim().parse().ok())
            .collect();
        if let Some(hop) = hops.iter().rev().find(|hop| !trusted_proxies.contains(hop)) {
            client = Some(*hop);
        }
    }
    match client {
        Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        Some(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
        Some(ip) => ip.to_string(),
        None => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use axum::extract::ConnectInfo;
    use axum::http::Request;

    use super::*;

    fn parts(peer: &str, forwarded: Option<&str>) -> Parts {
        let mut request = Request::builder();
        if let Some(f) = forwarded {
            request = request.header("x-forwarded-for", f);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo::<SocketAddr>(peer.parse().unwrap()));
        parts
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        assert_eq!(
            client_key(
                &parts("[2001:db8:1:2:aaaa::1]:5000", None),
                &TrustedProxies::default()
            ),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            client_key(
                &parts("[2001:db8:1:2:bbbb::9]:5000", None),
                &TrustedProxies::default()
            ),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            client_key(
                &parts("[::ffff:192.0.2.7]:5000", None),
                &TrustedProxies::default()
            ),
            "192.0.2.7"
        );
        assert_eq!(
            client_key(&parts("192.0.2.7:5000", None), &TrustedProxies::default()),
            "192.0.2.7"
        );
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy = TrustedProxies::parse("10.0.0.0/24").unwrap();
        let spoofed = parts("192.0.2.7:5000", Some("203.0.113.9"));
        assert_eq!(
            client_key(&spoofed, &proxy),
            "192.0.2.7",
            "not from a proxy: ignored"
        );
        let proxied = parts(
            "10.0.0.1:5000",
            Some("203.0.113.66, 198.51.100.5, 10.0.0.7"),
        );
        assert_eq!(
            client_key(&proxied, &proxy),
            "198.51.100.5",
            "the nearest untrusted hop"
        );
    }

    #[test]
    fn a_session_may_send_three_codes_per_ten_minutes() {
        let policy = LimitPolicy::default();
        let mut sends_at = vec![1_000, 1_100, 1_200];
        assert_eq!(
            admit_session_send(&mut sends_at, &policy, 1_300).map_err(|refusal| refusal.error),
            Err(VerifyError::RateLimited { retry_after: 300 }),
            "the wait ends when the oldest send leaves the window"
        );
        assert_eq!(sends_at.len(), 3, "a refusal records nothing");
        assert_eq!(admit_session_send(&mut sends_at, &policy, 1_600), Ok(()));
        assert_eq!(
            sends_at,
            [1_100, 1_200],
            "sends older than the window are forgotten"
        );
    }

    #[test]
    fn cooldowns_double_up_to_sixteen_times() {
        let base = Duration::from_secs(30);
        let waits: Vec<u64> = (1..=7).map(|sends| cooldown(base, sends)).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 480, 480]);
    }

    #[test]
    fn toll_fraud_numbers_are_refused_and_landlines_only_called() {
        let policy = LimitPolicy::default();
        let check = |number: &str, channel| {
            admit_number(&policy, &PhoneNumber::parse(number, None).unwrap(), channel)
                .map_err(|refusal| refusal.error)
        };
        for number in [
            "+44 909 879 0000", // premium rate
            "+44 70 1234 5678", // personal number
            "+44 76 0012 3456", // pager
            "+44 55 1234 5678", // UAN
            "+979 123456789",   // international premium rate
            "+881 631234567",   // satellite
            "+870 773111632",   // Inmarsat
        ] {
            assert_eq!(
                check(number, Channel::Sms),
                Err(VerifyError::NumberUnreachable),
                "{number}"
            );
            assert_eq!(
                check(number, Channel::Voice),
                Err(VerifyError::NumberUnreachable),
                "{number}"
            );
        }
        assert_eq!(
            check("+44 20 7946 0018", Channel::Sms),
            Err(VerifyError::LandlineNeedsCall)
        );
        assert_eq!(check("+44 20 7946 0018", Channel::Voice), Ok(()));
        assert_eq!(check("+44 7911 123456", Channel::Sms), Ok(()));
        assert_eq!(
            check("+1 201 555 0123", Channel::Sms),
            Ok(()),
            "US lines may be mobiles"
        );
        let open = LimitPolicy {
            refused_kinds: Vec::new(),
            refused_calling_codes: Vec::new(),
            ..LimitPolicy::default()
        };
        let premium = PhoneNumber::parse("+44 909 879 0000", None).unwrap();
        assert_eq!(
            admit_number(&open, &premium, Channel::Voice),
            Ok(()),
            "the lists are the operator's"
        );
    }
}
