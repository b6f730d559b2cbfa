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

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return is_public_v4(v4);
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
