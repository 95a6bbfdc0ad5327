//! Voice activity: where in the recording people speak. (Being built.)
