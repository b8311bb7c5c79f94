//! Shotgun simulator (being written).
