//! The web dashboard at `/dashboard`: the files in `web/`, embedded in the binary so the single
//! executable serves them with no internet access.
//!
//! Caching: `index.html` is always revalidated (`no-cache`); it names the script and the style
//! sheet with a content hash (`app-<hash>.js`), and those versioned names are cached for a year,
//! so a new binary is picked up at the next page load and an unchanged one costs one small
//! request. Every reply carries an `ETag` computed at compile time from the bytes it serves.

use std::sync::OnceLock;

use crate::server::Reply;

const INDEX: &[u8] = include_bytes!("../../web/index.html");
const APP_JS: &[u8] = include_bytes!("../../web/app.js");
const STYLE_CSS: &[u8] = include_bytes!("../../web/style.css");

/// 64-bit FNV-1a, usable in a `const`: the hashes are fixed when the binary is built.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const APP_HASH: u64 = fnv1a(APP_JS);
const STYLE_HASH: u64 = fnv1a(STYLE_CSS);
/// The index as served differs from the file (versioned names), which both hashes cover.
const INDEX_HASH: u64 = fnv1a(INDEX) ^ APP_HASH.rotate_left(21) ^ STYLE_HASH.rotate_left(42);

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Revalidate every time: for the index and the unversioned asset names.
const NO_CACHE: &str = "no-cache";
/// A versioned name never changes content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Everything the page loads comes from this origin; nothing inline, nothing remote.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The reply for a dashboard path (`/dashboard`, `/dashboard/`, `/dashboard/<file>`), or `None`
/// for an unknown file.
pub fn serve(path: &str) -> Option<Reply> {
    let name = path
        .strip_prefix("/dashboard")?
        .trim_start_matches('/')
        .trim_end_matches('/');
    let (content_type, body, hash, cache): (&str, &'static [u8], u64, &str) = match name {
        "" | "index.html" => (HTML, index(), INDEX_HASH, NO_CACHE),
        "app.js" => (JS, APP_JS, APP_HASH, NO_CACHE),
        "style.css" => (CSS, STYLE_CSS, STYLE_HASH, NO_CACHE),
        _ if versioned(name, "app-", ".js", APP_HASH) => (JS, APP_JS, APP_HASH, IMMUTABLE),
        _ if versioned(name, "style-", ".css", STYLE_HASH) => {
            (CSS, STYLE_CSS, STYLE_HASH, IMMUTABLE)
        }
        _ => return None,
    };
    let mut reply = Reply {
        status: 200,
        headers: Vec::new(),
        body: body.to_vec(),
    }
    .header("Content-Type", content_type)
    .header("Cache-Control", cache)
    .header("ETag", &format!("\"{hash:016x}\""))
    .header("X-Content-Type-Options", "nosniff");
    if content_type == HTML {
        reply = reply
            .header("Content-Security-Policy", CSP)
            .header("Referrer-Policy", "no-referrer");
    }
    Some(reply)
}

/// Whether `name` is `<prefix><hash as 16 hex digits><suffix>` for the current content.
fn versioned(name: &str, prefix: &str, suffix: &str, hash: u64) -> bool {
    name.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix))
        .filter(|hex| hex.len() == 16)
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        == Some(hash)
}

/// `index.html` with the asset names replaced by their versioned names, built once.
fn index() -> &'static [u8] {
    static INDEX_SERVED: OnceLock<Vec<u8>> = OnceLock::new();
    INDEX_SERVED.get_or_init(|| {
        String::from_utf8_lossy(INDEX)
            .replace(
                "/dashboard/app.js",
                &format!("/dashboard/app-{APP_HASH:016x}.js"),
            )
            .replace(
                "/dashboard/style.css",
                &format!("/dashboard/style-{STYLE_HASH:016x}.css"),
            )
            .into_bytes()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
        reply
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn index_answers_on_every_spelling() {
        for path in ["/dashboard", "/dashboard/", "/dashboard/index.html"] {
            let reply = serve(path).expect(path);
            assert_eq!(reply.status, 200);
            assert_eq!(header(&reply, "Content-Type"), Some(HTML));
            assert_eq!(header(&reply, "Cache-Control"), Some(NO_CACHE));
            assert!(header(&reply, "ETag").is_some_and(|e| e.len() == 18));
            assert!(header(&reply, "Content-Security-Policy").is_some());
        }
    }

    #[test]
    fn index_names_versioned_assets_that_resolve() {
        let html = String::from_utf8(serve("/dashboard").unwrap().body).unwrap();
        let js = format!("/dashboard/app-{APP_HASH:016x}.js");
        let css = format!("/dashboard/style-{STYLE_HASH:016x}.css");
        assert!(html.contains(&js), "index should name {js}");
        assert!(html.contains(&css), "index should name {css}");
        let reply = serve(&js).unwrap();
        assert_eq!(header(&reply, "Content-Type"), Some(JS));
        assert_eq!(header(&reply, "Cache-Control"), Some(IMMUTABLE));
        assert_eq!(reply.body, APP_JS);
        let reply = serve(&css).unwrap();
        assert_eq!(header(&reply, "Content-Type"), Some(CSS));
        assert_eq!(header(&reply, "Cache-Control"), Some(IMMUTABLE));
    }

    #[test]
    fn plain_names_revalidate_and_unknown_names_are_none() {
        let reply = serve("/dashboard/app.js").unwrap();
        assert_eq!(header(&reply, "Cache-Control"), Some(NO_CACHE));
        assert_eq!(
            header(&reply, "ETag"),
            Some(format!("\"{APP_HASH:016x}\"").as_str())
        );
        assert!(serve("/dashboard/app-0000000000000000.js").is_none());
        assert!(serve("/dashboard/../Cargo.toml").is_none());
        assert!(serve("/dashboard/nope.png").is_none());
        assert!(serve("/dashboardx").is_none());
    }

    #[test]
    fn hash_is_fnv1a() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
