//! Keep stdout for frames only.
//!
//! `println!` cannot be intercepted inside Rust, so the guard works one level
//! down, on file descriptors: the real stdout is duplicated (close-on-exec) for
//! the frame writer, and fd 1 is pointed at a pipe whose reader thread copies
//! every line to stderr prefixed `[stdout-guard] `. Everything that writes to
//! fd 1 afterwards (`println!`, a C library, a child process the plugin
//! spawns) lands in the log instead of corrupting the protocol. The swap
//! happens once, before the first frame, with std's stdout lock held and
//! flushed, so no buffered output crosses it.

use std::io::{self, Write};
use std::time::Duration;

/// A partial line longer than this is logged as it is rather than held.
#[cfg(unix)]
const MAX_PARTIAL_LINE: usize = 64 * 1024;

/// The installed guard; `finish` flushes what plugin code printed and restores fd 1 to stderr.
pub(crate) struct StdoutGuard {
    #[cfg(unix)]
    relay: Option<std::thread::JoinHandle<()>>,
}

/// Install the guard; returns the real stdout, for frames only.
#[cfg(unix)]
pub(crate) fn install() -> io::Result<(Box<dyn Write + Send>, StdoutGuard)> {
    use std::fs::File;
    use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

    let mut lock = io::stdout().lock();
    lock.flush()?;
    // SAFETY: fd 1 is open for the life of the process (std's stdout relies on it too).
    let real: OwnedFd = unsafe { BorrowedFd::borrow_raw(1) }.try_clone_to_owned()?;
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid 2-element array for pipe(2) to fill.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe(2) succeeded, so both descriptors are open and owned by nobody else.
    let (read_end, write_end) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: plain fcntl/dup2 calls on descriptors we own; dup2 onto 1 replaces stdout atomically.
    unsafe {
        libc::fcntl(read_end.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
        if libc::dup2(write_end.as_raw_fd(), 1) == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    drop(write_end);
    drop(lock);
    let relay = std::thread::Builder::new().name("nexo-stdout-guard".into()).spawn(move || relay_lines(File::from(read_end)))?;
    Ok((Box::new(File::from(real)), StdoutGuard { relay: Some(relay) }))
}

/// Without file descriptors to redirect, frames go to stdout as is and plugin
/// code must log with `eprintln!` or a logger.
#[cfg(not(unix))]
pub(crate) fn install() -> io::Result<(Box<dyn Write + Send>, StdoutGuard)> {
    Ok((Box::new(io::stdout()), StdoutGuard {}))
}

#[cfg(unix)]
fn relay_lines(mut pipe: std::fs::File) {
    use std::io::Read;
    let mut buf = [0u8; 8192];
    let mut partial: Vec<u8> = Vec::new();
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                partial.extend_from_slice(&buf[..n]);
                let mut out = Vec::new();
                let mut start = 0;
                while let Some(i) = partial[start..].iter().position(|&b| b == b'\n') {
                    out.extend_from_slice(b"[stdout-guard] ");
                    out.extend_from_slice(&partial[start..=start + i]);
                    start += i + 1;
                }
                partial.drain(..start);
                if partial.len() > MAX_PARTIAL_LINE {
                    out.extend_from_slice(b"[stdout-guard] ");
                    out.append(&mut partial);
                    out.push(b'\n');
                }
                if !out.is_empty() {
                    let _ = io::stderr().lock().write_all(&out);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if !partial.is_empty() {
        partial.push(b'\n');
        let mut err = io::stderr().lock();
        let _ = err.write_all(b"[stdout-guard] ");
        let _ = err.write_all(&partial);
    }
}

impl StdoutGuard {
    /// Flush std's stdout buffer through the guard, point fd 1 at stderr (which
    /// closes the pipe unless a child process still holds it) and wait up to
    /// `wait` for the relay to log the rest.
    pub(crate) fn finish(self, wait: Duration) {
        let _ = io::stdout().flush();
        #[cfg(unix)]
        {
            let mut this = self;
            // SAFETY: dup2 between two descriptors that are open for the life of the process.
            unsafe {
                libc::dup2(2, 1);
            }
            if let Some(relay) = this.relay.take() {
                let deadline = std::time::Instant::now() + wait;
                while !relay.is_finished() && std::time::Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(2));
                }
                if relay.is_finished() {
                    let _ = relay.join();
                }
            }
        }
        #[cfg(not(unix))]
        let _ = (self, wait);
    }
}
