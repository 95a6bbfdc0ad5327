//! Input devices: listing them with their formats, finding one by name, choosing the format
//! to capture in.

use super::quiet;
use super::RecordError;
use cpal::traits::{DeviceTrait, HostTrait};
use cpal::{SampleFormat, SupportedStreamConfigRange};
use serde::Serialize;

/// One range of formats a device can capture in.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FormatRange {
    pub channels: u16,
    pub min_rate: u32,
    pub max_rate: u32,
    /// cpal's name of the sample format: "i16", "f32", ...
    pub sample_format: String,
}

/// The format a recording is captured in.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct CaptureFormat {
    pub channels: u16,
    pub rate: u32,
    #[serde(serialize_with = "format_name")]
    pub sample_format: SampleFormat,
}

fn format_name<S: serde::Serializer>(f: &SampleFormat, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&f.to_string())
}

/// An audio input as `gijiroku devices` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct InputDevice {
    /// What `--device` takes (the ALSA PCM name on Linux).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// True for the system's default input.
    pub is_default: bool,
    /// The format used when none is asked for.
    pub default_format: Option<CaptureFormat>,
    pub formats: Vec<FormatRange>,
}

/// Devices that never hold a meeting: ALSA's `null` captures silence forever.
const NOT_AN_INPUT: &[&str] = &["null"];

fn device_id(d: &cpal::Device) -> String {
    d.id()
        .map(|id| id.id().to_string())
        .unwrap_or_else(|_| d.to_string())
}

fn device_name(d: &cpal::Device) -> String {
    d.description()
        .map(|desc| desc.name().to_string())
        .unwrap_or_else(|_| device_id(d))
}

fn ranges(d: &cpal::Device) -> Option<Vec<SupportedStreamConfigRange>> {
    let r: Vec<_> = d.supported_input_configs().ok()?.collect();
    (!r.is_empty()).then_some(r)
}

fn describe(d: &cpal::Device, is_default: bool) -> Option<InputDevice> {
    let ranges = ranges(d)?;
    let default_format = choose_format(d, &ranges, None, None).ok();
    Some(InputDevice {
        id: device_id(d),
        name: device_name(d),
        is_default,
        default_format,
        formats: ranges
            .iter()
            .filter(|r| supported_sample_format(r.sample_format()))
            .map(|r| FormatRange {
                channels: r.channels(),
                min_rate: r.min_sample_rate(),
                max_rate: r.max_sample_rate(),
                sample_format: r.sample_format().to_string(),
            })
            .collect(),
    })
}

/// Every input that can be opened now, the default first. Empty when there is no sound card.
pub fn list_input_devices() -> Result<Vec<InputDevice>, RecordError> {
    quiet::silence_on_this_thread();
    let host = cpal::default_host();
    let mut out = Vec::new();
    if let Some(d) = host.default_input_device() {
        if let Some(desc) = describe(&d, true) {
            out.push(desc);
        }
    }
    let devices = host
        .input_devices()
        .map_err(|e| RecordError::Host(e.to_string()))?;
    for d in devices {
        let id = device_id(&d);
        if NOT_AN_INPUT.contains(&id.as_str()) || out.iter().any(|o| o.id == id) {
            continue;
        }
        if let Some(desc) = describe(&d, false) {
            out.push(desc);
        }
    }
    Ok(out)
}

/// Finds the input named `name` (its id exactly, else a unique case-insensitive part of its
/// name or id), or the default input when `name` is `None`.
pub fn find_input_device(name: Option<&str>) -> Result<cpal::Device, RecordError> {
    quiet::silence_on_this_thread();
    let host = cpal::default_host();
    let Some(name) = name else {
        let d = host.default_input_device().ok_or(RecordError::NoInput)?;
        return match ranges(&d) {
            Some(_) => Ok(d),
            None => Err(RecordError::NoInput),
        };
    };
    let devices: Vec<cpal::Device> = host
        .input_devices()
        .map_err(|e| RecordError::Host(e.to_string()))?
        .collect();
    if let Some(d) = devices.iter().find(|d| device_id(d) == name) {
        return Ok(d.clone());
    }
    let needle = name.to_lowercase();
    let matches: Vec<&cpal::Device> = devices
        .iter()
        .filter(|d| {
            device_id(d).to_lowercase().contains(&needle)
                || device_name(d).to_lowercase().contains(&needle)
        })
        .collect();
    match matches.as_slice() {
        [d] => Ok((*d).clone()),
        [] => Err(RecordError::UnknownDevice(name.to_string())),
        many => Err(RecordError::AmbiguousDevice(
            name.to_string(),
            many.iter()
                .map(|d| device_id(d))
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

/// Sample formats the converter handles (everything a microphone or line input gives).
fn supported_sample_format(f: SampleFormat) -> bool {
    matches!(
        f,
        SampleFormat::I8
            | SampleFormat::I16
            | SampleFormat::I32
            | SampleFormat::U8
            | SampleFormat::U16
            | SampleFormat::F32
            | SampleFormat::F64
    )
}

/// Preference among sample formats: i16 is what the WAV holds, so it needs no conversion.
fn format_rank(f: SampleFormat) -> usize {
    const ORDER: [SampleFormat; 7] = [
        SampleFormat::I16,
        SampleFormat::F32,
        SampleFormat::I32,
        SampleFormat::F64,
        SampleFormat::U16,
        SampleFormat::I8,
        SampleFormat::U8,
    ];
    ORDER.iter().position(|&o| o == f).unwrap_or(ORDER.len())
}

/// Picks the capture format: the device's default rate and channel count unless asked
/// otherwise, in the sample format closest to 16-bit integers.
pub fn choose_format(
    d: &cpal::Device,
    ranges: &[SupportedStreamConfigRange],
    rate: Option<u32>,
    channels: Option<u16>,
) -> Result<CaptureFormat, RecordError> {
    let default = d.default_input_config().ok();
    let want_rate = rate.or(default.as_ref().map(|c| c.sample_rate()));
    let want_channels = channels.or(default.as_ref().map(|c| c.channels()));
    let mut fits: Vec<&SupportedStreamConfigRange> = ranges
        .iter()
        .filter(|r| supported_sample_format(r.sample_format()))
        .filter(|r| want_channels.is_none_or(|c| r.channels() == c))
        .filter(|r| want_rate.is_none_or(|x| r.min_sample_rate() <= x && x <= r.max_sample_rate()))
        .collect();
    fits.sort_by_key(|r| format_rank(r.sample_format()));
    let Some(best) = fits.first() else {
        let offered = ranges
            .iter()
            .map(|r| {
                format!(
                    "{} ch {}–{} Hz {}",
                    r.channels(),
                    r.min_sample_rate(),
                    r.max_sample_rate(),
                    r.sample_format()
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Err(RecordError::UnsupportedFormat {
            rate: want_rate,
            channels: want_channels,
            offered,
        });
    };
    Ok(CaptureFormat {
        channels: best.channels(),
        rate: want_rate
            .unwrap_or_else(|| 48_000.clamp(best.min_sample_rate(), best.max_sample_rate())),
        sample_format: best.sample_format(),
    })
}

/// The capture format for `d`, or why there is none.
pub fn capture_format(
    d: &cpal::Device,
    rate: Option<u32>,
    channels: Option<u16>,
) -> Result<CaptureFormat, RecordError> {
    quiet::silence_on_this_thread();
    let r = ranges(d).ok_or(RecordError::NoInput)?;
    choose_format(d, &r, rate, channels)
}

pub(super) fn name_of(d: &cpal::Device) -> String {
    let (id, name) = (device_id(d), device_name(d));
    if id == name {
        id
    } else {
        format!("{name} ({id})")
    }
}
