//! Reading request bodies with a size cap.
//!
//! An over-long body is answered 413 before it is read; tiny_http (patched, see
//! `src/vendor/tiny_http/README.vendor.md`) then closes the connection without draining it, so an announced size costs nothing whatever it claims.

use std::io::Read;

use tiny_http::Request;

use crate::error::{ErrorKind, GatewayError};

/// Reads the whole body, or fails with 413 past `cap` bytes (announced or actual).
pub fn read(request: &mut Request, cap: usize) -> Result<Vec<u8>, GatewayError> {
    let too_large = || {
        GatewayError::new(
            ErrorKind::PayloadTooLarge,
            format!("request body is larger than the limit of {cap} bytes"),
        )
    };
    let announced = request.body_length();
    if announced.is_some_and(|n| n > cap) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(announced.unwrap_or(0));
    request
        .as_reader()
        .take(cap as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| GatewayError::invalid(format!("could not read the request body: {e}")))?;
    if body.len() > cap {
        return Err(too_large());
    }
    Ok(body)
}
