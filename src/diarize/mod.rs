//! (placeholder: this module is being built; see its issue)
