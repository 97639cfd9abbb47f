//! Settings from environment variables; every one has a default that runs the demo
//! on this machine next to a phone-verify server on its defaults.
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct Config {
    /// `DEMO_HOST_ADDR`: where to listen.
    pub addr: SocketAddr,
    /// `DEMO_HOST_URL`: this site's origin as browsers see it. It must be another
    /// site than the widget's (localhost against 127.0.0.1), as a real host is.
    pub public_url: String,
    /// `WIDGET_URL`: the phone-verify server, for the browser and for this backend.
    pub widget_url: String,
    /// `DEMO_SITEKEY` / `DEMO_SITE_SECRET`: this site's keys in phone-verify's
    /// sites file (the development site's by default).
    pub sitekey: String,
    pub secret: String,
    /// `DEMO_DATABASE`: the accounts database, SQLite.
    pub database: PathBuf,
}

/// The variables and their defaults, in the order the README lists them.
pub const VARIABLES: [(&str, &str); 6] = [
    ("DEMO_HOST_ADDR", "127.0.0.1:3100"),
    ("DEMO_HOST_URL", "http://localhost:3100"),
    ("WIDGET_URL", "http://127.0.0.1:3000"),
    ("DEMO_SITEKEY", "pk_test_local"),
    ("DEMO_SITE_SECRET", "sk_test_local"),
    ("DEMO_DATABASE", "target/demo-host/accounts.sqlite"),
];

impl Config {
    /// Reads the settings through `lookup` (the environment, or a test's map).
    ///
    /// # Errors
    /// A message naming the variable that does not parse.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |name: &str| {
            lookup(name).filter(|v| !v.is_empty()).unwrap_or_else(|| {
                VARIABLES
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, d)| (*d).to_owned())
                    .unwrap_or_default()
            })
        };
        let addr = get("DEMO_HOST_ADDR")
            .parse()
            .map_err(|_| "DEMO_HOST_ADDR must be an address and port, e.g. 127.0.0.1:3100")?;
        let url = |name: &str| {
            let value = get(name).trim_end_matches('/').to_owned();
            match reqwest::Url::parse(&value) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.path() == "/" => Ok(value),
                _ => Err(format!(
                    "{name} must be an origin, e.g. http://localhost:3100"
                )),
            }
        };
        Ok(Self {
            addr,
            public_url: url("DEMO_HOST_URL")?,
            widget_url: url("WIDGET_URL")?,
            sitekey: get("DEMO_SITEKEY"),
            secret: get("DEMO_SITE_SECRET"),
            database: get("DEMO_DATABASE").into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_beside_a_local_phone_verify() {
        let config = Config::from_lookup(|_| None).unwrap();
        assert_eq!(config.public_url, "http://localhost:3100");
        assert_eq!(config.widget_url, "http://127.0.0.1:3000");
        assert_eq!(config.addr.port(), 3100);
    }

    #[test]
    fn a_url_with_a_path_is_refused_by_name() {
        let error =
            Config::from_lookup(|n| (n == "WIDGET_URL").then(|| "http://x/y".into())).unwrap_err();
        assert!(error.starts_with("WIDGET_URL"), "{error}");
    }
}
