//! `gijiroku serve`: the web app for clerks and caseworkers — upload recordings, follow their
//! transcription, review and correct the transcript beside the audio, draft minutes, search the
//! archive. See `API.md` beside this file for the HTTP contract.
//!
//! Owns: HTTP routing, sessions and CSRF checks, the upload → job → archive flow, streaming
//! audio with ranges, and the embedded pages (`assets/`). Must not: decide who may read what
//! (every read goes through `archive` with the signed-in user's [`Viewer`]), hold a recording in
//! memory, or open a connection to anywhere (it only listens).

mod admin;
mod assets;
mod jobs;
mod meetings;
mod session;
mod worker;

use crate::archive::Archive;
use anyhow::Context;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    /// The archive's data folder.
    pub data: PathBuf,
    pub models_dir: PathBuf,
    /// Largest upload accepted, in bytes.
    pub max_upload: u64,
    /// CPU threads for Whisper in the worker.
    pub threads: Option<usize>,
    /// Key file of the archive (confidential records are encrypted with it); the passphrase
    /// in GIJIROKU_KEY_PASSPHRASE works too.
    pub key_file: Option<PathBuf>,
    /// Certificate chain and private key (PEM) to serve HTTPS; `None` serves plain HTTP.
    pub tls: Option<TlsFiles>,
    /// The council's style file (`[conventions]` set once), applied to every minutes draft
    /// the server makes (after a job, and on download).
    pub minutes_style: Option<crate::minutes::Style>,
}

/// PEM files for `serve --tls-cert/--tls-key`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Progress of a running job, kept in memory (the catalog keeps the state and stage).
#[derive(Debug, Clone, Default)]
pub(crate) struct Live {
    pub stage: String,
    pub percent: f64,
    pub eta_seconds: Option<f64>,
}

pub(crate) struct AppState {
    pub archive: Mutex<Archive>,
    pub options: ServeOptions,
    pub live: Mutex<HashMap<i64, Live>>,
    /// "job N changed" for the progress streams.
    pub changed: broadcast::Sender<i64>,
    /// Wakes the worker when a job is queued.
    pub wake: std::sync::mpsc::SyncSender<()>,
    /// The redaction dictionary, loaded on the first redacted download.
    pub redactor: std::sync::OnceLock<crate::minutes::redact::Redactor>,
}

impl AppState {
    /// Runs `f` with the archive on a blocking thread (SQLite, tantivy and files block).
    pub async fn with_archive<T, F>(self: &Arc<Self>, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Archive) -> Result<T, ApiError> + Send + 'static,
    {
        let st = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut a = st.archive.lock().map_err(|_| {
                ApiError::internal("the archive is unavailable after an earlier failure")
            })?;
            f(&mut a)
        })
        .await
        .map_err(|e| ApiError::internal(&format!("a request failed: {e}")))?
    }
}

/// An error as the API answers it: a status and one sentence.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub extra: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            extra: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
    pub fn internal(message: &str) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
    pub fn no_meeting() -> ApiError {
        ApiError::not_found("no such meeting")
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> ApiError {
        use crate::archive::review::{NoTranscript, SaveError};
        if e.downcast_ref::<crate::archive::NoSuchMeeting>().is_some() {
            return ApiError::no_meeting();
        }
        if let Some(n) = e.downcast_ref::<NoTranscript>() {
            return ApiError::not_found(n.to_string());
        }
        if let Some(s) = e.downcast_ref::<SaveError>() {
            return save_error(s);
        }
        if e.downcast_ref::<crate::archive::access::Forbidden>()
            .is_some()
            || e.downcast_ref::<crate::archive::access::UploadForbidden>()
                .is_some()
        {
            return ApiError::new(StatusCode::FORBIDDEN, e.to_string());
        }
        if e.downcast_ref::<crate::archive::users::NotAdmin>()
            .is_some()
        {
            return ApiError::not_found("no such API");
        }
        tracing::error!("request failed: {e:#}");
        ApiError::internal(&format!("the server could not do this: {e}"))
    }
}

impl From<crate::archive::review::SaveError> for ApiError {
    fn from(e: crate::archive::review::SaveError) -> ApiError {
        match e {
            crate::archive::review::SaveError::Other(e) => e.into(),
            other => save_error(&other),
        }
    }
}

fn save_error(e: &crate::archive::review::SaveError) -> ApiError {
    use crate::archive::review::SaveError;
    match e {
        SaveError::Conflict { latest, .. } => ApiError {
            status: StatusCode::CONFLICT,
            message: e.to_string(),
            extra: Some(serde_json::json!({ "latest_version": latest })),
        },
        SaveError::Invalid(_) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        SaveError::Other(e) => {
            tracing::error!("save failed: {e:#}");
            ApiError::internal(&format!("the server could not save: {e}"))
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.message });
        if let Some(serde_json::Value::Object(extra)) = self.extra {
            for (k, v) in extra {
                body[k] = v;
            }
        }
        (self.status, Json(body)).into_response()
    }
}

/// Starts the server and blocks until Ctrl-C / SIGTERM. Prints `listening on http://ADDR` as
/// the first line on stdout once it accepts connections (tests and scripts read it).
pub fn run(options: ServeOptions) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    rt.block_on(serve(options))
}

async fn serve(options: ServeOptions) -> anyhow::Result<()> {
    let archive = Archive::open_with_key_file(&options.data, options.key_file.as_deref())?;
    let requeued = archive.recover_jobs()?;
    if requeued > 0 {
        tracing::warn!("{requeued} job(s) interrupted by the last stop are queued again");
    }
    // The certificate is read before anything listens: a bad file is a one-line error at start.
    let tls = match &options.tls {
        Some(t) => Some(tls_config(t).await?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .with_context(|| format!("cannot listen on {}", options.addr))?;
    let addr = listener.local_addr()?;
    if tls.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(
            "serving plain HTTP on {addr}: passwords and records cross the network in clear; \
             give --tls-cert and --tls-key, or put an HTTPS reverse proxy in front"
        );
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    let (changed, _) = broadcast::channel(256);
    let (wake, wakes) = std::sync::mpsc::sync_channel(16);
    let state = Arc::new(AppState {
        archive: Mutex::new(archive),
        options,
        live: Mutex::new(HashMap::new()),
        changed,
        wake,
        redactor: std::sync::OnceLock::new(),
    });
    let worker = worker::start(state.clone(), wakes)?;
    let app = router(state.clone());
    {
        use std::io::Write;
        let mut out = std::io::stdout();
        let _ = writeln!(out, "listening on {scheme}://{addr}");
        let _ = out.flush();
    }
    eprintln!(
        "gijiroku: serving the archive in {} at {scheme}://{addr} (Ctrl-C stops)",
        state.options.data.display()
    );
    match tls {
        None => axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("the server stopped with an error")?,
        Some(config) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
            });
            axum_server::from_tcp_rustls(listener.into_std()?, config)
                .context("cannot serve HTTPS")?
                .handle(handle)
                .serve(app.into_make_service())
                .await
                .context("the server stopped with an error")?
        }
    }
    // A job still running is left 'running' in the catalog and queued again at the next start.
    worker.stop();
    Ok(())
}

/// Reads the PEM certificate chain and key (PKCS#8, PKCS#1 or SEC1) for rustls, with ring as
/// the one crypto provider (installed here because no other part of the program sets one).
async fn tls_config(t: &TlsFiles) -> anyhow::Result<axum_server::tls_rustls::RustlsConfig> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    for (what, p) in [("certificate", &t.cert), ("key", &t.key)] {
        std::fs::metadata(p)
            .with_context(|| format!("cannot read the TLS {what} {}", p.display()))?;
    }
    axum_server::tls_rustls::RustlsConfig::from_pem_file(&t.cert, &t.key)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot use {} and {} as the TLS certificate and key: {e}",
                t.cert.display(),
                t.key.display()
            )
        })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

fn router(state: Arc<AppState>) -> axum::Router {
    use axum::routing::{get, post};
    let api = axum::Router::new()
        .route("/login", post(session::login))
        .route("/logout", post(session::logout))
        .route("/me", get(session::me))
        .route("/meetings", get(meetings::list))
        .route(
            "/meetings/{id}",
            get(meetings::detail).delete(meetings::delete),
        )
        .route(
            "/meetings/{id}/transcript",
            get(meetings::transcript).put(meetings::save),
        )
        .route("/meetings/{id}/versions", get(meetings::versions))
        .route("/meetings/{id}/diff", get(meetings::diff))
        .route("/meetings/{id}/audio", get(meetings::audio))
        .route("/meetings/{id}/turns", get(meetings::turns))
        .route("/meetings/{id}/source", get(meetings::source))
        .route("/meetings/{id}/{file}", get(meetings::minutes))
        .route(
            "/meetings/{id}/speakers/{speaker}/enroll",
            post(meetings::enroll),
        )
        .route("/search", get(meetings::search))
        .route(
            "/jobs",
            get(jobs::list)
                .post(jobs::upload)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/jobs/{id}", get(jobs::get))
        .route("/jobs/{id}/events", get(jobs::events))
        .route("/models", get(jobs::models))
        .route("/users", get(admin::users).post(admin::add_user))
        .route("/users/{name}", axum::routing::patch(admin::update_user))
        .route("/audit", get(admin::audit))
        .fallback(|| async { ApiError::not_found("no such API") });
    axum::Router::new()
        .nest("/api", api)
        .merge(assets::routes())
        .with_state(state)
}
