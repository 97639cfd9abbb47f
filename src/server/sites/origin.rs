//! An allowed origin of a site, as written in the sites file: `https://shop.example`,
//! `http://localhost:3100`, or with any port, `http://localhost:*`.
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: String,
    host: String,
    port: Port,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Port {
    /// None written: the scheme's default.
    Default,
    Exactly(u16),
    Any,
}

impl OriginPattern {
    /// Parses `scheme://host[:port|:*]`; nothing else (no path, no user, no query).
    pub fn parse(text: &str) -> Result<Self, String> {
        let problem =
            || format!("{text:?} is not an origin like https://shop.example or http://localhost:*");
        let (scheme, rest) = text.split_once("://").ok_or_else(problem)?;
        if scheme != "https" && scheme != "http" {
            return Err(problem());
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, "*")) => (host, Port::Any),
            Some((host, port)) => (host, Port::Exactly(port.parse().map_err(|_| problem())?)),
            None => (rest, Port::Default),
        };
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !host_ok {
            return Err(problem());
        }
        Ok(Self {
            scheme: scheme.to_owned(),
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// Whether the browser-reported `origin` (as in an `Origin` header or
    /// `location.origin`) is one this pattern allows.
    pub fn matches(&self, origin: &str) -> bool {
        let Some((scheme, rest)) = origin.split_once("://") else {
            return false;
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => match port.parse::<u16>() {
                Ok(port) => (host, Some(port)),
                Err(_) => return false,
            },
            None => (rest, None),
        };
        scheme == self.scheme
            && host.eq_ignore_ascii_case(&self.host)
            && match (self.port, port) {
                (Port::Any, _) => true,
                (Port::Default, None) => true,
                (Port::Exactly(want), Some(got)) => want == got,
                _ => false,
            }
    }

    /// The only origin this pattern allows, if it allows just one.
    pub fn exact(&self) -> Option<String> {
        (self.port != Port::Any).then(|| self.to_string())
    }
}

/// As a CSP source expression, which has the same syntax.
impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        match self.port {
            Port::Default => Ok(()),
            Port::Exactly(port) => write!(f, ":{port}"),
            Port::Any => f.write_str(":*"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_origins() {
        let shop = OriginPattern::parse("https://Shop.example").unwrap();
        assert!(shop.matches("https://shop.example"));
        assert!(!shop.matches("http://shop.example"));
        assert!(!shop.matches("https://shop.example:8443"));
        assert!(!shop.matches("https://shop.example.evil.example"));
        let local = OriginPattern::parse("http://localhost:*").unwrap();
        assert!(local.matches("http://localhost:3100"));
        assert!(local.matches("http://localhost"));
        assert!(!local.matches("http://localhost.evil.example:3100"));
        let port = OriginPattern::parse("http://127.0.0.1:3100").unwrap();
        assert!(port.matches("http://127.0.0.1:3100"));
        assert!(!port.matches("http://127.0.0.1:3101"));
        assert_eq!(local.to_string(), "http://localhost:*");
        assert_eq!(shop.exact().as_deref(), Some("https://shop.example"));
        assert_eq!(local.exact(), None);
    }

    #[test]
    fn only_origins_parse() {
        for bad in [
            "shop.example",
            "ftp://shop.example",
            "https://shop.example/path",
            "https://",
            "https://shop example",
            "https://shop.example:99999",
            "https://user@shop.example",
            "'self'",
            "*",
        ] {
            assert!(OriginPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
