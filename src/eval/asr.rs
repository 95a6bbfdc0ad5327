//! WER/CER. (Being built.)
