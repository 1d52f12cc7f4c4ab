//! `wasi:io/poll` and `wasi:io/streams` for guests called from inside the gateway's tokio
//! runtime.
//!
//! wasmtime-wasi's synchronous bindings run every blocking stream operation and every poll
//! (`blocking-write-and-flush`, `blocking-flush`, `poll`, `block`, and dropping a stream) with
//! `Handle::block_on` on the current tokio runtime. The gateway calls plugins from its tokio
//! worker threads, where `block_on` panics: a plugin writing to stderr (CPython and the JS
//! engine do, on an uncaught exception; Rust's panic message does too) would take the client's
//! session task down with it.
//!
//! The sandbox's streams are stdin (empty) and stdout / stderr (sinks), and its only other
//! pollables are clocks: everything a guest may wait on is either ready at once or a sleep. So
//! these bindings poll the operation's future once instead of blocking on it. Ready, it
//! completes as before; not ready, the guest is trapped with a message saying it tried to block
//! (a policy hook has no business sleeping, and its CPU deadline would end it anyway).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::sync::io::{poll, streams};
use wasmtime_wasi::p2::{StreamError, StreamResult};
use wasmtime_wasi_io::bindings::wasi::io::poll as async_poll;
use wasmtime_wasi_io::bindings::wasi::io::streams::{
    HostInputStream as AsyncHostInputStream, HostOutputStream as AsyncHostOutputStream,
};
use wasmtime_wasi_io::poll::DynPollable;
use wasmtime_wasi_io::streams::{DynInputStream, DynOutputStream};

use super::host::HostState;

/// Replaces the blocking `wasi:io` functions wasmtime-wasi linked with ones that never block
/// on a tokio runtime (see the module docs). Call after `wasmtime_wasi::p2::add_to_linker_sync`.
pub(crate) fn shadow_blocking_io(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    poll::add_to_linker::<HostState, NonBlocking>(linker, |s| NonBlockingIo(s.table()))?;
    streams::add_to_linker::<HostState, NonBlocking>(linker, |s| NonBlockingIo(s.table()))?;
    linker.allow_shadowing(false);
    Ok(())
}

struct NonBlocking;

impl HasData for NonBlocking {
    type Data<'a> = NonBlockingIo<'a>;
}

pub(crate) struct NonBlockingIo<'a>(&'a mut ResourceTable);

/// Polls `f` once. `None` when it is not ready.
fn poll_once<F: Future>(f: F) -> Option<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

fn would_block(what: &str) -> wasmtime::Error {
    wasmtime::Error::msg(format!(
        "the plugin tried to block in {what}: plugins may not wait (sleep, or wait on a stream that is not ready)"
    ))
}

fn stream_once<T>(what: &str, f: impl Future<Output = StreamResult<T>>) -> StreamResult<T> {
    poll_once(f).unwrap_or_else(|| Err(StreamError::Trap(would_block(what))))
}

fn once<T>(what: &str, f: impl Future<Output = wasmtime::Result<T>>) -> wasmtime::Result<T> {
    poll_once(f).unwrap_or_else(|| Err(would_block(what)))
}

impl poll::Host for NonBlockingIo<'_> {
    fn poll(&mut self, pollables: Vec<Resource<DynPollable>>) -> wasmtime::Result<Vec<u32>> {
        once(
            "wasi:io/poll.poll",
            async_poll::Host::poll(self.0, pollables),
        )
    }
}

impl poll::HostPollable for NonBlockingIo<'_> {
    fn ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        // `ready` only asks; a pollable that is not ready yet is simply not ready.
        match poll_once(async_poll::HostPollable::ready(self.0, pollable)) {
            Some(r) => r,
            None => Ok(false),
        }
    }
    fn block(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        once(
            "wasi:io/poll.pollable.block",
            async_poll::HostPollable::block(self.0, pollable),
        )
    }
    fn drop(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        async_poll::HostPollable::drop(self.0, pollable)
    }
}

impl streams::Host for NonBlockingIo<'_> {
    fn convert_stream_error(&mut self, err: StreamError) -> wasmtime::Result<streams::StreamError> {
        streams::Host::convert_stream_error(self.0, err)
    }
}

impl streams::HostOutputStream for NonBlockingIo<'_> {
    fn drop(&mut self, stream: Resource<DynOutputStream>) -> wasmtime::Result<()> {
        once(
            "dropping an output stream",
            AsyncHostOutputStream::drop(self.0, stream),
        )
    }
    fn check_write(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<u64> {
        streams::HostOutputStream::check_write(self.0, stream)
    }
    fn write(&mut self, stream: Resource<DynOutputStream>, bytes: Vec<u8>) -> StreamResult<()> {
        streams::HostOutputStream::write(self.0, stream, bytes)
    }
    fn blocking_write_and_flush(
        &mut self,
        stream: Resource<DynOutputStream>,
        bytes: Vec<u8>,
    ) -> StreamResult<()> {
        stream_once(
            "output-stream.blocking-write-and-flush",
            AsyncHostOutputStream::blocking_write_and_flush(self.0, stream, bytes),
        )
    }
    fn blocking_write_zeroes_and_flush(
        &mut self,
        stream: Resource<DynOutputStream>,
        len: u64,
    ) -> StreamResult<()> {
        stream_once(
            "output-stream.blocking-write-zeroes-and-flush",
            AsyncHostOutputStream::blocking_write_zeroes_and_flush(self.0, stream, len),
        )
    }
    fn subscribe(
        &mut self,
        stream: Resource<DynOutputStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        streams::HostOutputStream::subscribe(self.0, stream)
    }
    fn write_zeroes(&mut self, stream: Resource<DynOutputStream>, len: u64) -> StreamResult<()> {
        streams::HostOutputStream::write_zeroes(self.0, stream, len)
    }
    fn flush(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<()> {
        streams::HostOutputStream::flush(self.0, stream)
    }
    fn blocking_flush(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<()> {
        stream_once(
            "output-stream.blocking-flush",
            AsyncHostOutputStream::blocking_flush(self.0, Resource::new_borrow(stream.rep())),
        )
    }
    fn splice(
        &mut self,
        dst: Resource<DynOutputStream>,
        src: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        streams::HostOutputStream::splice(self.0, dst, src, len)
    }
    fn blocking_splice(
        &mut self,
        dst: Resource<DynOutputStream>,
        src: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        stream_once(
            "output-stream.blocking-splice",
            AsyncHostOutputStream::blocking_splice(self.0, dst, src, len),
        )
    }
}

impl streams::HostInputStream for NonBlockingIo<'_> {
    fn drop(&mut self, stream: Resource<DynInputStream>) -> wasmtime::Result<()> {
        once(
            "dropping an input stream",
            AsyncHostInputStream::drop(self.0, stream),
        )
    }
    fn read(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<Vec<u8>> {
        streams::HostInputStream::read(self.0, stream, len)
    }
    fn blocking_read(
        &mut self,
        stream: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<Vec<u8>> {
        stream_once(
            "input-stream.blocking-read",
            AsyncHostInputStream::blocking_read(self.0, stream, len),
        )
    }
    fn skip(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<u64> {
        streams::HostInputStream::skip(self.0, stream, len)
    }
    fn blocking_skip(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<u64> {
        stream_once(
            "input-stream.blocking-skip",
            AsyncHostInputStream::blocking_skip(self.0, stream, len),
        )
    }
    fn subscribe(
        &mut self,
        stream: Resource<DynInputStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        streams::HostInputStream::subscribe(self.0, stream)
    }
}
