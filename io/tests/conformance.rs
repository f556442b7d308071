//! The conformance suites, run against the in-memory devices.

use std::time::Duration;

use shimmer_executor::block_on;
use shimmer_io::conformance;
use shimmer_io::mem::{link, pipe_with_pool, LinkConfig, RamDisk};

#[test]
fn pipe_passes_the_flow_suite() {
    for capacity in [1, 4096, 65_536] {
        block_on(conformance::flow(|pool| async move {
            pipe_with_pool(pool, capacity)
        }));
    }
}

#[test]
fn ramdisk_passes_the_block_suite() {
    block_on(conformance::block(|pool| async move {
        RamDisk::new(pool, 512, 4096).unwrap()
    }));
    block_on(conformance::block(|pool| async move {
        RamDisk::new(pool, 4096, 64).unwrap()
    }));
}

#[test]
fn a_slow_ramdisk_passes_the_block_suite() {
    block_on(conformance::block(|pool| async move {
        let disk = RamDisk::new(pool, 512, 256).unwrap();
        disk.set_delay(Some(Duration::from_micros(300)));
        disk
    }));
}

#[test]
fn a_read_only_ramdisk_passes_its_suite() {
    block_on(conformance::block_read_only(|pool| async move {
        let disk = RamDisk::new(pool, 512, 8).unwrap();
        disk.set_read_only(true);
        disk
    }));
}

#[test]
fn link_passes_the_net_suite() {
    block_on(conformance::net(|pool| async move {
        link(pool, LinkConfig::new())
    }));
    block_on(conformance::net(|pool| async move {
        link(pool, LinkConfig::new().queue_frames(1).mtu(9000))
    }));
}

#[test]
fn a_delayed_link_passes_the_net_suite() {
    block_on(conformance::net(|pool| async move {
        link(
            pool,
            LinkConfig::new().delay(Duration::from_micros(200), Duration::ZERO),
        )
    }));
}

// === The suites have teeth: broken devices fail them ===

use std::cell::Cell;
use std::task::{Context, Poll};

use shimmer_io::flow::{Flow, Shutdown};
use shimmer_io::mem::{MemFlow, MemNet};
use shimmer_io::net::{LinkState, MacAddr, Net, NetStats};
use shimmer_io::page::{Buf, BufChain};
use shimmer_io::Result;

/// A flow whose `read` takes the data, then yields before returning it: a
/// read dropped at that point loses data.
struct LosesDataOnCancel(MemFlow);

impl Flow for LosesDataOnCancel {
    async fn read(&self) -> Result<Option<Buf>> {
        let r = self.0.read().await;
        shimmer_executor::yield_now().await;
        r
    }
    async fn read_into(&self, buf: &mut [u8]) -> Result<usize> {
        self.0.read_into(buf).await
    }
    async fn write(&self, data: &[u8]) -> Result<()> {
        self.0.write(data).await
    }
    async fn write_buf(&self, buf: Buf) -> Result<()> {
        self.0.write_buf(buf).await
    }
    async fn write_chain(&self, chain: BufChain) -> Result<()> {
        self.0.write_chain(chain).await
    }
    async fn shutdown(&self, how: Shutdown) -> Result<()> {
        self.0.shutdown(how).await
    }
    async fn close(&self) -> Result<()> {
        self.0.close().await
    }
}

#[test]
#[should_panic(expected = "conformance::flow: cancel read")]
fn a_flow_losing_data_on_cancel_fails_the_suite() {
    block_on(conformance::flow(|pool| async move {
        let (a, b) = pipe_with_pool(pool, 4096);
        (LosesDataOnCancel(a), LosesDataOnCancel(b))
    }));
}

/// A device that silently loses every 100th frame it receives.
struct LosesFrames(MemNet, Cell<u32>);

impl Net for LosesFrames {
    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<Buf>> {
        loop {
            match self.0.poll_recv(cx) {
                Poll::Ready(Ok(frame)) => {
                    self.1.set(self.1.get() + 1);
                    if self.1.get() % 100 != 0 {
                        return Poll::Ready(Ok(frame));
                    }
                }
                other => return other,
            }
        }
    }
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.0.poll_send_ready(cx)
    }
    fn send<F: FnOnce(&mut [u8]) -> usize>(&self, len: usize, fill: F) -> Result<()> {
        self.0.send(len, fill)
    }
    fn mac(&self) -> MacAddr {
        self.0.mac()
    }
    fn mtu(&self) -> usize {
        self.0.mtu()
    }
    fn link(&self) -> LinkState {
        self.0.link()
    }
    fn stats(&self) -> NetStats {
        self.0.stats()
    }
}

#[test]
#[should_panic(expected = "conformance::net: burst in order")]
fn a_device_losing_frames_fails_the_suite() {
    block_on(conformance::net(|pool| async move {
        let (a, b) = link(pool, LinkConfig::new());
        (LosesFrames(a, Cell::new(0)), LosesFrames(b, Cell::new(0)))
    }));
}

#[test]
#[should_panic(expected = "conformance::block: geometry")]
fn a_read_only_disk_fails_the_writable_suite() {
    block_on(conformance::block(|pool| async move {
        let disk = RamDisk::new(pool, 512, 64).unwrap();
        disk.set_read_only(true);
        disk
    }));
}
