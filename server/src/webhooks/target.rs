//! Where webhooks may go: `http`/`https` URLs whose host resolves to public addresses only,
//! unless the server allows private targets (`--webhook-allow-private`). The check runs when
//! an endpoint is created and again on every delivery, through the HTTP client's resolver, so
//! a name that later resolves to a private address (DNS rebinding) is refused then too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Longest endpoint URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Why a URL cannot be an endpoint; the text is the API's 400 message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("url must be an absolute http or https URL")]
    NotHttp,
    #[error("url must be at most 2048 characters")]
    TooLong,
    #[error("url must not contain credentials")]
    Credentials,
    #[error("url must not contain a fragment")]
    Fragment,
    #[error("url host could not be resolved")]
    Unresolved,
    #[error("url must not point to a private, loopback or link-local address")]
    Private,
}

/// Whether `ip` is reachable on the public internet: not loopback, private (RFC 1918, ULA),
/// link-local, shared (CGNAT), unspecified, multicast, broadcast, documentation or reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// The IPv4 address held in segments `segment` and `segment + 1` of an IPv6 address.
fn embedded_v4(s: &[u16; 8], segment: usize) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(s[segment]) << 16) | u32::from(s[segment + 1]))
}

/// IPv6 forms that carry an IPv4 address are as public as that address: IPv4-mapped
/// (`::ffff:0:0/96`), IPv4-translated (`::ffff:0:0:0/96`), NAT64 (`64:ff9b::/96`, last 32
/// bits), 6to4 (`2002::/16`, bits 16..48) and Teredo (`2001::/32`: both the server, bits
/// 32..64, and the client, the last 32 bits inverted). The local-use NAT64 prefix
/// `64:ff9b:1::/48` is not globally reachable (RFC 8215), and where in it an IPv4 address
/// sits is up to the local network, so all of it is refused.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    match s {
        // IPv4-translated (SIIT, RFC 2765): ::ffff:0:a.b.c.d
        [0, 0, 0, 0, 0xffff, 0, ..] => return is_public_v4(embedded_v4(&s, 6)),
        // NAT64 well-known prefix (RFC 6052)
        [0x64, 0xff9b, 0, 0, 0, 0, ..] => return is_public_v4(embedded_v4(&s, 6)),
        // NAT64 local-use prefix (RFC 8215)
        [0x64, 0xff9b, 0x0001, ..] => return false,
        // 6to4 (RFC 3056)
        [0x2002, ..] => return is_public_v4(embedded_v4(&s, 1)),
        // Teredo (RFC 4380)
        [0x2001, 0, ..] => {
            let client = Ipv4Addr::from(!u32::from(embedded_v4(&s, 6)));
            return is_public_v4(embedded_v4(&s, 2)) && is_public_v4(client);
        }
        _ => {}
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || s[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible, deprecated
}

/// Parses and checks an endpoint URL; with `allow_private` false its host must resolve, and
/// only to public addresses.
pub async fn validate(text: &str, allow_private: bool) -> Result<Url, TargetError> {
    if text.len() > MAX_URL_LEN {
        return Err(TargetError::TooLong);
    }
    let url = Url::parse(text).map_err(|_| TargetError::NotHttp)?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(TargetError::NotHttp);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::Credentials);
    }
    if url.fragment().is_some() {
        return Err(TargetError::Fragment);
    }
    if allow_private {
        return Ok(url);
    }
    let host = url.host_str().ok_or(TargetError::NotHttp)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| TargetError::Unresolved)?
        .collect();
    if addrs.is_empty() {
        return Err(TargetError::Unresolved);
    }
    if addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(TargetError::Private);
    }
    Ok(url)
}

/// Whether a URL's host is an IP literal that is not public. (Named hosts go through
/// `PublicResolver`, which the client never consults for literals.)
pub fn is_private_literal(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(v4)) => !is_public_v4(v4),
        Some(url::Host::Ipv6(v6)) => !is_public_v6(v6),
        _ => false,
    }
}

/// The delivery client's resolver: the system's, keeping only public addresses.
#[derive(Debug, Default)]
pub struct PublicResolver;

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let public: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if public.is_empty() {
                return Err(Box::new(std::io::Error::other(
                    "blocked: the host resolves only to private addresses",
                )) as _);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    /// IPv6 transition forms embedding a non-public IPv4 address (loopback, RFC 1918,
    /// link-local metadata, CGNAT, unspecified), and the local-use NAT64 prefix.
    const PRIVATE_TRANSITION: &[&str] = &[
        "::ffff:0:7f00:1",             // IPv4-translated 127.0.0.1
        "::ffff:0:a00:1",              // IPv4-translated 10.0.0.1
        "::ffff:7f00:1",               // IPv4-mapped 127.0.0.1, written in hex
        "::ffff:a9fe:a9fe",            // IPv4-mapped 169.254.169.254
        "64:ff9b::7f00:1",             // NAT64 127.0.0.1
        "64:ff9b::c0a8:101",           // NAT64 192.168.1.1
        "64:ff9b::6440:1",             // NAT64 100.64.0.1
        "64:ff9b:1::808:808",          // local-use NAT64, whatever it embeds
        "64:ff9b:1:abcd::1",           // local-use NAT64
        "2002:7f00:1::1",              // 6to4 127.0.0.1
        "2002:a00:1:1::1",             // 6to4 10.0.0.1
        "2002:a9fe:a9fe::",            // 6to4 169.254.169.254
        "2002::1",                     // 6to4 0.0.0.0
        "2001:0:4136:e378::80ff:fffe", // Teredo, client 127.0.0.1 (inverted)
        "2001:0:4136:e378::f5ff:fffe", // Teredo, client 10.0.0.1
        "2001:0:4136:e378::5601:5601", // Teredo, client 169.254.169.254
        "2001:0:a00:1::f7f7:fbfb",     // Teredo, server 10.0.0.1 (client 8.8.4.4)
        "2001:0:7f00:1::f7f7:fbfb",    // Teredo, server 127.0.0.1
    ];

    /// The same forms embedding public addresses (8.8.8.8, 8.8.4.4, 65.54.227.120).
    const PUBLIC_TRANSITION: &[&str] = &[
        "::ffff:0:808:808",
        "64:ff9b::808:808",
        "2002:808:808::1",
        "2001:0:4136:e378::f7f7:fbfb",
    ];

    #[test]
    fn transition_forms_are_as_public_as_the_ipv4_they_carry() {
        for ip in PRIVATE_TRANSITION {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in PUBLIC_TRANSITION {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn transition_forms_are_refused_as_literals_and_when_resolved() {
        use std::str::FromStr;
        for ip in PRIVATE_TRANSITION {
            let url = format!("http://[{ip}]:8080/hook");
            assert_eq!(
                validate(&url, false).await,
                Err(TargetError::Private),
                "{url}"
            );
            assert!(validate(&url, true).await.is_ok(), "{url}");
            assert!(is_private_literal(&Url::parse(&url).unwrap()), "{url}");
            // The delivery client's resolver (a numeric host resolves without DNS).
            let resolved = PublicResolver.resolve(Name::from_str(ip).unwrap()).await;
            assert!(resolved.is_err(), "{ip}");
        }
        for ip in PUBLIC_TRANSITION {
            let url = format!("https://[{ip}]/hook");
            assert!(validate(&url, false).await.is_ok(), "{url}");
            assert!(!is_private_literal(&Url::parse(&url).unwrap()), "{url}");
            let resolved = PublicResolver.resolve(Name::from_str(ip).unwrap()).await;
            let addrs: Vec<IpAddr> = resolved.unwrap().map(|a| a.ip()).collect();
            assert_eq!(addrs, [ip.parse::<IpAddr>().unwrap()], "{ip}");
        }
    }

    #[tokio::test]
    async fn urls_are_checked() {
        use TargetError::*;
        for (url, err) in [
            ("ftp://example.com/x", NotHttp),
            ("not a url", NotHttp),
            ("mailto:a@example.com", NotHttp),
            ("https://user:pw@example.com/", Credentials),
            ("https://example.com/#frag", Fragment),
            ("http://127.0.0.1:9/hook", Private),
            ("http://[::1]/hook", Private),
            ("http://10.0.0.8/hook", Private),
            ("http://169.254.169.254/latest", Private),
            ("http://localhost:8080/", Private),
        ] {
            assert_eq!(validate(url, false).await, Err(err), "{url}");
        }
        assert_eq!(
            validate(&format!("https://example.com/{}", "a".repeat(2100)), false).await,
            Err(TooLong)
        );
        assert!(validate("http://127.0.0.1:9/hook", true).await.is_ok());
        assert!(validate("https://93.184.215.14/hook", false).await.is_ok());
        assert!(is_private_literal(&Url::parse("http://10.0.0.1/").unwrap()));
        assert!(!is_private_literal(
            &Url::parse("http://example.com/").unwrap()
        ));
    }
}
