use crate::jws;
use crate::{ALGORITHM, Claims, JwkSet, TOKEN_TYPE, TokenError};

/// What the host expects of a token. Issuer and audience are always checked; origin,
/// action, number and age when set.
#[derive(Clone, Debug)]
pub struct Expected {
    issuer: String,
    audience: String,
    origin: Option<String>,
    action: Option<String>,
    phone_number: Option<String>,
    max_age: Option<u64>,
    leeway: u64,
}

impl Expected {
    /// A token from `issuer` (phone-verify's public URL) for the site `sitekey`.
    pub fn new(issuer: impl Into<String>, sitekey: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            audience: sitekey.into(),
            origin: None,
            action: None,
            phone_number: None,
            max_age: None,
            leeway: 60,
        }
    }

    /// Made in a page of this origin (`https://shop.example`).
    #[must_use]
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Made for this `action` attribute.
    #[must_use]
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    /// For this number (E.164), as a second factor for a known account.
    #[must_use]
    pub fn phone_number(mut self, e164: impl Into<String>) -> Self {
        self.phone_number = Some(e164.into());
        self
    }

    /// Verified at most `secs` ago (`auth_time`).
    #[must_use]
    pub fn max_age(mut self, secs: u64) -> Self {
        self.max_age = Some(secs);
        self
    }

    /// Clock skew allowed between phone-verify and this host; 60 s unless set.
    #[must_use]
    pub fn leeway(mut self, secs: u64) -> Self {
        self.leeway = secs;
        self
    }
}

/// Checks `token` against `keys` and `expected` at Unix time `now`.
///
/// # Errors
/// The first check that fails, in the order: form, algorithm and type, key,
/// signature, issuer, audience, validity period, origin, action, number, age.
pub fn verify(
    token: &str,
    keys: &JwkSet,
    expected: &Expected,
    now: u64,
) -> Result<Claims, TokenError> {
    let parsed = jws::parse(token.trim())?;
    if parsed.header.alg != ALGORITHM || parsed.header.typ != TOKEN_TYPE {
        return Err(TokenError::WrongAlgorithm);
    }
    let key = keys
        .find(&parsed.header.kid)
        .ok_or(TokenError::UnknownKey)?;
    parsed.check_signature(&key.verifying_key()?)?;
    let claims: Claims =
        serde_json::from_slice(&parsed.payload).map_err(|_| TokenError::Malformed)?;
    check_claims(&claims, expected, now)?;
    Ok(claims)
}

fn check_claims(claims: &Claims, expected: &Expected, now: u64) -> Result<(), TokenError> {
    if claims.iss.trim_end_matches('/') != expected.issuer {
        return Err(TokenError::WrongIssuer);
    }
    if claims.aud != expected.audience {
        return Err(TokenError::WrongAudience);
    }
    if now >= claims.exp.saturating_add(expected.leeway) {
        return Err(TokenError::Expired);
    }
    if now.saturating_add(expected.leeway) < claims.nbf {
        return Err(TokenError::NotYetValid);
    }
    if expected.origin.is_some() && claims.origin != expected.origin {
        return Err(TokenError::WrongOrigin);
    }
    if expected.action.is_some() && claims.action != expected.action {
        return Err(TokenError::WrongAction);
    }
    if expected
        .phone_number
        .as_ref()
        .is_some_and(|n| *n != claims.phone_number)
        || !claims.phone_number_verified
    {
        return Err(TokenError::WrongNumber);
    }
    if expected.max_age.is_some_and(|age| {
        now > claims
            .auth_time
            .saturating_add(age)
            .saturating_add(expected.leeway)
    }) {
        return Err(TokenError::TooOld);
    }
    Ok(())
}
