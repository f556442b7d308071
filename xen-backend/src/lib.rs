//! shimmer-xen: the Xen backend (PVH boot, hypercalls, event-channel `Park`,
//! PV clock, grant tables, xenstore, netfront, blkfront).
//!
//! Not built yet: an empty skeleton until the Xen boot issue lands.
#![no_std]
