//! The demo host (examples/demo-host) against the real app, both over HTTP on
//! loopback, driven as a browser without JavaScript drives them: the host's forms,
//! the frame's and the hosted page's forms. The host runs on the app's hand-driven
//! clock, so that "verified too long ago" is reached by moving it.
//!
//! With JavaScript, across two sites in Chromium, the same flows run in
//! end2end/tests/demo-host.spec.ts.

use std::sync::Arc;

use demo_host::accounts::{Account, Accounts, Email};
use phone_verify::server::clock::Clock;
use reqwest::header::{ACCEPT, LOCATION};
use serde_json::Value;

use crate::support::{
    TestApp, fresh_data_dir, sites_file, spawn_app_at_its_address, token_from_frame,
};

/// The bank's site, which may come back from the hosted page to its four return
/// addresses, and another site on the same origins.
fn sites(host: &str) -> String {
    let returns: Vec<String> = ["register", "verify-phone", "login", "account"]
        .iter()
        .map(|flow| format!("\"{host}/{flow}/return\""))
        .collect();
    format!(
        r#"
[[sites]]
sitekey = "pk_test_bank"
secrets = ["sk_test_bank_0123456789abcdefghij"]
origins = ["http://127.0.0.1:*"]
return_urls = [{}]

[[sites]]
sitekey = "pk_test_other"
secrets = ["sk_test_other_0123456789abcdefghij"]
origins = ["http://127.0.0.1:*"]
"#,
        returns.join(", ")
    )
}
const ACCOUNT_NUMBER: &str = "+447911123456";
const OTHER_NUMBER: &str = "+447911123457";
const LANDLINE: &str = "+442079460000";
const PASSWORD: &str = "correct horse battery";

struct Host {
    url: String,
    state: demo_host::AppState,
    /// The visitor's browser: its cookie jar holds the host's session cookie.
    browser: reqwest::Client,
}

async fn spawn() -> (TestApp, Host) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sites = sites_file(&sites(&url));
    // A test sends many codes to one number from one address: the abuse limits
    // (tests/server/limits.rs) are lifted.
    let app = spawn_app_at_its_address(&[
        ("VERIFY_SITES_FILE", &sites),
        ("VERIFY_LIMIT_NUMBER_PER_HOUR", "1000"),
        ("VERIFY_LIMIT_NUMBER_PER_DAY", "1000"),
        ("VERIFY_LIMIT_IP_PER_HOUR", "1000"),
        ("VERIFY_LIMIT_PREFIX_PER_HOUR", "1000"),
    ])
    .await;
    let database = fresh_data_dir()
        .join("accounts.sqlite")
        .display()
        .to_string();
    let widget = app.url("");
    let vars = [
        ("DEMO_HOST_URL", url.as_str()),
        ("WIDGET_URL", widget.as_str()),
        ("DEMO_SITEKEY", "pk_test_bank"),
        ("DEMO_SITE_SECRET", "sk_test_bank_0123456789abcdefghij"),
        ("DEMO_DATABASE", database.as_str()),
    ];
    let config = demo_host::Config::from_lookup(|name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap();
    let clock = app.clock.clone();
    let state = demo_host::AppState::new(config, Arc::new(move || clock.unix_secs())).unwrap();
    tokio::spawn(axum::serve(listener, demo_host::router(state.clone())).into_future());
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (
        app,
        Host {
            url,
            state,
            browser,
        },
    )
}

impl Host {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.browser
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.browser
            .post(format!("{}{path}", self.url))
            .header("origin", &self.url)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    async fn account(&self, email: &str) -> Option<Account> {
        Accounts(self.state.db.clone())
            .by_email(&Email::parse(email).unwrap())
            .await
            .unwrap()
    }

    /// Signs up in the classic order and verifies the number: a verified account.
    async fn verified_account(&self, app: &TestApp, email: &str) {
        let created = self
            .post(
                "/signup",
                &[
                    ("email", email),
                    ("password", PASSWORD),
                    ("phone", "+44 7911 123456"),
                ],
            )
            .await;
        assert_eq!(location(&created), "/verify-phone");
        let page = Page::of(self.get("/verify-phone").await).await;
        let token = verify_in_frame(
            app,
            &page.widget_query("pk_test_bank", &self.url, "verify_phone"),
            None,
        )
        .await;
        let done = self
            .post("/verify-phone", &[("phone-verify-token", &token)])
            .await;
        assert_eq!(location(&done), "/account");
    }

    /// Posts `token` as the second factor: refused with `message`, the form again.
    async fn second_factor_refuses(&self, token: &str, message: &str) {
        let refused = Page::of(
            self.post("/login/second-factor", &[("phone-verify-token", token)])
                .await,
        )
        .await;
        assert_eq!((refused.status, refused.error()), (422, message));
    }

    /// Logs in with the password; the second factor's page.
    async fn password_step(&self, email: &str) -> Page {
        let _ = self.post("/logout", &[]).await;
        let step = self
            .post("/login", &[("email", email), ("password", PASSWORD)])
            .await;
        assert_eq!(location(&step), "/login/second-factor");
        Page::of(self.get("/login/second-factor").await).await
    }
}

fn location(response: &reqwest::Response) -> String {
    let value = response
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_owned());
    value.unwrap_or_else(|| panic!("a redirect, not {}", response.status()))
}

/// A host page and what its widget element says.
struct Page {
    status: u16,
    html: String,
}

impl Page {
    async fn of(response: reqwest::Response) -> Self {
        Self {
            status: response.status().as_u16(),
            html: response.text().await.unwrap(),
        }
    }

    fn attribute(&self, name: &str) -> Option<String> {
        let element = &self.html[self.html.find("<phone-verify ")?..];
        let element = &element[..element.find('>')?];
        let start = element.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(element[start..][..element[start..].find('"')?].to_owned())
    }

    /// The frame's query as the loader builds it from the element, for `sitekey`
    /// (the page's own, or another site's) on the page's origin.
    fn widget_query(&self, sitekey: &str, origin: &str, action: &str) -> String {
        let mut query = format!(
            "sitekey={sitekey}&origin={origin}&action={action}&nonce={}",
            self.attribute("nonce").expect("the widget has a nonce")
        );
        if let Some(session) = self.attribute("session") {
            query.push_str(&format!("&session={session}"));
        }
        if let Some(channel) = self.attribute("channel") {
            query.push_str(&format!("&channel={channel}"));
        }
        query
    }

    fn error(&self) -> &str {
        let start = self
            .html
            .find(r#"role="alert" id="form-error">"#)
            .map(|i| i + 29);
        start.map_or("", |s| &self.html[s..s + self.html[s..].find('<').unwrap()])
    }
}

/// Verifies in a frame opened with `query`, by the channel the page asked for.
async fn verify_in_frame(app: &TestApp, query: &str, number: Option<&str>) -> String {
    let channel = if query.contains("channel=voice") {
        "voice"
    } else {
        "sms"
    };
    token_from_frame(app, query, number, channel).await
}

/// Texts the local provider sent that are not codes: `(to, text)`.
async fn confirmations(app: &TestApp) -> Vec<(String, String)> {
    app.outbox()
        .await
        .iter()
        .filter(|m| {
            m["text"]
                .as_str()
                .is_some_and(|t| t.contains("Harbour Bank"))
        })
        .map(|m| {
            (
                m["to"].as_str().unwrap().to_owned(),
                m["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_one_form_sign_up_creates_the_account_only_for_the_verified_number() {
    let (app, host) = spawn().await;
    let form = Page::of(host.get("/register").await).await;
    // Submitting without a verification creates nothing.
    let refused = Page::of(
        host.post(
            "/register",
            &[("email", "ada@example.org"), ("password", PASSWORD)],
        )
        .await,
    )
    .await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.error(), "Verify your phone number first.");
    assert!(host.account("ada@example.org").await.is_none());

    let token = verify_in_frame(
        &app,
        &form.widget_query("pk_test_bank", &host.url, "signup"),
        Some(ACCOUNT_NUMBER),
    )
    .await;
    // A bad password after a good verification: the number stays verified.
    let short = Page::of(
        host.post(
            "/register",
            &[
                ("email", "ada@example.org"),
                ("password", "short"),
                ("phone-verify-token", &token),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(short.status, 422);
    assert!(
        short.html.contains(ACCOUNT_NUMBER),
        "the verified number is shown, not asked again"
    );
    assert!(short.attribute("nonce").is_none(), "no second widget");
    let created = host
        .post(
            "/register",
            &[("email", "Ada@Example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(location(&created), "/account");

    let account = host
        .account("ada@example.org")
        .await
        .expect("the account exists");
    assert_eq!(account.phone, ACCOUNT_NUMBER);
    assert!(account.phone_verified);
    assert!(account.password_hash.starts_with("$argon2id$"));
    assert_eq!(
        confirmations(&app).await,
        [(
            ACCOUNT_NUMBER.to_owned(),
            "Your Harbour Bank account has been created.".to_owned()
        )]
    );
    let page = Page::of(host.get("/account").await).await;
    assert!(page.html.contains(r#"data-state="verified""#));
    assert!(
        page.html
            .contains("We have sent a confirmation text to your phone.")
    );
}

#[tokio::test]
async fn a_token_of_another_visitor_session_or_site_creates_no_account() {
    let (app, host) = spawn().await;
    let form = Page::of(host.get("/register").await).await;
    let mut query = form.widget_query("pk_test_bank", &host.url, "signup");
    query = query.replace(&form.attribute("nonce").unwrap(), "someone-elses-nonce");
    let theirs = verify_in_frame(&app, &query, Some(ACCOUNT_NUMBER)).await;
    let other_site = verify_in_frame(
        &app,
        &form.widget_query("pk_test_other", &host.url, "signup"),
        Some(ACCOUNT_NUMBER),
    )
    .await;
    for (token, message) in [
        (
            theirs.as_str(),
            "That verification was started in another browser session. Verify your number again.",
        ),
        (
            other_site.as_str(),
            "That verification was made for another website.",
        ),
        (
            "not-a-token",
            "The verification could not be confirmed. Verify your number again.",
        ),
    ] {
        let page = Page::of(
            host.post(
                "/register",
                &[
                    ("email", "eve@example.org"),
                    ("password", PASSWORD),
                    ("phone-verify-token", token),
                ],
            )
            .await,
        )
        .await;
        assert_eq!((page.status, page.error()), (422, message));
    }
    assert!(host.account("eve@example.org").await.is_none());
    assert!(confirmations(&app).await.is_empty());
}

#[tokio::test]
async fn without_javascript_sign_up_goes_through_the_hosted_page_and_back() {
    let (app, host) = spawn().await;
    let away = host
        .post(
            "/register",
            &[
                ("email", "grace@example.org"),
                ("password", PASSWORD),
                ("phone", "+44 7911 123456"),
            ],
        )
        .await;
    let hosted = location(&away);
    assert!(
        hosted.starts_with(&app.url("/hosted?sitekey=pk_test_bank&")),
        "{hosted}"
    );
    assert!(!hosted.contains("sk_test"), "no secret in a URL");
    assert!(
        host.account("grace@example.org").await.is_none(),
        "no account before the number is verified"
    );

    // The hosted page, as a browser without JavaScript: forms posted, redirects followed.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let frame = location(&browser.get(&hosted).send().await.unwrap());
    let frame = frame.split('?').next().unwrap().to_owned();
    let post = |endpoint: &str, form: Vec<(&str, String)>| {
        browser
            .post(app.url(&format!("{frame}/api/verify/{endpoint}")))
            .header("sec-fetch-site", "same-origin")
            .header(ACCEPT, "text/html")
            .form(&form)
            .send()
    };
    // The number is the one the host created the session for, whatever is posted.
    let started = post(
        "start",
        vec![("phone", OTHER_NUMBER.into()), ("channel", "sms".into())],
    )
    .await
    .unwrap();
    assert!(
        started.status().is_redirection(),
        "{:?}",
        started.text().await
    );
    assert_eq!(app.outbox().await[0]["to"], ACCOUNT_NUMBER);
    let code = app.latest_code().await;
    let back = location(&post("check", vec![("code", code)]).await.unwrap());
    assert!(
        back.starts_with(&format!("{}/register/return?", host.url)),
        "{back}"
    );

    let path = back.trim_start_matches(&host.url);
    // A return whose state is not this session's (one made for another visitor) is
    // refused, and nothing is created.
    let state = reqwest::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let forged = Page::of(
        host.get(&path.replace(&state, "another-visitors-state"))
            .await,
    )
    .await;
    assert_eq!(
        (forged.status, forged.error()),
        (
            422,
            "That verification was started in another browser session. Verify your number again."
        )
    );
    assert!(host.account("grace@example.org").await.is_none());

    assert_eq!(location(&host.get(path).await), "/account");
    let account = host
        .account("grace@example.org")
        .await
        .expect("created on return");
    assert!(account.phone_verified);
    assert_eq!(account.phone, ACCOUNT_NUMBER);
    assert_eq!(confirmations(&app).await.len(), 1);
    // The same return again creates nothing more: the sign-up is done.
    assert_eq!(location(&host.get(path).await), "/register");
    assert_eq!(confirmations(&app).await.len(), 1);
}

#[tokio::test]
async fn the_classic_order_verifies_the_number_on_the_account() {
    let (app, host) = spawn().await;
    let bad = Page::of(
        host.post(
            "/signup",
            &[
                ("email", "lin@example.org"),
                ("password", PASSWORD),
                ("phone", "07911 123456"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(
        bad.error(),
        "Enter the number in international format, starting with + and the country code."
    );
    assert!(
        bad.html.contains(r#"value="07911 123456""#),
        "what was typed is kept"
    );

    let created = host
        .post(
            "/signup",
            &[
                ("email", "lin@example.org"),
                ("password", PASSWORD),
                ("phone", "+44 7911 123456"),
            ],
        )
        .await;
    assert_eq!(location(&created), "/verify-phone");
    let account = host.account("lin@example.org").await.unwrap();
    assert!(
        !account.phone_verified,
        "created before the number is verified"
    );
    let page = Page::of(host.get("/verify-phone").await).await;
    assert!(
        page.html.contains("+44*******456"),
        "the number is shown masked"
    );
    assert!(
        page.attribute("session")
            .is_some_and(|s| s.starts_with("pvs_"))
    );
    assert_eq!(
        location(&host.get("/account").await),
        "/verify-phone",
        "an account is used only once its number is verified"
    );

    // A token for a number not on the account is refused.
    let mut query = page.widget_query("pk_test_bank", &host.url, "verify_phone");
    query = query[..query.find("&session=").unwrap()].to_owned();
    let other = verify_in_frame(&app, &query, Some(OTHER_NUMBER)).await;
    let refused = Page::of(
        host.post("/verify-phone", &[("phone-verify-token", &other)])
            .await,
    )
    .await;
    assert_eq!(
        refused.error(),
        "That code was for another number than the one on your account."
    );

    let page = Page::of(host.get("/verify-phone").await).await;
    let token = verify_in_frame(
        &app,
        &page.widget_query("pk_test_bank", &host.url, "verify_phone"),
        None,
    )
    .await;
    assert_eq!(
        location(
            &host
                .post("/verify-phone", &[("phone-verify-token", &token)])
                .await
        ),
        "/account"
    );
    let account = host.account("lin@example.org").await.unwrap();
    assert!(account.phone_verified && account.verified_at.is_some());
    assert_eq!(confirmations(&app).await[0].0, ACCOUNT_NUMBER);
}

#[tokio::test]
async fn the_second_factor_refuses_every_token_but_a_fresh_one_for_this_account() {
    let (app, host) = spawn().await;
    host.verified_account(&app, "max@example.org").await;

    let page = host.password_step("max@example.org").await;
    assert!(page.html.contains("Enter the code we send to your phone."));
    let origin = host.url.clone();
    let own = |page: &Page| page.widget_query("pk_test_bank", &origin, "login");
    let without_session = |query: String| query[..query.find("&session=").unwrap()].to_owned();

    // Another number, in a frame the host did not create a session for.
    let other_number =
        verify_in_frame(&app, &without_session(own(&page)), Some(OTHER_NUMBER)).await;
    // Another site's token for the same number.
    let other_site = verify_in_frame(
        &app,
        &without_session(page.widget_query("pk_test_other", &origin, "login")),
        Some(ACCOUNT_NUMBER),
    )
    .await;
    // Another action: the token of a sign-up is no login.
    let sign_up = verify_in_frame(
        &app,
        &without_session(page.widget_query("pk_test_bank", &origin, "signup")),
        Some(ACCOUNT_NUMBER),
    )
    .await;
    for (token, message) in [
        ("", "Verify your phone number first."),
        (
            other_number.as_str(),
            "That code was for another number than the one on your account.",
        ),
        (
            other_site.as_str(),
            "That verification was made for another website.",
        ),
        (
            sign_up.as_str(),
            "The verification could not be confirmed. Verify your number again.",
        ),
    ] {
        host.second_factor_refuses(token, message).await;
    }

    // Verified three minutes ago: too old for a login (two minutes and a minute's skew).
    let page = Page::of(host.get("/login/second-factor").await).await;
    let old = verify_in_frame(&app, &own(&page), None).await;
    app.advance(181);
    host.second_factor_refuses(
        &old,
        "That verification is too old. Verify your number again.",
    )
    .await;
    assert_eq!(
        location(&host.get("/account").await),
        "/login",
        "not signed in"
    );

    // The account's number in its own session, but made for another visitor
    // session (nonce), or in a session made for another account (ref).
    let page = host.password_step("max@example.org").await;
    let nonce = page.attribute("nonce").unwrap();
    let other_nonce = verify_in_frame(
        &app,
        &own(&page).replace(&nonce, "someone-elses-nonce"),
        None,
    )
    .await;
    let other_account: Value = reqwest::Client::new()
        .post(app.url("/api/v1/sessions"))
        .form(&[
            ("secret", "sk_test_bank_0123456789abcdefghij"),
            ("phone_number", ACCOUNT_NUMBER),
            ("ref", "account:999"),
            ("action", "login"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = other_account["session"].as_str().unwrap();
    let query = format!("{}&session={session}", without_session(own(&page)));
    let other_ref = verify_in_frame(&app, &query, None).await;
    for (token, message) in [
        (
            other_nonce.as_str(),
            "That verification was started in another browser session. Verify your number again.",
        ),
        (
            other_ref.as_str(),
            "The verification could not be confirmed. Verify your number again.",
        ),
    ] {
        host.second_factor_refuses(token, message).await;
    }

    // A fresh one signs in.
    let page = host.password_step("max@example.org").await;
    let fresh = verify_in_frame(&app, &own(&page), None).await;
    assert_eq!(
        location(
            &host
                .post("/login/second-factor", &[("phone-verify-token", &fresh)])
                .await
        ),
        "/account"
    );
    assert_eq!(Page::of(host.get("/account").await).await.status, 200);

    // The same token again, at the next login: a replay.
    host.password_step("max@example.org").await;
    host.second_factor_refuses(
        &fresh,
        "That verification was used already. Verify your number again.",
    )
    .await;
    assert_eq!(location(&host.get("/account").await), "/login");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_read_the_same() {
    let (app, host) = spawn().await;
    host.verified_account(&app, "ida@example.org").await;
    let _ = host.post("/logout", &[]).await;
    for (email, password) in [
        ("ida@example.org", "wrong password!"),
        ("nobody@example.org", PASSWORD),
    ] {
        let page = Page::of(
            host.post("/login", &[("email", email), ("password", password)])
                .await,
        )
        .await;
        assert_eq!(
            (page.status, page.error()),
            (422, "That email and password do not match an account.")
        );
    }
    assert_eq!(
        location(&host.get("/login/second-factor").await),
        "/login",
        "no second step without the first"
    );
}

#[tokio::test]
async fn a_profile_number_is_verified_by_a_call_even_on_a_landline() {
    let (app, host) = spawn().await;
    host.verified_account(&app, "zoe@example.org").await;
    let page = Page::of(host.get("/account").await).await;
    assert_eq!(page.attribute("channel").as_deref(), Some("voice"));

    // The frame starts on "call me".
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let opened = client
        .get(app.url(&format!(
            "/embed?{}",
            page.widget_query("pk_test_bank", &host.url, "profile")
        )))
        .send()
        .await
        .unwrap();
    let frame = client
        .get(app.url(&location(&opened)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        frame.contains(r#"value="voice" checked"#),
        "voice preselected"
    );

    let token = verify_in_frame(
        &app,
        &page.widget_query("pk_test_bank", &host.url, "profile"),
        Some(LANDLINE),
    )
    .await;
    assert_eq!(app.outbox().await[0]["to"], LANDLINE);
    assert_eq!(
        location(
            &host
                .post("/account/phone", &[("phone-verify-token", &token)])
                .await
        ),
        "/account"
    );
    let account = host.account("zoe@example.org").await.unwrap();
    assert_eq!(account.phone, LANDLINE);
    assert!(account.phone_verified);
    let page = Page::of(host.get("/account").await).await;
    assert!(page.html.contains("Your new number is saved and verified."));

    // Ten minutes after the number was last proven, the session alone cannot change
    // it: whoever holds it must prove the current number again first.
    let page = Page::of(host.get("/account").await).await;
    let token = verify_in_frame(
        &app,
        &page.widget_query("pk_test_bank", &host.url, "profile"),
        Some(OTHER_NUMBER),
    )
    .await;
    app.advance(601);
    let page = Page::of(host.get("/account").await).await;
    assert!(page.html.contains(r#"data-testid="change-needs-factor""#));
    assert!(page.attribute("nonce").is_none(), "no widget");
    let refused = host
        .post("/account/phone", &[("phone-verify-token", &token)])
        .await;
    assert_eq!(refused.status(), 200, "the account page again");
    assert_eq!(
        host.account("zoe@example.org").await.unwrap().phone,
        LANDLINE
    );
}

#[tokio::test]
async fn a_post_from_another_site_is_refused() {
    let (_app, host) = spawn().await;
    let sign_up = |headers: &[(&str, &str)]| {
        let mut request = host.browser.post(format!("{}/signup", host.url)).form(&[
            ("email", "a@example.org"),
            ("password", PASSWORD),
            ("phone", ACCOUNT_NUMBER),
        ]);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    for headers in [
        &[("origin", "http://evil.example")][..],
        &[("sec-fetch-site", "cross-site"), ("origin", "null")],
        // Another site that hides where it is, in a browser without Sec-Fetch-Site.
        &[("origin", "null")],
        // Another site of the same registrable domain.
        &[("sec-fetch-site", "same-site")],
    ] {
        let response = sign_up(headers).await.unwrap();
        assert_eq!(response.status(), 403, "{headers:?}");
    }
    assert!(host.account("a@example.org").await.is_none());
    // This site's own page, as Chromium posts it.
    let own = sign_up(&[("sec-fetch-site", "same-origin")]).await.unwrap();
    assert_eq!(location(&own), "/verify-phone");
}

#[tokio::test]
async fn pages_speak_the_visitors_language_and_keep_their_tokens_to_themselves() {
    let (_app, host) = spawn().await;
    let german = host
        .browser
        .get(format!("{}/register", host.url))
        .header("accept-language", "de-DE,de;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(german.headers()["referrer-policy"], "same-origin");
    assert_eq!(german.headers()["cache-control"], "no-store");
    let html = german.text().await.unwrap();
    assert!(html.contains(r#"<html lang="de" dir="ltr">"#) && html.contains("Konto anlegen"));
    assert_eq!(location(&host.get("/lang/ar?back=/login").await), "/login");
    let arabic = Page::of(host.get("/login").await).await;
    assert!(arabic.html.contains(r#"<html lang="ar" dir="rtl">"#));
    for back in [
        "//evil.example",
        "/%09/evil.example",
        "https://evil.example/",
        "/%0a",
    ] {
        assert_eq!(
            location(&host.get(&format!("/lang/en?back={back}")).await),
            "/",
            "no open redirect: {back}"
        );
    }
}
