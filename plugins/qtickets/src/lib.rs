//! Placeholder until the qtickets connector lands.
