//! Who a request comes from, for per-client limits.
//!
//! Behind a load balancer every TCP peer is the balancer, so the client's address is taken
//! from `X-Forwarded-For`, but only when the peer is a proxy the operator trusts: anyone else
//! can write that header. Each proxy appends the address it received the request from, so
//! the list is read from the right and the first entry that is not a trusted proxy is the
//! client; entries further left were written by the client and prove nothing.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed: addresses and CIDR ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A comma-separated list of IP addresses and CIDR ranges (`10.0.0.0/8, 2001:db8::/32`);
/// blank means none.
impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        text.split(',')
            .map(|item| {
                let item = item.trim();
                let net = match item.parse::<IpAddr>() {
                    Ok(ip) => Ok(IpNet::from(ip.to_canonical())),
                    Err(_) => item.parse::<IpNet>().map(|net| net.trunc()),
                };
                net.map_err(|_| format!("{item:?} is not an IP address or CIDR range"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// The client's address: the TCP peer, or, when the peer is a trusted proxy, the right-most
/// `X-Forwarded-For` entry that is not a trusted proxy (the left-most entry when all are).
/// A missing header, or an unparsable entry where the walk stops, gives the peer: a broken
/// proxy must not turn into errors for the client. Entries are split on raw bytes so that
/// junk a client put on the left cannot spoil the entries the proxies appended after it.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    // Several headers are one list, in order; empty elements are ignored (RFC 9110 §5.6.1).
    let entries: Vec<&[u8]> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|entry| !entry.is_empty())
        .collect();
    let mut leftmost = None;
    for entry in entries.iter().rev() {
        let Some(ip) = std::str::from_utf8(entry)
            .ok()
            .and_then(|text| text.parse::<IpAddr>().ok())
        else {
            return peer;
        };
        let ip = ip.to_canonical();
        if !trusted.contains(ip) {
            return ip;
        }
        leftmost = Some(ip);
    }
    leftmost.unwrap_or(peer)
}

/// The unit a limit counts: an IPv4 address, or an IPv6 /64 (one subscriber usually holds a
/// whole /64, so counting single IPv6 addresses would let one client rotate freely).
/// IPv4-mapped IPv6 addresses count as the IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    V4(std::net::Ipv4Addr),
    V6Prefix64(Ipv6Addr),
}

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => ClientKey::V4(v4),
            IpAddr::V6(v6) => {
                ClientKey::V6Prefix64(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX)))
            }
        }
    }
}

/// `203.0.113.7` or `2001:db8:1:2::/64`.
impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientKey::V4(ip) => write!(f, "{ip}"),
            ClientKey::V6Prefix64(net) => write!(f, "{net}/64"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn xff(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }

    fn proxies(text: &str) -> TrustedProxies {
        text.parse().unwrap()
    }

    #[test]
    fn parses_addresses_and_ranges_of_both_families() {
        let list = proxies(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32, ::1");
        for inside in [
            "10.1.2.3",
            "192.0.2.7",
            "2001:db8:ffff::1",
            "::1",
            "::ffff:10.9.9.9",
        ] {
            assert!(list.contains(ip(inside)), "{inside}");
        }
        for outside in ["11.0.0.1", "192.0.2.8", "2001:db9::1", "::2"] {
            assert!(!list.contains(ip(outside)), "{outside}");
        }
        assert!(proxies("").is_empty());
        assert!(proxies("  ").is_empty());
        assert!(
            proxies("10.1.2.3/8").contains(ip("10.200.0.1")),
            "host bits in a range are ignored"
        );
    }

    #[test]
    fn refuses_bad_lists() {
        for bad in [
            "nonsense",
            "10.0.0.0/33",
            "2001:db8::/129",
            "10.0.0.1,",
            ",10.0.0.1",
            "10.0.0.1,,10.0.0.2",
            "10.0.0.0/8 192.168.0.0/16",
            "10.0.0.1:8080",
            "example.com",
        ] {
            let err = bad.parse::<TrustedProxies>().unwrap_err();
            assert!(
                err.contains("is not an IP address or CIDR range"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let headers = xff(&[b"203.0.113.9"]);
        assert_eq!(
            client_ip(ip("198.51.100.1"), &headers, &proxies("10.0.0.0/8")),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers, &TrustedProxies::default()),
            ip("10.0.0.1"),
            "nothing is trusted by default"
        );
    }

    #[test]
    fn a_trusted_peer_gives_the_rightmost_untrusted_entry() {
        let trusted = proxies("10.0.0.0/8");
        let headers = xff(&[b"203.0.113.9"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers, &trusted),
            ip("203.0.113.9")
        );
        // Two proxies: the client, then the outer proxy as seen by the inner one.
        let headers = xff(&[b"203.0.113.9, 10.0.0.2"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_spoofed_leftmost_entry_is_not_used() {
        let trusted = proxies("10.0.0.0/8");
        for headers in [
            xff(&[b"1.2.3.4, 203.0.113.9"]),
            xff(&[b"1.2.3.4", b"203.0.113.9"]),
            xff(&[b"10.0.0.77, 203.0.113.9, 10.0.0.2"]),
            xff(&[b"not-an-ip, 203.0.113.9"]),
            xff(&[b"\xff\xfe junk, 203.0.113.9"]),
        ] {
            assert_eq!(
                client_ip(ip("10.0.0.1"), &headers, &trusted),
                ip("203.0.113.9"),
                "{headers:?}"
            );
        }
    }

    #[test]
    fn several_headers_are_one_list_in_order() {
        let trusted = proxies("10.0.0.0/8");
        let headers = xff(&[b"203.0.113.1, 203.0.113.2", b"10.0.0.3", b""]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers, &trusted),
            ip("203.0.113.2")
        );
    }

    #[test]
    fn all_entries_trusted_gives_the_leftmost() {
        let trusted = proxies("10.0.0.0/8, 192.0.2.0/24");
        let headers = xff(&[b"10.0.0.5, 192.0.2.1", b"10.0.0.6"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers, &trusted),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn missing_or_malformed_headers_give_the_peer() {
        let trusted = proxies("10.0.0.0/8");
        let peer = ip("10.0.0.1");
        assert_eq!(client_ip(peer, &HeaderMap::new(), &trusted), peer);
        for bad in [
            &b""[..],
            b" , ,",
            b"unknown",
            b"203.0.113.9, garbage",
            b"203.0.113.9:4711",
            b"[2001:db8::1]:443",
            b"203.0.113.9, 10.0.0.2, \xff",
            b"203.0.113.300",
        ] {
            assert_eq!(client_ip(peer, &xff(&[bad]), &trusted), peer, "{bad:?}");
        }
    }

    #[test]
    fn ipv4_mapped_addresses_are_ipv4() {
        let trusted = proxies("10.0.0.0/8");
        assert_eq!(
            client_ip(
                ip("::ffff:10.0.0.1"),
                &xff(&[b"::ffff:203.0.113.9"]),
                &trusted
            ),
            ip("203.0.113.9"),
            "a mapped peer is trusted by its IPv4 range and a mapped entry is IPv4"
        );
        assert_eq!(
            client_ip(ip("::ffff:198.51.100.1"), &HeaderMap::new(), &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(
            ClientKey::from(ip("::ffff:203.0.113.9")),
            ClientKey::from(ip("203.0.113.9"))
        );
        assert_eq!(
            ClientKey::from(ip("::ffff:203.0.113.9")).to_string(),
            "203.0.113.9"
        );
    }

    #[test]
    fn ipv6_clients_are_grouped_by_their_64() {
        let a = ClientKey::from(ip("2001:db8:1:2:aaaa::1"));
        assert_eq!(a, ClientKey::from(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")));
        assert_ne!(a, ClientKey::from(ip("2001:db8:1:3::1")));
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
        assert_ne!(
            ClientKey::from(ip("203.0.113.1")),
            ClientKey::from(ip("203.0.113.2")),
            "IPv4 stays per address"
        );
        assert_eq!(ClientKey::from(ip("::1")).to_string(), "::/64");
    }
}
