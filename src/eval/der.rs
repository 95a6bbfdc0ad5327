//! DER. (Being built.)
