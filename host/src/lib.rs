//! boxoffice host library.
