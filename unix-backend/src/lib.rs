//! shimmer-unix: the Unix backend (epoll `Park`, kernel sockets as FLOW, a TAP
//! device as NET, files as BLOCK, signals).
//!
//! Not built yet: an empty skeleton until the Unix backend issue lands.
