//! Keeps alsa-lib's own error messages off the terminal.
//!
//! alsa-lib prints errors such as `cannot find card '0'` straight to stderr while cpal probes
//! devices; on a server without a sound card that is a page of noise before our one-line error.
//! The messages go to the debug log instead (`-vv` shows them).

#[cfg(target_os = "linux")]
mod imp {
    use std::ffi::{c_char, c_int, CStr};

    // alsa-lib's global handler is a C variadic function, which stable Rust cannot define; the
    // thread-local handler receives a `va_list` pointer instead, so it can be written here. It
    // covers this thread only: device probing and stream set-up happen on the calling thread.
    unsafe extern "C" fn to_debug_log(
        file: *const c_char,
        line: c_int,
        function: *const c_char,
        err: c_int,
        fmt: *const c_char,
        _args: *mut alsa_sys::__va_list_tag,
    ) {
        let text = |p: *const c_char| {
            if p.is_null() {
                String::new()
            } else {
                // SAFETY: alsa-lib passes NUL-terminated static strings (file, function, format).
                unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
            }
        };
        tracing::debug!(
            "ALSA {}:{} {}: {} (error {err})",
            text(file),
            line,
            text(function),
            text(fmt)
        );
    }

    pub fn silence_on_this_thread() {
        // SAFETY: sets a thread-local function pointer inside alsa-lib; the handler above has
        // exactly the `snd_local_error_handler_t` signature and never unwinds.
        unsafe {
            alsa_sys::snd_lib_error_set_local(Some(to_debug_log));
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub fn silence_on_this_thread() {}
}

/// Routes alsa-lib's error messages raised on the calling thread to the debug log.
pub fn silence_on_this_thread() {
    imp::silence_on_this_thread();
}
