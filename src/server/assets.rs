//! The pages and their scripts, embedded in the binary at build time (nothing is fetched from
//! anywhere: the network may be unplugged). Pages are static shells; their data comes from the
//! JSON API with the user's session.

use super::AppState;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;

#[derive(rust_embed::RustEmbed)]
#[folder = "src/server/assets/"]
struct Assets;

/// Headers every page carries: no framing by other sites, no inline scripts from elsewhere,
/// nothing loaded from outside this server.
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn serve(name: &str) -> Response {
    match Assets::get(name) {
        Some(f) => {
            let mime = mime_guess::from_path(name).first_or_octet_stream();
            let mime = if mime.type_() == "text" || name.ends_with(".js") {
                format!("{}; charset=utf-8", mime.essence_str())
            } else {
                mime.essence_str().to_string()
            };
            (
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CACHE_CONTROL, "no-cache".to_string()),
                    (header::CONTENT_SECURITY_POLICY, CSP.to_string()),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                    (header::REFERRER_POLICY, "no-referrer".to_string()),
                ],
                f.data.into_owned(),
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

pub(crate) fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/", get(|| async { serve("index.html") }))
        .route("/login", get(|| async { serve("login.html") }))
        .route("/search", get(|| async { serve("search.html") }))
        .route("/admin", get(|| async { serve("admin.html") }))
        .route(
            "/meetings/{id}",
            get(|_: Path<String>| async { serve("editor.html") }),
        )
        .route(
            "/assets/{*file}",
            get(|Path(file): Path<String>| async move {
                if file.contains("..") || file.ends_with(".html") {
                    return (StatusCode::NOT_FOUND, "not found").into_response();
                }
                serve(&file)
            }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found").into_response() })
}
