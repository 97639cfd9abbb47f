//! What a frame shows when it cannot run.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::i18n::Lang;
use crate::verify::VerifyError;

/// Tells the loader that this frame shows an error (the code only: the page's origin
/// is not known to be the site's, so the message goes to any parent).
const ERROR_SCRIPT: &str = "(function(){var e=document.querySelector('[data-pv-error]');\
var w=new URLSearchParams(location.search).get('wid');if(parent!==window&&e)parent.postMessage(\
{pv:1,wid:w,type:'error',code:e.getAttribute('data-pv-error'),\
height:Math.ceil(document.body.getBoundingClientRect().height)},'*')})()";

/// What a frame shows when it cannot run: one sentence, framable by anyone (it holds
/// nothing), so the host page's visitor reads why instead of a blank box.
pub(super) fn frame_error(status: StatusCode, error: &VerifyError, lang: Lang) -> Response {
    use base64::Engine;
    use sha2::Digest;
    let message = error.message_in(lang);
    let body = format!(
        "<!DOCTYPE html><html lang=\"{}\" dir=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font:16px system-ui,sans-serif;margin:0;padding:1rem;color:#b00020}}</style></head>\
         <body><main><h1 style=\"font-size:1rem;margin:0\" role=\"alert\" data-pv-error=\"{}\">{}</h1></main>\
         <script>{ERROR_SCRIPT}</script></body></html>",
        lang.code(),
        lang.dir(),
        message,
        error_code(error),
        message
    );
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(ERROR_SCRIPT));
    let policy = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'; base-uri 'none'; frame-ancestors *"
    );
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// The `pv-error` code the loader reports for each error a frame can show.
fn error_code(error: &VerifyError) -> &'static str {
    match error {
        VerifyError::UnknownSite => "site_unknown",
        VerifyError::OriginNotAllowed => "origin_not_allowed",
        VerifyError::SessionLost => "session_lost",
        _ => "internal",
    }
}
