//! The server functions over real HTTP, on the built-in local provider.

use crate::support::{Backend, Upstream, spawn_app};
use serde_json::{Value, json};

const NUMBER: &str = "+44 7911 123456";

#[tokio::test]
async fn sms_flow_from_number_to_verified() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();

    let sent = browser
        .call("start", &[("phone", NUMBER), ("channel", "sms")])
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(
        sent.body,
        json!({"EnterCode": {"phone": NUMBER, "channel": "sms", "code_length": 6, "resend_in": 30, "expires_in": 600, "tries_left": 5, "offer_call": false}})
    );
    let outbox = app.outbox().await;
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0]["to"], "+447911123456");
    assert_eq!(outbox[0]["channel"], "sms");
    assert!(outbox[0]["sent_at"].as_str().unwrap().ends_with('Z'));

    let code = app.latest_code().await;
    let checked = browser.call("check", &[("code", &code)]).await;
    assert_eq!(checked.status, 200, "{}", checked.body);
    assert_eq!(
        checked.body,
        json!({"Verified": {"phone": NUMBER, "e164": "+447911123456"}})
    );

    // The page now renders the success step from the session.
    assert!(browser.page().await.contains("Phone number verified"));
}

#[tokio::test]
async fn voice_flow_reads_the_code_out() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    let sent = browser
        .call(
            "start",
            &[("phone", "+1 201 555 0123"), ("channel", "voice")],
        )
        .await;
    assert_eq!(sent.body["EnterCode"]["channel"], "voice");
    let text = app.outbox().await[0]["text"].as_str().unwrap().to_owned();
    assert!(text.starts_with("Your security code is "), "{text}");
    let code = app.latest_code().await;
    let spoken: Vec<String> = code.chars().map(String::from).collect();
    assert_eq!(
        text,
        format!("Your security code is {}.", spoken.join(", "))
    );
    assert_eq!(browser.call("check", &[("code", &code)]).await.status, 200);
}

#[tokio::test]
async fn a_bad_number_is_a_clear_error_with_nothing_sent_and_nothing_lost() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    for (input, problem) in [
        ("", "Empty"),
        ("call me maybe", "NotANumber"),
        ("07911 123456", "MissingCountryCode"),
        ("+44 7911 1234", "Invalid"),
    ] {
        let answer = browser
            .call("start", &[("phone", input), ("channel", "sms")])
            .await;
        assert_eq!(answer.status, 422, "{input:?}");
        assert_eq!(answer.body, json!({"InvalidPhone": problem}), "{input:?}");
    }
    assert!(app.outbox().await.is_empty(), "no message for a bad number");
    let state = browser.call("state", &[]).await;
    assert_eq!(
        state.body["step"],
        json!({"EnterPhone": {"phone": "+44 7911 1234", "country": "", "channel": "sms"}})
    );
}

#[tokio::test]
async fn a_national_number_uses_the_configured_country() {
    let app = spawn_app(&[("VERIFY_DEFAULT_COUNTRY", "GB")]).await;
    let answer = app
        .browser()
        .call("start", &[("phone", "07911 123456")])
        .await;
    assert_eq!(answer.body["EnterCode"]["phone"], NUMBER);
}

#[tokio::test]
async fn malformed_codes_are_refused_without_using_a_try() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    browser.call("start", &[("phone", NUMBER)]).await;
    for (code, problem) in [
        ("", json!("Empty")),
        ("12a456", json!("NotDigits")),
        ("12345", json!({"WrongLength": {"expected": 6}})),
    ] {
        let answer = browser.call("check", &[("code", code)]).await;
        assert_eq!(answer.status, 422);
        assert_eq!(answer.body, json!({"InvalidCode": problem}));
    }
    let code = app.latest_code().await;
    let answer = browser.call("check", &[("code", &wrong(&code))]).await;
    assert_eq!(
        answer.body,
        json!({"WrongCode": {"tries_left": 4}}),
        "malformed codes used no tries"
    );
}

#[tokio::test]
async fn pasted_and_non_ascii_codes_work() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    browser.call("start", &[("phone", NUMBER)]).await;
    let code = app.latest_code().await;
    let arabic: String = code
        .chars()
        .map(|c| char::from_u32(0x0660 + c.to_digit(10).unwrap()).unwrap())
        .collect();
    let pasted = format!(" {}-{} ", &arabic[..6], &arabic[6..]);
    assert_eq!(
        browser.call("check", &[("code", &pasted)]).await.status,
        200
    );
}

#[tokio::test]
async fn five_wrong_codes_lock_the_code() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    browser.call("start", &[("phone", NUMBER)]).await;
    let code = app.latest_code().await;
    for tries_left in (1..=4).rev() {
        let answer = browser.call("check", &[("code", &wrong(&code))]).await;
        assert_eq!(answer.status, 422);
        assert_eq!(
            answer.body,
            json!({"WrongCode": {"tries_left": tries_left}})
        );
    }
    let fifth = browser.call("check", &[("code", &wrong(&code))]).await;
    assert_eq!((fifth.status, fifth.body), (429, json!("TooManyAttempts")));
    let right = browser.call("check", &[("code", &code)]).await;
    assert_eq!((right.status, right.body), (429, json!("TooManyAttempts")));
}

#[tokio::test]
async fn codes_expire_after_ten_minutes() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    browser.call("start", &[("phone", NUMBER)]).await;
    let code = app.latest_code().await;
    app.advance(600);
    let answer = browser.call("check", &[("code", &code)]).await;
    assert_eq!((answer.status, answer.body), (410, json!("CodeExpired")));
}

#[tokio::test]
async fn a_code_is_single_use() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    browser.call("start", &[("phone", NUMBER)]).await;
    let code = app.latest_code().await;
    assert_eq!(browser.call("check", &[("code", &code)]).await.status, 200);
    // The same session asking again just sees its success…
    assert!(
        browser
            .call("check", &[("code", &code)])
            .await
            .body
            .get("Verified")
            .is_some()
    );
    // …and after starting over the old code is worthless.
    browser.call("restart", &[]).await;
    let answer = browser.call("check", &[("code", &code)]).await;
    assert_eq!(
        (answer.status, answer.body),
        (409, json!("NoVerificationInProgress"))
    );
}

#[tokio::test]
async fn a_code_cannot_complete_another_sessions_verification() {
    let app = spawn_app(&[]).await;
    let victim = app.browser();
    let attacker = app.browser();
    victim.call("start", &[("phone", NUMBER)]).await;
    let code = app.latest_code().await;
    let answer = attacker.call("check", &[("code", &code)]).await;
    assert_eq!(
        (answer.status, answer.body),
        (409, json!("NoVerificationInProgress"))
    );
    assert_eq!(victim.call("check", &[("code", &code)]).await.status, 200);
}

#[tokio::test]
async fn resend_waits_for_the_countdown_then_sends_a_new_code() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    browser.call("start", &[("phone", NUMBER)]).await;
    let first = app.latest_code().await;

    app.advance(10);
    let early = browser.call("resend", &[]).await;
    assert_eq!(
        (early.status, early.body),
        (429, json!({"ResendTooSoon": {"retry_after": 20}}))
    );
    assert_eq!(app.outbox().await.len(), 1, "nothing sent early");

    app.advance(20);
    let resent = browser.call("resend", &[]).await;
    assert_eq!(resent.status, 200);
    assert_eq!(
        resent.body["EnterCode"]["resend_in"], 60,
        "the wait doubles with each resend"
    );
    assert_eq!(app.outbox().await.len(), 2);
    let second = app.latest_code().await;
    if first != second {
        assert_eq!(
            browser.call("check", &[("code", &first)]).await.status,
            422,
            "the old code is replaced"
        );
    }
    assert_eq!(
        browser.call("check", &[("code", &second)]).await.status,
        200
    );
}

#[tokio::test]
async fn a_double_submit_sends_one_message() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    let first = browser.call("start", &[("phone", NUMBER)]).await;
    let second = browser.call("start", &[("phone", NUMBER)]).await;
    assert_eq!(first.body, second.body);
    assert_eq!(app.outbox().await.len(), 1);
}

#[tokio::test]
async fn change_number_goes_back_with_the_number_kept() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    browser
        .call("start", &[("phone", NUMBER), ("channel", "voice")])
        .await;
    let back = browser.call("restart", &[]).await;
    // The country is the number's own (+44 7911 is Guernsey's), as the picker shows
    // it once a number typed with its code has been checked.
    assert_eq!(
        back.body,
        json!({"EnterPhone": {"phone": NUMBER, "country": "GG", "channel": "voice"}})
    );
}

#[tokio::test]
async fn resend_and_check_without_a_verification_are_refused() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    for endpoint in ["resend", "check"] {
        let answer = browser.call(endpoint, &[("code", "123456")]).await;
        assert_eq!(
            (answer.status, answer.body),
            (409, json!("NoVerificationInProgress")),
            "{endpoint}"
        );
    }
    assert!(app.outbox().await.is_empty());
}

#[tokio::test]
async fn undecodable_requests_are_400_not_500() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    let answer = browser
        .call("start", &[("phone", NUMBER), ("channel", "fax")])
        .await;
    assert_eq!(answer.status, 400);
    assert!(answer.body.get("Transport").is_some(), "{}", answer.body);
    assert!(app.outbox().await.is_empty());
}

#[tokio::test]
async fn without_javascript_forms_redirect_back_and_the_page_shows_the_error_once() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    let (status, location) = browser
        .post_form("start", &[("phone", "not a number"), ("channel", "sms")])
        .await;
    assert_eq!(status, 302);
    assert!(location.unwrap().starts_with(&app.url("/")));
    let page = browser.page().await;
    assert!(
        page.contains("doesn&#x27;t look like a phone number")
            || page.contains("doesn't look like a phone number")
    );
    assert!(
        page.contains("value=\"not a number\""),
        "the typed number is kept"
    );
    let again = browser.page().await;
    assert!(
        !again.contains("look like a phone number"),
        "the error is shown once"
    );

    let (status, _) = browser
        .post_form("start", &[("phone", NUMBER), ("channel", "sms")])
        .await;
    assert_eq!(status, 302);
    let page = browser.page().await;
    assert!(page.contains("Enter the code") && page.contains(NUMBER));
    let (status, _) = browser
        .post_form("check", &[("code", &app.latest_code().await)])
        .await;
    assert_eq!(status, 302);
    assert!(browser.page().await.contains("Phone number verified"));
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site() {
    let app = spawn_app(&[]).await;
    let response = reqwest::Client::new()
        .post(app.url("/api/verify/start"))
        .header("sec-fetch-site", "same-origin")
        .header("accept", "application/json")
        .form(&[("phone", NUMBER)])
        .send()
        .await
        .unwrap();
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("pv_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let body = response.text().await.unwrap();
    assert!(
        !body.contains(&app.latest_code().await),
        "the code never reaches the browser"
    );
}

#[tokio::test]
async fn the_dev_outbox_page_lists_messages() {
    let app = spawn_app(&[]).await;
    app.browser().call("start", &[("phone", NUMBER)]).await;
    let page = reqwest::get(app.url("/dev/outbox"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("+447911123456") && page.contains(&app.latest_code().await));
}

fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect()
}

/// The session cookie a response sets, if any.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("pv_session="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

/// Calls `call` with the session cookie `cookie` (none if empty), as a browser
/// without a cookie jar of its own.
async fn post_with_cookie(
    app: &crate::support::TestApp,
    call: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(app.url(&format!("/api/verify/{call}")))
        .header("sec-fetch-site", "same-origin")
        .header("accept", "application/json")
        .form(form);
    if !cookie.is_empty() {
        request = request.header("cookie", format!("pv_session={cookie}"));
    }
    request.send().await.unwrap()
}

/// What the session behind `cookie` shows.
async fn state_with_cookie(app: &crate::support::TestApp, cookie: &str) -> Value {
    let answer = post_with_cookie(app, "state", cookie, &[]).await;
    answer.json().await.unwrap()
}

/// A stored session with no cookie jar: a refused number is kept, so it makes one.
async fn draft_session(app: &crate::support::TestApp) -> String {
    let refused = post_with_cookie(app, "start", "", &[("phone", "12")]).await;
    session_cookie(&refused).expect("a session for the kept draft")
}

#[tokio::test]
async fn the_session_id_changes_when_a_code_is_sent_and_when_the_number_is_verified() {
    let app = spawn_app(&[]).await;
    // A session an attacker could have made and planted.
    let planted = draft_session(&app).await;
    let sent = post_with_cookie(&app, "start", &planted, &[("phone", "+44 7400 123456")]).await;
    assert_eq!(sent.status(), 200);
    let pending = session_cookie(&sent).expect("a new id");
    assert_ne!(pending, planted);
    let old = state_with_cookie(&app, &planted).await;
    assert!(
        old["step"].get("EnterCode").is_none(),
        "the planted id sees nothing: {old}"
    );

    let code = app.latest_code().await;
    let verified = post_with_cookie(&app, "check", &pending, &[("code", &code)]).await;
    assert_eq!(verified.status(), 200);
    let fresh = session_cookie(&verified).expect("a new id");
    assert_ne!(fresh, pending);
    let old = state_with_cookie(&app, &pending).await;
    assert!(old["step"].get("Verified").is_none(), "{old}");
    let now = state_with_cookie(&app, &fresh).await;
    assert!(now["step"].get("Verified").is_some(), "{now}");
}

#[tokio::test]
async fn a_double_submit_follows_the_renewed_session_and_sends_once() {
    a_double_submit_follows_the_renewed_session(spawn_app(&[]).await).await;
}

/// With Redis the flow lock and the renewal note are in the store, not the process.
#[tokio::test]
async fn a_double_submit_follows_the_renewed_session_and_sends_once_on_redis() {
    let app = crate::support::spawn_on(Upstream::Local, Backend::Redis, &[]).await;
    a_double_submit_follows_the_renewed_session(app).await;
}

/// The check that verifies a number leaves the old record's delete and the right
/// code's give-back for after its answer, in the trip that frees its lock: a later
/// flow request with the old id waits for that lock, and then finds both made.
#[tokio::test]
async fn what_a_verifying_check_leaves_for_after_its_answer_is_made_before_its_lock_is_free() {
    let app = crate::support::spawn_on(Upstream::Local, Backend::Redis, &[]).await;
    let sent = post_with_cookie(&app, "start", "", &[("phone", "+44 7400 123456")]).await;
    assert_eq!(sent.status(), 200);
    let pending = session_cookie(&sent).expect("a stored session");
    let code = app.latest_code().await;
    let verified = post_with_cookie(&app, "check", &pending, &[("code", &code)]).await;
    assert_eq!(verified.status(), 200);
    let fresh = session_cookie(&verified).expect("a new id");

    let late = post_with_cookie(&app, "resend", &pending, &[]).await;
    let status = late.status().as_u16();
    let body: Value = late.json().await.unwrap();
    assert_eq!(
        (status, body),
        (409, json!("NoVerificationInProgress")),
        "the old record is gone"
    );
    let sessions = app.redis_values("*session:*").await;
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert!(sessions[0].0.ends_with(&fresh), "{sessions:?}");
    let failed = app.redis_values("*failed-hour:*").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].1, "0", "the right code is given back");
    for used in ["*code-tries:*", "*local:attempts:*"] {
        let tries = app.redis_values(used).await;
        assert!(
            tries.is_empty(),
            "a used code's tries are forgotten: {tries:?}"
        );
    }
    assert_eq!(app.sent().await.len(), 1, "nothing sent for the old id");
}

async fn a_double_submit_follows_the_renewed_session(app: crate::support::TestApp) {
    let first = draft_session(&app).await;
    let form = [("phone", "+44 7400 123456")];
    let (a, b) = tokio::join!(
        post_with_cookie(&app, "start", &first, &form),
        post_with_cookie(&app, "start", &first, &form),
    );
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    assert_eq!(app.outbox().await.len(), 1, "one code for a double submit");
    let renewed = session_cookie(&a).or_else(|| session_cookie(&b)).unwrap();
    let code = app.latest_code().await;
    let form = [("code", code.as_str())];
    let (a, b) = tokio::join!(
        post_with_cookie(&app, "check", &renewed, &form),
        post_with_cookie(&app, "check", &renewed, &form),
    );
    for answer in [a, b] {
        assert_eq!(answer.status(), 200);
        let body: Value = answer.json().await.unwrap();
        assert!(body.get("Verified").is_some(), "{body}");
    }
}
