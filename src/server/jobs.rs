//! Uploads and their jobs: the recording is streamed to disk as it arrives (never held in
//! memory), checked to be audio the decoder reads, and queued; progress goes to the browser as
//! Server-Sent Events.

use super::session::Auth;
use super::{ApiError, AppState, Live};
use crate::archive::jobs::{Job, JobOptions, JobSpec};
use crate::archive::{Classification, MeetingKind};
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

type ApiResult<T> = Result<T, ApiError>;

/// A job with its live progress, as the API shows it.
pub(crate) fn job_json(job: &Job, live: Option<&Live>) -> serde_json::Value {
    let mut v = serde_json::to_value(job).unwrap_or_default();
    let (stage, percent, eta) = match (job.state.as_str(), live) {
        ("running", Some(l)) => (l.stage.clone(), l.percent, l.eta_seconds),
        ("done", _) => ("done".to_string(), 100.0, Some(0.0)),
        _ => (job.stage.clone(), 0.0, None),
    };
    v["stage"] = serde_json::json!(stage);
    v["percent"] = serde_json::json!((percent * 10.0).round() / 10.0);
    v["eta_seconds"] = serde_json::json!(eta.map(|e| e.round()));
    v
}

fn live_of(st: &AppState, id: i64) -> Option<Live> {
    st.live.lock().ok().and_then(|m| m.get(&id).cloned())
}

pub(crate) async fn list(State(st): State<Arc<AppState>>, auth: Auth) -> ApiResult<Response> {
    let v = auth.viewer;
    let jobs = st.with_archive(move |a| Ok(a.jobs(&v, 200)?)).await?;
    let out: Vec<_> = jobs
        .iter()
        .map(|j| job_json(j, live_of(&st, j.id).as_ref()))
        .collect();
    Ok(Json(out).into_response())
}

pub(crate) async fn get(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let v = auth.viewer;
    let job = st
        .with_archive(move |a| {
            a.job_for(&v, id)?
                .ok_or_else(|| ApiError::not_found("no such job"))
        })
        .await?;
    Ok(Json(job_json(&job, live_of(&st, id).as_ref())).into_response())
}

/// Progress as Server-Sent Events: the job now, then each change (at most every 0.5 s) and a
/// keep-alive every 15 s; the stream ends once the job is done or failed.
pub(crate) async fn events(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let v = auth.viewer;
    // Subscribe before reading, so no change between the two is missed.
    let rx = st.changed.subscribe();
    let job = st
        .with_archive({
            let v = v.clone();
            move |a| {
                a.job_for(&v, id)?
                    .ok_or_else(|| ApiError::not_found("no such job"))
            }
        })
        .await?;
    struct S {
        st: Arc<AppState>,
        rx: tokio::sync::broadcast::Receiver<i64>,
        first: Option<Job>,
        finished: bool,
    }
    let s = S {
        st,
        rx,
        first: Some(job),
        finished: false,
    };
    let stream = futures_util::stream::unfold(s, move |mut s| {
        let v = v.clone();
        async move {
            if s.finished {
                return None;
            }
            let job = match s.first.take() {
                Some(j) => j,
                None => {
                    // Wait for a change of this job (or 15 s), then read it again.
                    let wait = async {
                        loop {
                            match s.rx.recv().await {
                                Ok(changed) if changed == id => break,
                                Ok(_) => continue,
                                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                                Err(_) => {
                                    std::future::pending::<()>().await;
                                }
                            }
                        }
                    };
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(15), wait).await;
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    let v = v.clone();
                    match s.st.with_archive(move |a| Ok(a.job_for(&v, id)?)).await {
                        Ok(Some(j)) => j,
                        _ => return None,
                    }
                }
            };
            s.finished = matches!(job.state.as_str(), "done" | "failed");
            let data = job_json(&job, live_of(&s.st, id).as_ref()).to_string();
            Some((
                Ok::<_, std::convert::Infallible>(Event::default().data(data)),
                s,
            ))
        }
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response())
}

pub(crate) async fn models(State(st): State<Arc<AppState>>, _auth: Auth) -> ApiResult<Response> {
    let dir = st.options.models_dir.clone();
    let list = tokio::task::spawn_blocking(move || crate::models::list(&dir))
        .await
        .map_err(|e| ApiError::internal(&e.to_string()))??;
    let out: Vec<_> = list
        .iter()
        .filter(|m| m.kind == crate::models::ModelType::Whisper)
        .map(|m| serde_json::json!({ "name": m.name, "multilingual": m.languages == "multilingual" }))
        .collect();
    Ok(Json(out).into_response())
}

/// Longest text field accepted in the upload form.
const MAX_FIELD: usize = 2000;

/// `POST /api/jobs`: multipart form, text fields then `file`.
pub(crate) async fn upload(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Response> {
    let max = st.options.max_upload;
    // Refuse at once what announces itself too big (the form fields add a little).
    if let Some(n) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if n > max + 64 * 1024 {
            return Err(too_big(max));
        }
    }
    let mut mp = multipart.map_err(|e| {
        ApiError::bad_request(format!(
            "send the recording as multipart/form-data ({})",
            e.body_text()
        ))
    })?;
    let (uploads, key) = st
        .with_archive(|a| Ok((a.uploads_dir()?, a.upload_key())))
        .await?;
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut received: Option<(tempfile::TempPath, String, u64)> = None;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(ApiError::bad_request(format!(
                    "the upload was cut off or malformed: {}",
                    e.body_text()
                )))
            }
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            if received.is_some() {
                return Err(ApiError::bad_request("send one recording per upload"));
            }
            let file_name = field.file_name().unwrap_or("recording").to_string();
            let tmp = tempfile::Builder::new()
                .prefix(".incoming-")
                .tempfile_in(&uploads)
                .map_err(|e| ApiError::internal(&format!("cannot store the upload: {e}")))?
                .into_temp_path();
            let mut out = tokio::fs::File::create(&tmp)
                .await
                .map_err(|e| ApiError::internal(&format!("cannot store the upload: {e}")))?;
            let mut size = 0u64;
            let mut field = field;
            // With an archive key the upload is sealed as it arrives: a consultation's
            // recording never lies on disk in the clear while it waits for its job.
            let mut sealer = key.as_deref().map(crate::crypt::Sealer::new);
            let store_err = |e: &dyn std::fmt::Display| {
                ApiError::internal(&format!("cannot store the upload: {e}"))
            };
            loop {
                match field.chunk().await {
                    Ok(Some(bytes)) => {
                        size += bytes.len() as u64;
                        if size > max {
                            return Err(too_big(max)); // `tmp` is deleted on drop
                        }
                        let sealed;
                        let data: &[u8] = match &mut sealer {
                            Some(s) => {
                                sealed = s.push(&bytes).map_err(|e| store_err(&e))?;
                                &sealed
                            }
                            None => &bytes,
                        };
                        out.write_all(data).await.map_err(|e| store_err(&e))?;
                    }
                    Ok(None) => {
                        if let Some(s) = sealer.take() {
                            let tail = s.finish().map_err(|e| store_err(&e))?;
                            out.write_all(&tail).await.map_err(|e| store_err(&e))?;
                        }
                        break;
                    }
                    Err(e) => {
                        return Err(ApiError::bad_request(format!(
                            "the upload was cut off after {size} bytes: {}",
                            e.body_text()
                        )))
                    }
                }
            }
            out.sync_all()
                .await
                .map_err(|e| ApiError::internal(&format!("cannot store the upload: {e}")))?;
            received = Some((tmp, file_name, size));
        } else {
            let text = field.text().await.map_err(|e| {
                ApiError::bad_request(format!("the upload was cut off: {}", e.body_text()))
            })?;
            if text.chars().count() > MAX_FIELD {
                return Err(ApiError::bad_request(format!(
                    "the field {name} is too long"
                )));
            }
            fields.insert(name, text.trim().to_string());
        }
    }
    let Some((tmp, file_name, size)) = received else {
        return Err(ApiError::bad_request(
            "no recording in the upload (field \"file\")",
        ));
    };
    if size == 0 {
        return Err(ApiError::bad_request("the recording is empty (0 bytes)"));
    }
    let spec = job_spec(&fields, &file_name, &auth)?;
    let models = st.options.models_dir.clone();
    let model = spec.options.model.clone();
    let path = tmp.to_path_buf();
    // The decoder must open the file and find some audio before the job is queued.
    tokio::task::spawn_blocking(move || -> ApiResult<()> {
        crate::models::resolve_whisper(&models, model.as_deref())
            .map_err(|e| ApiError::bad_request(format!("{e:#}")))?;
        let mut dec =
            crate::audio::Decoder16k::open_sealed(&path, key.as_deref()).map_err(|e| {
                ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!("this is not an audio or video file the server can read: {e:#}"),
                )
            })?;
        match dec.next_block() {
            Ok(Some(b)) if !b.is_empty() => Ok(()),
            Ok(_) => Err(ApiError::bad_request("the recording holds no sound")),
            Err(e) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("the recording cannot be decoded: {e:#}"),
            )),
        }
    })
    .await
    .map_err(|e| ApiError::internal(&e.to_string()))??;
    let v = auth.viewer;
    let job = st
        .with_archive(move |a| {
            let job = a.queue_job(&v, &tmp, &spec)?;
            // The file now belongs to the job folder: nothing left to delete.
            let _ = tmp.keep();
            a.audit(&v, "upload", None, &format!("job {}", job.id))?;
            Ok(job)
        })
        .await?;
    let _ = st.wake.try_send(());
    let _ = st.changed.send(job.id);
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "job": job_json(&job, None) })),
    )
        .into_response())
}

fn too_big(max: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the recording is larger than this server accepts ({:.1} GB)",
            max as f64 / 1e9
        ),
    )
}

/// Reads and checks the upload form into a job: meeting metadata as TOML that both the archive
/// and the minutes read, and the transcription options.
fn job_spec(f: &HashMap<String, String>, file_name: &str, auth: &Auth) -> ApiResult<JobSpec> {
    let get = |k: &str| f.get(k).map(String::as_str).filter(|s| !s.is_empty());
    let bad = |e: anyhow::Error| ApiError::bad_request(format!("{e:#}"));
    let kind = MeetingKind::parse(get("kind").unwrap_or("meeting")).map_err(bad)?;
    let classification = match get("classification") {
        Some(c) => Classification::parse(c).map_err(bad)?,
        None => kind.default_classification(),
    };
    let department = get("department")
        .map(str::to_string)
        .or_else(|| auth.user.department.clone())
        .unwrap_or_default();
    if !auth.viewer.may_upload(classification.as_str(), &department) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "you may not file {} records{}",
                classification.as_str(),
                if department.is_empty() {
                    String::new()
                } else {
                    format!(" of {department}")
                }
            ),
        ));
    }
    let date = match get("date") {
        Some(d) => crate::archive::meta::parse_date(d).map_err(bad)?,
        None => chrono::Local::now().date_naive(),
    };
    let stem = std::path::Path::new(file_name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "recording".into());
    let title = get("title").map(str::to_string).unwrap_or(stem);
    let start_time = match get("start_time") {
        Some(t) => Some(
            clock(t)
                .ok_or_else(|| ApiError::bad_request(format!("start time {t:?} is not HH:MM")))?,
        ),
        None => None,
    };
    let int = |k: &str| -> ApiResult<Option<usize>> {
        get(k)
            .map(|v| {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("{k} must be a number from 1 to 100"))
                    })
            })
            .transpose()
    };
    let language = match get("language").unwrap_or("ja") {
        "auto" => None,
        l if l.len() <= 8 && l.chars().all(|c| c.is_ascii_alphabetic()) => {
            Some(l.to_ascii_lowercase())
        }
        l => return Err(ApiError::bad_request(format!("unknown language {l:?}"))),
    };
    let options = JobOptions {
        language,
        model: get("model").map(str::to_string),
        speakers: int("speakers")?,
        min_speakers: int("min_speakers")?,
        max_speakers: int("max_speakers")?,
    };
    let mut t = toml::Table::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            t.insert(k.into(), toml::Value::String(v));
        }
    };
    put("kind", Some(kind.as_str().into()));
    put("title", Some(title.clone()));
    put("body", get("body").map(str::to_string));
    put("date", Some(date.format("%Y-%m-%d").to_string()));
    put("place", get("place").map(str::to_string));
    put("recording_start", start_time.clone());
    put("start_time", start_time);
    put("classification", Some(classification.as_str().into()));
    put(
        "department",
        Some(department.clone()).filter(|d| !d.is_empty()),
    );
    let meta_toml = toml::to_string(&t).map_err(|e| ApiError::internal(&e.to_string()))?;
    // Both readers must accept it before the job is queued.
    crate::archive::MeetingMeta::parse(&meta_toml, None).map_err(bad)?;
    let m: crate::minutes::MeetingMeta =
        toml::from_str(&meta_toml).map_err(|e| ApiError::bad_request(e.to_string()))?;
    m.validate().map_err(bad)?;
    Ok(JobSpec {
        file_name: file_name.to_string(),
        options,
        meta_toml,
        title,
        kind: kind.as_str().into(),
        classification: classification.as_str().into(),
        department,
    })
}

/// `HH:MM` (or `H:MM`, full-width digits) → `HH:MM`.
fn clock(s: &str) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    let s: String = s.nfkc().collect();
    let (h, m) = s.trim().split_once(':')?;
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    (h < 24 && m < 60).then(|| format!("{h:02}:{m:02}"))
}

#[cfg(test)]
mod tests {
    use super::clock;

    #[test]
    fn clock_times_from_the_form() {
        assert_eq!(clock("9:05").as_deref(), Some("09:05"));
        assert_eq!(clock("１０：００").as_deref(), Some("10:00"));
        assert_eq!(clock("24:00"), None);
        assert_eq!(clock("1時"), None);
    }
}
