//! `serve --tls-cert/--tls-key`: the web app over HTTPS, with a certificate made here, the
//! session cookie marked Secure, plain HTTP refused on that port, and bad certificate files
//! refused at start with one line.
mod server_common;

use gijiroku::archive::users::Role;
use gijiroku::archive::{Archive, Viewer};
use server_common::{models_dir, Server};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const PASSWORD: &str = "correct horse battery";

/// One HTTP/1.1 request on `stream` (closed after the answer); the raw answer.
fn exchange(mut stream: impl Read + Write, req: &str) -> std::io::Result<String> {
    stream.write_all(req.as_bytes())?;
    stream.flush()?;
    let mut buf = Vec::new();
    match stream.read_to_end(&mut buf) {
        Ok(_) => {}
        // rustls reports a peer that closes without close_notify; the answer is complete.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !buf.is_empty() => {}
        Err(e) => return Err(e),
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn login_request(extra_headers: &str) -> String {
    let body = serde_json::json!({ "user": "clerk", "password": PASSWORD }).to_string();
    format!(
        "POST /api/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n{body}",
        body.len()
    )
}

fn set_cookie(answer: &str) -> String {
    answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no Set-Cookie in {answer:?}"))
        .to_string()
}

fn tls_stream(
    addr: SocketAddr,
    roots: &rustls::RootCertStore,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots.clone())
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

#[test]
fn https_with_a_secure_cookie_and_clear_errors_for_bad_certificates() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut a = Archive::open(&data).unwrap();
    a.add_user(&Viewer::local(), "admin", PASSWORD, Role::Admin, None)
        .unwrap();
    a.add_user(&Viewer::local(), "clerk", PASSWORD, Role::Clerk, None)
        .unwrap();
    drop(a);
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();

    // HTTPS: sign in, the cookie is Secure, and it opens the session.
    let s = Server::start(
        &data,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert_eq!(s.scheme, "https");
    let addr = s.addr;
    let answer = exchange(tls_stream(addr, &roots), &login_request("")).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let cookie_line = set_cookie(&answer);
    for attr in ["; Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie_line.contains(attr), "{attr} missing: {cookie_line}");
    }
    let cookie = cookie_line
        .split_once(':')
        .unwrap()
        .1
        .split(';')
        .next()
        .unwrap()
        .trim()
        .to_string();
    let me = exchange(
        tls_stream(addr, &roots),
        &format!(
            "GET /api/me HTTP/1.1\r\nHost: localhost\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    )
    .unwrap();
    assert!(me.starts_with("HTTP/1.1 200"), "{me}");
    assert!(me.contains("\"clerk\""), "{me}");

    // The same port does not speak plain HTTP: no answer carries the password's session.
    let plain = TcpStream::connect(addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let answer = exchange(plain, &login_request("")).unwrap_or_default();
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(!answer.contains("Set-Cookie"), "{answer}");
    // A client that does not trust the certificate is refused by its own TLS check.
    let stranger = exchange(
        tls_stream(addr, &rustls::RootCertStore::empty()),
        &login_request(""),
    );
    assert!(stranger.is_err(), "an untrusted certificate was accepted");
    drop(s);

    // Plain HTTP (loopback): no Secure, unless a proxy says the browser used HTTPS.
    let s = Server::start(&data, &[]);
    assert_eq!(s.scheme, "http");
    let addr = s.addr;
    let answer = exchange(TcpStream::connect(addr).unwrap(), &login_request("")).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(!set_cookie(&answer).contains("Secure"), "{answer}");
    let answer = exchange(
        TcpStream::connect(addr).unwrap(),
        &login_request("X-Forwarded-Proto: https\r\n"),
    )
    .unwrap();
    assert!(set_cookie(&answer).contains("; Secure"), "{answer}");
    drop(s);

    // Bad files: one line on stderr, non-zero exit, before anything listens.
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let missing = dir.path().join("missing.pem");
    let cases: [(&Path, &Path, &str); 3] = [
        (&missing, &key, "missing.pem"),
        (&garbage, &key, "garbage.pem"),
        (&cert, &garbage, "garbage.pem"),
    ];
    for (c, k, named) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_gijiroku"))
            .arg("--data")
            .arg(&data)
            .arg("--models-dir")
            .arg(models_dir())
            .args(["serve", "--addr", "127.0.0.1:0", "--tls-cert"])
            .arg(c)
            .arg("--tls-key")
            .arg(k)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(named) && err.contains("TLS"), "{err}");
        assert!(out.stdout.is_empty(), "it listened: {err}");
    }
    // One of the pair alone is an argument error.
    let out = Command::new(env!("CARGO_BIN_EXE_gijiroku"))
        .arg("--data")
        .arg(&data)
        .args(["serve", "--tls-cert"])
        .arg(&cert)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
