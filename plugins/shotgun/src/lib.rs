//! Placeholder until the shotgun connector lands.
