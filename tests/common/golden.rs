//! Golden comparison of JSON bodies: every path where the body differs from the golden, listed
//! with both values, so a failure shows the whole difference at once.

#![allow(dead_code)]

use serde_json::Value;

/// The paths where `got` differs from `expected` (`/messages/2/content/0/text: expected …, got …`).
pub fn json_diff(expected: &Value, got: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk("", expected, got, &mut out);
    out
}

fn walk(path: &str, expected: &Value, got: &Value, out: &mut Vec<String>) {
    match (expected, got) {
        (Value::Object(e), Value::Object(g)) => {
            for (k, ev) in e {
                let p = format!("{path}/{k}");
                match g.get(k) {
                    Some(gv) => walk(&p, ev, gv, out),
                    None => out.push(format!("{p}: missing, expected {ev}")),
                }
            }
            for (k, gv) in g {
                if !e.contains_key(k) {
                    out.push(format!("{path}/{k}: unexpected, got {gv}"));
                }
            }
        }
        (Value::Array(e), Value::Array(g)) => {
            for (i, ev) in e.iter().enumerate() {
                let p = format!("{path}/{i}");
                match g.get(i) {
                    Some(gv) => walk(&p, ev, gv, out),
                    None => out.push(format!("{p}: missing, expected {ev}")),
                }
            }
            for (i, gv) in g.iter().enumerate().skip(e.len()) {
                out.push(format!("{path}/{i}: unexpected, got {gv}"));
            }
        }
        (e, g) if numbers_equal(e, g) => {}
        (e, g) if e != g => out.push(format!("{path}: expected {e}, got {g}")),
        _ => {}
    }
}

/// `0.2` and `0.2` written as different float types compare equal.
fn numbers_equal(e: &Value, g: &Value) -> bool {
    match (e.as_f64(), g.as_f64()) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        _ => false,
    }
}
