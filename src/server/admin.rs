//! Administration over HTTP: user accounts and the audit log (administrators only; for anyone
//! else these answer 404, as if they did not exist).

use super::session::Auth;
use super::{ApiError, AppState};
use crate::archive::audit::AuditQuery;
use crate::archive::users::{Role, UserChange};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;

type ApiResult<T> = Result<T, ApiError>;

fn admin_only(auth: &Auth) -> ApiResult<()> {
    if auth.viewer.is_admin() {
        Ok(())
    } else {
        Err(ApiError::not_found("no such API"))
    }
}

pub(crate) async fn users(State(st): State<Arc<AppState>>, auth: Auth) -> ApiResult<Response> {
    admin_only(&auth)?;
    let v = auth.viewer;
    let list = st.with_archive(move |a| Ok(a.users(&v)?)).await?;
    Ok(Json(list).into_response())
}

#[derive(Deserialize)]
pub(crate) struct NewUser {
    name: String,
    password: String,
    role: String,
    #[serde(default)]
    department: Option<String>,
}

pub(crate) async fn add_user(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    body: Result<Json<NewUser>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    admin_only(&auth)?;
    let Json(u) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let role = Role::parse(&u.role).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let v = auth.viewer;
    let user = st
        .with_archive(move |a| {
            let dept = u
                .department
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty());
            a.add_user(&v, &u.name, &u.password, role, dept)
                .map_err(|e| ApiError::bad_request(format!("{e:#}")))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct Patch {
    password: Option<String>,
    disabled: Option<bool>,
    role: Option<String>,
    #[serde(default, with = "double_option")]
    department: Option<Option<String>>,
}

/// Tells `"department": null` (clear it) from a missing field (leave it).
mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

pub(crate) async fn update_user(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(name): Path<String>,
    body: Result<Json<Patch>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    admin_only(&auth)?;
    let Json(p) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let change = UserChange {
        password: p.password,
        role: p
            .role
            .as_deref()
            .map(Role::parse)
            .transpose()
            .map_err(|e| ApiError::bad_request(e.to_string()))?,
        department: p.department,
        disabled: p.disabled,
    };
    let v = auth.viewer;
    let user = st
        .with_archive(move |a| {
            if a.user(&name)?.is_none() {
                return Err(ApiError::not_found("no such user"));
            }
            a.update_user(&v, &name, &change)
                .map_err(|e| ApiError::bad_request(format!("{e:#}")))
        })
        .await?;
    Ok(Json(user).into_response())
}

#[derive(Deserialize)]
pub(crate) struct AuditFilter {
    user: Option<String>,
    meeting: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
}

pub(crate) async fn audit(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Query(f): Query<AuditFilter>,
) -> ApiResult<Response> {
    admin_only(&auth)?;
    let keep = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let date = |s: Option<String>| {
        keep(s)
            .map(|d| crate::archive::meta::parse_date(&d))
            .transpose()
            .map_err(|e| ApiError::bad_request(e.to_string()))
    };
    let q = AuditQuery {
        user: keep(f.user),
        meeting: keep(f.meeting)
            .map(|m| m.parse::<i64>())
            .transpose()
            .map_err(|_| ApiError::bad_request("meeting must be a number"))?,
        action: keep(f.action),
        from: date(f.from)?,
        to: date(f.to)?,
        limit: Some(f.limit.unwrap_or(500).clamp(1, 10_000)),
    };
    let v = auth.viewer;
    let list = st
        .with_archive(move |a| Ok(a.audit_entries(&v, &q)?))
        .await?;
    Ok(Json(list).into_response())
}
