use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Mutex;

use crate::{Claims, Expected, JWKS_PATH, JwkSet, TokenError, verify};

/// The issuer's published keys, fetched on first use and kept for the time its
/// `Cache-Control: max-age` allows. A token signed by a key not in the cache causes
/// one fresh fetch (phone-verify rotates its keys), but at most one per
/// [`REFETCH_COOLDOWN`], so that tokens with made-up `kid`s cannot turn every request
/// into a fetch.
pub struct RemoteJwks {
    url: String,
    client: reqwest::Client,
    cooldown: Duration,
    cache: Mutex<Cache>,
}

/// The shortest time between two fetches caused by an unknown `kid`.
pub const REFETCH_COOLDOWN: Duration = Duration::from_secs(30);

/// How long keys are kept when the answer names no `max-age`.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

#[derive(Default)]
struct Cache {
    keys: Option<JwkSet>,
    fresh_until: Option<Instant>,
    last_fetch: Option<Instant>,
}

impl RemoteJwks {
    /// The keys of the phone-verify server at `issuer` (its public URL).
    ///
    /// # Errors
    /// [`TokenError::Keys`] when no HTTP client can be made.
    pub fn new(issuer: &str) -> Result<Self, TokenError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TokenError::Keys(e.to_string()))?;
        Ok(Self {
            url: format!("{}{JWKS_PATH}", issuer.trim_end_matches('/')),
            client,
            cooldown: REFETCH_COOLDOWN,
            cache: Mutex::new(Cache::default()),
        })
    }

    /// Another shortest time between fetches caused by unknown `kid`s.
    #[must_use]
    pub fn with_refetch_cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// Checks `token` as [`verify`] does, against the issuer's current keys.
    ///
    /// # Errors
    /// Why the token was refused, or [`TokenError::Keys`] when the keys could not
    /// be fetched.
    pub async fn verify(&self, token: &str, expected: &Expected) -> Result<Claims, TokenError> {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.verify_at(token, expected, now).await
    }

    /// [`RemoteJwks::verify`] at Unix time `now`, for a host with a clock of its own
    /// (its tests, for one).
    ///
    /// # Errors
    /// As [`RemoteJwks::verify`].
    pub async fn verify_at(
        &self,
        token: &str,
        expected: &Expected,
        now: u64,
    ) -> Result<Claims, TokenError> {
        let keys = self.keys(false).await?;
        match verify(token, &keys, expected, now) {
            Err(TokenError::UnknownKey) => {
                let keys = self.keys(true).await?;
                verify(token, &keys, expected, now)
            }
            result => result,
        }
    }

    /// The cached keys, fetched again when stale, or when `unknown_kid` and the
    /// cooldown has passed.
    async fn keys(&self, unknown_kid: bool) -> Result<JwkSet, TokenError> {
        let mut cache = self.cache.lock().await;
        let now = Instant::now();
        let stale = cache.fresh_until.is_none_or(|until| now >= until);
        let may_refetch = cache
            .last_fetch
            .is_none_or(|at| now.duration_since(at) >= self.cooldown);
        if let Some(keys) = &cache.keys
            && !stale
            && !(unknown_kid && may_refetch)
        {
            return Ok(keys.clone());
        }
        cache.last_fetch = Some(now);
        match self.fetch().await {
            Ok((keys, max_age)) => {
                cache.fresh_until = Some(now + max_age);
                cache.keys = Some(keys.clone());
                Ok(keys)
            }
            // Keys rotate slowly: while the issuer cannot be reached, the last ones
            // known still verify the tokens they signed.
            Err(error) => cache.keys.clone().ok_or(error),
        }
    }

    async fn fetch(&self) -> Result<(JwkSet, Duration), TokenError> {
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| TokenError::Keys(e.to_string()))?;
        let max_age = max_age(response.headers()).unwrap_or(DEFAULT_MAX_AGE);
        let keys = response
            .json()
            .await
            .map_err(|e| TokenError::Keys(e.to_string()))?;
        Ok((keys, max_age))
    }
}

fn max_age(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::CACHE_CONTROL)?
        .to_str()
        .ok()?
        .split(',')
        .find_map(|part| part.trim().strip_prefix("max-age="))?
        .parse()
        .ok()
        .map(Duration::from_secs)
}
