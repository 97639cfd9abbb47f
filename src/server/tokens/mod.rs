//! The result tokens: what the widget hands to the host page when a number is
//! verified, and what the host's backend checks (offline against the JWKS, or by
//! asking `siteverify`). The format is in `crates/phone-verify-token`, which host
//! backends use as well.
use std::sync::{Arc, RwLock};
use std::time::Duration;

use phone_verify_token::{Claims, Expected, JwkSet, TokenError};

mod keys;

pub use keys::KeyRing;

use super::random;
use super::store::{StateStore, StoreError};
use crate::verify::Channel;

/// A token lives five minutes: long enough to finish a sign-up form, short enough
/// that a leaked one is soon worthless.
pub const TOKEN_TTL_SECS: u64 = 300;

const RING_KEY: &str = "signing-keys";
/// The ring is rewritten at least every rotation period; this only keeps an
/// abandoned deployment's keys from living for ever.
const RING_TTL: Duration = Duration::from_secs(400 * 86_400);

/// Signs tokens with the current key of a ring shared through the state store.
pub struct Issuer {
    /// `iss`: the public URL.
    url: String,
    ring: RwLock<KeyRing>,
    store: Arc<dyn StateStore>,
}

/// What a token is minted for.
pub struct Grant<'a> {
    pub sitekey: &'a str,
    pub e164: &'a str,
    pub channel: Channel,
    /// Unix seconds when the code was accepted.
    pub verified_at: u64,
    pub verification_id: &'a str,
    pub origin: Option<&'a str>,
    pub action: Option<&'a str>,
    pub cdata: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub reference: Option<&'a str>,
}

impl Issuer {
    /// The ring in `store`, made there if there is none yet (the first instance to
    /// get there wins; the others read its ring).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn open(url: &str, store: Arc<dyn StateStore>, now: u64) -> Result<Self, StoreError> {
        let ring = match load(store.as_ref()).await? {
            Some(ring) => ring,
            None => {
                let fresh = KeyRing::new(now);
                store
                    .set_if_absent(RING_KEY, &fresh.encode(), RING_TTL)
                    .await?;
                load(store.as_ref()).await?.unwrap_or(fresh)
            }
        };
        let issuer = Self {
            url: url.to_owned(),
            ring: RwLock::new(ring),
            store,
        };
        issuer.rotate(now).await?;
        Ok(issuer)
    }

    /// Reads the ring again (another instance may have rotated it) and rotates it if
    /// due. Run hourly.
    ///
    /// # Errors
    /// When the store fails; the ring in memory keeps working.
    pub async fn rotate(&self, now: u64) -> Result<(), StoreError> {
        let mut ring = match load(self.store.as_ref()).await? {
            Some(stored) => stored,
            None => self.ring().clone(),
        };
        if ring.rotate(now) {
            self.store.set(RING_KEY, &ring.encode(), RING_TTL).await?;
            tracing::info!(keys = ring.jwks().keys.len(), "token signing keys rotated");
        }
        *self
            .ring
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = ring;
        Ok(())
    }

    fn ring(&self) -> std::sync::RwLockReadGuard<'_, KeyRing> {
        self.ring
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn jwks(&self) -> JwkSet {
        self.ring().jwks()
    }

    /// A new signed token for `grant`, valid from `now` for [`TOKEN_TTL_SECS`].
    pub fn mint(&self, grant: &Grant<'_>, now: u64) -> String {
        let owned = |value: Option<&str>| value.map(str::to_owned);
        let claims = Claims {
            iss: self.url.clone(),
            aud: grant.sitekey.to_owned(),
            sub: grant.e164.to_owned(),
            phone_number: grant.e164.to_owned(),
            phone_number_verified: true,
            amr: vec![amr(grant.channel).to_owned()],
            auth_time: grant.verified_at,
            iat: now,
            nbf: now,
            exp: now + TOKEN_TTL_SECS,
            jti: random::id::<16>(),
            vid: grant.verification_id.to_owned(),
            origin: owned(grant.origin),
            action: owned(grant.action),
            cdata: owned(grant.cdata),
            nonce: owned(grant.nonce),
            reference: owned(grant.reference),
        };
        self.ring().signing(now).sign(&claims)
    }

    /// Checks a token of ours for `sitekey`, with no leeway: this server's own clock
    /// made it.
    ///
    /// # Errors
    /// Why it is not a valid token for that site.
    pub fn check(&self, token: &str, sitekey: &str, now: u64) -> Result<Claims, TokenError> {
        let expected = Expected::new(&self.url, sitekey).leeway(0);
        phone_verify_token::verify(token, &self.ring().jwks(), &expected, now)
    }

    /// As [`Self::check`], also taking a token up to `late_by` seconds past its
    /// expiry: for a caller that decides by `auth_time` itself (notify).
    ///
    /// # Errors
    /// Why it is not a token of ours for that site.
    pub fn check_late(
        &self,
        token: &str,
        sitekey: &str,
        now: u64,
        late_by: u64,
    ) -> Result<Claims, TokenError> {
        let expected = Expected::new(&self.url, sitekey).leeway(late_by);
        phone_verify_token::verify(token, &self.ring().jwks(), &expected, now)
    }

    /// Marks the token used; false when it already was.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn redeem(&self, claims: &Claims, now: u64) -> Result<bool, StoreError> {
        // Kept past expiry (plus verifiers' skew), so that no replay ever finds it gone.
        let ttl = Duration::from_secs(claims.exp.saturating_sub(now) + 120);
        self.store
            .set_if_absent(&format!("token-used:{}", claims.jti), b"1", ttl)
            .await
    }
}

async fn load(store: &dyn StateStore) -> Result<Option<KeyRing>, StoreError> {
    Ok(store
        .get(RING_KEY)
        .await?
        .as_deref()
        .and_then(KeyRing::decode))
}

/// RFC 8176's names for how the person was reached.
fn amr(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms => "sms",
        Channel::Voice => "tel",
    }
}
