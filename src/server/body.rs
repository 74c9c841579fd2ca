//! Reading request bodies with a size cap.

use std::io::Read;

use tiny_http::Request;

use crate::error::{ErrorKind, GatewayError};

/// Bodies announced larger than this are not drained after a 413: tiny_http drains an unread
/// body on drop with one allocation of the announced size, which a hostile `Content-Length`
/// could make fatal. Such a request is answered by dropping the connection instead.
pub const DRAIN_LIMIT: usize = 256 * 1024 * 1024;

/// What became of an attempt to read the body.
pub enum Body {
    Read(Vec<u8>),
    /// Over the cap; the error says so.
    TooLarge(GatewayError),
    /// Announced so large that the request must be abandoned without a reply (see DRAIN_LIMIT).
    Abandon,
}

pub fn read(request: &mut Request, cap: usize) -> Result<Body, GatewayError> {
    let too_large = || {
        GatewayError::new(
            ErrorKind::PayloadTooLarge,
            format!("request body is larger than the limit of {cap} bytes"),
        )
    };
    if let Some(announced) = request.body_length() {
        if announced > DRAIN_LIMIT {
            return Ok(Body::Abandon);
        }
        if announced > cap {
            return Ok(Body::TooLarge(too_large()));
        }
    }
    let mut body = Vec::with_capacity(request.body_length().unwrap_or(0).min(cap));
    request
        .as_reader()
        .take(cap as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| GatewayError::invalid(format!("could not read the request body: {e}")))?;
    if body.len() > cap {
        return Ok(Body::TooLarge(too_large()));
    }
    Ok(Body::Read(body))
}
