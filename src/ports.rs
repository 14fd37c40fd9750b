//! Host port choice, probed by bind() on the address we publish on, which fails exactly when the
//! engine's own bind would (a connect() probe passes a port bound on another address, or held by a
//! container that is still starting).

use std::collections::BTreeSet;
use std::net::{IpAddr, TcpListener};

use crate::config::PORT_TRIES;

pub(crate) fn is_free(addr: IpAddr, port: u16) -> bool {
    TcpListener::bind((addr, port)).is_ok()
}

/// First free port in `base..base+100`, trying `preferred` (the saved port) first and skipping
/// ports the engine already refused in this run.
pub(crate) fn choose(
    addr: IpAddr,
    base: u16,
    preferred: Option<u16>,
    skip: &BTreeSet<u16>,
    free: impl Fn(IpAddr, u16) -> bool,
) -> Option<u16> {
    let range = (base as u32..base as u32 + PORT_TRIES as u32).map(|p| p as u16);
    preferred.into_iter().chain(range).find(|p| !skip.contains(p) && free(addr, *p))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LO: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn first_free_from_base() {
        let taken = [19000u16, 19001];
        let p = choose(LO, 19000, None, &BTreeSet::new(), |_, p| !taken.contains(&p));
        assert_eq!(p, Some(19002));
    }

    #[test]
    fn preferred_first_then_range_and_skips() {
        let p = choose(LO, 19000, Some(19050), &BTreeSet::new(), |_, _| true);
        assert_eq!(p, Some(19050));
        let skip: BTreeSet<u16> = [19050, 19000].into();
        let p = choose(LO, 19000, Some(19050), &skip, |_, _| true);
        assert_eq!(p, Some(19001));
    }

    #[test]
    fn all_taken_is_none() {
        assert_eq!(choose(LO, 19000, None, &BTreeSet::new(), |_, _| false), None);
        // Exactly 100 ports are tried.
        let tried = std::cell::Cell::new(0);
        choose(LO, 19000, None, &BTreeSet::new(), |_, _| {
            tried.set(tried.get() + 1);
            false
        });
        assert_eq!(tried.get(), 100);
    }

    #[test]
    fn bind_probe_sees_a_listener_on_the_wildcard_address() {
        // A server on 0.0.0.0 blocks publishing on 127.0.0.1: connect() to 127.0.0.1 would see it
        // too, but a listener on another address (below) only bind() catches.
        let l = TcpListener::bind(("0.0.0.0", 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(!is_free(LO, port));
        let l2 = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port2 = l2.local_addr().unwrap().port();
        assert!(!is_free("0.0.0.0".parse().unwrap(), port2));
        drop((l, l2));
    }
}
