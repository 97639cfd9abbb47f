//! What every upstream call shares: timeouts, the one retry that is always safe, and
//! error text with the URL taken out (MessageBird's check URL carries the code).
use std::time::Duration;

use reqwest::{RequestBuilder, Response};

use super::ProviderError;

/// Connect and total timeouts for every upstream call
/// (`UPSTREAM_CONNECT_TIMEOUT_MS`, default 3000; `UPSTREAM_TIMEOUT_MS`, default 10000).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpstreamTimeouts {
    pub connect: Duration,
    pub total: Duration,
}

impl Default for UpstreamTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(3),
            total: Duration::from_secs(10),
        }
    }
}

/// No redirects are followed: a 307 would send the form, code and all, wherever the
/// answer points, and the providers' APIs never redirect.
pub fn client(timeouts: UpstreamTimeouts) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.total)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("phone-verify/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the TLS backend initialises")
}

/// Sends the request built by `build`. A refused connection means nothing was sent,
/// so that alone is retried, once; anything later may have reached the provider.
pub async fn send(build: impl Fn() -> RequestBuilder) -> Result<Response, ProviderError> {
    match build().send().await {
        Err(error) if connection_refused(&error) => build().send().await.map_err(transport_error),
        other => other.map_err(transport_error),
    }
}

fn connection_refused(error: &reqwest::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        source = cause.source();
    }
    false
}

/// Maps a transport failure, with the URL stripped from its text.
pub fn transport_error(error: reqwest::Error) -> ProviderError {
    let is_timeout = error.is_timeout();
    let is_connect = error.is_connect();
    let text = describe(error.without_url());
    if is_timeout {
        ProviderError::Timeout(text)
    } else if is_connect {
        ProviderError::Unreachable(text)
    } else {
        ProviderError::BadGateway(text)
    }
}

/// The error and its causes on one line.
fn describe(error: reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The largest answer read from a provider; theirs are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Reads a whole answer of at most [`MAX_BODY_BYTES`], mapping a body cut short to a
/// transport failure and a larger one to a bad answer, read no further.
pub async fn body(mut response: Response) -> Result<Vec<u8>, ProviderError> {
    let too_large = || ProviderError::BadGateway(format!("answer over {MAX_BODY_BYTES} bytes"));
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `Retry-After` in seconds, if present and numeric.
pub fn retry_after(response: &Response) -> Option<u32> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn error_text_never_carries_the_url() {
        // MessageBird's check URL carries the code in its query string.
        let url = "http://127.0.0.1:9/verify/0123abcd?token=987654";
        let client = client(UpstreamTimeouts::default());
        let error = send(|| client.get(url)).await.unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, ProviderError::Unreachable(_)), "{error:?}");
        assert!(
            !text.contains("987654") && !text.contains("token") && !text.contains("0123abcd"),
            "{text}"
        );
    }
}
