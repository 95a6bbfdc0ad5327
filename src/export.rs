//! Exports of a transcript: pure functions from `Transcript` to text. (Being built.)
