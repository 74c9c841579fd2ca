//! Access control (issue 5): `auth.apiKeys` guards the proxy endpoints — no key or a wrong one is a
//! 401 in the client's dialect, a right one (Bearer or x-api-key) passes, and the gateway's key is
//! never forwarded to a backend — and `auth.adminToken` guards every mutating control action
//! (switch, config POST, router POST, compare, proxy-cli use/smart on|off): 401 without it, 403
//! with a wrong one, accepted with it. `GET /debug/health` and `GET /` stay open.

mod common;
#[path = "common/control.rs"]
mod control;

use common::*;
use control::*;
use serde_json::{json, Value};

const KEY1: &str = "ck-one-1111";
const KEY2: &str = "ck-two-2222";
const ADMIN: &str = "adm-secret-9999";

fn mock_ok(d: Dialect, text: &str) -> Mock {
    let m = Mock::start();
    m.on_seq(d.path(), vec![Reply::json(200, &d.response("m", text))]);
    m.on(
        "/v1/models",
        Reply::json(200, &payloads::openai_models(&["m"])),
    );
    m
}

/// Every header value the mock received, for "was this secret forwarded?" checks.
fn all_header_values(m: &Mock) -> Vec<String> {
    m.all_requests()
        .iter()
        .flat_map(|r| r.headers.iter().map(|(k, v)| format!("{k}: {v}")))
        .collect()
}

fn api_keys_guard(d: Dialect) {
    let mock = Mock::start();
    mock.on_seq(
        d.path(),
        vec![
            Reply::json(200, &d.response("m", "one")),
            Reply::json(200, &d.response("m", "two")),
            Reply::sse(d.stream("m", &["s"]), std::time::Duration::ZERO),
            Reply::json(200, &d.response("m", "pinned")),
        ],
    );
    mock.on(
        "/v1/models",
        Reply::json(200, &payloads::openai_models(&["m"])),
    );
    let gw = Gateway::start(config(
        json!({"up": backend(&mock, d)}),
        "up",
        json!({"auth": {"apiKeys": [KEY1, KEY2]}}),
    ));
    let send = |headers: &[(&str, &str)]| {
        gw.send(
            Req::post(d.path(), d.request(d.model(), false))
                .headers(&d.client_headers())
                .headers(headers),
        )
    };
    let wrong_bearer = format!("Bearer {KEY1}x");
    for (what, headers) in [
        ("no key", vec![]),
        (
            "a wrong Bearer key",
            vec![("Authorization", wrong_bearer.as_str())],
        ),
        ("a wrong x-api-key", vec![("x-api-key", "nope")]),
        ("a key prefix", vec![("x-api-key", &KEY1[..5])]),
        (
            "Basic auth",
            vec![("Authorization", "Basic Y2stb25lLTExMTE6")],
        ),
        ("an empty key", vec![("x-api-key", "")]),
    ] {
        let r = send(&headers);
        let msg = d.expect_error(&gw, &r, 401);
        gw_assert!(
            gw,
            !msg.contains(KEY1) && !msg.contains(KEY2),
            "{d:?}, {what}: the error shows no key: {msg}"
        );
        if d == Dialect::Anthropic {
            gw_assert_eq!(
                gw,
                "authentication_error",
                r.json()["error"]["type"],
                "{d:?}, {what}: {}",
                r.describe()
            );
        }
        gw_assert_eq!(
            gw,
            0,
            mock.requests().len(),
            "{d:?}, {what}: nothing reaches the backend"
        );
    }
    let r = send(&[("Authorization", &format!("Bearer {KEY1}"))]);
    gw_assert_eq!(
        gw,
        200,
        r.status,
        "{d:?}, right Bearer key: {}",
        r.describe()
    );
    let r = send(&[("x-api-key", KEY2)]);
    gw_assert_eq!(
        gw,
        200,
        r.status,
        "{d:?}, right x-api-key: {}",
        r.describe()
    );
    let (r, _) = chat(&gw, d, "stream please", true, &[("x-api-key", KEY1)]);
    gw_assert_eq!(
        gw,
        200,
        r.status,
        "{d:?}, streamed with a key: {}",
        r.describe()
    );
    let r = gw.send(
        Req::post(&format!("/up{}", d.path()), d.request(d.model(), false))
            .headers(&d.client_headers())
            .header("Authorization", &format!("Bearer {KEY2}")),
    );
    gw_assert_eq!(
        gw,
        200,
        r.status,
        "{d:?}, pinned path with a key: {}",
        r.describe()
    );
    let r = gw.send(
        Req::post(&format!("/up{}", d.path()), d.request(d.model(), false))
            .headers(&d.client_headers()),
    );
    d.expect_error(&gw, &r, 401);
    gw_assert_eq!(
        gw,
        4,
        mock.requests().len(),
        "{d:?}: the four keyed requests went through"
    );
    for h in all_header_values(&mock) {
        gw_assert!(
            gw,
            !h.contains(KEY1) && !h.contains(KEY2),
            "{d:?}: the gateway key reached the backend: {h}"
        );
    }
    // Other proxy endpoints need the key too.
    let r = gw.get("/v1/models");
    gw_assert_eq!(
        gw,
        401,
        r.status,
        "GET /v1/models without a key: {}",
        r.describe()
    );
    let r = gw.send(Req::get("/v1/models").header("x-api-key", KEY1));
    gw_assert_eq!(
        gw,
        200,
        r.status,
        "GET /v1/models with a key: {}",
        r.describe()
    );
    let r = gw.post(
        "/v1/messages/count_tokens",
        payloads::anthropic_count_tokens_request("m"),
        &[],
    );
    expect_anthropic_error(&gw, &r, 401);
}

#[test]
fn api_keys_guard_proxy_requests_openai_chat() {
    api_keys_guard(Dialect::OpenAi);
}

#[test]
fn api_keys_guard_proxy_requests_anthropic() {
    api_keys_guard(Dialect::Anthropic);
}

#[test]
fn api_keys_guard_proxy_requests_responses() {
    api_keys_guard(Dialect::Responses);
}

#[test]
fn a_backend_gets_its_own_key_never_the_gateway_key() {
    let o = mock_ok(Dialect::OpenAi, "o");
    let an = mock_ok(Dialect::Anthropic, "an");
    let gw = Gateway::start(config(
        json!({"o": {"url": o.url(), "api": "openai", "apiKey": "sk-upstream-o"},
               "an": {"url": an.url(), "api": "anthropic", "apiKey": "sk-upstream-an"}}),
        "o",
        json!({"auth": {"apiKeys": [KEY1], "adminToken": ADMIN}}),
    ));
    for (path, d) in [
        ("/o", Dialect::OpenAi),
        ("/an", Dialect::Anthropic),
        ("/o", Dialect::Anthropic),
        ("/an", Dialect::OpenAi),
    ] {
        for creds in [
            [("Authorization", format!("Bearer {KEY1}"))],
            [("x-api-key", KEY1.to_string())],
            [("x-api-key", ADMIN.to_string())],
        ] {
            let hs: Vec<(&str, &str)> = creds.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = gw.send(
                Req::post(&format!("{path}{}", d.path()), d.request(d.model(), false))
                    .headers(&d.client_headers())
                    .headers(&hs),
            );
            gw_assert_eq!(gw, 200, r.status, "{path} from {d:?}: {}", r.describe());
        }
    }
    for req in o.requests() {
        gw_assert_eq!(
            gw,
            Some("Bearer sk-upstream-o"),
            req.header("authorization"),
            "the OpenAI backend's own key"
        );
        gw_assert!(
            gw,
            req.header("x-api-key").is_none(),
            "no x-api-key to the OpenAI backend: {:?}",
            req.headers
        );
    }
    for req in an.requests() {
        gw_assert_eq!(
            gw,
            Some("sk-upstream-an"),
            req.header("x-api-key"),
            "the Anthropic backend's own key"
        );
        gw_assert!(
            gw,
            req.header("authorization").is_none(),
            "no Authorization to Anthropic: {:?}",
            req.headers
        );
    }
    for h in all_header_values(&o)
        .into_iter()
        .chain(all_header_values(&an))
    {
        gw_assert!(
            gw,
            !h.contains(KEY1) && !h.contains(ADMIN),
            "a gateway secret reached a backend: {h}"
        );
    }
}

/// The counterpart of the tests above: without gateway keys the client's own credential is the
/// backend's, and is passed on (so "not forwarded" above is not vacuous).
#[test]
fn without_gateway_keys_the_client_credential_is_passed_on() {
    let o = mock_ok(Dialect::OpenAi, "o");
    let gw = gateway_for(&o, Dialect::OpenAi);
    let r = gw.post(
        "/v1/chat/completions",
        payloads::openai_request("m", false),
        &[("Authorization", "Bearer sk-client-own")],
    );
    gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    gw_assert_eq!(
        gw,
        Some("Bearer sk-client-own"),
        o.single_request().header("authorization"),
        "passed on"
    );
}

/// A mutating control action: what it sends, and how to tell whether it happened.
struct Action {
    name: &'static str,
    path: &'static str,
    body: String,
}

fn actions() -> Vec<Action> {
    vec![
        Action {
            name: "switch",
            path: "/debug/switch",
            body: r#"{"backend":"b"}"#.into(),
        },
        Action {
            name: "config POST",
            path: "/debug/config",
            body: r#"{"logging":{"includeBody":true}}"#.into(),
        },
        Action {
            name: "config reload",
            path: "/debug/config",
            body: String::new(),
        },
        Action {
            name: "router POST",
            path: "/debug/router",
            body: "{}".into(),
        },
        Action {
            name: "compare",
            path: "/debug/compare",
            body: json!({"model": "m", "messages": [{"role": "user", "content": "cmp"}]})
                .to_string(),
        },
    ]
}

/// What a refused action must leave as it was.
fn observable(gw: &Gateway, a: &Mock, b: &Mock) -> Value {
    let admin = [("x-admin-token", ADMIN)];
    let cfg = get_json(gw, "/debug/config", &admin);
    let sw = get_json(gw, "/debug/switch", &admin);
    json!({"config": cfg, "current": sw["current"], "a": a.requests().len(), "b": b.requests().len()})
}

/// A refused attempt: what is presented, the headers, and the status it must get.
type Refusal<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16);

fn admin_guard(extra_auth: Value) {
    let a = mock_ok(Dialect::OpenAi, "a");
    let b = mock_ok(Dialect::OpenAi, "b");
    let mut auth = json!({"adminToken": ADMIN});
    if let Value::Object(m) = extra_auth {
        for (k, v) in m {
            auth[k] = v;
        }
    }
    let with_keys = auth.get("apiKeys").is_some();
    let gw = Gateway::start(config(
        json!({"a": backend(&a, Dialect::OpenAi), "b": backend(&b, Dialect::OpenAi)}),
        "a",
        json!({"auth": auth}),
    ));
    let wrong_admin = format!("{ADMIN}0");
    let bearer_wrong = format!("Bearer {wrong_admin}");
    let bearer_key = format!("Bearer {KEY1}");
    let bearer_admin = format!("Bearer {ADMIN}");
    for act in actions() {
        let mut refusals: Vec<Refusal> = vec![
            ("no token", vec![], 401),
            (
                "a wrong Bearer token",
                vec![("Authorization", bearer_wrong.as_str())],
                403,
            ),
            (
                "a wrong x-admin-token",
                vec![("x-admin-token", wrong_admin.as_str())],
                403,
            ),
            ("a wrong x-api-key", vec![("x-api-key", "nope")], 403),
        ];
        if with_keys {
            refusals.push((
                "a client key",
                vec![("Authorization", bearer_key.as_str())],
                403,
            ));
            refusals.push(("a client key as x-api-key", vec![("x-api-key", KEY1)], 403));
        }
        for (what, headers, status) in refusals {
            let before = observable(&gw, &a, &b);
            let r = post(&gw, act.path, act.body.clone(), &headers);
            let msg = expect_control_error(&gw, &r, status, &format!("{} with {what}", act.name));
            gw_assert!(
                gw,
                !msg.contains(ADMIN),
                "the refusal does not show the token: {msg}"
            );
            gw_assert_eq!(
                gw,
                before,
                observable(&gw, &a, &b),
                "{} with {what} changes nothing",
                act.name
            );
        }
    }
    // Accepted with the token, as Bearer or x-admin-token.
    let ok = |act: &Action, headers: &[(&str, &str)]| {
        let r = post(&gw, act.path, act.body.clone(), headers);
        gw_assert!(
            gw,
            r.status != 401 && r.status != 403,
            "{} with the admin token is let through: {}",
            act.name,
            r.describe()
        );
        r
    };
    let acts = actions();
    let r = ok(&acts[0], &[("Authorization", bearer_admin.as_str())]);
    expect_json(&gw, &r, 200, "switch with the token");
    gw_assert_eq!(
        gw,
        "b",
        get_json(&gw, "/debug/switch", &[("x-admin-token", ADMIN)])["current"],
        "switched"
    );
    let r = ok(&acts[1], &[("x-admin-token", ADMIN)]);
    expect_json(&gw, &r, 200, "config POST with the token");
    gw_assert_eq!(
        gw,
        json!(true),
        get_json(&gw, "/debug/config", &[("x-admin-token", ADMIN)])["config"]["logging"]
            ["includeBody"],
        "config changed"
    );
    let r = ok(&acts[2], &[("x-admin-token", ADMIN)]);
    expect_json(&gw, &r, 200, "config reload with the token");
    ok(&acts[3], &[("Authorization", bearer_admin.as_str())]);
    let r = ok(&acts[4], &[("Authorization", bearer_admin.as_str())]);
    expect_json(&gw, &r, 200, "compare with the token");
    gw_assert_eq!(gw, 1, a.requests().len(), "compare asked a");
    gw_assert_eq!(gw, 1, b.requests().len(), "compare asked b");
    for h in all_header_values(&a) {
        gw_assert!(
            gw,
            !h.contains(ADMIN),
            "compare forwarded the admin token: {h}"
        );
    }

    // Open: health and the root, whatever is presented.
    for headers in [vec![], vec![("Authorization", bearer_wrong.as_str())]] {
        for path in ["/debug/health", "/"] {
            let r = gw.send(Req::get(path).headers(&headers));
            gw_assert_eq!(
                gw,
                200,
                r.status,
                "GET {path} stays open ({headers:?}): {}",
                r.describe()
            );
        }
    }
    // Reads: a client key or the admin token.
    for path in [
        "/debug/logs",
        "/debug/stats",
        "/debug/tokens",
        "/debug/models",
        "/debug/switch",
        "/debug/config",
        "/debug/router",
    ] {
        let r = gw.get(path);
        expect_control_error(&gw, &r, 401, &format!("GET {path} without credentials"));
        let r = gw.send(Req::get(path).header("x-api-key", "nope"));
        let status = if with_keys { 401 } else { 403 };
        expect_control_error(
            &gw,
            &r,
            status,
            &format!("GET {path} with a wrong credential"),
        );
        let r = gw.send(Req::get(path).header("Authorization", &bearer_admin));
        expect_json(&gw, &r, 200, &format!("GET {path} with the admin token"));
        if with_keys {
            let r = gw.send(Req::get(path).header("x-api-key", KEY1));
            expect_json(&gw, &r, 200, &format!("GET {path} with a client key"));
        }
    }
}

#[test]
fn admin_token_guards_every_mutating_action() {
    admin_guard(json!({}));
}

#[test]
fn admin_token_guards_every_mutating_action_alongside_client_keys() {
    admin_guard(json!({"apiKeys": [KEY1]}));
}

/// proxy-cli commands that change the gateway need the admin token; reports do not. A refusal
/// is answered in the chat (the client's dialect, status 200, so the chat window shows it rather
/// than a client treating its own key as invalid), and changes nothing.
#[test]
fn proxy_cli_use_and_smart_need_the_admin_token() {
    let a = mock_ok(Dialect::OpenAi, "a");
    let b = mock_ok(Dialect::OpenAi, "b");
    let gw = Gateway::start(config(
        json!({"a": backend(&a, Dialect::OpenAi), "b": backend(&b, Dialect::OpenAi)}),
        "a",
        json!({"auth": {"adminToken": ADMIN, "apiKeys": [KEY1]}}),
    ));
    let state = || {
        let root = get_json(&gw, "/", &[]);
        (root["defaultBackend"].clone(), root["smartRouting"].clone())
    };
    let wrong = format!("Bearer {ADMIN}x");
    for d in ALL_DIALECTS {
        for stream in [false, true] {
            for cmd in [
                "proxy-cli use b",
                "proxy-cli smart on",
                "proxy-cli smart off",
            ] {
                for (what, headers) in [
                    ("a client key", vec![("x-api-key", KEY1)]),
                    (
                        "a client key and a wrong admin token",
                        vec![("x-api-key", KEY1), ("x-admin-token", "nope")],
                    ),
                ] {
                    let before = state();
                    let (r, text) = chat(&gw, d, cmd, stream, &headers);
                    gw_assert_eq!(
                        gw,
                        200,
                        r.status,
                        "{d:?} stream={stream} `{cmd}` with {what}: {}",
                        r.describe()
                    );
                    gw_assert!(
                        gw,
                        text.contains("admin token") && text.contains("Error"),
                        "{d:?} stream={stream} `{cmd}` with {what} is refused in the chat: {text:?}"
                    );
                    gw_assert_eq!(
                        gw,
                        before,
                        state(),
                        "{d:?} `{cmd}` with {what} changes nothing"
                    );
                }
                let (r, _) = chat(&gw, d, cmd, stream, &[("Authorization", &wrong)]);
                d.expect_error(&gw, &r, 401);
            }
            // Reports need no admin token.
            for cmd in [
                "proxy-cli status",
                "proxy-cli smart",
                "proxy-cli help",
                "proxy-cli logs 3",
                "proxy-cli tokens",
            ] {
                let (r, text) = chat(&gw, d, cmd, stream, &[("x-api-key", KEY1)]);
                gw_assert_eq!(gw, 200, r.status, "{d:?} `{cmd}`: {}", r.describe());
                gw_assert!(
                    gw,
                    !text.contains("admin token"),
                    "{d:?} `{cmd}` is not refused: {text}"
                );
            }
            // With the token (presented as the API key, which it also is), they work.
            let (_, text) = chat(
                &gw,
                d,
                "proxy-cli use b",
                stream,
                &[("Authorization", &format!("Bearer {ADMIN}"))],
            );
            gw_assert_eq!(
                gw,
                json!("b"),
                state().0,
                "{d:?} stream={stream}: use b with the token: {text}"
            );
            let (_, text) = chat(
                &gw,
                d,
                "proxy-cli smart on",
                stream,
                &[("x-api-key", ADMIN)],
            );
            gw_assert_eq!(
                gw,
                json!(true),
                state().1,
                "{d:?} stream={stream}: smart on with the token: {text}"
            );
            let (_, _) = chat(&gw, d, "proxy-cli use a", stream, &[("x-api-key", ADMIN)]);
            let (_, _) = chat(
                &gw,
                d,
                "proxy-cli smart off",
                stream,
                &[("x-api-key", KEY1), ("x-admin-token", ADMIN)],
            );
            gw_assert_eq!(
                gw,
                (json!("a"), json!(false)),
                state(),
                "{d:?}: reset with the token"
            );
        }
    }
    gw_assert_eq!(
        gw,
        0,
        a.requests().len() + b.requests().len(),
        "proxy-cli never reaches a backend"
    );
}

/// The gateway's output once its start-up is fully logged (the warnings come just before the
/// "listening on" line, which may be written after `GET /` already answers).
fn startup_output(gw: &Gateway) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let out = gw.output();
        if out.contains(&format!(
            "llm-gateway {} listening on",
            env!("CARGO_PKG_VERSION")
        )) {
            return out;
        }
        if std::time::Instant::now() >= deadline {
            panic!("no \"listening on\" line\n{}", gw.diag());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Bound to a non-loopback address without keys, the gateway warns at start-up that anyone who
/// reaches the port can use it; with both keys configured it does not.
#[test]
fn a_non_loopback_bind_without_auth_is_warned_about() {
    let a = mock_ok(Dialect::OpenAi, "a");
    let open = GatewayBuilder::new(config(
        json!({"a": backend(&a, Dialect::OpenAi)}),
        "a",
        json!({}),
    ))
    .arg("--bind")
    .arg("0.0.0.0")
    .start();
    let out = startup_output(&open);
    let warnings: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("0.0.0.0"))
        .collect();
    gw_assert!(
        open,
        warnings.iter().any(|l| l.contains("adminToken")),
        "a warning names auth.adminToken: {warnings:?}"
    );
    gw_assert!(
        open,
        warnings.iter().any(|l| l.contains("apiKeys")),
        "a warning names auth.apiKeys: {warnings:?}"
    );
    drop(open);

    let guarded = GatewayBuilder::new(config(
        json!({"a": backend(&a, Dialect::OpenAi)}),
        "a",
        json!({"auth": {"apiKeys": [KEY1], "adminToken": ADMIN}}),
    ))
    .arg("--bind")
    .arg("0.0.0.0")
    .start();
    let out = startup_output(&guarded);
    gw_assert!(
        guarded,
        !out.lines()
            .any(|l| l.contains("WARN") && (l.contains("adminToken") || l.contains("apiKeys"))),
        "no warning with both configured"
    );

    let local = GatewayBuilder::new(config(
        json!({"a": backend(&a, Dialect::OpenAi)}),
        "a",
        json!({}),
    ))
    .start();
    let out = startup_output(&local);
    gw_assert!(
        local,
        !out.lines()
            .any(|l| l.contains("WARN") && (l.contains("adminToken") || l.contains("apiKeys"))),
        "no warning on loopback"
    );
}
