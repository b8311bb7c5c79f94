//! QTickets simulator (being written).
