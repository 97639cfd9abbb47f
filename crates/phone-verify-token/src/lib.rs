//! Verifies the result tokens of [phone-verify](../../README.md) in a host site's
//! backend, with no call to phone-verify per token.
//!
//! A token is a JWT (compact JWS) signed with ES256, header
//! `{"alg":"ES256","typ":"pv+jwt","kid":…}`, whose [`Claims`] say which number was
//! verified, how, when, and for which site, origin and action. The public keys are at
//! `<issuer>/.well-known/jwks.json`; [`RemoteJwks`] fetches and caches them.
//!
//! ```no_run
//! # async fn demo(form_token: &str) -> Result<(), phone_verify_token::TokenError> {
//! use phone_verify_token::{Expected, RemoteJwks};
//!
//! // Once, at start-up: the keys are fetched on first use and cached.
//! let jwks = RemoteJwks::new("https://verify.example")?;
//! // For each form post: the token must be for this site, from this page and action.
//! let expected = Expected::new("https://verify.example", "pk_live_…")
//!     .origin("https://shop.example")
//!     .action("signup");
//! let claims = jwks.verify(form_token, &expected).await?;
//! println!("{} verified by {:?}", claims.phone_number, claims.amr);
//! # Ok(()) }
//! ```
//!
//! A token is valid for a few minutes and meant to be used once: a backend that
//! verifies offline and needs single use keeps each `jti` until its `exp` (or asks
//! phone-verify's `POST /api/v1/siteverify`, which does it for you).
mod claims;
mod error;
mod jwk;
mod jws;
#[cfg(feature = "remote")]
mod remote;
#[cfg(feature = "issue")]
mod signing;
mod verify;

pub use claims::Claims;
pub use error::TokenError;
pub use jwk::{Jwk, JwkSet};
#[cfg(feature = "remote")]
pub use remote::RemoteJwks;
#[cfg(feature = "issue")]
pub use signing::SigningKey;
pub use verify::{Expected, verify};

/// The `typ` header of every phone-verify token, so that no other JWT from the same
/// issuer can pass for one.
pub const TOKEN_TYPE: &str = "pv+jwt";

/// The only algorithm accepted.
pub const ALGORITHM: &str = "ES256";

/// Where the issuer publishes its keys, relative to the issuer URL.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
