/// Why a token was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token is not a phone-verify JWT")]
    Malformed,
    #[error("the token's algorithm or type is not ES256 / pv+jwt")]
    WrongAlgorithm,
    #[error("no published key has the token's kid")]
    UnknownKey,
    #[error("the token's signature does not match")]
    BadSignature,
    #[error("the token was issued by someone else")]
    WrongIssuer,
    #[error("the token is for another sitekey")]
    WrongAudience,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was made on another origin")]
    WrongOrigin,
    #[error("the token was made for another action")]
    WrongAction,
    #[error("the token is for another number")]
    WrongNumber,
    #[error("the number was verified too long ago")]
    TooOld,
    #[error("the keys could not be fetched: {0}")]
    Keys(String),
}
