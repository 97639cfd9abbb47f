//! `POST /api/v1/siteverify`: a host backend hands in its secret and the token its
//! form received, and learns whether a person proved that number, for its site,
//! once. The answer keeps Cloudflare Turnstile's field names and error codes, so a
//! backend that already checks Turnstile tokens needs few changes.
use serde::{Deserialize, Serialize};

use super::sites::Sites;
use super::tokens::Issuer;
use phone_verify_token::TokenError;

/// The request, as a form or JSON.
#[derive(Debug, Default, Deserialize)]
pub struct SiteverifyRequest {
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub response: Option<String>,
    /// When given, the token must be for this sitekey too.
    #[serde(default)]
    pub sitekey: Option<String>,
    /// The visitor's IP as the host saw it; accepted for compatibility, not checked.
    #[serde(default)]
    pub remoteip: Option<String>,
}

#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct SiteverifyAnswer {
    pub success: bool,
    #[serde(rename = "error-codes")]
    pub error_codes: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// `sms` or `voice`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<&'static str>,
    /// When the code was accepted, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_ts: Option<String>,
    /// The host of the page the widget was embedded in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cdata: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The verification's id (the same for tokens re-issued for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vid: Option<String>,
}

/// The answer to a body that is not a siteverify request at all.
pub fn bad_request() -> SiteverifyAnswer {
    refused("bad-request")
}

fn refused(code: &'static str) -> SiteverifyAnswer {
    SiteverifyAnswer {
        error_codes: vec![code],
        ..SiteverifyAnswer::default()
    }
}

/// Checks the request at Unix time `now`, redeeming the token when it is good.
pub async fn siteverify(
    sites: &Sites,
    issuer: &Issuer,
    request: &SiteverifyRequest,
    now: u64,
) -> SiteverifyAnswer {
    let present = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let Some(secret) = present(&request.secret) else {
        return refused("missing-input-secret");
    };
    let Some(site) = sites.by_secret(&secret) else {
        return refused("invalid-input-secret");
    };
    let Some(token) = present(&request.response) else {
        return refused("missing-input-response");
    };
    if present(&request.sitekey).is_some_and(|key| key != site.sitekey) {
        return refused("sitekey-secret-mismatch");
    }
    let claims = match issuer.check(&token, &site.sitekey, now) {
        Ok(claims) => claims,
        Err(TokenError::WrongAudience) => return refused("sitekey-secret-mismatch"),
        Err(TokenError::Expired | TokenError::NotYetValid) => {
            return refused("timeout-or-duplicate");
        }
        Err(_) => return refused("invalid-input-response"),
    };
    match issuer.redeem(&claims, now).await {
        Ok(true) => {}
        Ok(false) => return refused("timeout-or-duplicate"),
        Err(error) => {
            tracing::error!(%error, "cannot record a redeemed token");
            return refused("internal-error");
        }
    }
    SiteverifyAnswer {
        success: true,
        error_codes: Vec::new(),
        channel: Some(if claims.amr.iter().any(|m| m == "tel") {
            "voice"
        } else {
            "sms"
        }),
        challenge_ts: rfc3339(claims.auth_time),
        hostname: claims.origin.as_deref().and_then(host_of),
        phone_number: Some(claims.phone_number),
        action: claims.action,
        cdata: claims.cdata,
        nonce: claims.nonce,
        reference: claims.reference,
        vid: Some(claims.vid),
    }
}

fn rfc3339(unix: u64) -> Option<String> {
    let at = time::OffsetDateTime::from_unix_timestamp(i64::try_from(unix).ok()?).ok()?;
    at.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// `shop.example` of `https://shop.example:8443`.
fn host_of(origin: &str) -> Option<String> {
    let rest = origin.split_once("://")?.1;
    let host = rest.rsplit_once(':').map_or(rest, |(host, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            host
        } else {
            rest
        }
    });
    Some(host.to_owned())
}
