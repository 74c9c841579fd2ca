//! Response heads written by hand — the status line and headers of complete replies and of
//! event streams — into the buffer that then goes out in one write.
//!
//! tiny_http's `respond` parses every header into its own type, formats a fresh `Date` and
//! writes the head in small pieces: a fifth of the CPU time of a proxied request.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Starts a head: status line, `Date` and `Server`.
pub fn start(buf: &mut Vec<u8>, http10: bool, status: u16) {
    buf.extend_from_slice(if http10 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
    push_number(buf, status as u64);
    buf.push(b' ');
    buf.extend_from_slice(
        tiny_http::StatusCode(status)
            .default_reason_phrase()
            .as_bytes(),
    );
    buf.extend_from_slice(b"\r\nServer: llm-gateway\r\nDate: ");
    with_http_date(|date| buf.extend_from_slice(date.as_bytes()));
    buf.extend_from_slice(b"\r\n");
}

/// Adds a header; one that could break the head (a line break, a non-token name) is dropped.
pub fn header(buf: &mut Vec<u8>, name: &str, value: &str) {
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    let value_ok = value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f));
    if !(name_ok && value_ok) {
        log::debug!("header {name:?} dropped: not a valid header");
        return;
    }
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b": ");
    buf.extend_from_slice(value.trim().as_bytes());
    buf.extend_from_slice(b"\r\n");
}

/// `Content-Length` and the blank line that ends the head.
pub fn end_with_length(buf: &mut Vec<u8>, length: usize) {
    buf.extend_from_slice(b"Content-Length: ");
    push_number(buf, length as u64);
    buf.extend_from_slice(b"\r\n\r\n");
}

fn push_number(buf: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

/// The current time as an HTTP date (RFC 9110 §5.6.7 IMF-fixdate), formatted once a second
/// per thread.
fn with_http_date(f: impl FnOnce(&str)) {
    thread_local! {
        static CACHED: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    CACHED.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != now {
            *cached = (now, http_date(now));
        }
        f(&cached.1)
    })
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` for Unix time `secs`.
pub fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let (year, month, day) = civil_from_days(days as i64);
    let rem = secs % 86_400;
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Year, month (1-12) and day (1-31) of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_match_rfc_9110() {
        // RFC 9110 §5.6.7's own example.
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        // A leap day and the turn of a century that is a leap year.
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(http_date(1_798_761_599), "Thu, 31 Dec 2026 23:59:59 GMT");
    }

    #[test]
    fn heads_are_well_formed_and_unsafe_headers_dropped() {
        let mut buf = Vec::new();
        start(&mut buf, false, 404);
        header(&mut buf, "X-Ok", "fine");
        header(&mut buf, "X-Bad", "a\r\nInjected: yes");
        header(&mut buf, "Bad Name", "x");
        end_with_length(&mut buf, 12);
        let text = String::from_utf8(buf).unwrap();
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\nServer: llm-gateway\r\nDate: "));
        assert!(text.contains("\r\nX-Ok: fine\r\n"));
        assert!(!text.contains("Injected") && !text.contains("Bad Name"));
        assert!(text.ends_with("\r\nContent-Length: 12\r\n\r\n"));
        let mut buf = Vec::new();
        start(&mut buf, true, 200);
        assert!(buf.starts_with(b"HTTP/1.0 200 OK\r\n"));
    }
}
