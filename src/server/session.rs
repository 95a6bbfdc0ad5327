//! Signing in and out, the session cookie, and the checks every state-changing request passes:
//! a valid session, the session's CSRF token in `X-CSRF-Token`, and no cross-site origin.
//! Accounts, passwords and sessions themselves live in the catalog (`archive::users`).

use super::{ApiError, AppState};
use crate::archive::users::{AuthError, User};
use crate::archive::Viewer;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;

pub(crate) const COOKIE: &str = "gijiroku_session";
/// Matches the catalog's sliding session lifetime (8 h).
const COOKIE_MAX_AGE: u64 = 8 * 3600;

/// The signed-in user of a request.
pub(crate) struct Auth {
    pub user: User,
    pub viewer: Viewer,
    pub csrf: String,
}

fn unauthorized() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "sign in")
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// Refuses requests a page of another site made the browser send (the cookie is SameSite=Strict
/// already; this also covers browsers that ignore it).
fn refuse_cross_site(headers: &HeaderMap) -> Result<(), ApiError> {
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if site == "cross-site" {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "requests from other sites are refused",
        ));
    }
    if let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
        if origin != "null" && origin_host != host {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "requests from other sites are refused",
            ));
        }
    }
    Ok(())
}

impl FromRequestParts<Arc<AppState>> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let token = session_cookie(&parts.headers).ok_or_else(unauthorized)?;
        let found = state.with_archive(move |a| Ok(a.session(&token)?)).await?;
        let (user, session) = found.ok_or_else(unauthorized)?;
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            refuse_cross_site(&parts.headers)?;
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !constant_time_eq(sent.as_bytes(), session.csrf.as_bytes()) {
                return Err(ApiError::new(StatusCode::FORBIDDEN, "stale page: reload"));
            }
        }
        Ok(Auth {
            viewer: Viewer::for_user(&user),
            user,
            csrf: session.csrf,
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn user_json(u: &User) -> serde_json::Value {
    serde_json::json!({ "name": u.name, "role": u.role, "department": u.department })
}

#[derive(Deserialize)]
pub(crate) struct Login {
    user: String,
    password: String,
}

pub(crate) async fn login(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    refuse_cross_site(&headers)?;
    let Json(l) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "send {{\"user\", \"password\"}} as JSON ({})",
            e.body_text()
        ))
    })?;
    if l.user.len() > 200 || l.password.len() > 1000 {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong user name or password",
        ));
    }
    let (user, session) = st
        .with_archive(move |a| match a.authenticate(&l.user, &l.password) {
            Ok(u) => {
                let s = a.create_session(&u)?;
                a.audit(&Viewer::for_user(&u), "login", None, "web")?;
                Ok((u, s))
            }
            Err(AuthError::Wrong) => {
                // authenticate() has logged the failure.
                Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "wrong user name or password",
                ))
            }
            Err(e @ AuthError::TooMany(_)) => {
                Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, e.to_string()))
            }
            Err(AuthError::Other(e)) => Err(e.into()),
        })
        .await?;
    let cookie = format!(
        "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={COOKIE_MAX_AGE}{}",
        session.token,
        secure_attr(&st, &headers)
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(serde_json::json!({ "user": user_json(&user), "csrf": session.csrf })),
    )
        .into_response())
}

pub(crate) async fn logout(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = session_cookie(&headers) {
        st.with_archive(move |a| {
            a.end_session(&token)?;
            a.audit(&auth.viewer, "logout", None, "web")?;
            Ok(())
        })
        .await?;
    }
    let clear = format!(
        "{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        secure_attr(&st, &headers)
    );
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// `; Secure` when the browser reached us over HTTPS (ours, or a proxy's that says so): the
/// session cookie is then never sent over plain HTTP. Trusting the proxy's header can only make
/// the cookie stricter, never weaker.
fn secure_attr(st: &AppState, headers: &HeaderMap) -> &'static str {
    let proxied = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    if st.options.tls.is_some() || proxied {
        "; Secure"
    } else {
        ""
    }
}

pub(crate) async fn me(auth: Auth) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "user": user_json(&auth.user), "csrf": auth.csrf }))
}
