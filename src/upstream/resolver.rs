//! Host name resolution for backends, remembered for a while.
//!
//! ureq resolves the backend's host name before every request, pooled connection or not: a
//! `getaddrinfo` per request for `http://localhost:8001`. [`CachingResolver`] keeps an answer
//! for [`RESOLVED_TTL`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;
use ureq::Error;

/// How long a resolved host name is used before it is resolved again.
const RESOLVED_TTL: Duration = Duration::from_secs(10);

/// Hosts kept at most: a gateway talks to a handful of backends.
const MAX_RESOLVED: usize = 64;

/// ureq's resolver with the answers kept for [`RESOLVED_TTL`] (failures are not kept).
#[derive(Debug, Default)]
pub struct CachingResolver {
    inner: DefaultResolver,
    /// By scheme and authority (`http://localhost:8001`).
    answers: parking_lot::Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>,
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, Error> {
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return self.inner.resolve(uri, config, timeout);
        };
        let key = (scheme, authority.as_str());
        let now = Instant::now();
        let cached = self
            .answers
            .lock()
            .iter()
            .find(|(k, _)| k.split_once("://") == Some(key))
            .map(|(_, (at, addrs))| (*at, addrs.clone()));
        if let Some((at, addrs)) = cached {
            if now.duration_since(at) < RESOLVED_TTL {
                return Ok(addrs);
            }
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        let mut answers = self.answers.lock();
        if answers.len() >= MAX_RESOLVED {
            answers.retain(|_, (at, _)| now.duration_since(*at) < RESOLVED_TTL);
        }
        if answers.len() < MAX_RESOLVED {
            answers.insert(format!("{scheme}://{}", key.1), (now, addrs.clone()));
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_kept_per_scheme_and_authority() {
        let resolver = CachingResolver::default();
        let config = ureq::config::Config::default();
        let resolve = |uri: &str| {
            let uri: Uri = uri.parse().unwrap();
            resolver
                .resolve(&uri, &config, NextTimeout::default())
                .unwrap()
        };
        let first = resolve("http://127.0.0.1:8001/v1/chat/completions");
        let again = resolve("http://127.0.0.1:8001/v1/messages");
        let addrs = |a: &ResolvedSocketAddrs| a.iter().copied().collect::<Vec<_>>();
        assert_eq!(addrs(&first), addrs(&again));
        assert_eq!(addrs(&first), vec!["127.0.0.1:8001".parse().unwrap()]);
        resolve("http://127.0.0.1:8002/v1/messages");
        assert_eq!(resolver.answers.lock().len(), 2);
    }
}
