//! shimmer-io: the FLOW / BLOCK / NET / CLOCK traits and the zero-copy page
//! pool that every backend implements and every stack is written against.
//!
//! Not built yet: this crate is an empty skeleton until the io issue lands.
//! It deliberately exports nothing, so nothing can depend on a pretend API.
#![no_std]
