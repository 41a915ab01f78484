//! Who is calling, as far as rate limits and the audit log need to know.

use std::net::IpAddr;

/// The caller's address: the peer, or, when the peer is a trusted proxy, the first
/// `X-Forwarded-For` entry from the right that is not a trusted proxy. Proxies append
/// the address they saw, so only the right end of the header is written by our own
/// proxies; whatever a client put to the left of it is not believed.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    pub fn text(&self) -> Option<String> {
        self.0.map(|a| a.to_string())
    }

    /// The key rate limits count under: the IPv4 address, or the /64 of an IPv6 address
    /// (one subscriber usually holds a whole /64 and can pick any address in it).
    pub fn limit_key(&self) -> Option<String> {
        Some(limit_key(self.0?))
    }
}

fn limit_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        },
    }
}
