//! The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`): single
//! addresses or CIDR ranges, as a load balancer's pool usually is one.
use std::fmt;
use std::net::IpAddr;

/// A list of addresses and ranges, e.g. `10.0.0.0/8, 192.0.2.7, 2001:db8::/32`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Range>);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Range {
    network: IpAddr,
    /// Leading bits that must match: 32 or 128 for one address.
    bits: u8,
}

impl TrustedProxies {
    /// Reads a comma-separated list; an empty one trusts nobody.
    ///
    /// # Errors
    /// The first entry that is not an address or a range, with what is wrong.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(Range::parse)
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        let ip = canonical(*ip);
        self.0.iter().any(|range| range.contains(ip))
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries: Vec<String> = self
            .0
            .iter()
            .map(|r| format!("{}/{}", r.network, r.bits))
            .collect();
        f.write_str(&entries.join(","))
    }
}

impl Range {
    fn parse(entry: &str) -> Result<Self, String> {
        let wrong = || format!("{entry:?} is not an IP address or a CIDR range like 10.0.0.0/8");
        let (address, bits) = match entry.split_once('/') {
            Some((address, bits)) => (address, Some(bits.parse::<u8>().map_err(|_| wrong())?)),
            None => (entry, None),
        };
        let network = canonical(address.parse::<IpAddr>().map_err(|_| wrong())?);
        let width = if network.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(width);
        if bits > width {
            return Err(wrong());
        }
        let range = Self { network, bits };
        if mask(network, bits) != network {
            return Err(format!(
                "{entry:?} has bits set after its /{bits}: did you mean {}/{bits}?",
                mask(network, bits)
            ));
        }
        Ok(range)
    }

    fn contains(self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.bits) == self.network
    }
}

/// An IPv4 address written as IPv6 (`::ffff:192.0.2.7`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// `ip` with all but its first `bits` bits cleared.
fn mask(ip: IpAddr, bits: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let keep = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & keep).into())
        }
        IpAddr::V6(v6) => {
            let keep = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & keep).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ranges_and_single_addresses_are_trusted() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.0.2.7 ,2001:db8::/32").unwrap();
        for trusted in ["10.1.2.3", "192.0.2.7", "::ffff:10.9.9.9", "2001:db8:5::1"] {
            assert!(proxies.contains(&ip(trusted)), "{trusted}");
        }
        for stranger in ["11.0.0.1", "192.0.2.8", "2001:db9::1", "::1"] {
            assert!(!proxies.contains(&ip(stranger)), "{stranger}");
        }
        assert!(TrustedProxies::parse("").unwrap().0.is_empty());
        assert!(
            TrustedProxies::parse("0.0.0.0/0")
                .unwrap()
                .contains(&ip("203.0.113.9"))
        );
    }

    #[test]
    fn malformed_entries_say_what_is_wrong() {
        for bad in ["10.0.0.0/33", "proxy.example", "10.0.0.1/8", "10.0.0.0/x"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
        let unaligned = TrustedProxies::parse("10.0.0.1/8").unwrap_err();
        assert!(unaligned.contains("10.0.0.0/8"), "{unaligned}");
    }
}
