//! Meetings: list, open, the transcript and its versions (the review editor's load and save),
//! the recording with HTTP ranges, minutes drafted on demand, voiceprints from the editor, and
//! search. Every handler reads through the archive with the signed-in user's viewer.

use super::session::Auth;
use super::{ApiError, AppState};
use crate::archive::access::Action;
use crate::archive::SearchRequest;
use crate::transcript::Transcript;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

type ApiResult<T> = Result<T, ApiError>;

pub(crate) async fn list(State(st): State<Arc<AppState>>, auth: Auth) -> ApiResult<Response> {
    let v = auth.viewer;
    let list = st.with_archive(move |a| Ok(a.listings(&v)?)).await?;
    Ok(Json(list).into_response())
}

pub(crate) async fn detail(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let v = auth.viewer;
    let body = st
        .with_archive(move |a| {
            let d = a.show(&v, id)?;
            let versions = a.versions(&v, id)?;
            let listing = a.listing(&v, id)?;
            let mut out = serde_json::to_value(&listing).map_err(anyhow::Error::from)?;
            out["place"] = serde_json::json!(d.place);
            out["start_time"] = serde_json::json!(d.start_time);
            out["created_at"] = serde_json::json!(d.created_at);
            out["versions"] = serde_json::to_value(&versions).map_err(anyhow::Error::from)?;
            out["speakers"] = serde_json::to_value(&d.speakers).map_err(anyhow::Error::from)?;
            out["may_edit"] = serde_json::json!(v.may(
                Action::Edit,
                &d.summary.classification,
                &d.summary.department
            ));
            Ok(out)
        })
        .await?;
    Ok(Json(body).into_response())
}

pub(crate) async fn delete(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let v = auth.viewer;
    let r = st.with_archive(move |a| Ok(a.remove(&v, id)?)).await?;
    Ok(Json(serde_json::json!({ "id": r.id, "title": r.title })).into_response())
}

#[derive(Deserialize)]
pub(crate) struct VersionQuery {
    version: Option<i64>,
}

pub(crate) async fn transcript(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<VersionQuery>,
) -> ApiResult<Response> {
    let v = auth.viewer;
    let (version, t) = st
        .with_archive(move |a| Ok(a.transcript(&v, id, q.version)?))
        .await?;
    Ok(Json(serde_json::json!({ "version": version, "transcript": t })).into_response())
}

#[derive(Deserialize)]
pub(crate) struct Save {
    base_version: i64,
    transcript: Transcript,
    #[serde(default)]
    note: String,
}

pub(crate) async fn save(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<i64>,
    body: Result<Json<Save>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(s) = body.map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the transcript cannot be saved: {}", e.body_text()),
        )
    })?;
    let v = auth.viewer;
    let note: String = s.note.chars().take(500).collect();
    let version = st
        .with_archive(move |a| Ok(a.save_revision(&v, id, s.base_version, &s.transcript, &note)?))
        .await?;
    Ok(Json(serde_json::json!({ "version": version })).into_response())
}

/// `GET /api/meetings/{id}/turns`: the meeting's speaker turns as the archive keeps them, so a
/// meeting imported from minutes text (no transcript, no recording) can still be read.
pub(crate) async fn turns(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let v = auth.viewer;
    let turns = st.with_archive(move |a| Ok(a.turns(&v, id)?)).await?;
    Ok(Json(serde_json::json!({ "turns": turns })).into_response())
}

/// `GET /api/meetings/{id}/source`: the minutes text a meeting was imported from, as it was
/// imported (a download).
pub(crate) async fn source(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let v = auth.viewer;
    let (name, bytes) = st
        .with_archive(move |a| Ok(a.minutes_source(&v, id)?))
        .await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (header::CONTENT_DISPOSITION, attachment(&name)),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

pub(crate) async fn versions(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let v = auth.viewer;
    let list = st.with_archive(move |a| Ok(a.versions(&v, id)?)).await?;
    Ok(Json(list).into_response())
}

#[derive(Deserialize)]
pub(crate) struct DiffQuery {
    from: i64,
    to: i64,
}

pub(crate) async fn diff(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<i64>,
    q: Result<Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = q.map_err(|_| ApiError::bad_request("give ?from=N&to=M (version numbers)"))?;
    let v = auth.viewer;
    let d = st
        .with_archive(move |a| Ok(a.diff_versions(&v, id, q.from, q.to)?))
        .await?;
    Ok(Json(d).into_response())
}

/// The recording, streamed in 64 KiB pieces from a blocking reader (the stored file may be
/// encrypted: the archive decrypts as it reads), with single HTTP ranges so that the browser
/// can seek.
pub(crate) async fn audio(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let v = auth.viewer;
    let range_header = headers
        .get(header::RANGE)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let from_start = range_header
        .as_deref()
        .is_none_or(|r| r.trim() == "bytes=0-" || r.trim().starts_with("bytes=0-"));
    let (file, name) = st
        .with_archive(move |a| {
            let r = a.recording(&v, id)?;
            let Some((file, name)) = r else {
                return Err(ApiError::not_found(
                    "this meeting has no recording in the archive",
                ));
            };
            // Browsers ask for many ranges while playing: the audit log records each start.
            if from_start {
                a.audit(&v, "play", Some(id), "recording")?;
            }
            Ok((file, name))
        })
        .await?;
    let len = file.len;
    let mime = mime_guess::from_path(&name)
        .first_raw()
        .map(|m| match m {
            "audio/x-wav" | "audio/vnd.wave" => "audio/wav",
            other => other,
        })
        .unwrap_or("application/octet-stream");
    let (status, start, end) = match range_header {
        Some(r) => match http_range_header::parse_range_header(&r).and_then(|p| p.validate(len)) {
            Ok(ranges) if !ranges.is_empty() => {
                let r = &ranges[0];
                (StatusCode::PARTIAL_CONTENT, *r.start(), *r.end())
            }
            _ => {
                return Ok((
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    [(header::CONTENT_RANGE, format!("bytes */{len}"))],
                )
                    .into_response())
            }
        },
        None if len == 0 => (StatusCode::OK, 0, 0),
        None => (StatusCode::OK, 0, len - 1),
    };
    let count = if len == 0 { 0 } else { end - start + 1 };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let mut reader = file.reader;
    tokio::task::spawn_blocking(move || {
        if let Err(e) = reader.seek(SeekFrom::Start(start)) {
            let _ = tx.blocking_send(Err(e));
            return;
        }
        let mut left = count;
        while left > 0 {
            let mut buf = vec![0u8; (64 * 1024).min(left as usize)];
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    left -= n as u64;
                    if tx.blocking_send(Ok(buf)).is_err() {
                        return; // the browser went away
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let mut resp = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, mime)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, count)
        .header(header::CACHE_CONTROL, "private, no-store");
    if status == StatusCode::PARTIAL_CONTENT {
        resp = resp.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"));
    }
    resp.body(Body::from_stream(stream))
        .map_err(|e| ApiError::internal(&e.to_string()))
}

#[derive(Deserialize)]
pub(crate) struct MinutesQuery {
    version: Option<i64>,
    #[serde(default)]
    redact: Option<String>,
}

/// `GET /api/meetings/{id}/minutes.{docx|md|txt|html}`: minutes drafted now from the chosen
/// transcript version and the meeting's metadata.
pub(crate) async fn minutes(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path((id, file)): Path<(i64, String)>,
    Query(q): Query<MinutesQuery>,
) -> ApiResult<Response> {
    use crate::minutes::{self, Format};
    let ext = file
        .strip_prefix("minutes.")
        .ok_or_else(|| ApiError::not_found("no such API"))?
        .to_string();
    let format: Format = ext
        .parse()
        .map_err(|_| ApiError::not_found("minutes come as minutes.docx, .md, .txt or .html"))?;
    let redact = q.redact.as_deref().is_some_and(|r| r == "1" || r == "true");
    let v = auth.viewer;
    let state = st.clone();
    let (bytes, title) = st
        .with_archive(move |a| {
            let s = a.summary(&v, id)?;
            if !v.may(Action::Export, &s.classification, &s.department) {
                return Err(ApiError::no_meeting());
            }
            let (version, t) = a.transcript(&v, id, q.version)?;
            let meta_text = a.meeting_meta_toml(&v, id)?;
            let mut meta: minutes::MeetingMeta = toml::from_str(&meta_text).map_err(|e| {
                ApiError::internal(&format!("the meeting's metadata cannot be read: {e}"))
            })?;
            if let Some(style) = &state.options.minutes_style {
                meta.apply_style(style).map_err(|e| {
                    ApiError::internal(&format!("the style file does not apply: {e:#}"))
                })?;
            }
            let m = minutes::draft(
                &t,
                &meta,
                &minutes::MinutesOptions::default().with_dictionary(&state.options.data),
            )
            .map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("cannot draft minutes: {e}"),
                )
            })?;
            let m = if redact {
                let r = match state.redactor.get() {
                    Some(r) => r,
                    None => {
                        let r = crate::minutes::redact::Redactor::load(&state.options.data)?;
                        state.redactor.get_or_init(|| r)
                    }
                };
                let keep = crate::minutes::redact::KeepList::from_meta(&meta, &t);
                r.redact(&m, &keep).0
            } else {
                m
            };
            let bytes = minutes::render(&m, format)?;
            a.audit(
                &v,
                "export",
                Some(id),
                &format!(
                    "minutes.{ext} v{version}{}",
                    if redact { " redacted" } else { "" }
                ),
            )?;
            Ok((bytes, s.title))
        })
        .await?;
    let name = format!("{title}.{}", format.extension());
    let mime = match format {
        Format::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Format::Markdown => "text/markdown; charset=utf-8",
        Format::Text => "text/plain; charset=utf-8",
        Format::Html => "text/html; charset=utf-8",
        Format::Json => "application/json",
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::CONTENT_DISPOSITION, attachment(&name)),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// `Content-Disposition` with the UTF-8 name (RFC 6266/5987) and an ASCII fallback.
fn attachment(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut enc = String::new();
    for b in name.as_bytes() {
        if b.is_ascii_alphanumeric() || b".-_~".contains(b) {
            enc.push(*b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{enc}")
}

#[derive(Deserialize)]
pub(crate) struct Enroll {
    name: String,
    #[serde(default)]
    role: Option<String>,
}

/// Most speech taken from a recording for one voiceprint.
const ENROLL_MAX_SECONDS: f64 = 90.0;

/// Enrolls a speaker's voiceprint from their segments in the meeting's recording.
pub(crate) async fn enroll(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path((id, speaker)): Path<(i64, String)>,
    body: Result<Json<Enroll>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(e) = body.map_err(|_| ApiError::bad_request("send {\"name\", \"role\"} as JSON"))?;
    let name = e.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::bad_request(
            "give the speaker's name (at most 100 characters)",
        ));
    }
    let v = auth.viewer;
    let models = st.options.models_dir.clone();
    let data = st.options.data.clone();
    // Open the recording (it may be encrypted) while holding the archive, decode after.
    let audit_name = name.clone();
    let (file, file_name, spans) = st
        .with_archive(move |a| {
            let s = a.summary(&v, id)?;
            if !v.may(Action::Edit, &s.classification, &s.department) {
                return Err(ApiError::no_meeting());
            }
            let (_, t) = a.transcript(&v, id, None)?;
            if t.speaker(&speaker).is_none() {
                return Err(ApiError::not_found(format!(
                    "there is no speaker {speaker} in this transcript"
                )));
            }
            let spans = solo_spans(&t, &speaker);
            let total: f64 = spans.iter().map(|s| s.1 - s.0).sum::<f64>().max(0.0);
            if total < 1.0 {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!(
                        "{speaker} speaks alone for {total:.1} s: a voiceprint needs at least 1 s"
                    ),
                ));
            }
            let Some((file, file_name)) = a.recording(&v, id)? else {
                return Err(ApiError::not_found(
                    "this meeting has no recording in the archive",
                ));
            };
            a.audit(
                &v,
                "enroll",
                Some(id),
                &format!("{speaker} as {audit_name}"),
            )?;
            Ok((file, file_name, spans))
        })
        .await?;
    let role = e.role.filter(|r| !r.trim().is_empty());
    let vp_name = name.clone();
    let seconds = tokio::task::spawn_blocking(move || -> anyhow::Result<f64> {
        let clips = cut_spans(file, &file_name, &spans, id)?;
        let encoder = crate::diarize::SpeakerEncoder::from_models_dir(&models)?;
        let vp = crate::diarize::voiceprint::enroll(&encoder, &vp_name, role.as_deref(), &clips)?;
        let secs = vp.seconds;
        let mut store = crate::diarize::voiceprint::VoiceprintStore::open(&data)?;
        store.upsert(vp);
        store.save()?;
        Ok(secs)
    })
    .await
    .map_err(|e| ApiError::internal(&e.to_string()))?
    .map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("cannot enroll: {e:#}"),
        )
    })?;
    Ok(Json(serde_json::json!({ "name": name, "seconds": seconds })).into_response())
}

/// The speaker's segments where nobody else's turn overlaps, longest first, up to
/// [`ENROLL_MAX_SECONDS`].
fn solo_spans(t: &Transcript, speaker: &str) -> Vec<(f64, f64)> {
    let mut spans: Vec<(f64, f64)> = t
        .segments
        .iter()
        .filter(|s| s.speaker.as_deref() == Some(speaker))
        .filter(|s| {
            !t.turns
                .iter()
                .any(|o| o.speaker != speaker && o.start < s.end && o.end > s.start)
        })
        .map(|s| (s.start, s.end))
        .collect();
    spans.sort_by(|a, b| (b.1 - b.0).total_cmp(&(a.1 - a.0)));
    let mut total = 0.0;
    spans.retain(|s| {
        let keep = total < ENROLL_MAX_SECONDS;
        total += s.1 - s.0;
        keep
    });
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    spans
}

/// Decodes the recording as a stream and keeps only the samples inside `spans` (sorted).
/// The recording is read from the archive as it streams (decrypted chunk by chunk when it is
/// encrypted): no plain copy of it is written anywhere.
fn cut_spans(
    file: crate::archive::files::StoredFile,
    file_name: &str,
    spans: &[(f64, f64)],
    meeting: i64,
) -> anyhow::Result<Vec<(String, Vec<f32>)>> {
    let ext = std::path::Path::new(file_name)
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    let mut dec =
        crate::audio::Decoder16k::open_reader(file_name, ext.as_deref(), file.reader, file.len)?;
    let sr = crate::audio::SAMPLE_RATE as f64;
    let mut clips: Vec<(String, Vec<f32>)> = spans
        .iter()
        // Named after the meeting so that purging the meeting purges the voiceprint too.
        .map(|s| {
            let span = format!("{:.1}-{:.1}s", s.0, s.1);
            (
                crate::archive::retention::voiceprint_source(meeting, &span),
                Vec::new(),
            )
        })
        .collect();
    let mut pos = 0usize;
    let last_end = spans.last().map(|s| s.1).unwrap_or(0.0);
    while let Some(block) = dec.next_block()? {
        let block_start = pos as f64 / sr;
        let block_end = (pos + block.len()) as f64 / sr;
        for (i, s) in spans.iter().enumerate() {
            if s.1 <= block_start || s.0 >= block_end {
                continue;
            }
            let a = ((s.0 * sr) as usize).saturating_sub(pos).min(block.len());
            let b = ((s.1 * sr) as usize).saturating_sub(pos).min(block.len());
            clips[i].1.extend_from_slice(&block[a..b]);
        }
        pos += block.len();
        if block_end > last_end {
            break;
        }
    }
    clips.retain(|c| !c.1.is_empty());
    Ok(clips)
}

#[derive(Deserialize)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    q: String,
    speaker: Option<String>,
    role: Option<String>,
    from: Option<String>,
    to: Option<String>,
    kind: Option<String>,
    body: Option<String>,
    answers_to: Option<String>,
    limit: Option<usize>,
}

pub(crate) async fn search(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Response> {
    use crate::archive::meta::parse_date;
    let empty = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
    let keep = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    if q.q.trim().is_empty()
        && empty(&q.speaker)
        && empty(&q.role)
        && empty(&q.from)
        && empty(&q.to)
        && empty(&q.kind)
        && empty(&q.body)
        && empty(&q.answers_to)
    {
        return Err(ApiError::bad_request(
            "give words to search for, or a filter",
        ));
    }
    let date = |s: Option<String>| -> ApiResult<_> {
        keep(s)
            .map(|d| parse_date(&d))
            .transpose()
            .map_err(|e| ApiError::bad_request(e.to_string()))
    };
    let kind = keep(q.kind);
    if let Some(k) = &kind {
        crate::archive::MeetingKind::parse(k).map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    let req = SearchRequest {
        query: q.q,
        filters: crate::search::Filters {
            speaker: keep(q.speaker),
            role: keep(q.role),
            from: date(q.from)?,
            to: date(q.to)?,
            kind,
            body: keep(q.body),
            ..Default::default()
        },
        answers_to: keep(q.answers_to),
        limit: q.limit.unwrap_or(20).clamp(1, 200),
    };
    let v = auth.viewer;
    let result = st
        .with_archive(move |a| {
            a.search(&v, &req)
                .map_err(|e| ApiError::bad_request(format!("{e:#}")))
        })
        .await?;
    let hits: Vec<serde_json::Value> = result
        .hits
        .iter()
        .map(|h| {
            let t = &h.turn;
            serde_json::json!({
                "meeting_id": t.meeting_id, "title": t.title, "date": t.date, "kind": t.kind,
                "body": t.body, "seq": t.seq, "speaker": t.speaker, "role": t.role,
                "start": t.start, "snippet": marked_html(h),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "total": result.total, "total_at_least": result.at_least, "hits": hits })).into_response())
}

/// The hit's fragment HTML-escaped, with `<mark>` around the matched words.
fn marked_html(h: &crate::search::Hit) -> String {
    const OPEN: &str = "\u{E000}";
    const CLOSE: &str = "\u{E001}";
    let s = h.marked(OPEN, CLOSE);
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\u{E000}' => out.push_str("<mark>"),
            '\u{E001}' => out.push_str("</mark>"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::attachment;

    #[test]
    fn attachment_names_survive_any_title() {
        let h = attachment("令和6年 \"定例会\".docx");
        assert!(h.starts_with("attachment; filename=\""));
        assert!(h.contains("filename*=UTF-8''%E4%BB%A4"));
        assert!(!h[22..].contains('"') || h.matches('"').count() == 2);
    }
}
