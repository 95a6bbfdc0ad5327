//! Speech recognition with whisper.cpp. (Being built.)
