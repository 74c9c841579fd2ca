//! Access control: client API keys on proxy endpoints, the admin token on control actions.
//! Comparisons take the same time whatever the bytes, so a key cannot be guessed by timing.

use tiny_http::Request;

use crate::config::{Auth, Secret};
use crate::error::{ErrorKind, GatewayError};

/// The credential a request presents: `Authorization: Bearer X`, `x-api-key: X` or
/// `x-admin-token: X` (the last for control endpoints only).
pub fn presented(request: &Request) -> Vec<String> {
    let mut found = Vec::new();
    for header in request.headers() {
        let name = header.field.as_str().as_str();
        let value = header.value.as_str().trim();
        if name.eq_ignore_ascii_case("authorization") {
            if let Some(token) = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
            {
                found.push(token.trim().to_owned());
            }
        } else if name.eq_ignore_ascii_case("x-api-key")
            || name.eq_ignore_ascii_case("x-admin-token")
        {
            found.push(value.to_owned());
        }
    }
    found
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn matches_any(presented: &[String], secrets: &[&Secret]) -> bool {
    // Every pair is compared, so the time does not tell which key matched.
    let mut ok = false;
    for p in presented {
        for s in secrets {
            ok |= constant_time_eq(p.as_bytes(), s.expose().as_bytes());
        }
    }
    ok
}

/// Whether proxy requests need a client key at all.
pub fn clients_need_key(auth: &Auth) -> bool {
    !auth.api_keys.is_empty()
}

/// Checks a proxy request's key. The admin token is accepted as a client key too.
pub fn check_client(auth: &Auth, presented: &[String]) -> Result<(), GatewayError> {
    if auth.api_keys.is_empty() {
        return Ok(());
    }
    let mut secrets: Vec<&Secret> = auth.api_keys.iter().collect();
    secrets.extend(auth.admin_token.as_ref());
    if matches_any(presented, &secrets) {
        Ok(())
    } else if presented.is_empty() {
        Err(GatewayError::new(
            ErrorKind::Authentication,
            "an API key is required: send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'",
        ))
    } else {
        Err(GatewayError::new(
            ErrorKind::Authentication,
            "invalid API key",
        ))
    }
}

/// Checks the admin token for a mutating control action.
pub fn check_admin(auth: &Auth, presented: &[String]) -> Result<(), GatewayError> {
    let Some(token) = &auth.admin_token else {
        return Ok(());
    };
    if matches_any(presented, &[token]) {
        Ok(())
    } else if presented.is_empty() {
        Err(GatewayError::new(
            ErrorKind::Authentication,
            "this action needs the admin token: send 'Authorization: Bearer <token>' or 'x-admin-token: <token>'",
        ))
    } else {
        Err(GatewayError::new(
            ErrorKind::Permission,
            "the admin token is wrong",
        ))
    }
}

/// Checks read access to control data (logs, config, stats): any client key or the admin
/// token, when auth is configured at all.
pub fn check_reader(auth: &Auth, presented: &[String]) -> Result<(), GatewayError> {
    if auth.api_keys.is_empty() {
        return check_admin(auth, presented);
    }
    check_client(auth, presented)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(keys: &[&str], admin: Option<&str>) -> Auth {
        Auth {
            api_keys: keys.iter().map(|k| Secret::new(*k)).collect(),
            admin_token: admin.map(Secret::new),
        }
    }

    #[test]
    fn open_when_nothing_is_configured() {
        let open = auth(&[], None);
        assert!(check_client(&open, &[]).is_ok());
        assert!(check_admin(&open, &[]).is_ok());
        assert!(check_reader(&open, &[]).is_ok());
    }

    #[test]
    fn client_keys_and_admin_token() {
        let a = auth(&["k1", "k2"], Some("adm"));
        assert!(check_client(&a, &["k2".into()]).is_ok());
        assert!(check_client(&a, &["adm".into()]).is_ok());
        assert_eq!(check_client(&a, &[]).unwrap_err().status, 401);
        assert_eq!(check_client(&a, &["nope".into()]).unwrap_err().status, 401);
        assert!(check_admin(&a, &["adm".into()]).is_ok());
        assert_eq!(check_admin(&a, &["k1".into()]).unwrap_err().status, 403);
        assert_eq!(check_admin(&a, &[]).unwrap_err().status, 401);
        assert!(check_reader(&a, &["k1".into()]).is_ok());
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
