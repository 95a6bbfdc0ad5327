//! Starting `gijiroku serve` on a free port with a temporary archive, and plain HTTP/1.1
//! requests to it over a TCP socket (the tests need to send what no well-behaved client sends:
//! cut-off bodies, lying lengths, foreign origins).
#![allow(dead_code)] // each test file uses its own subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn models_dir() -> PathBuf {
    std::env::var_os("GIJIROKU_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("models"))
}

pub fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// A running server, killed when dropped.
pub struct Server {
    pub child: Child,
    /// `http` or `https` (with --tls-cert).
    pub scheme: String,
    pub addr: SocketAddr,
    pub data: PathBuf,
}

impl Server {
    /// Starts `gijiroku serve` on the data folder and waits for its `listening on` line.
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gijiroku"))
            .arg("--data")
            .arg(data)
            .arg("--models-dir")
            .arg(models_dir())
            .args(["serve", "--addr", "127.0.0.1:0", "-t", "2"])
            .args(extra)
            .env("RUST_LOG", "gijiroku=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start gijiroku serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("no output from gijiroku serve");
        let (scheme, addr) = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|u| u.split_once("://"))
            .unwrap_or_else(|| panic!("unexpected first line from serve: {line:?}"));
        Server {
            scheme: scheme.to_string(),
            addr: addr.parse().unwrap(),
            child,
            data: data.to_path_buf(),
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn client(&self) -> Client {
        Client {
            addr: self.addr,
            cookie: None,
            csrf: None,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A browser-like client: keeps the session cookie and sends the CSRF token on writes.
#[derive(Clone)]
pub struct Client {
    pub addr: SocketAddr,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

impl Client {
    pub fn login(&mut self, user: &str, password: &str) -> Response {
        let body = serde_json::json!({ "user": user, "password": password }).to_string();
        let r = self.send(
            "POST",
            "/api/login",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        if r.status == 200 {
            let c = r.header("set-cookie").expect("no session cookie");
            self.cookie = Some(c.split(';').next().unwrap().to_string());
            self.csrf = r.json()["csrf"].as_str().map(str::to_string);
        }
        r
    }

    pub fn get(&self, path: &str) -> Response {
        self.send("GET", path, &[], b"")
    }

    pub fn json(&self, method: &str, path: &str, body: &serde_json::Value) -> Response {
        self.send(
            method,
            path,
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
    }

    /// Sends a request with the session cookie and (on writes) the CSRF token.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let mut h: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(c) = &self.cookie {
            h.push(("Cookie".into(), c.clone()));
        }
        if method != "GET" {
            if let Some(t) = &self.csrf {
                if !headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("x-csrf-token"))
                {
                    h.push(("X-CSRF-Token".into(), t.clone()));
                }
            }
        }
        raw(self.addr, method, path, &h, body, Some(body.len()))
    }
}

/// One request over a fresh connection; `length` is the Content-Length announced (which may
/// differ from the body actually sent). Reads the whole response.
pub fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
    length: Option<usize>,
) -> Response {
    let mut s = TcpStream::connect(addr).expect("cannot connect to the server");
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(n) = length {
        req.push_str(&format!("Content-Length: {n}\r\n"));
    }
    req.push_str("\r\n");
    let _ = s.write_all(req.as_bytes());
    let _ = s.write_all(body);
    if length.is_some_and(|n| n > body.len()) {
        // A cut-off upload: the client stops sending.
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    read_response(&mut s)
}

pub fn read_response(s: &mut TcpStream) -> Response {
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP response: {:?}", String::from_utf8_lossy(&buf)));
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("no status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = buf[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..nl]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = nl + 2;
        let end = (start + size).min(b.len());
        out.extend_from_slice(&b[start..end]);
        b = &b[(end + 2).min(b.len())..];
    }
    out
}

/// A multipart/form-data body: text fields, then the file.
pub fn multipart(fields: &[(&str, &str)], file_name: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----gijirokutestboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Polls a job until it is done or failed (or the time runs out).
pub fn wait_job(c: &Client, id: i64, limit: Duration) -> serde_json::Value {
    let t0 = Instant::now();
    loop {
        let j = c.get(&format!("/api/jobs/{id}")).json();
        if matches!(j["state"].as_str(), Some("done") | Some("failed")) {
            return j;
        }
        assert!(
            t0.elapsed() < limit,
            "job {id} not finished after {limit:?}: {j}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}
