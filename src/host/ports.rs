//! Which ports are free on the host: bind() here; on another host its listening sockets, read
//! from the kernel's own tables there.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

/// Whether a port can be published on an address there.
pub(crate) enum PortChecker {
    Local,
    Listening(BTreeSet<(IpAddr, u16)>),
}

impl PortChecker {
    pub(crate) fn is_free(&self, addr: IpAddr, port: u16) -> bool {
        match self {
            PortChecker::Local => crate::ports::is_free(addr, port),
            PortChecker::Listening(l) => !l
                .iter()
                .any(|(a, p)| *p == port && (a.is_unspecified() || addr.is_unspecified() || *a == addr)),
        }
    }
}

/// The LISTEN sockets (state 0A) of /proc/net/tcp and tcp6: `sl local_address rem_address st …`
/// with addresses as hex, IPv4 in host byte order (little-endian here).
pub(crate) fn parse_proc_net_tcp(text: &str) -> BTreeSet<(IpAddr, u16)> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 || f[3] != "0A" {
            continue;
        }
        let Some((a, p)) = f[1].split_once(':') else { continue };
        let Ok(port) = u16::from_str_radix(p, 16) else { continue };
        let addr = match a.len() {
            8 => u32::from_str_radix(a, 16).ok().map(|v| IpAddr::V4(Ipv4Addr::from(v.swap_bytes()))),
            32 => {
                let mut b = [0u8; 16];
                let ok = (0..4).all(|i| {
                    u32::from_str_radix(&a[i * 8..i * 8 + 8], 16)
                        .map(|w| b[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes()))
                        .is_ok()
                });
                ok.then(|| {
                    let v6 = std::net::Ipv6Addr::from(b);
                    v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6))
                })
            }
            _ => None,
        };
        if let Some(addr) = addr {
            out.insert((addr, port));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_sockets_from_proc() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:4A38 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n\
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n\
   2: 0100007F:4A39 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0\n\
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1 0 100 0 0 10 0\n\
   1: 0000000000000000FFFF00000202E70A:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5 1 0 100 0 0 10 0\n";
        let l = parse_proc_net_tcp(text);
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(l.contains(&(lo, 19000)));
        assert!(l.contains(&("0.0.0.0".parse().unwrap(), 22)));
        assert!(!l.iter().any(|(_, p)| *p == 19001), "an established socket is not a listener");
        assert!(l.contains(&("::".parse().unwrap(), 8080)));
        assert!(l.contains(&("10.231.2.2".parse().unwrap(), 80)));
        let c = PortChecker::Listening(l);
        assert!(!c.is_free(lo, 19000));
        assert!(!c.is_free(lo, 22), "a wildcard listener blocks every address");
        assert!(!c.is_free("0.0.0.0".parse().unwrap(), 19000));
        assert!(c.is_free(lo, 19002));
    }
}
