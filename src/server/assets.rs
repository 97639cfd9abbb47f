//! The built front end (`target/site`): what the shell links, and how the files go
//! over the wire. A release build names the bundle's files by their content
//! (`hash-files` in Cargo.toml, the hashes in `hash.txt` beside the binary) and
//! stores brotli and gzip copies beside them (`cargo leptos build --release
//! --precompress`): a browser gets the smallest copy it accepts, and keeps a hashed
//! file for a year, since a new build has new names.
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use leptos::config::LeptosOptions;
use tower_http::services::ServeDir;

/// The names the shell links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assets {
    /// `/pkg/phone-verify.<hash>.css`, or without the hash in a build without them.
    pub stylesheet: String,
    /// Whether the bundle's names carry their content hash.
    pub hashed: bool,
    /// Where the bundle is served from, `/pkg/`.
    bundle_dir: String,
}

impl Assets {
    /// Reads the build's hash file, if the settings say names are hashed.
    pub fn load(options: &LeptosOptions) -> Self {
        let hash_file = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.join(options.hash_file.as_ref())));
        let hashes = match hash_file {
            Some(path) if options.hash_files => read_hashes(&path),
            _ => None,
        };
        Self::named(options, hashes.as_deref())
    }

    /// The names for the hash file's text `hashes` (`css: <hash>` among others).
    fn named(options: &LeptosOptions, hashes: Option<&str>) -> Self {
        let css_hash = hashes.and_then(|text| {
            text.lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(file, _)| file.trim() == "css")
                .map(|(_, hash)| hash.trim().to_owned())
        });
        let name = &options.output_name;
        let stylesheet = match &css_hash {
            Some(hash) => format!("/{}/{name}.{hash}.css", options.site_pkg_dir),
            None => format!("/{}/{name}.css", options.site_pkg_dir),
        };
        Self {
            stylesheet,
            hashed: css_hash.is_some(),
            bundle_dir: format!("/{}/", options.site_pkg_dir),
        }
    }

    /// Whether browsers may keep the file at `path` for good: a bundle file whose
    /// name carries its content hash.
    fn immutable(&self, path: &str) -> bool {
        self.hashed && path.starts_with(&self.bundle_dir)
    }
}

fn read_hashes(path: &Path) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(error) => {
            tracing::warn!(%error, path = %path.display(), "no hash file: the bundle is served under plain names, revalidated on every visit");
            None
        }
    }
}

/// The site's files, the precompressed copy when the browser accepts it.
pub fn files(site_root: &str) -> ServeDir {
    ServeDir::new(site_root)
        .precompressed_br()
        .precompressed_gzip()
}

/// How long browsers keep the site's files: a year for a hashed bundle file, else
/// until they ask again (`no-cache` revalidates with `Last-Modified`); and which
/// encoding they got depends on what they accept.
pub async fn cache_policy(
    State(assets): State<Arc<Assets>>,
    request: Request,
    next: Next,
) -> Response {
    let immutable = assets.immutable(request.uri().path());
    let mut response = next.run(request).await;
    if !response.status().is_success() {
        return response;
    }
    let headers = response.headers_mut();
    let policy = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use tower::ServiceExt;

    /// A site with one bundle file and its brotli copy, one for each caller.
    fn site() -> std::path::PathBuf {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("pv-assets-{}-{n}", std::process::id()));
        std::fs::create_dir_all(root.join("pkg")).unwrap();
        std::fs::write(root.join("pkg/app.h4sh.wasm"), b"plain wasm").unwrap();
        std::fs::write(root.join("pkg/app.h4sh.wasm.br"), b"br").unwrap();
        std::fs::write(root.join("favicon.png"), b"png").unwrap();
        root
    }

    async fn get(hashed: bool, path: &str, accept: &str) -> axum::response::Response {
        let root = site();
        let hashes = hashed.then_some("css: h4sh");
        let assets = Arc::new(Assets::named(&options(), hashes));
        let app = Router::new()
            .fallback_service(files(root.to_str().unwrap()))
            .layer(axum::middleware::from_fn_with_state(assets, cache_policy));
        let request = Request::builder()
            .uri(path)
            .header(header::ACCEPT_ENCODING, accept)
            .body(Body::empty())
            .unwrap();
        app.oneshot(request).await.unwrap()
    }

    async fn body(response: axum::response::Response) -> Vec<u8> {
        axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec()
    }

    #[tokio::test]
    async fn a_hashed_bundle_file_goes_compressed_and_is_kept_for_a_year() {
        let response = get(true, "/pkg/app.h4sh.wasm", "gzip, deflate, br").await;
        let headers = response.headers().clone();
        assert_eq!(headers[header::CONTENT_ENCODING], "br");
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(headers[header::VARY], "accept-encoding");
        assert_eq!(body(response).await, b"br");
        let plain = get(true, "/pkg/app.h4sh.wasm", "identity").await;
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(body(plain).await, b"plain wasm");
    }

    #[tokio::test]
    async fn plain_names_and_other_files_are_revalidated() {
        let unhashed = get(false, "/pkg/app.h4sh.wasm", "br").await;
        assert_eq!(unhashed.headers()[header::CACHE_CONTROL], "no-cache");
        let icon = get(true, "/favicon.png", "br").await;
        assert_eq!(icon.headers()[header::CACHE_CONTROL], "no-cache");
        let missing = get(true, "/pkg/gone.wasm", "br").await;
        assert_eq!(missing.status(), axum::http::StatusCode::NOT_FOUND);
        assert!(missing.headers().get(header::CACHE_CONTROL).is_none());
    }

    fn options() -> LeptosOptions {
        LeptosOptions::builder().output_name("phone-verify").build()
    }

    #[test]
    fn the_stylesheet_carries_its_hash_when_the_build_has_one() {
        let hashed = Assets::named(&options(), Some("js: aaa\nwasm: bbb\ncss: c_C-1\n"));
        assert_eq!(hashed.stylesheet, "/pkg/phone-verify.c_C-1.css");
        assert!(hashed.hashed);
        let plain = Assets::named(&options(), None);
        assert_eq!(plain.stylesheet, "/pkg/phone-verify.css");
        assert!(!plain.hashed);
    }
}
