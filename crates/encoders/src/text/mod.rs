//! Text towers (to be written).
